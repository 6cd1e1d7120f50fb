"""A technician works through real sections of the Honda Jazz manual on a tablet."""

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.factories import make_intake
from tests.jobs.conftest import ALL_QUALIFICATIONS
from workshop.accounts.services import grant_qualification
from workshop.certificates.demo import demo_text, register_demo_instruments
from workshop.extensions import db
from workshop.jobs import services
from workshop.jobs.progress import StepState, job_progress
from workshop.manuals.loader import load_manuals

pytestmark = pytest.mark.browser


@pytest.fixture
def jazz_job(app, create_centre, create_user):
    centre = create_centre(code="BRW01")
    people = {}
    for name, role in (("somchai", "technician"), ("wipa", "technician"), ("boss", "supervisor")):
        user = create_user(role, centre=centre, username=name)
        for code in ALL_QUALIFICATIONS:
            grant_qualification(user, code)
        people[name] = user
    # the centre's calibrated instruments: the weighing and HV readings name one
    register_demo_instruments(centre, people["boss"], app.config["UPLOAD_FOLDER"])
    manual = load_manuals()["honda-jazz-ge"]
    job = services.open_job(
        centre,
        make_intake(
            vin="MRHGE8840BP100001",
            plate="1กข 1234",
            year=2011,
            engine_number="L15A7-1",
            odometer_km=140000,
            curb_weight_kg=1040,
            owner_name="สุดา",
            owner_phone="089 222 0202",
        ),
        manual,
        people["boss"],
    )
    db.session.commit()
    return job, manual, people


def photo_file(tmp_path, name):
    path = tmp_path / f"{name}.jpg"
    Image.new("RGB", (800, 600), (40, 120, 200)).save(path, "JPEG")
    return path


def fill_step(page, step, tmp_path, shot, fail_first=False):
    """Fill every input of ``step`` the way a technician would; returns once signed."""
    for inp in step.inputs:
        if inp.type == "photo":
            for i in range(inp.count):
                page.set_input_files(
                    f"#photo-{inp.key} input[type=file]", str(photo_file(tmp_path, f"{inp.key}{i}"))
                )
                page.click(f"#photo-{inp.key} button[type=submit]")
                # Uploaded in the background: the thumbnail appears, the page stays.
                expect(page.locator(f"#photo-{inp.key} .thumbs img")).to_have_count(i + 1)
    for inp in step.inputs:
        field = f"[name='{inp.key}']"
        if inp.type == "measurement":
            lo, hi = inp.min, inp.max
            good = (
                (lo + hi) / 2
                if lo is not None and hi is not None
                else (lo or 0) + 1
                if lo is not None
                else hi - 1
            )
            if fail_first and hi is not None:
                page.fill(field, str(hi * 1.2 + 1))
                box = page.locator(f".measure:has({field})")
                assert box.locator(".limit-msg").is_visible()
                assert "out-of-limits" in box.get_attribute("class")
                shot(page, f"step-{step.id}-failing-measurement")
                fail_first = False
            page.fill(field, f"{good:g}")
        elif inp.type == "torque":
            page.fill(field, f"{inp.spec_nm:g}")
        elif inp.type == "confirmation":
            page.check(field)
        elif inp.type == "choice":
            page.check(f"{field} >> nth=0")
        elif inp.type == "text":
            page.fill(
                field,
                demo_text(inp, {"engine_number": "L15A7-1"})
                if inp.format != "free"
                else "ตรวจแล้ว ปกติ",
            )
    with page.expect_navigation():  # saved in the background, then shown
        page.click("#sign")


def test_technician_completes_intake_and_hv_prep_with_countersign(
    jazz_job, live_server, new_page, log_in, shot, tmp_path
):
    job, manual, people = jazz_job
    page = new_page("portrait")
    log_in(page, "somchai")
    page.goto(f"{live_server}/jobs/{job.id}")
    shot(page, "job-page-start")
    steps = [s for sec in manual.sections if sec.id in ("intake", "hv-prep") for s in sec.steps]
    failed_once = False
    for step in steps:
        page.goto(f"{live_server}/jobs/{job.id}/steps/{step.id}")
        assert page.locator("#step-title").inner_text() == step.title_th
        if "high_voltage" in step.hazards:
            assert page.locator("#hazards").is_visible()
        wants_fail = not failed_once and any(
            i.type == "measurement" and i.max is not None for i in step.inputs
        )
        fill_step(page, step, tmp_path, shot, fail_first=wants_fail)
        failed_once = failed_once or wants_fail
        assert page.locator(".flash-error").count() == 0, page.locator(
            ".flash-error"
        ).first.inner_text()
        shot(page, f"step-{step.id}-after-sign")
    assert failed_once, "the section should contain a measurement with limits"

    countersigned = [s for s in steps if s.countersign]
    assert countersigned, "the HV preparation has a step a second person countersigns"
    other = new_page("landscape")
    log_in(other, "wipa")
    for step in countersigned:
        other.goto(f"{live_server}/jobs/{job.id}/steps/{step.id}")
        other.click("#countersign")
        other.wait_for_load_state()
        assert other.locator(".flash-success").count() == 1
        shot(other, f"step-{step.id}-countersigned")

    db.session.rollback()
    progress = job_progress(job)
    assert all(progress[s.id].state == StepState.DONE for s in steps)
    page.goto(f"{live_server}/jobs/{job.id}")
    shot(page, "job-page-after-sections")
    assert page.locator("#section-intake .step-done").count() == len(manual.section("intake").steps)
