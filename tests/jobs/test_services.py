import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES
from tests.jobs.conftest import png_bytes
from workshop.audit.models import AuditEvent
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.jobs import services
from workshop.jobs.listing import job_seconds
from workshop.jobs.models import Job, JobStatus, NonConformance, StepRecord
from workshop.jobs.progress import StepState, job_progress, manual_of, open_non_conformances
from workshop.jobs.services import JobError, StaleStepError
from workshop.photos import photo_path


def sign(job, step_id, user, values, base_seq=0, **kwargs):
    record = services.sign_step(job, step_id, user, values, base_seq=base_seq, **kwargs)
    db.session.commit()
    return record


def do_intake_steps(job, tech, tmp_path):
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    sign(job, "intake-01", tech, {"odometer_km": "152000"})
    sign(job, "intake-02", tech, {"walkaround": "y", "fuel_level": "empty"})


# --- intake -----------------------------------------------------------------------------------


def test_open_job_pins_manual_and_numbers_per_centre(app, create_job, create_centre, manual):
    first = create_job()
    second = create_job()
    other = create_job(centre=create_centre(code="OTH01"))
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.reference == "JOB01-00001"
    assert first.manual_id == "test-car" and first.manual_version == "1.0"
    assert first.manual_snapshot == manual.model_dump(mode="json")
    assert (
        db.session.scalar(
            sa.select(AuditEvent.action).where(
                AuditEvent.object_type == "Job", AuditEvent.object_id == str(first.id)
            )
        )
        == "job.open"
    )


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"vin": "JHMGE8H5001"}, "17 characters"),
        ({"vin": "JHMGE8H5O00000001"}, "never contains I, O or Q"),
        ({"vin": "JHMGE8H5I0000000Q"}, "I, Q"),
        ({"vin": "JHMGE8H5#00000001"}, "only letters and digits"),
        ({"province": "XYZ"}, "unknown province"),
        ({"year": 2019}, "2008–2014"),
        ({"make": "Toyota", "model": "Vios"}, "is for the Honda Jazz"),
        ({"owner_phone": "call me"}, "phone"),
        ({"owner_national_id": "1101700230705"}, "last digit does not match"),
        ({"owner_national_id": "110170023070"}, "13 digits"),
        ({"owner_national_id": ""}, "13 digits"),
        ({"owner_national_id": "0101700230708"}, "never begins with 0 or 9"),
    ],
)
def test_intake_refusals_change_nothing(
    app, centre, create_worker, manual, intake, fields, message
):
    supervisor = create_worker("supervisor")
    with pytest.raises(JobError, match=message):
        services.open_job(centre, intake(**fields), manual, supervisor)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


def test_owner_id_is_stored_as_digits_and_optional_on_a_training_car(
    app, centre, create_worker, manual, intake
):
    supervisor = create_worker("supervisor")
    job = services.open_job(
        centre, intake(owner_national_id="1-1017-00230-70-8"), manual, supervisor
    )
    assert job.owner_national_id == "1101700230708"
    training = services.open_job(
        centre,
        intake(vin="JHMGE8H5000000555", owner_national_id=""),
        manual,
        supervisor,
        is_training=True,
    )
    assert training.owner_national_id == ""


def test_vin_is_normalised(app, create_job):
    job = create_job(vin="jhmge8h5-00000 0099")
    assert job.vehicle.vin == "JHMGE8H500000 0099".replace(" ", "")


def test_same_vin_cannot_have_two_open_jobs(app, create_job, create_worker):
    job = create_job(vin="JHMGE8H5000000777")
    with pytest.raises(JobError, match="already has an open job"):
        create_job(vin="JHMGE8H5000000777")
    db.session.rollback()
    services.cancel_job(job, create_worker("supervisor"), "customer withdrew")
    db.session.commit()
    again = create_job(vin="JHMGE8H5000000777")
    assert again.vehicle_id == job.vehicle_id


def test_edited_manual_file_never_changes_a_running_job(app, create_job, manual, tmp_path):
    job = create_job()
    changed = manual.model_copy(update={"version": "2.0"})
    assert changed.version == "2.0"
    db.session.expire_all()
    assert manual_of(db.session.get(Job, job.id)).version == "1.0"


