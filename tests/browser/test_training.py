"""A trainer runs a session (QR attendance on the projector, scores, completion) and a trainee
takes a fault-finding drill on the simulated bench."""

import pytest

from tests.factories import agent_running
from workshop.training.services import bangkok_today

pytestmark = pytest.mark.browser


@pytest.fixture
def bench(app):
    drill_bench = {"simulate": True, "channel": "browser-drill", "speed": 0}
    with agent_running(app, {"SIM-D": drill_bench}):
        yield


def test_trainer_runs_a_session_and_a_trainee_takes_a_drill(
    app, bench, create_centre, create_user, live_server, new_page, log_in, shot
):
    create_user("trainer", centre=create_centre(code="TRB01"), username="teacher")
    create_user(
        "technician",
        centre=create_centre(code="TRB02"),
        username="learner",
        full_name="สมชาย ฝึกงาน",
    )
    today = bangkok_today().isoformat()

    trainer = new_page("landscape")
    log_in(trainer, "teacher")
    trainer.goto(f"{live_server}/training/")
    trainer.click("#new-session")
    trainer.select_option("select[name=course_code]", "HV-AW")
    trainer.fill("input[name=place]", "ห้องอบรม 1")
    trainer.fill("input[name=starts_on]", today)
    trainer.fill("input[name=ends_on]", today)
    trainer.fill("input[name=capacity]", "8")
    trainer.click("form.form button[type=submit]")
    trainer.wait_for_url("**/training/sessions/*")
    session_url = trainer.url
    trainer.fill("input[name=username]", "learner")
    trainer.click("#enrol button[type=submit]")
    assert trainer.locator("tr[data-trainee=learner]").count() == 1

    trainer.goto(f"{session_url}/projector")
    qr = trainer.locator("#attendance-qr")
    assert qr.locator("svg").count() == 1
    link = qr.get_attribute("data-url")
    # On a 1280x800 projector the count sits beside the code, all of it on screen.
    trainer.set_viewport_size({"width": 1280, "height": 800})
    count = trainer.locator("#present-count").bounding_box()
    code = qr.bounding_box()
    assert count["x"] >= code["x"] + code["width"], (count, code)
    assert count["y"] + count["height"] <= 800 and code["y"] + code["height"] <= 800
    shot(trainer, "training-projector-1280x800")

    trainee = new_page("portrait")
    log_in(trainee, "learner")
    trainee.goto(link)  # what the phone camera opens
    assert trainee.locator("#attend-result .flash-success").count() == 1
    shot(trainee, "training-attended")

    trainer.goto(session_url)
    assert "1 / 1" in trainer.locator("tr[data-trainee=learner]").inner_text()
    trainer.fill("tr[data-trainee=learner] input[type=number]", "92")
    trainer.click("#save-scores")
    trainer.click("#complete-session")
    trainer.locator("tr[data-trainee=learner] .badge-ok").wait_for()
    shot(trainer, "training-session-completed")

    trainee.goto(session_url)
    assert trainee.locator("a[href$='.pdf']").count() == 1

    # the trainer sets up a drill with a hidden interlock fault
    trainer.goto(f"{live_server}/training/drills/new")
    trainer.fill("input[name=title]", "ECU ไม่พร้อมขับ")
    trainer.check("input[name=faults][value=hvil_open]")
    trainer.uncheck("input[name=sequences][value=bms]")
    trainer.uncheck("input[name=sequences][value=brakes]")
    trainer.click("form.form button[type=submit]")
    trainer.wait_for_url("**/training/drills/*")
    drill_url = trainer.url

    trainee.goto(drill_url)
    trainee.click("#start-drill")
    trainee.wait_for_url("**/training/attempts/*")
    trainee.click("#run-tests")
    # the page refreshes itself until the bench has finished the run
    trainee.locator(".run .outcome-fail").first.wait_for(timeout=60_000)
    assert trainee.locator("tr.check-fail[data-check='ecu.hvil']").count() == 1
    shot(trainee, "training-drill-results")
    trainee.select_option("#component-0", "ecu")
    trainee.select_option("#fault-0", "hvil_open")
    trainee.click("#submit-diagnosis")
    assert "100%" in trainee.locator("#drill-score").inner_text()
    shot(trainee, "training-drill-scored")

    trainer.goto(drill_url)
    row = trainer.locator("#attempts tr[data-trainee=learner]")
    assert "100%" in row.locator(".score").inner_text()


def test_the_drill_form_offers_only_the_faults_of_the_chosen_kit(
    app, create_centre, create_user, live_server, new_page, log_in
):
    """The page carries, per kit, the faults that kit can reveal (every shipped kit maps them
    all); app.js hides the others as soon as the kit changes."""
    import json

    from workshop.eol.definitions import list_kits, load_kit
    from workshop.eol.faults import applicable_faults

    create_user("trainer", centre=create_centre(code="TRB03"), username="teacher2")
    page = new_page("landscape")
    log_in(page, "teacher2")
    page.goto(f"{live_server}/training/drills/new")
    offered = json.loads(page.get_attribute("select[name=kit_id]", "data-kit-faults"))
    assert offered == {k: sorted(applicable_faults(load_kit(k))) for k in list_kits()}
    # a kit that cannot show every fault: give the page such a map, then choose that kit
    page.evaluate(
        """() => {
            const kit = document.querySelector("select[name=kit_id]");
            const map = JSON.parse(kit.dataset.kitFaults);
            map["jazz-ev1"] = ["hvil_open"];
            kit.dataset.kitFaults = JSON.stringify(map);
        }"""
    )
    page.check("input[name=faults][value=dead_pump]")
    page.select_option("select[name=kit_id]", "jazz-ev1")
    visible = page.locator("input[name=faults]:not([disabled])")
    assert [visible.nth(i).get_attribute("value") for i in range(visible.count())] == ["hvil_open"]
    dead_pump = page.locator("input[name=faults][value=dead_pump]")
    assert dead_pump.is_hidden() and dead_pump.is_disabled() and not dead_pump.is_checked()
