"""EOL runs through the database: queueing, the bench agent, the simulator, aborts, the screens."""

import io
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES
from workshop.accounts.services import grant_qualification
from workshop.columns import utcnow
from workshop.eol import runs
from workshop.eol.bench import run_agent
from workshop.eol.definitions import load_kit
from workshop.eol.engine import plan_checks
from workshop.eol.models import EolCheck, EolRun, RunStatus
from workshop.extensions import db
from workshop.queue import run_worker

FAST = {"simulate": True, "channel": "ttest", "speed": 0}


@pytest.fixture
def eol_app(app):
    app.config["EOL_BENCHES"] = {
        "SIM-T": dict(FAST),
        "BAY-T": {"interface": "virtual", "channel": "tbay", "centre": "EOL01", "car": "simulated"},
        "DEAD": {"interface": "virtual", "channel": "nobody-here"},
    }
    return app


@pytest.fixture
def operator(create_user, create_centre):
    centre = create_centre(code="EOL01")
    user = create_user("technician", centre=centre, username="operator")
    for code in ("eol_operator", "conversion_honda_jazz"):
        grant_qualification(user, code)
    db.session.commit()
    return user


@pytest.fixture
def jazz_job(operator, create_user, open_real_job):
    supervisor = create_user("supervisor", centre=operator.centre)
    return open_real_job(operator.centre, supervisor, "MRHGE8840BP200001")


@pytest.fixture
def queue_run(eol_app, jazz_job, operator):
    def make(bench="SIM-T", sequences=runs.SEQUENCE_NAMES, faults=()):
        run = runs.queue_run(
            jazz_job, operator, bench, sequences, eol_app.config["EOL_BENCHES"], faults=faults
        )
        db.session.commit()
        return run

    return make


def test_full_run_on_the_simulated_bench_passes(eol_app, queue_run):
    run = queue_run()
    assert run.status == RunStatus.QUEUED
    assert run_agent(eol_app, once=True) == 1
    db.session.rollback()
    run = db.session.get(EolRun, run.id)
    assert run.status == RunStatus.PASS, [
        (c.check_id, c.message_in("en")) for c in run.checks if c.outcome != "pass"
    ]
    assert len(run.checks) == run.checks_planned > 10
    assert {c.sequence for c in run.checks} == {"ecu", "bms", "brakes"}
    # checks side by side finish out of order; the run keeps them in the order of the plan
    planned = [info.check_id for info in plan_checks(load_kit("jazz-ev1"), run.sequences)]
    assert [c.check_id for c in run.checks] == planned
    path = runs.trace_path(eol_app.config["UPLOAD_FOLDER"], run.trace_sha256)
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == run.trace_sha256
    assert run.trace_frames > 1000
    assert runs.latest_complete_run(run_job(run)) == run
    assert run.seed is not None and run.time_scale == 0  # an unpaced bench


def test_a_run_repeated_with_its_seed_gives_the_same_trace(eol_app, queue_run):
    first = queue_run(sequences=["bms"], faults=["cell_imbalance"])
    run_agent(eol_app, once=True)
    db.session.rollback()
    first = db.session.get(EolRun, first.id)
    again = queue_run(sequences=["bms"], faults=["cell_imbalance"])
    again.seed = first.seed
    db.session.commit()
    run_agent(eol_app, once=True)
    db.session.rollback()
    again = db.session.get(EolRun, again.id)
    assert first.status == again.status == RunStatus.FAIL
    assert again.trace_sha256 == first.trace_sha256
    assert [(c.check_id, c.outcome, c.message_code, c.message_params) for c in again.checks] == [
        (c.check_id, c.outcome, c.message_code, c.message_params) for c in first.checks
    ]


@pytest.mark.parametrize(
    ("config", "speed"),
    [
        ({"speed": 5}, 5.0),
        ({"speed": 0}, 0.0),
        ({"speed": 99}, 20.0),
        ({"time_scale": 40}, 20.0),
        ({}, 1.0),
        ({"speed": 0.2}, 1.0),
    ],
)
def test_bench_speed(config, speed):
    assert runs.bench_speed(config) == speed


def run_job(run):
    from workshop.jobs.models import Job

    return db.session.get(Job, run.job_id)


