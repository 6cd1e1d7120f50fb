"""Drill answers stay hidden (only trainers see them, only after submission); a link cannot
pre-fill a step's measurements."""

import pytest

from tests.conftest import TEST_PASSWORD, IsolatedClient
from workshop.accounts.services import grant_qualification
from workshop.eol.bench import run_agent
from workshop.extensions import db
from workshop.training import drills

BENCH = {"simulate": True, "channel": "security-drill", "time_scale": 40.0}
ANSWER = "HVIL open"  # the label of the hidden fault hvil_open


@pytest.fixture
def drill_world(app, create_user, create_centre):
    app.config["EOL_BENCHES"] = {"SIM-S": dict(BENCH)}
    centre = create_centre(code="DRL01")
    people = {
        "trainer": create_user("trainer", centre=create_centre(code="TRN09")),
        "technician": create_user("technician", centre=centre),
        "supervisor": create_user("supervisor", centre=centre),
        "admin": create_user("admin"),
    }
    drill = drills.create_drill(
        people["trainer"], title="HVIL", kit_id="jazz-ev1", faults=["hvil_open"], sequences=["ecu"]
    )
    attempt = drills.start_attempt(drill, people["technician"])
    db.session.commit()
    return app, people, drill, attempt


def _page(app, user, url):
    app.test_client_class = IsolatedClient  # each request its own context, as in production
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert r.status_code == 302
    client.post("/language/en")
    page = client.get(url)
    assert page.status_code == 200, url
    return page.text


def _submit(app, people, attempt, answer):
    drills.run_drill(attempt, people["technician"], "SIM-S", ["ecu"], app.config["EOL_BENCHES"])
    db.session.commit()
    assert run_agent(app, benches=["SIM-S"], once=True) == 1
    db.session.rollback()
    drills.submit_diagnosis(attempt, people["technician"], [answer])
    db.session.commit()


def test_nobody_sees_the_answer_of_an_unsubmitted_attempt(drill_world):
    app, people, drill, attempt = drill_world
    url = f"/training/attempts/{attempt.id}"
    for role in ("supervisor", "admin", "trainer"):
        text = _page(app, people[role], url)
        assert ANSWER not in text and "Hidden faults" not in text, role
        assert 'id="answer"' not in text, role
    # the supervisor who looked can start the drill knowing nothing more than before
    assert ANSWER not in _page(app, people["supervisor"], f"/training/drills/{drill.id}")
    assert ANSWER not in _page(app, people["admin"], f"/training/drills/{drill.id}")
    assert ANSWER in _page(app, people["trainer"], f"/training/drills/{drill.id}")


def test_after_submission_only_trainers_see_the_hidden_faults(drill_world):
    app, people, drill, attempt = drill_world
    _submit(app, people, attempt, {"component": "bms", "fault": "isolation_fault"})
    url = f"/training/attempts/{attempt.id}"
    assert ANSWER in _page(app, people["trainer"], url)
    for role in ("technician", "supervisor", "admin"):
        text = _page(app, people[role], url)
        assert ANSWER not in text, role
        assert "Score 0%" in text, role  # the score is no secret
    assert drills.may_see_hidden_faults(people["trainer"], attempt)
    assert not drills.may_see_hidden_faults(people["admin"], attempt)


def test_a_link_cannot_prefill_a_step_measurement(app, client, auth, create_user, open_real_job):
    supervisor = create_user("supervisor")
    grant_qualification(supervisor, "conversion_honda_jazz")
    db.session.commit()
    job = open_real_job(supervisor.centre, supervisor, "MRHGE8840BP900001")
    auth.login(supervisor.username)
    crafted = client.get(
        f"/jobs/{job.id}/steps/intake-02?odometer_km=987654&existing_faults=forged+fault"
        "&note=ok+as+measured&record_failure=y&reason=forged+reason"
    ).text
    # (the URL itself comes back only inside the language switch's "next")
    assert 'value="987654"' not in crafted
    for planted in ("forged fault", "ok as measured", "forged reason"):
        assert f">{planted}</textarea>" not in crafted
    assert 'name="record_failure" value="y" checked' not in crafted
