import io

import pytest
import sqlalchemy as sa

from tests.jobs.conftest import png_bytes
from workshop.extensions import db
from workshop.jobs.models import Job, Photo, StepRecord


@pytest.fixture
def use_test_manual(monkeypatch, manual):
    """The intake form offers the test manual instead of the real ones."""
    monkeypatch.setattr("workshop.jobs.views.manual_catalogue", lambda: {manual.id: manual})


def intake_form(**fields):
    data = {
        "manual_id": "test-car",
        "kit_id": "",
        "vin": "JHMGE8H5000000042",
        "plate": "กข 1234",
        "province": "BKK",
        "year": "2010",
        "colour": "ขาว",
        "engine_number": "L15A-1",
        "odometer_km": "152000",
        "curb_weight_kg": "1050",
        "owner_name": "สมศรี",
        "owner_phone": "081 234 5678",
        "owner_national_id": "1 1017 00230 70 8",
    }
    data.update(fields)
    return data


def test_supervisor_opens_a_job_through_the_form(client, auth, create_worker, use_test_manual):
    supervisor = create_worker("supervisor")
    auth.login(supervisor.username)
    assert "test-car" in client.get("/jobs/new").text
    r = client.post("/jobs/new", data=intake_form())
    assert r.status_code == 302
    db.session.rollback()
    job = db.session.scalar(sa.select(Job))
    assert r.headers["Location"] == f"/jobs/{job.id}"
    page = client.get(r.headers["Location"]).text
    assert job.reference in page and "JHMGE8H5000000042" in page


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"vin": "JHMGE8H5O00000042"}, "I, O หรือ Q"),
        ({"year": "2020"}, "2008–2014"),
        ({"owner_phone": "abc"}, "field-error"),
        ({"manual_id": "no-such"}, "field-error"),
        ({"province": "ZZZ"}, "field-error"),
        ({"odometer_km": "-5"}, "field-error"),
        ({"owner_national_id": "1101700230705"}, "field-error"),
        ({"owner_national_id": ""}, "field-error"),
    ],
)
def test_bad_intake_changes_nothing(client, auth, create_worker, use_test_manual, fields, message):
    auth.login(create_worker("supervisor").username)
    r = client.post("/jobs/new", data=intake_form(**fields))
    assert r.status_code == 200
    assert message in r.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_technician_signs_with_photo_and_sees_failure(client, auth, create_job, create_worker):
    job = create_job()
    tech = create_worker()
    auth.login(tech.username)
    page = client.get(f"/jobs/{job.id}/steps/intake-01")
    assert page.status_code == 200 and 'capture="environment"' in page.text
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/photos",
        data={"input_key": "vin_photo", "photo": (io.BytesIO(png_bytes()), "vin.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    db.session.rollback()
    photo = db.session.scalar(sa.select(Photo))
    thumb = client.get(f"/jobs/{job.id}/photos/{photo.id}?thumb=1")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    thumb.close()
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/sign",
        data={"odometer_km": "152000", "base_seq": "0", "opened_at": "2026-01-01T00:00:00+00:00"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/steps/intake-02")
    db.session.rollback()
    record = db.session.scalar(sa.select(StepRecord))
    assert record.values == {"odometer_km": 152000.0}
    assert record.seconds_spent == 8 * 3600  # an old opening time is capped


def test_bad_upload_is_refused_clearly(client, auth, create_job, create_worker):
    job = create_job()
    auth.login(create_worker().username)
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/photos",
        data={"input_key": "vin_photo", "photo": (io.BytesIO(b"MZ\x90\x00 not an image"), "x.jpg")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "ไม่ใช่รูป JPEG, PNG หรือ WebP" in r.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Photo.id))) == 0


def test_out_of_limit_value_refused_then_recorded(
    client, auth, create_job, create_worker, tmp_path
):
    from workshop.jobs import services
    from workshop.jobs.progress import manual_of

    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    db.session.commit()
    auth.login(tech.username)
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/sign", data={"odometer_km": "-3", "base_seq": "0"}
    )
    assert r.status_code == 422
    assert "นอกเกณฑ์" in r.text and 'value="-3"' in r.text  # the value is kept for re-entry
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/sign",
        data={"odometer_km": "-3", "base_seq": "0", "record_failure": "y", "note": "แผงหน้าปัดเสีย"},
    )
    assert r.status_code == 302
    page = client.get(f"/jobs/{job.id}").text
    assert "non-conformances" in page
    label = manual_of(job).step("intake-01").inputs[0]
    assert label.key == "odometer_km" and label.label("th") in page  # the input by name
    assert "odometer_km" not in page.split('id="non-conformances"')[1].split("</section>")[0]


