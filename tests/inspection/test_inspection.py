"""Inspection: the checklist data, licences, sign-offs, decisions and the inspector's screens."""

import importlib.util
import io
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from workshop.certificates.demo import photo_bytes
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.inspection import services
from workshop.inspection.checklist import ChecklistError, inspection_checklist, load_checklist
from workshop.inspection.models import Branch, Decision, Inspection
from workshop.jobs.models import JobStatus


def all_pass():
    return {item.id: ("pass", "") for item in inspection_checklist().items}


@pytest.fixture
def submitted(build_job):
    """A job awaiting inspection (its steps are not signed: enough for inspection rules)."""
    job = build_job(stage="open")
    job.status = JobStatus.AWAITING_INSPECTION
    db.session.commit()
    return job


def test_the_checklist_is_data_validated_on_load(tmp_path):
    assert len(inspection_checklist().items) >= 8
    text = Path("checklists/inspection.toml").read_text(encoding="utf-8")
    broken = tmp_path / "dup.toml"
    broken.write_text(text.replace('id = "motor_number"', 'id = "identity"'), encoding="utf-8")
    with pytest.raises(ChecklistError, match=r"dup.toml: items\[1\].id: duplicate id 'identity'"):
        load_checklist(broken)
    broken.write_text(text.replace('branch = "mechanical"', 'branch = "welding"', 1), "utf-8")
    with pytest.raises(ChecklistError, match=r"items\[2\].branch"):
        load_checklist(broken)
    broken.write_text("version = ", encoding="utf-8")
    with pytest.raises(ChecklistError, match="TOML syntax error"):
        load_checklist(broken)


def test_licences_and_sign_offs(submitted, crew, create_user, create_centre):
    with pytest.raises(services.InspectionError, match="already recorded"):
        services.record_licence(
            crew["inspector"], "mechanical", "สก.12345", utcnow() + timedelta(days=1), None
        )
    with pytest.raises(services.InspectionError, match="already expired"):
        services.record_licence(crew["inspector"], "mechanical", "X-1", utcnow(), None)
    with pytest.raises(services.InspectionError, match="valid electrical engineer licence"):
        services.sign_off(submitted, crew["mech"], "electrical")
    outsider = create_user("supervisor", centre=create_centre(code="FAR01"))
    services.record_licence(outsider, "electrical", "FAR-1", utcnow() + timedelta(days=9), None)
    with pytest.raises(services.InspectionError, match="outside your centres"):
        services.sign_off(submitted, outsider, "electrical")
    signoff = services.sign_off(submitted, crew["mech"], "mechanical")
    db.session.commit()
    assert signoff.licence_number == "สก.12345" and "axle loads" in signoff.statement
    with pytest.raises(services.InspectionError, match="already given"):
        services.sign_off(submitted, crew["mech"], "mechanical")
    submitted.status = JobStatus.OPEN
    with pytest.raises(services.InspectionError, match="once it is sent for inspection"):
        services.sign_off(submitted, crew["elec"], "electrical")


def test_approve_needs_every_item_and_no_failure(submitted, crew):
    current = services.start_inspection(submitted, crew["inspector"])
    assert services.start_inspection(submitted, crew["inspector"]) is current
    with pytest.raises(services.InspectionError, match="answer every checklist item"):
        services.approve_inspection(current, crew["inspector"])
    with pytest.raises(services.InspectionError, match="say what failed"):
        services.save_answers(current, crew["inspector"], {"bonding": ("fail", "")})
    answers = all_pass() | {"bonding": ("fail", "0.4 ohm at the motor")}
    services.save_answers(current, crew["inspector"], answers)
    with pytest.raises(services.InspectionError, match="reject the job with reasons"):
        services.approve_inspection(current, crew["inspector"])
    services.save_answers(current, crew["inspector"], all_pass())
    with pytest.raises(services.InspectionError, match="only inspectors"):
        services.approve_inspection(current, crew["supervisor"])
    services.approve_inspection(current, crew["inspector"])
    db.session.commit()
    assert submitted.status == JobStatus.APPROVED and current.decision == Decision.APPROVED
    with pytest.raises(services.InspectionError, match="already decided"):
        services.reject_inspection(current, crew["inspector"], "late")