# --- progress, signing, gating ------------------------------------------------------------------


def test_progress_dependencies_and_next(app, create_job, create_worker):
    job = create_job()
    tech = create_worker()
    progress = job_progress(job, tech)
    assert [s.state for s in progress.values()] == [
        StepState.READY,
        StepState.BLOCKED,
        StepState.BLOCKED,
        StepState.BLOCKED,
    ]
    assert progress["intake-02"].blocked_by == ["intake-01"]
    with pytest.raises(JobError, match="sign these steps first: intake-01"):
        services.sign_step(
            job, "intake-02", tech, {"walkaround": "y", "fuel_level": "some"}, base_seq=0
        )


def test_sign_records_values_time_and_photo(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    photo = services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    started = utcnow() - timedelta(minutes=12)
    record = sign(job, "intake-01", tech, {"odometer_km": "152,000"}, started_at=started)
    assert record.values == {"odometer_km": 152000.0}
    assert record.passed and record.seq == 1 and record.user_id == tech.id
    assert 715 <= record.seconds_spent <= 730
    assert photo.record_id == record.id
    assert job_progress(job)["intake-01"].state == StepState.DONE
    assert job_seconds(job) == record.seconds_spent


def test_time_on_step_is_capped(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    record = sign(
        job, "intake-01", tech, {"odometer_km": "1"}, started_at=utcnow() - timedelta(days=2)
    )
    assert record.seconds_spent == services.MAX_STEP_SECONDS


@pytest.mark.parametrize(
    "values, message",
    [
        ({"odometer_km": ""}, "enter a number"),
        ({"odometer_km": "lots"}, "enter a number"),
        ({"odometer_km": "nan"}, "enter a number"),
    ],
)
def test_bad_values_refused(app, create_job, create_worker, tmp_path, values, message):
    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    with pytest.raises(JobError, match=message):
        services.sign_step(job, "intake-01", tech, values, base_seq=0)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(StepRecord.id))) == 0


