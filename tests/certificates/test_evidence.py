"""Only real evidence counts (issue 10, items 1 and 3): where the EOL run ran, the checks a kit
makes mandatory, waivers with their reasons, and the separation of duties."""

import shutil

import pytest
from click.testing import CliRunner

from workshop.certificates import pdf as pdfs
from workshop.certificates import services
from workshop.eol import definitions
from workshop.eol.commands import eol_cli
from workshop.eol.runs import latest_complete_run
from workshop.extensions import db
from workshop.inspection import services as inspection
from workshop.inspection.duties import DutiesError, load_duties
from workshop.inspection.models import Branch, EngineerSignoff

WAIVER = """
[[certificate.waivers]]
check = "bms.balancing"
reason = "The BMS balances passively and broadcasts no balancing status frame"
reference = "Vendor letter TS-2026-114"
"""


def codes(job):
    return [b.code for b in services.certificate_blockers(job)]


@pytest.fixture
def kits_copy(tmp_path, monkeypatch):
    """A copy of the shipped kits that the EOL definitions (and so the certificate) read."""
    root = tmp_path / "kits"
    shutil.copytree(definitions.kit_specs_root(), root)
    monkeypatch.setattr(definitions, "kit_specs_root", lambda: root)
    return root


def test_the_centres_bay_run_is_evidence(build_job):
    job = build_job(stage="approved")
    assert codes(job) == []
    run = latest_complete_run(job)
    assert (run.bench_kind, run.bench_interface, run.bench_centre) == (
        "virtual_bay",
        "virtual",
        "CRT01",
    )
    assert run.agent_host and run.software_version and run.adapter_serial


@pytest.mark.parametrize(
    "change",
    [{"bench_kind": "simulator"}, {"bench_kind": "drill"}, {"bench_centre": "OTHER"}],
    ids=["simulator", "drill", "another centre"],
)
def test_a_run_that_is_not_evidence_blocks(build_job, change):
    job = build_job(stage="approved")
    run = latest_complete_run(job)
    for name, value in change.items():
        setattr(run, name, value)
    db.session.flush()
    assert codes(job) == ["eol_not_real_bench"]
    assert f"#{run.id}" in services.certificate_blockers(job)[0].message


def test_another_centres_bench_is_refused_and_not_offered(build_job, crew, cert_app):
    import sqlalchemy as sa

    from workshop.eol import runs
    from workshop.eol.models import EolRun

    job = build_job(stage="open")
    benches = dict(cert_app.config["EOL_BENCHES"])
    benches["BAY-X"] = {**benches["BAY-T"], "centre": "OTHER"}
    benches["BAY-T"] = {**benches["BAY-T"], "centre": "CRT01"}
    assert set(runs.offered_benches(job, benches)) == {"BAY-T"}
    before = db.session.scalar(sa.select(sa.func.count(EolRun.id)))
    with pytest.raises(runs.EolRunError, match="belongs to centre OTHER"):
        runs.queue_run(job, crew["tech"], "BAY-X", ["ecu"], benches)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(EolRun.id))) == before
    assert runs.queue_run(job, crew["tech"], "BAY-T", ["ecu"], benches).bench_centre == "CRT01"


def test_a_development_bay_is_not_evidence_in_production(build_job, cert_app):
    job = build_job(stage="approved")
    cert_app.config["WORKSHOP_ENV"] = "production"
    try:
        assert codes(job) == ["eol_not_real_bench"]
    finally:
        cert_app.config["WORKSHOP_ENV"] = "development"


def test_a_skipped_mandatory_check_blocks_unless_the_kit_waives_it(build_job, kits_copy):
    job = build_job(stage="approved")
    run = latest_complete_run(job)
    balancing = next(c for c in run.checks if c.check_id == "bms.balancing")
    balancing.outcome = "skipped"
    db.session.flush()
    assert codes(job) == ["eol_mandatory_not_passed"]
    assert "bms.balancing" in services.certificate_blockers(job)[0].message
    with open(kits_copy / "jazz-ev1" / "eol.toml", "a") as fh:
        fh.write(WAIVER)
    assert codes(job) == []
    eol = pdfs.certificate_context(job, number="X", issued_at=run.finished_at, verify_url="u")[
        "eol"
    ]
    assert eol["waivers"] == [
        {
            "check": "bms.balancing",
            "reason": "The BMS balances passively and broadcasts no balancing status frame",
            "reference": "Vendor letter TS-2026-114",
        }
    ]


@pytest.mark.parametrize(
    "text, problem",
    [
        (WAIVER.replace("bms.balancing", "bms.nope"), "unknown check 'bms.nope'"),
        (WAIVER + WAIVER, "waived twice"),
        ('\n[certificate]\nmandatory = ["ecu.heartbeat", "ecu.zzz"]\n', "unknown check 'ecu.zzz'"),
    ],
    ids=["unknown check", "twice", "unknown mandatory"],
)
def test_bad_certificate_policy_is_refused_by_validate(kits_copy, text, problem):
    with open(kits_copy / "jazz-ev1" / "eol.toml", "a") as fh:
        fh.write(text)
    r = CliRunner().invoke(eol_cli, ["validate", "--kit", "jazz-ev1", "--kit-root", kits_copy])
    assert r.exit_code == 2 and "INVALID" in r.output and problem in r.output


