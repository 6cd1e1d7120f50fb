"""kill -9 of the only bench agent mid-run: the web app (or `workshop reap-runs`) ends the run
`aborted` with its partial results, a reason code and the partial CAN trace as evidence, and the
job can be tested again. A real agent process (`workshop bench`) runs a simulated vehicle on
python-can's virtual bus; the test kills it with SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from can.io.blf import FILE_HEADER_SIZE

from tests.conftest import TEST_PASSWORD, IsolatedClient
from tests.security.live import PATIENCE_S, REPO
from workshop.accounts.services import grant_qualification
from workshop.cli import cli
from workshop.columns import utcnow
from workshop.eol import runs
from workshop.eol.models import EolCheck, EolRun, RunStatus
from workshop.extensions import db

BENCHES = {"SIM-K": {"simulate": True, "channel": "killtest", "time_scale": 1.0}}


def _wait_for(condition, what: str):
    """Poll ``condition`` until it holds (a real process is working); fail after PATIENCE_S."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


@pytest.fixture
def world(app_factory, create_user, create_centre, open_real_job, tmp_path):
    # Reaping as soon as the heartbeat stops (the agent beats every second while alive).
    app = app_factory(EOL_BENCHES=BENCHES, EOL_STALE_AFTER_SECONDS=0)
    app.test_client_class = IsolatedClient
    with app.app_context():
        centre = create_centre(code="KIL01")
        operator = create_user("technician", centre=centre, username="operator")
        for code in ("eol_operator", "conversion_honda_jazz"):
            grant_qualification(operator, code)
        supervisor = create_user("supervisor", centre=centre)
        db.session.commit()
        job = open_real_job(centre, supervisor, "MRHGE8840BP300001")
        yield app, operator, job
        db.session.remove()


def _agent(app, tmp_path, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "agent-secret",
        "WORKSHOP_INSTANCE_PATH": str(tmp_path / "agent-instance"),
        "FLASK_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
        "FLASK_EOL_BENCHES": json.dumps(BENCHES),
    }
    # The interpreter running the tests, on this checkout's code: a console script under
    # REPO/.venv exists only in the checkout that owns the virtualenv.
    return subprocess.Popen(
        [sys.executable, "-m", "workshop.cli", "bench", "--bench", "SIM-K"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def _run_state(run_id):
    db.session.rollback()
    run = db.session.get(EolRun, run_id)
    checks = db.session.scalar(
        sa.select(sa.func.count()).select_from(EolCheck).where(EolCheck.run_id == run_id)
    )
    return run, checks


def test_kill_9_of_the_only_bench_agent_mid_run(world, tmp_path):
    app, operator, job = world
    run = runs.queue_run(job, operator, "SIM-K", runs.SEQUENCE_NAMES, BENCHES)
    db.session.commit()
    run_id = run.id
    partial = runs.partial_trace_path(app.config["UPLOAD_FOLDER"], run_id)
    # The log is closed on every path: also when starting the agent fails, and after a kill.
    with open(tmp_path / "agent.log", "wb") as log:
        agent = _agent(app, tmp_path, log)
        try:
            # Mid-run: checks written, a first block of frames in the trace, the run not finished.
            def mid_run():
                run, checks = _run_state(run_id)
                assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING), run.abort_reason
                return (
                    checks >= 2 and partial.exists() and partial.stat().st_size > FILE_HEADER_SIZE
                )

            _wait_for(mid_run, "the agent to be mid-run")
            run, checks_before = _run_state(run_id)
            assert run.status == RunStatus.RUNNING and checks_before < run.checks_planned
            agent.send_signal(signal.SIGKILL)
            agent.wait(PATIENCE_S)
        finally:
            if agent.poll() is None:
                agent.kill()
            agent.wait()
    run, checks_after_kill = _run_state(run_id)
    assert run.status == RunStatus.RUNNING  # nobody else is left to notice
    partial_bytes = partial.read_bytes()

    client = app.test_client()
    r = client.post("/login", data={"username": operator.username, "password": TEST_PASSWORD})
    assert r.status_code == 302
    client.post("/language/en")
    page = client.get(f"/eol/runs/{run_id}")
    assert page.status_code == 200
    assert "The bench agent stopped responding during the test" in page.text

    run, checks = _run_state(run_id)
    assert run.status == RunStatus.ABORTED and run.abort_code == runs.AGENT_LOST
    assert run.agent in run.abort_reason
    assert checks == checks_after_kill >= 2  # the partial results stay
    # The partial trace is the run's evidence now, among its stored files.
    assert not partial.exists()
    stored = runs.trace_path(app.config["UPLOAD_FOLDER"], run.trace_sha256)
    assert stored.read_bytes() == partial_bytes and run.trace_frames > 0
    download = client.get(f"/eol/runs/{run_id}/trace")
    assert download.status_code == 200 and download.data == partial_bytes
    download.close()
    # The job is not blocked: a new run can be queued at once.
    r = client.post(
        f"/jobs/{job.id}/eol", data={"bench": "SIM-K", "sequence": ["ecu"]}, follow_redirects=False
    )
    assert r.status_code == 302 and "/eol/runs/" in r.headers["Location"]
    db.session.rollback()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(EolRun).where(EolRun.job_id == job.id)
        )
        == 2
    )


def test_a_scheduled_reap_needs_no_agent_and_spares_live_runs(
    app, runner, create_user, create_centre, open_real_job
):
    app.config["EOL_BENCHES"] = BENCHES
    centre = create_centre(code="KIL02")
    operator = create_user("technician", centre=centre)
    for code in ("eol_operator", "conversion_honda_jazz"):
        grant_qualification(operator, code)
    supervisor = create_user("supervisor", centre=centre)
    db.session.commit()
    live_job = open_real_job(centre, supervisor, "MRHGE8840BP300002")
    dead_job = open_real_job(centre, supervisor, "MRHGE8840BP300003")
    ids = []
    for job, beat in ((live_job, timedelta(seconds=5)), (dead_job, timedelta(minutes=3))):
        run = runs.queue_run(job, operator, "SIM-K", ["ecu"], BENCHES)
        run.status, run.agent = RunStatus.RUNNING, "bench-host:4242"
        run.claimed_at = run.heartbeat_at = utcnow() - beat
        ids.append(run.id)
    db.session.commit()
    partial = runs.partial_trace_path(app.config["UPLOAD_FOLDER"], ids[1])
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"LOGG" + b"\x00" * 140)  # what a killed agent may leave: a bare header
    result = runner.invoke(cli, ["reap-runs"])
    assert result.exit_code == 0, result.output
    assert (
        f"run {ids[1]}: aborted (agent_lost)" in result.output
        and "1 run(s) reaped" in result.output
    )
    db.session.rollback()
    live, dead = (db.session.get(EolRun, i) for i in ids)
    assert live.status == RunStatus.RUNNING
    assert dead.status == RunStatus.ABORTED and dead.abort_code == runs.AGENT_LOST
    assert dead.trace_sha256 and dead.trace_frames == 0 and not partial.exists()
    assert runner.invoke(cli, ["reap-runs"]).output.strip().endswith("0 run(s) reaped")


def test_partial_trace_path_is_inside_the_stored_files(app):
    folder = Path(app.config["UPLOAD_FOLDER"])
    assert runs.partial_trace_path(folder, 7) == folder / "traces" / "partial" / "run-7.blf"