def test_stale_tablet_gets_409_and_keeps_nothing_lost(
    client, auth, create_job, create_worker, tmp_path
):
    from workshop.jobs import services

    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    services.sign_step(job, "intake-01", tech, {"odometer_km": "100"}, base_seq=0)
    db.session.commit()
    auth.login(create_worker().username)
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/sign",
        data={"odometer_km": "200", "base_seq": "0", "reason": "typo"},
    )
    assert r.status_code == 409
    assert tech.full_name in r.text
    db.session.rollback()
    assert [r.values for r in db.session.scalars(sa.select(StepRecord))] == [{"odometer_km": 100.0}]


def test_other_centres_job_is_forbidden(client, auth, create_job, create_worker, create_centre):
    job = create_job()
    auth.login(create_worker(centre=create_centre(code="ZZZ01")).username)
    assert client.get(f"/jobs/{job.id}").status_code == 403
    assert client.get(f"/jobs/{job.id}/steps/intake-01").status_code == 403
    assert job.reference not in client.get("/jobs/").text


def test_unknown_step_and_job_are_404(client, auth, create_job, create_worker):
    job = create_job()
    auth.login(create_worker().username)
    assert client.get(f"/jobs/{job.id}/steps/nope").status_code == 404
    assert client.get("/jobs/999999").status_code == 404


def test_job_list_search_and_filter(client, auth, create_job, create_worker):
    a = create_job(vin="JHMGE8H5000000101", plate="1กข 111")
    b = create_job(vin="JHMGE8H5000000202", plate="2คง 222")
    auth.login(create_worker().username)
    text = client.get("/jobs/?q=0202").text
    assert b.reference in text and a.reference not in text
    text = client.get("/jobs/?q=1กข").text
    assert a.reference in text and b.reference not in text
    assert a.reference in client.get("/jobs/?status=open").text
    assert a.reference not in client.get("/jobs/?status=certified").text
    assert client.get("/jobs/?status=bogus").status_code == 200


def test_technician_home_lists_open_jobs(client, auth, create_job, create_worker):
    job = create_job()
    auth.login(create_worker().username)
    assert job.reference in client.get("/").text


def test_admin_grants_and_revokes_qualification(client, auth, create_user, create_worker):
    admin = create_user("admin")
    tech = create_worker(qualifications=())
    auth.login(admin.username)
    r = client.post(f"/admin/users/{tech.id}/qualifications", data={"code": "hv_qualified"})
    assert r.status_code == 302
    db.session.rollback()
    from workshop.accounts.services import valid_qualifications

    db.session.expire_all()
    assert valid_qualifications(tech) == {"hv_qualified"}
    r = client.post(f"/admin/users/{tech.id}/qualifications", data={"code": "pilot_licence"})
    assert "field-error" in r.text
    grant = tech.qualifications[0]
    # Revoking asks why: without a reason nothing changes.
    r = client.post(f"/admin/qualifications/{grant.id}/revoke", follow_redirects=True)
    assert "ตรวจสอบย้อนหลัง" in r.text or "audited" in r.text
    db.session.rollback()
    db.session.expire_all()
    assert valid_qualifications(tech) == {"hv_qualified"}
    client.post(
        f"/admin/qualifications/{grant.id}/revoke", data={"reason": "failed the glove check twice"}
    )
    db.session.rollback()
    db.session.expire_all()
    assert valid_qualifications(tech) == set()
    from workshop.audit.models import AuditEvent

    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "qualification.revoke")
    )
    assert event.details["reason"] == "failed the glove check twice"