def test_a_waiver_without_reason_does_not_load(kits_copy):
    with open(kits_copy / "jazz-ev1" / "eol.toml", "a") as fh:
        fh.write('\n[[certificate.waivers]]\ncheck = "bms.balancing"\nreference = "X-1"\n')
    with pytest.raises(definitions.EolDefinitionError) as refused:
        definitions.load_kit("jazz-ev1")
    assert "certificate.waivers" in "\n".join(refused.value.problems)


def test_eol_run_is_incomplete_when_a_mandatory_check_did_not_pass(kits_copy):
    eol = kits_copy / "jazz-ev1" / "eol.toml"
    eol.write_text(
        "\n".join(line for line in eol.read_text().splitlines() if "BMS_Balancing" not in line)
    )
    runner = CliRunner(env={"LC_ALL": "en_US.UTF-8"})
    args = ["run", "--kit", "jazz-ev1", "--kit-root", kits_copy, "--simulate", "--seed", "3"]
    r = runner.invoke(eol_cli, [*args, "--sequence", "bms"])
    assert r.exit_code == 1, r.output
    assert "INCOMPLETE: 14 passed, 0 failed, 0 error, 1 skipped" in r.output
    assert "not mapped): bms.balancing" in r.output
    with open(eol, "a") as fh:
        fh.write(WAIVER)
    r = runner.invoke(eol_cli, [*args, "--sequence", "bms"])
    assert r.exit_code == 0 and "PASS: 14 passed" in r.output


# --- separation of duties ------------------------------------------------------------------------


def test_an_inspector_who_worked_on_the_car_may_not_inspect_it(build_job, crew):
    job = build_job(stage="submitted")
    run = latest_complete_run(job)
    run.requested_by_id = crew["inspector"].id  # the inspector ran the car's EOL test
    db.session.flush()
    with pytest.raises(inspection.InspectionError, match="separation of duties"):
        inspection.start_inspection(job, crew["inspector"])
    assert inspection.open_inspection(job) is None


def test_one_engineer_may_not_give_both_sign_offs(build_job, crew):
    from datetime import timedelta

    from workshop.columns import utcnow

    job = build_job(stage="submitted")
    engineer = crew["mech"]
    inspection.record_licence(
        engineer, "electrical", "ภฟ.99999", utcnow() + timedelta(days=90), None
    )
    inspection.sign_off(job, engineer, "mechanical")
    with pytest.raises(inspection.InspectionError, match="separation of duties"):
        inspection.sign_off(job, engineer, "electrical")
    assert Branch.ELECTRICAL not in inspection.active_signoffs(job)


def test_a_broken_rule_in_the_records_blocks_the_certificate(build_job, crew):
    job = build_job(stage="approved")
    given = inspection.active_signoffs(job)[Branch.ELECTRICAL]
    # a newer electrical sign-off in the inspector's name, written around the services
    db.session.add(
        EngineerSignoff(
            job=job,
            branch=Branch.ELECTRICAL,
            engineer=crew["inspector"],
            licence=given.licence,
            licence_number=given.licence_number,
            statement=given.statement,
            signed_at=given.signed_at,
        )
    )
    db.session.flush()
    blockers = services.certificate_blockers(job)
    # (the inspector holds no signing key either)
    assert [b.code for b in blockers] == ["separation_of_duties", "signing_key_missing"]
    assert crew["inspector"].full_name in blockers[0].message
    assert blockers[0].params["rule_id"] == "inspector_independent"


@pytest.mark.parametrize(
    "text, place",
    [
        ('format = 1\n[[rule]]\nid = "a"\nwho = "inspector"\nnot = ["inspector"]\n'
         'text_th = "ข้อความกฎ"\ntext_en = "a rule text"\n', "rule[0].not"),
        ('format = 1\n[[rule]]\nid = "a"\nwho = "boss"\nnot = ["ran_eol"]\n'
         'text_th = "ข้อความกฎ"\ntext_en = "a rule text"\n', "rule[0].who"),
        ("format = 1\n[[rule]\n", "line 2"),
    ],
    ids=["excludes itself", "unknown duty", "syntax"],
)  # fmt: skip
def test_bad_duties_file_names_the_place(tmp_path, text, place):
    path = tmp_path / "duties.toml"
    path.write_text(text)
    with pytest.raises(DutiesError) as refused:
        load_duties(path)
    assert place in refused.value.location


def test_the_user_form_warns_about_roles_kept_apart(client, auth, create_user, crew):
    admin = create_user("admin")
    both = create_user("inspector", centres=[crew["centre"]])
    from workshop.accounts.models import Role, UserRole

    db.session.add(UserRole(user_id=both.id, role=Role.TECHNICIAN))
    db.session.commit()
    auth.login(admin.username)
    assert 'id="duty-warning"' in client.get(f"/admin/users/{both.id}/edit").text
    assert 'id="duty-warning"' not in client.get(f"/admin/users/{crew['tech'].id}/edit").text
