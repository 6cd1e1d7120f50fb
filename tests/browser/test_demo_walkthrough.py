"""Done-when of the manuals issue: a newcomer opens the demo's Vios job and walks through every
step on a tablet-sized browser (serials from the demo stock, countersigns by a second person)."""

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from workshop.certificates.demo import demo_text
from workshop.demo import seed_demo
from workshop.extensions import db
from workshop.jobs.models import Job, Vehicle
from workshop.jobs.progress import StepState, job_progress, manual_of
from workshop.kits.models import Component, ComponentStatus

pytestmark = pytest.mark.browser


def good_value(inp):
    if inp.type == "torque":
        return f"{inp.spec_nm:g}"
    if inp.min is not None and inp.max is not None:
        return f"{(inp.min + inp.max) / 2:g}"
    if inp.min is not None:
        return f"{inp.min * 1.2 + 1:g}"
    return f"{inp.max / 2:g}"


def free_serials(job, inp, used):
    stmt = sa.select(Component.serial).where(
        Component.centre_id == job.centre_id,
        Component.status == ComponentStatus.IN_STOCK,
        Component.kit_id == job.kit_id,
    )
    if inp.part_number:
        stmt = stmt.where(Component.part_number == inp.part_number)
    else:
        stmt = stmt.where(Component.category == inp.category)
    serials = [s for s in db.session.scalars(stmt.order_by(Component.serial)) if s not in used]
    assert len(serials) >= inp.count, f"demo stock lacks {inp.part_number or inp.category}"
    return serials[: inp.count]


def test_walk_the_whole_vios_job(app, live_server, new_page, log_in, shot, tmp_path):
    seed_demo()
    job = db.session.scalar(sa.select(Job).join(Vehicle).where(Vehicle.vin == "MR053REH105123456"))
    manual = manual_of(job)
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (90, 90, 90)).save(photo, "JPEG")
    tech = new_page("portrait")
    log_in(tech, "technician", "wrench-2569")
    helper = new_page("landscape")
    log_in(helper, "technician2", "torque-2569")
    used: set[str] = set()
    for _ in range(len(manual.steps) + 1):
        tech.goto(f"{live_server}/jobs/{job.id}")
        if tech.locator("#next-step").count() == 0:
            break
        tech.click("#next-step")
        step_id = tech.url.rsplit("/", 1)[1]
        step = manual.step(step_id)
        for inp in step.inputs:
            if inp.type == "photo":
                for i in range(inp.count):
                    tech.set_input_files(f"#photo-{inp.key} input[type=file]", str(photo))
                    tech.click(f"#photo-{inp.key} button[type=submit]")
                    # Uploaded in the background: the thumbnail appears, the page stays.
                    expect(tech.locator(f"#photo-{inp.key} .thumbs img")).to_have_count(i + 1)
        for inp in step.inputs:
            field = f"[name='{inp.key}']"
            if inp.type in ("measurement", "torque"):
                tech.fill(field, good_value(inp))
            elif inp.type == "confirmation":
                tech.check(field)
            elif inp.type == "choice":
                tech.check(f"{field} >> nth=0")
            elif inp.type == "text":
                tech.fill(field, demo_text(inp, {"engine_number": "1NZ-4821733"}))
            elif inp.type == "serial":
                db.session.rollback()
                for i, serial in enumerate(free_serials(job, inp, used)):
                    tech.fill(f"{field} >> nth={i}", serial)
                    used.add(serial)
        with tech.expect_navigation():  # saved in the background, then shown
            tech.click("#sign")
        errors = tech.locator(".flash-error")
        assert errors.count() == 0, f"{step.id}: {errors.first.inner_text()}"
        if step.countersign:
            helper.goto(f"{live_server}/jobs/{job.id}/steps/{step.id}")
            helper.click("#countersign")
            helper.wait_for_load_state()
            assert helper.locator(".flash-success").count() == 1, step.id
    db.session.rollback()
    progress = job_progress(job)
    assert all(s.state == StepState.DONE for s in progress.values())
    tech.goto(f"{live_server}/jobs/{job.id}")
    shot(tech, "demo-vios-all-steps-done")
    installed = db.session.scalar(
        sa.select(sa.func.count(Component.id)).where(
            Component.job_id == job.id, Component.status == ComponentStatus.INSTALLED
        )
    )
    assert installed == len(used) > 20