def test_supervisor_opens_a_training_job(client, auth, create_worker, use_test_manual):
    auth.login(create_worker("supervisor").username)
    r = client.post("/jobs/new", data=intake_form(is_training="y"))
    assert r.status_code == 302
    db.session.rollback()
    job = db.session.scalar(sa.select(Job))
    assert job.is_training
    assert "ฝึกอบรม" in client.get(f"/jobs/{job.id}").text


def test_step_screen_shows_each_record_as_signed(client, auth, create_job, create_worker, tmp_path):
    """The step screen reads records as plain rows: who signed each, the correction and its
    reason, the value out of limits, the photos attached to each record and those still waiting
    for a signature, who countersigned when, and how many records the next save builds on."""
    from workshop.jobs import services

    job = create_job()
    tech = create_worker(full_name="ช่างหนึ่ง")
    second = create_worker(full_name="ช่างสอง")
    services.add_photo(job, "intake-01", "vin_photo", png_bytes((1, 2, 3)), tech, tmp_path)
    services.sign_step(job, "intake-01", tech, {"odometer_km": "152000"}, base_seq=0)
    services.add_photo(job, "intake-01", "vin_photo", png_bytes((4, 5, 6)), second, tmp_path)
    services.sign_step(
        job, "intake-01", second, {"odometer_km": "152100"}, base_seq=1, reason="misread dial"
    )
    services.add_photo(job, "intake-01", "vin_photo", png_bytes((7, 8, 9)), tech, tmp_path)
    services.sign_step(
        job, "intake-02", tech, {"walkaround": "y", "fuel_level": "empty"}, base_seq=0
    )
    services.sign_step(
        job,
        "hv-01",
        tech,
        {"box_bolts": "60", "bms_serial": ["B-1"]},
        base_seq=0,
        record_failure=True,
        note="thread damaged",
    )
    services.countersign_step(job, "hv-01", second)
    db.session.commit()
    first, corrected, waiting = db.session.scalars(sa.select(Photo.id).order_by(Photo.id))
    auth.login(tech.username)

    page = client.get(f"/jobs/{job.id}/steps/intake-01").text
    records = page.split('id="records"')[1].split("</section>")[0]
    newest, older = records.split('<div class="record')[1:]
    assert "ช่างสอง" in newest and "misread dial" in newest and "152100" in newest
    assert f"/photos/{corrected}?thumb=1" in newest and f"/photos/{first}?" not in newest
    assert "record-superseded" in older and "ช่างหนึ่ง" in older and "152000" in older
    assert f"/photos/{first}?thumb=1" in older and f"/photos/{corrected}?" not in older
    waiting_section = page.split('id="photo-vin_photo"')[1].split("</section>")[0]
    assert f"/photos/{waiting}?thumb=1" in waiting_section and "photo-count" in waiting_section
    assert 'name="base_seq" value="2"' in page

    # A fresh job's second step names the step it waits for, with a link to it.
    fresh = create_job()
    page = client.get(f"/jobs/{fresh.id}/steps/intake-02").text
    assert "ต้องลงนามขั้นตอนเหล่านี้ก่อน" in page
    assert f'<a href="/jobs/{fresh.id}/steps/intake-01">' in page
    assert f'<a class="btn btn-big" href="/jobs/{fresh.id}/steps/intake-01">←' in page  # Back
    assert f'<a class="btn btn-big" href="/jobs/{fresh.id}">' in page  # the job
    assert f'id="next" href="/jobs/{fresh.id}/steps/hv-01"' in page

    page = client.get(f"/jobs/{job.id}/steps/hv-01").text
    records = page.split('id="records"')[1].split("</section>")[0]
    assert "badge-err" in records and "thread damaged" in records and "value-fail" in records
    assert "✔" in records and "ช่างสอง" in records  # countersigned, by whom
    assert 'name="base_seq" value="1"' in page
