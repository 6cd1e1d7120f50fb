"""Nothing typed on the step screen is lost: not to a photo upload, not to Next / Back, not to a
Wi-Fi drop while saving; and saving again after a drop never makes a second record."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.factories import make_intake
from tests.jobs.conftest import ALL_QUALIFICATIONS, TEST_MANUAL, png_bytes
from workshop.accounts.services import grant_qualification
from workshop.extensions import db
from workshop.jobs import services as jobs
from workshop.jobs.models import StepRecord
from workshop.manuals.loader import load_manual

pytestmark = pytest.mark.browser


@pytest.fixture
def test_car_job(app, create_centre, create_user):
    centre = create_centre(code="LST01")
    boss = create_user("supervisor", centre=centre, username="boss")
    tech = create_user("technician", centre=centre, username="somchai", full_name="สมชาย ช่างดี")
    for code in ALL_QUALIFICATIONS:
        grant_qualification(tech, code)
    db.session.commit()
    job = jobs.open_job(
        centre,
        make_intake(vin="JHMGE8H5000400001", plate="1กข 4"),
        load_manual(TEST_MANUAL),
        boss,
    )
    db.session.commit()
    return job, tech


def records(job, step_id):
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.count(StepRecord.id)).where(
            StepRecord.job_id == job.id, StepRecord.step_id == step_id
        )
    )


def test_a_photo_upload_keeps_what_was_typed(
    test_car_job, live_server, new_page, log_in, shot, tmp_path
):
    job, _tech = test_car_job
    photo = tmp_path / "vin.png"
    photo.write_bytes(png_bytes())
    page = new_page("portrait")
    log_in(page, "somchai")
    page.goto(f"{live_server}/jobs/{job.id}/steps/intake-01")
    page.fill("[name=odometer_km]", "152340")
    page.fill("#note", "ไมล์อ่านจากหน้าปัด")
    page.set_input_files("#photo-vin_photo input[type=file]", str(photo))
    page.click("#photo-vin_photo button[type=submit]")
    expect(page.locator("#photo-vin_photo .thumbs img")).to_have_count(1)
    expect(page.locator("#photo-vin_photo .photo-status")).to_be_visible()
    assert page.input_value("[name=odometer_km]") == "152340"
    assert page.input_value("#note") == "ไมล์อ่านจากหน้าปัด"
    shot(page, "step-photo-uploaded-values-kept-portrait")
    with page.expect_navigation():
        page.click("#sign")
    assert page.locator(".flash-error").count() == 0
    assert records(job, "intake-01") == 1


def test_next_and_back_keep_typed_serials(app, test_car_job, live_server, new_page, log_in, shot):
    job, tech = test_car_job
    jobs.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, app.config["UPLOAD_FOLDER"])
    jobs.sign_step(job, "intake-01", tech, {"odometer_km": "1"}, base_seq=0)
    jobs.sign_step(job, "intake-02", tech, {"walkaround": "y", "fuel_level": "empty"}, base_seq=0)
    db.session.commit()
    page = new_page("portrait")
    log_in(page, "somchai")
    page.goto(f"{live_server}/jobs/{job.id}/steps/hv-01")
    first_opened = page.input_value("[name=opened_at]")
    page.click("[data-pause]")
    expect(page.locator("[data-paused-note]")).to_be_visible()
    page.click("[data-resume]")
    page.fill("[name=box_bolts]", "45")
    page.fill("[name=bms_serial]", "BMS-2569-0007")
    page.click("#next")
    page.wait_for_load_state()
    assert "/steps/hv-02" in page.url
    page.click(".step-nav a >> nth=0")  # ← Back
    page.wait_for_load_state()
    assert "/steps/hv-01" in page.url
    expect(page.locator("#draft-restored")).to_be_visible()
    assert page.input_value("[name=bms_serial]") == "BMS-2569-0007"
    assert page.input_value("[name=box_bolts]") == "45"
    # Labour counts from the first opening of the step, not from this visit.
    assert page.input_value("[name=opened_at]") == first_opened
    shot(page, "step-draft-restored-portrait")
    # Once saved, the draft is gone: the next visit shows the record, not the old draft.
    with page.expect_navigation():
        page.click("#sign")
    page.goto(f"{live_server}/jobs/{job.id}/steps/hv-01")
    expect(page.locator("#draft-restored")).to_be_hidden()


def test_a_dropped_connection_keeps_the_values_and_saving_again_makes_one_record(
    test_car_job, app, live_server, new_page, log_in, shot
):
    job, tech = test_car_job
    jobs.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, app.config["UPLOAD_FOLDER"])
    db.session.commit()
    page = new_page("portrait")
    log_in(page, "somchai")
    page.goto(f"{live_server}/jobs/{job.id}/steps/intake-01")
    page.fill("[name=odometer_km]", "152341")

    # 1. The Wi-Fi is down: nothing reaches the server, the values stay, the tablet says so.
    page.context.set_offline(True)
    page.click("#sign")
    expect(page.locator("#save-offline")).to_be_visible()
    assert "/steps/intake-01" in page.url
    assert page.input_value("[name=odometer_km]") == "152341"
    shot(page, "step-save-offline-portrait")
    assert records(job, "intake-01") == 0

    # 2. The save reaches the server but its answer is lost on the way back.
    page.context.set_offline(False)
    lost = []

    def lose_the_answer(route):
        route.fetch()  # the server saves the record...
        lost.append(route.request.url)
        route.abort()  # ...and the tablet never hears of it

    page.route("**/steps/intake-01/sign", lose_the_answer)
    page.click("#sign")
    expect(page.locator("#save-offline")).to_be_visible()
    assert lost and records(job, "intake-01") == 1
    page.unroute("**/steps/intake-01/sign")

    # 3. Saving again with the connection back: the same save, not a second record.
    with page.expect_navigation():
        page.click("#sign")
    assert page.locator(".flash-error").count() == 0
    assert records(job, "intake-01") == 1


def test_a_user_who_may_not_sign_is_told_before_typing(
    test_car_job, app, create_user, live_server, new_page, log_in, shot
):
    job, tech = test_car_job
    jobs.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, app.config["UPLOAD_FOLDER"])
    jobs.sign_step(job, "intake-01", tech, {"odometer_km": "1"}, base_seq=0)
    jobs.sign_step(job, "intake-02", tech, {"walkaround": "y", "fuel_level": "empty"}, base_seq=0)
    novice = create_user("technician", centre=job.centre, username="novice")
    grant_qualification(novice, "conversion_honda_jazz")  # the model, not high voltage
    db.session.commit()
    page = new_page("portrait")
    log_in(page, "novice")
    page.goto(f"{live_server}/jobs/{job.id}/steps/hv-01")
    notice = page.locator("#not-qualified")
    expect(notice).to_be_visible()
    assert "hv_qualified" not in notice.inner_text()  # the qualification's name, not its code
    assert "สมชาย ช่างดี" in notice.inner_text()  # who can sign it
    assert page.locator("#sign").count() == 0
    assert page.locator("[name=box_bolts]").is_disabled()
    # The torque to set on the wrench, in large type, with the accepted range under it.
    assert "45 Nm" in page.locator(".torque-set").inner_text()
    shot(page, "step-not-qualified-portrait")
