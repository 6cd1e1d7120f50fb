"""The server side of "nothing typed is lost": one record per save however often it is sent,
background photo uploads that answer in JSON, and a refusal said before the work starts."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from workshop.accounts.models import QualificationGrant
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.jobs import services
from workshop.jobs.models import Photo, StepRecord
from workshop.jobs.progress import manual_of
from workshop.jobs.services import JobError

from .conftest import png_bytes


def _count(model, **where):
    db.session.rollback()
    stmt = sa.select(sa.func.count(model.id))
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def test_the_same_save_sent_twice_makes_one_record(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    first = services.sign_step(
        job, "intake-01", tech, {"odometer_km": "100"}, base_seq=0, save_key="k-1"
    )
    db.session.commit()
    # The retry carries the base_seq the tablet saw before: without the key it would conflict.
    again = services.sign_step(
        job, "intake-01", tech, {"odometer_km": "100"}, base_seq=0, save_key="k-1"
    )
    db.session.commit()
    assert again.id == first.id
    assert _count(StepRecord, job_id=job.id) == 1
    # A key belongs to one save: another person, step or job cannot reuse it.
    with pytest.raises(JobError, match="already used"):
        services.sign_step(
            job,
            "intake-02",
            tech,
            {"walkaround": "y", "fuel_level": "empty"},
            base_seq=0,
            save_key="k-1",
        )


def test_over_http_a_repeated_save_is_answered_like_the_first(
    client, auth, create_job, create_worker, tmp_path
):
    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    db.session.commit()
    auth.login(tech.username)
    form = {"odometer_km": "152000", "base_seq": "0", "save_key": "tablet-save-7"}
    for _ in range(2):
        r = client.post(f"/jobs/{job.id}/steps/intake-01/sign", data=form)
        assert r.status_code == 302 and r.headers["Location"].endswith("/steps/intake-02")
    assert _count(StepRecord, job_id=job.id) == 1


def test_background_photo_upload_answers_in_json(client, auth, create_job, create_worker):
    job = create_job()
    auth.login(create_worker().username)
    r = client.post(
        f"/jobs/{job.id}/steps/intake-01/photos",
        data={"input_key": "vin_photo", "photo": (io.BytesIO(png_bytes()), "vin.png")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200
    assert r.json["ok"] is True and r.json["count"] == 1
    assert r.json["thumbnails"][0].endswith("thumb=1")
    bad = client.post(
        f"/jobs/{job.id}/steps/intake-01/photos",
        data={"input_key": "vin_photo", "photo": (io.BytesIO(b"not an image"), "x.png")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 422 and bad.json["ok"] is False and bad.json["message"]
    assert _count(Photo, job_id=job.id) == 1


def test_refusal_names_the_qualification_its_expiry_and_who_may_sign(
    app, create_job, create_worker
):
    job = create_job()
    qualified = create_worker(full_name="สมชาย ช่างดี")
    novice = create_worker(qualifications=("conversion_honda_jazz", "hv_qualified"))
    grant = db.session.scalar(
        sa.select(QualificationGrant).where(
            QualificationGrant.user_id == novice.id, QualificationGrant.code == "hv_qualified"
        )
    )
    grant.expires_at = utcnow() - timedelta(days=3)
    db.session.commit()
    step = manual_of(job).step("hv-01")
    assert services.sign_refusal(job, step, qualified) is None
    refusal = services.sign_refusal(job, step, novice)
    assert refusal.qualification == "hv_qualified"
    assert refusal.expired_at is not None
    assert "สมชาย ช่างดี" in refusal.signers and novice.full_name not in refusal.signers


def test_step_screen_shows_the_refusal_and_no_sign_button(
    client, auth, create_job, create_worker, tmp_path
):
    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    services.sign_step(job, "intake-01", tech, {"odometer_km": "1"}, base_seq=0)
    services.sign_step(
        job, "intake-02", tech, {"walkaround": "y", "fuel_level": "empty"}, base_seq=0
    )
    db.session.commit()
    auth.login(create_worker(qualifications=("conversion_honda_jazz",)).username)
    page = client.get(f"/jobs/{job.id}/steps/hv-01").text
    assert 'id="not-qualified"' in page and 'id="sign"' not in page
    assert '<fieldset class="plain" disabled>' in page


def test_labour_runs_from_the_first_opening_minus_pauses(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    record = services.sign_step(
        job,
        "intake-01",
        tech,
        {"odometer_km": "1"},
        base_seq=0,
        started_at=utcnow() - timedelta(hours=1),
        paused_seconds=600,
    )
    assert 3000 <= record.seconds_spent <= 3060