def test_missing_photo_choice_and_confirmation(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    with pytest.raises(JobError, match="1 photo"):
        services.sign_step(job, "intake-01", tech, {"odometer_km": "5"}, base_seq=0)
    db.session.rollback()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    sign(job, "intake-01", tech, {"odometer_km": "5"})
    with pytest.raises(JobError, match="must be confirmed"):
        services.sign_step(job, "intake-02", tech, {"fuel_level": "some"}, base_seq=0)
    with pytest.raises(JobError, match="choose one"):
        services.sign_step(
            job, "intake-02", tech, {"walkaround": "y", "fuel_level": "full"}, base_seq=0
        )


def test_qualification_gates_signing(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    do_intake_steps(job, tech, tmp_path)
    unqualified = create_worker(qualifications=("conversion_honda_jazz",))
    values = {"box_bolts": "45", "bms_serial": ["BMS-0001"]}
    with pytest.raises(JobError, match="hv_qualified"):
        services.sign_step(job, "hv-01", unqualified, values, base_seq=0)
    no_model = create_worker(qualifications=("hv_qualified",))
    with pytest.raises(JobError, match="conversion_honda_jazz"):
        services.sign_step(job, "hv-01", no_model, values, base_seq=0)
    expired = create_worker(qualifications=())
    from workshop.accounts.services import grant_qualification

    for code in ("conversion_honda_jazz", "hv_qualified"):
        grant = grant_qualification(expired, code)
        grant.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(JobError, match="hv_qualified"):
        services.sign_step(job, "hv-01", expired, values, base_seq=0)
    assert job_progress(job, unqualified)["hv-01"].missing_qualification == "hv_qualified"


def test_other_centre_and_roles_cannot_sign(
    app, create_job, create_worker, create_centre, create_user, tmp_path
):
    job = create_job()
    stranger = create_worker(centre=create_centre(code="FAR01"))
    with pytest.raises(JobError, match="centre"):
        services.sign_step(job, "intake-01", stranger, {"odometer_km": "1"}, base_seq=0)
    inspector = create_user("inspector", centres=[job.centre])
    with pytest.raises(JobError, match="technicians and supervisors"):
        services.sign_step(job, "intake-01", inspector, {"odometer_km": "1"}, base_seq=0)


def test_countersign_needs_a_second_qualified_person(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    do_intake_steps(job, tech, tmp_path)
    sign(job, "hv-01", tech, {"box_bolts": "44.5", "bms_serial": ["BMS-0001"]})
    progress = job_progress(job)
    assert progress["hv-01"].state == StepState.AWAITING_COUNTERSIGN
    assert progress["hv-02"].blocked_by == ["hv-01"]  # incomplete until countersigned
    with pytest.raises(JobError, match="second person"):
        services.countersign_step(job, "hv-01", tech)
    with pytest.raises(JobError, match="hv_qualified"):
        services.countersign_step(
            job, "hv-01", create_worker(qualifications=("conversion_honda_jazz",))
        )
    with pytest.raises(JobError, match="does not need"):
        services.countersign_step(job, "intake-01", create_worker())
    second = create_worker()
    services.countersign_step(job, "hv-01", second)
    db.session.commit()
    assert job_progress(job)["hv-01"].state == StepState.DONE
    with pytest.raises(JobError, match="already countersigned"):
        services.countersign_step(job, "hv-01", create_worker())


def test_failure_needs_note_then_opens_non_conformance_until_corrected(
    app, create_job, create_worker, tmp_path
):
    job = create_job()
    tech = create_worker()
    do_intake_steps(job, tech, tmp_path)
    with pytest.raises(JobError, match="Box bolts is 60 Nm, outside 45 ± 3 Nm"):
        services.sign_step(
            job, "hv-01", tech, {"box_bolts": "60", "bms_serial": ["B-1"]}, base_seq=0
        )
    with pytest.raises(JobError, match="to record the failure, write in the note what was found"):
        services.sign_step(
            job,
            "hv-01",
            tech,
            {"box_bolts": "60", "bms_serial": ["B-1"]},
            base_seq=0,
            record_failure=True,
        )
    db.session.rollback()
    failed = sign(
        job,
        "hv-01",
        tech,
        {"box_bolts": "60", "bms_serial": ["B-1"]},
        record_failure=True,
        note="thread damaged, helicoil needed",
    )
    assert not failed.passed and failed.evaluations == {"box_bolts": False}
    (nc,) = open_non_conformances(job)
    assert (nc.input_key, nc.value, nc.limits) == ("box_bolts", "60 Nm", "45 ± 3 Nm")
    assert job_progress(job)["hv-01"].state == StepState.FAILED
    # a correction needs a reason, points to the old record, and a passing value closes the NC
    with pytest.raises(JobError, match="needs a reason"):
        services.sign_step(
            job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["B-1"]}, base_seq=1
        )
    fixed = sign(
        job,
        "hv-01",
        tech,
        {"box_bolts": "45", "bms_serial": ["B-1"]},
        base_seq=1,
        reason="helicoil fitted, re-torqued",
    )
    assert fixed.corrects_id == failed.id and fixed.seq == 2
    assert open_non_conformances(job) == []
    nc = db.session.get(NonConformance, nc.id)
    assert nc.closed_record_id == fixed.id
    # the original record is still there, unchanged
    assert db.session.get(StepRecord, failed.id).values["box_bolts"] == 60.0


def test_stale_save_from_a_second_tablet_is_refused(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech, other = create_worker(), create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    first = sign(job, "intake-01", tech, {"odometer_km": "100"})
    # the second tablet loaded the step before the first save (base_seq=0)
    with pytest.raises(StaleStepError, match=tech.full_name):
        services.sign_step(
            job, "intake-01", other, {"odometer_km": "200"}, base_seq=0, reason="typo"
        )
    db.session.rollback()
    assert [r.values for r in db.session.scalars(sa.select(StepRecord))] == [first.values]


@pytest.mark.skipif(not ON_POSTGRES, reason="needs concurrent writers (PostgreSQL)")
def test_concurrent_saves_one_wins(app, create_job, create_worker, tmp_path):
    job = create_job()
    techs = [create_worker(), create_worker()]
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), techs[0], tmp_path)
    db.session.commit()
    job_id, ids = job.id, [t.id for t in techs]
    results, barrier = [], threading.Barrier(2)

    def worker(user_id):
        from workshop.accounts.models import User

        with app.app_context():
            j = db.session.get(Job, job_id)
            u = db.session.get(User, user_id)
            job_progress(j)
            barrier.wait()
            try:
                services.sign_step(j, "intake-01", u, {"odometer_km": str(user_id)}, base_seq=0)
                db.session.commit()
                results.append("ok")
            except JobError as exc:
                db.session.rollback()
                results.append(type(exc).__name__)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["StaleStepError", "ok"]
    assert db.session.scalar(sa.select(sa.func.count(StepRecord.id))) == 1


def test_step_records_are_audited(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    do_intake_steps(job, tech, tmp_path)
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["photo.upload", "step.sign", "step.sign"]


# --- photos ---------------------------------------------------------------------------------


def test_photo_stored_by_hash_with_thumbnail(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech = create_worker()
    photo = services.add_photo(
        job, "intake-01", "vin_photo", png_bytes(size=(1200, 900)), tech, tmp_path
    )
    path = photo_path(tmp_path, photo.sha256)
    assert path.read_bytes() == png_bytes(size=(1200, 900))
    from PIL import Image

    with Image.open(photo_path(tmp_path, photo.sha256, thumbnail=True)) as thumb:
        assert max(thumb.size) <= 320
    assert (photo.width, photo.height, photo.content_type) == (1200, 900, "image/png")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"%PDF-1.4 not a photo", "not a JPEG, PNG or WebP"),
        (png_bytes()[:40], "not a JPEG, PNG or WebP"),
        (b"GIF89a" + b"\x00" * 100, "not a JPEG, PNG or WebP"),
    ],
)
def test_bad_photos_refused(app, create_job, create_worker, tmp_path, data, message):
    job = create_job()
    tech = create_worker()
    with pytest.raises(JobError, match=message):
        services.add_photo(job, "intake-01", "vin_photo", data, tech, tmp_path)
    db.session.rollback()
    assert not (tmp_path / "photos").exists()


