"""Drills: hidden faults on the simulated bench, a diagnosis scored automatically, and the
trainer's view of every attempt."""

import pytest

from tests.training.conftest import FAST_BENCH
from workshop.eol.bench import run_agent
from workshop.eol.models import EolRun, RunStatus
from workshop.extensions import db
from workshop.training import drills, services


@pytest.fixture
def drill_app(app):
    app.config["EOL_BENCHES"] = {
        "SIM-T": dict(FAST_BENCH),
        "BAY-1": {"interface": "virtual", "channel": "real-car"},
    }
    return app


@pytest.fixture
def hvil_drill(drill_app, trainer):
    drill = drills.create_drill(
        trainer, title="HVIL", kit_id="jazz-ev1", faults=["hvil_open"], sequences=["ecu"]
    )
    db.session.commit()
    return drill


def _attempt_with_a_finished_run(app, drill, trainee):
    attempt = drills.start_attempt(drill, trainee)
    run = drills.run_drill(attempt, trainee, "SIM-T", ["ecu"], app.config["EOL_BENCHES"])
    db.session.commit()
    assert run.job_id is None and run.faults == ["hvil_open"] and run.simulated
    assert run_agent(app, benches=["SIM-T"], once=True) == 1
    db.session.rollback()
    return attempt, db.session.get(EolRun, run.id)


def test_fault_found_and_fault_missed(drill_app, hvil_drill, trainee, trainer, client, auth):
    finder, misser = trainee(), trainee("supervisor")
    attempt, run = _attempt_with_a_finished_run(drill_app, hvil_drill, finder)
    # the trainee reads the results: the interlock check failed
    assert run.status == RunStatus.FAIL
    assert [c.check_id for c in run.checks if c.outcome == "fail"] == ["ecu.hvil"]

    result = drills.submit_diagnosis(attempt, finder, [{"component": "ecu", "fault": "hvil_open"}])
    assert (result.score, result.found) == (100, 1)
    assert attempt.seconds_taken >= 0 and attempt.submitted_at is not None
    with pytest.raises(services.TrainingError, match="already submitted"):
        drills.submit_diagnosis(attempt, finder, [{"component": "ecu", "fault": "hvil_open"}])

    other = drills.start_attempt(hvil_drill, misser)
    drills.run_drill(other, misser, "SIM-T", ["ecu"], drill_app.config["EOL_BENCHES"])
    db.session.commit()
    run_agent(drill_app, benches=["SIM-T"], once=True)
    db.session.rollback()
    missed = drills.submit_diagnosis(
        other, misser, [{"component": "bms", "fault": "isolation_fault"}]
    )
    db.session.commit()
    assert (missed.score, missed.found, missed.per_fault) == (0, 0, {"hvil_open": "missed"})

    # the trainer sees every trainee's runs, answers, scores and time taken
    auth.login(trainer.username)
    page = client.get(f"/training/drills/{hvil_drill.id}")
    assert page.status_code == 200
    for user in (finder, misser):
        assert user.full_name in page.text
    assert "100%" in page.text and "0%" in page.text
    assert f"#{run.id}" in page.text


def test_partial_credit_for_the_right_component():
    result = drills.score_diagnosis(
        ["cell_imbalance", "dead_pump"],
        [
            {"component": "bms", "fault": "over_temperature"},
            {"component": "brakes", "fault": "dead_pump"},
        ],
    )
    assert result.found == 1 and result.score == 65
    assert result.per_fault == {"dead_pump": "found", "cell_imbalance": "component"}


def test_drill_rules(drill_app, hvil_drill, trainer, trainee):
    user = trainee()
    attempt = drills.start_attempt(hvil_drill, user)
    assert drills.start_attempt(hvil_drill, user) == attempt  # continuing keeps the clock
    with pytest.raises(services.TrainingError, match="read the results"):
        drills.submit_diagnosis(attempt, user, [{"component": "ecu", "fault": "hvil_open"}])
    with pytest.raises(services.TrainingError, match="simulated bench"):
        drills.run_drill(attempt, user, "BAY-1", ["ecu"], drill_app.config["EOL_BENCHES"])
    with pytest.raises(services.TrainingError, match="another trainee"):
        drills.run_drill(attempt, trainee(), "SIM-T", ["ecu"], drill_app.config["EOL_BENCHES"])
    with pytest.raises(services.TrainingError, match="at least one sequence"):
        drills.run_drill(attempt, user, "SIM-T", ["bms"], drill_app.config["EOL_BENCHES"])
    with pytest.raises(services.TrainingError, match="BRAKES sequence"):
        drills.create_drill(
            trainer, title="x", kit_id="jazz-ev1", faults=["dead_pump"], sequences=["ecu"]
        )
    with pytest.raises(services.TrainingError, match="unknown fault"):
        drills.create_drill(
            trainer, title="x", kit_id="jazz-ev1", faults=["gremlins"], sequences=["ecu"]
        )


def test_trainee_screens_keep_the_faults_hidden(drill_app, hvil_drill, trainee, client, auth):
    user = trainee()
    auth.login(user.username)
    r = client.post(f"/training/drills/{hvil_drill.id}/start")
    assert r.status_code == 302
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and 'id="diagnosis"' in page.text
    # every fault is offered as an answer; nothing says which one is hidden
    assert 'id="answer"' not in page.text and "Hidden faults" not in page.text
    assert "HVIL open" not in client.get(f"/training/drills/{hvil_drill.id}").text
