"""A supervisor receives a delivery with a barcode scanner; a technician installs one of its
serials from the step screen."""

import pytest
import sqlalchemy as sa

from tests.factories import make_intake
from tests.jobs.conftest import ALL_QUALIFICATIONS, TEST_MANUAL, png_bytes
from workshop.accounts.services import grant_qualification
from workshop.extensions import db
from workshop.jobs import services as jobs
from workshop.kits.loader import load_kits
from workshop.kits.models import Component, ComponentStatus
from workshop.manuals.loader import load_manual

pytestmark = pytest.mark.browser


def test_receive_then_install_from_the_step_screen(
    app, create_centre, create_user, live_server, new_page, log_in, shot
):
    centre = create_centre(code="STK01")
    boss = create_user("supervisor", centre=centre, username="boss")
    tech = create_user("technician", centre=centre, username="somchai")
    for code in ALL_QUALIFICATIONS:
        grant_qualification(tech, code)
    manual = load_manual(TEST_MANUAL)
    kit = load_kits()["jazz-ev1"]
    kit = kit.model_copy(update={"manuals": (*kit.manuals, manual.id)})
    job = jobs.open_job(
        centre,
        make_intake(vin="JHMGE8H5000300001", plate="1กข 3"),
        manual,
        boss,
        kit=kit,
    )
    jobs.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, app.config["UPLOAD_FOLDER"])
    jobs.sign_step(job, "intake-01", tech, {"odometer_km": "1"}, base_seq=0)
    jobs.sign_step(job, "intake-02", tech, {"walkaround": "y", "fuel_level": "empty"}, base_seq=0)
    db.session.commit()
    bms = next(line for line in kit.bom if line.category == "bms" and line.serialised)

    page = new_page("landscape")
    log_in(page, "boss")
    page.goto(f"{live_server}/kits/deliveries/new")
    page.fill("[name=supplier]", "EV Kit Thailand")
    page.fill("[name=invoice_number]", "INV-2569-001")
    page.select_option("[name=part]", value=f"jazz-ev1|{bms.part_number}")
    page.fill("[name=unit_cost]", "1850.50")
    # a barcode scanner types each serial followed by Enter
    page.locator("[name=serials]").press_sequentially("SN-0001\nSN-0002\n")
    shot(page, "stock-receive-delivery")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert page.locator(".flash-error").count() == 0
    shot(page, "stock-delivery-received")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Component.id))) == 2

    tablet = new_page("portrait")
    log_in(tablet, "somchai")
    tablet.goto(f"{live_server}/jobs/{job.id}/steps/hv-01")
    tablet.fill("[name=box_bolts]", "45")
    tablet.fill("[name=bms_serial]", "SN-9999")  # a serial nobody received
    with tablet.expect_navigation():  # saved in the background, then shown
        tablet.click("#sign")
    assert "SN-9999" in tablet.locator(".flash-error").inner_text()
    shot(tablet, "stock-install-unknown-serial")
    tablet.fill("[name=bms_serial]", "SN-0002")
    with tablet.expect_navigation():  # saved in the background, then shown
        tablet.click("#sign")
    assert tablet.locator(".flash-error").count() == 0
    shot(tablet, "stock-serial-installed")
    db.session.rollback()
    installed = db.session.scalar(sa.select(Component).where(Component.serial == "SN-0002"))
    assert installed.status == ComponentStatus.INSTALLED and installed.job_id == job.id
    other = db.session.scalar(sa.select(Component).where(Component.serial == "SN-0001"))
    assert other.status == ComponentStatus.IN_STOCK