def test_photo_for_unknown_input_refused(app, create_job, create_worker, tmp_path):
    job = create_job()
    with pytest.raises(JobError, match="no photo"):
        services.add_photo(job, "intake-01", "odometer_km", png_bytes(), create_worker(), tmp_path)


def test_submit_for_inspection_needs_every_step(app, create_job, create_worker, tmp_path):
    job = create_job()
    tech, second = create_worker(), create_worker()
    with pytest.raises(JobError, match="4 step"):
        services.submit_for_inspection(job, tech)
    do_intake_steps(job, tech, tmp_path)
    sign(job, "hv-01", tech, {"box_bolts": "45", "bms_serial": ["B-1"]})
    services.countersign_step(job, "hv-01", second)
    sign(job, "hv-02", tech, {"isolation_ohm_per_v": "480"})
    services.countersign_step(job, "hv-02", second)
    services.submit_for_inspection(job, tech)
    db.session.commit()
    assert job.status == JobStatus.AWAITING_INSPECTION
    with pytest.raises(JobError, match="not open"):
        services.sign_step(job, "intake-01", tech, {"odometer_km": "1"}, base_seq=1, reason="x")


def test_step_records_cannot_be_edited_or_deleted(app, create_job, create_worker, tmp_path):
    from workshop.audit.models import AppendOnlyError

    job = create_job()
    tech = create_worker()
    services.add_photo(job, "intake-01", "vin_photo", png_bytes(), tech, tmp_path)
    record = sign(job, "intake-01", tech, {"odometer_km": "100"})
    record.values = {"odometer_km": 1.0}
    with pytest.raises(AppendOnlyError, match="StepRecord records are append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(StepRecord, record.id))
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(StepRecord, record.id).values == {"odometer_km": 100.0}