def test_injected_fault_fails_its_check(eol_app, queue_run):
    run = queue_run(sequences=["brakes"], faults=["vacuum_leak"])
    run_agent(eol_app, once=True)
    db.session.rollback()
    run = db.session.get(EolRun, run.id)
    assert run.status == RunStatus.FAIL
    failed = [c for c in run.checks if c.outcome == "fail"]
    assert failed and all(c.sequence == "brakes" for c in failed)
    assert any("leak" in c.message_in("en").lower() for c in failed)
    assert any("รั่ว" in c.message_in("th") for c in failed)


def test_no_traffic_aborts_with_reason_and_keeps_results(eol_app, queue_run):
    run = queue_run(bench="DEAD", sequences=["ecu"])
    run_agent(eol_app, benches=["DEAD"], once=True)
    db.session.rollback()
    run = db.session.get(EolRun, run.id)
    assert run.status == RunStatus.ABORTED
    assert "no CAN traffic" in run.abort_reason


def test_unusable_adapter_aborts_clearly(eol_app, queue_run):
    eol_app.config["EOL_BENCHES"]["BROKEN"] = {"interface": "no-such-interface", "channel": "x"}
    run = queue_run(bench="BROKEN")
    run_agent(eol_app, benches=["BROKEN"], once=True)
    db.session.rollback()
    run = db.session.get(EolRun, run.id)
    assert run.status == RunStatus.ABORTED and "could not open the CAN adapter" in run.abort_reason


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(bench="NOPE"), "unknown test bench"),
        (dict(sequences=[]), "at least one sequence"),
        (dict(sequences=["coffee"]), "at least one sequence"),
    ],
)
def test_queue_refusals(eol_app, jazz_job, operator, change, message):
    args = dict(bench="SIM-T", sequences=["ecu"]) | change
    with pytest.raises(runs.EolRunError, match=message):
        runs.queue_run(
            jazz_job, operator, args["bench"], args["sequences"], eol_app.config["EOL_BENCHES"]
        )


def test_only_qualified_operators_of_the_centre(eol_app, jazz_job, create_user, create_centre):
    benches = eol_app.config["EOL_BENCHES"]
    unqualified = create_user("technician", centre=jazz_job.centre)
    with pytest.raises(runs.EolRunError, match="EOL test operator"):
        runs.queue_run(jazz_job, unqualified, "SIM-T", ["ecu"], benches)
    stranger = create_user("technician", centre=create_centre(code="FAR02"))
    grant_qualification(stranger, "eol_operator")
    with pytest.raises(runs.EolRunError, match="centre"):
        runs.queue_run(jazz_job, stranger, "SIM-T", ["ecu"], benches)


def test_one_run_at_a_time_per_job(eol_app, queue_run):
    queue_run()
    with pytest.raises(runs.EolRunError, match="already queued"):
        queue_run()


def test_stale_running_run_is_aborted(eol_app, queue_run):
    run = queue_run()
    claimed = runs.claim_next_run("dead-agent", ["SIM-T"])
    assert claimed.id == run.id and claimed.status == RunStatus.RUNNING
    claimed.heartbeat_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    (reaped,) = runs.reap_stale_runs()
    db.session.commit()
    assert reaped.status == RunStatus.ABORTED and "stopped responding" in reaped.abort_reason


def test_a_run_is_claimed_once(eol_app, queue_run):
    run = queue_run()
    first = runs.claim_next_run("agent-a", ["SIM-T"])
    second = runs.claim_next_run("agent-b", ["SIM-T"])
    assert first.id == run.id and second is None


@pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent writers (PostgreSQL)")
def test_concurrent_agents_claim_each_run_once(eol_app, queue_run, jazz_job):
    run_id = queue_run().id
    got, barrier = [], threading.Barrier(4)

    def agent(name):
        with eol_app.app_context():
            barrier.wait()
            claimed = runs.claim_next_run(name, ["SIM-T"])
            got.append(claimed.id if claimed else None)

    threads = [threading.Thread(target=agent, args=(f"a{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got.count(run_id) == 1


def test_cancel_a_queued_run(eol_app, queue_run, operator):
    run = queue_run()
    runs.request_cancel(run, operator)
    db.session.commit()
    assert run.status == RunStatus.ABORTED and "cancelled" in run.abort_reason
    with pytest.raises(runs.EolRunError, match="already finished"):
        runs.request_cancel(run, operator)


# --- screens -----------------------------------------------------------------------------


def test_operator_starts_a_run_and_reads_the_report(eol_app, client, auth, jazz_job, operator):
    auth.login(operator.username)
    page = client.get(f"/jobs/{jazz_job.id}/eol")
    # a customer's car is offered the centre's bay, never the simulator
    assert page.status_code == 200 and "BAY-T" in page.text and "SIM-T" not in page.text
    r = client.post(f"/jobs/{jazz_job.id}/eol", data={"bench": "BAY-T", "sequence": ["bms"]})
    assert r.status_code == 302
    run_id = int(r.headers["Location"].rsplit("/", 1)[1])
    status = client.get(f"/eol/runs/{run_id}/status").json
    assert status["status"] == "queued" and status["checks"] == []
    run_agent(eol_app, once=True)
    status = client.get(f"/eol/runs/{run_id}/status").json
    assert status["finished"] and status["status"] == "pass"
    report = client.get(f"/eol/runs/{run_id}")
    assert report.status_code == 200 and "<svg" in report.text
    trace = client.get(f"/eol/runs/{run_id}/trace")
    assert trace.status_code == 200 and trace.data[:4] == b"LOGG"
    trace.close()
    pdf = client.get(f"/eol/runs/{run_id}/report.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data[:5] == b"%PDF-"
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "PASS" in text and jazz_job.vehicle.vin in text and "bms.pack_voltage" not in text


def test_unqualified_user_cannot_start(eol_app, client, auth, jazz_job, create_user):
    user = create_user("technician", centre=jazz_job.centre)
    auth.login(user.username)
    r = client.post(f"/jobs/{jazz_job.id}/eol", data={"bench": "SIM-T", "sequence": ["ecu"]})
    assert r.status_code == 302
    assert "EOL" in client.get(r.headers["Location"]).text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(EolRun.id))) == 0


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.blf", b"", "empty"),
        ("junk.blf", b"this is not a BLF file at all" * 10, "BLF"),
        ("notes.txt", b"hello", "unsupported trace file type"),
        (
            "truncated.asc",
            b"date Mon Nov 23 10:00:00 am 2026\nbase hex  timestamps absolute\n   0.0010 1  1A0x  Rx   d 8 00",
            "",
        ),
    ],
)
def test_bad_trace_upload_is_refused_and_stores_nothing(
    eol_app, client, auth, operator, name, data, message
):
    operator.locale = "en"  # the messages below are the English ones
    db.session.commit()
    auth.login(operator.username)
    r = client.post(
        "/eol/traces",
        data={"kit": "jazz-ev1", "trace": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    # Refused at once (empty, unknown type) or by the worker's check (corrupt content).
    run_worker(eol_app.config, burst=True)
    if r.request.path != "/eol/traces":
        r = client.get(r.request.path)
        assert 'data-state="failed"' in r.text
    assert r.status_code == 200
    assert "flash-error" in r.text and message in r.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(EolCheck.id))) == 0
    uploads = Path(eol_app.config["UPLOAD_FOLDER"]) / "trace-uploads"
    assert not uploads.exists() or not any(uploads.iterdir())  # nothing kept


def test_a_trace_is_checked_in_the_background_and_shown(eol_app, client, auth, operator, tmp_path):
    from tests.eol.test_traces import record_run

    path = tmp_path / "run.blf"
    record_run(path, sequences=("ecu",))
    auth.login(operator.username)
    r = client.post(
        "/eol/traces",
        data={"kit": "jazz-ev1", "trace": (io.BytesIO(path.read_bytes()), "run.blf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    page = r.headers["Location"]
    assert 'data-state="queued"' in client.get(page).text
    assert client.get(page + "/status").json == {"status": "queued"}
    run_worker(eol_app.config, burst=True)
    assert client.get(page + "/status").json == {"status": "done"}
    text = client.get(page).text
    assert 'data-state="done"' in text and 'data-check="ecu.heartbeat"' in text
    assert eol_app.test_client().get(page).status_code == 302  # to the login