def test_rejection_reopens_the_job_and_tells_the_centre(submitted, crew, client, auth):
    services.sign_off(submitted, crew["mech"], "mechanical")
    current = services.start_inspection(submitted, crew["inspector"])
    services.add_finding(
        current,
        crew["inspector"],
        "Battery box bolt missing",
        item_id="battery_mounts",
        photo=photo_bytes(),
        folder=str(Path(client.application.config["UPLOAD_FOLDER"])),
    )
    with pytest.raises(services.InspectionError, match="give the reasons"):
        services.reject_inspection(current, crew["inspector"], "  ")
    services.reject_inspection(current, crew["inspector"], "Fit the missing box bolt")
    db.session.commit()
    assert submitted.status == JobStatus.OPEN
    assert services.active_signoffs(submitted) == {}
    assert submitted.rejections == 1
    auth.login(crew["supervisor"].username)
    page = client.get(f"/jobs/{submitted.id}")
    assert "Fit the missing box bolt" in page.text and "Battery box bolt missing" in page.text
    assert 'id="rejection-reasons"' in page.text

    # The migration that added the count finds the same from the inspections.
    submitted.rejections = 0
    db.session.commit()
    db.session.execute(sa.text(_migration("c3e8f1a5b7d9_job_rejections").BACKFILL))
    db.session.commit()
    db.session.refresh(submitted)
    assert submitted.rejections == 1


def _migration(name: str):
    path = Path(__file__).parents[2] / "workshop" / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_inspector_works_through_the_screens(submitted, crew, client, auth):
    auth.login(crew["inspector"].username)
    assert submitted.reference in client.get("/inspection/").text
    page = client.get(f"/inspection/jobs/{submitted.id}")
    assert page.status_code == 200 and submitted.vehicle.vin in page.text
    assert "ยังไม่มีการรับรองของวิศวกรเครื่องกล" in page.text
    assert client.post(f"/inspection/jobs/{submitted.id}/start").status_code == 302
    db.session.rollback()
    current = db.session.scalar(sa.select(Inspection))
    form = {f"result-{item_id}": "pass" for item_id in all_pass()}
    assert client.post(f"/inspection/{current.id}/checklist", data=form).status_code == 302
    r = client.post(
        f"/inspection/{current.id}/findings",
        data={
            "finding-text": "Label faded",
            "finding-item_id": "touch_protection",
            "finding-photo": (io.BytesIO(photo_bytes()), "p.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    r = client.post(
        f"/inspection/jobs/{submitted.id}/signoff", data={"signoff-branch": "mechanical"}
    )
    assert r.status_code == 302
    r = client.post(f"/inspection/{current.id}/decision", data={"decision": "approve"})
    assert r.status_code == 302  # without the confirmation box nothing changes
    db.session.rollback()
    assert submitted.status == JobStatus.AWAITING_INSPECTION
    r = client.post(
        f"/inspection/{current.id}/decision", data={"decision": "approve", "confirm": "y"}
    )
    assert r.status_code == 302
    db.session.rollback()
    assert submitted.status == JobStatus.APPROVED
    assert db.session.get(Inspection, current.id).findings[0].photo_sha256
    page = client.get(f"/inspection/jobs/{submitted.id}")
    assert "ยังไม่มีการรับรองของวิศวกรไฟฟ้า" in page.text


def test_admin_records_a_licence(client, auth, create_user, crew):
    admin = create_user("admin")
    auth.login(admin.username)
    r = client.post(
        "/inspection/licences",
        data={
            "user_id": str(crew["inspector"].id),
            "branch": "electrical",
            "licence_number": "ภฟ.11111",
            "expires_on": "2031-12-31",
        },
    )
    assert r.status_code == 302
    db.session.rollback()
    assert services.valid_licence(crew["inspector"], Branch.ELECTRICAL).licence_number == "ภฟ.11111"
    assert "ภฟ.11111" in client.get("/inspection/licences").text
