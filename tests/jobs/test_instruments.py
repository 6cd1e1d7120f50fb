"""The register of calibrated instruments and the rule that a reading which needs one names an
instrument of the job's centre, of the right kind, in calibration on the day."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import make_intake
from workshop.extensions import db
from workshop.jobs import instruments
from workshop.jobs import services as jobs
from workshop.jobs.instruments import InstrumentError, NewInstrument
from workshop.jobs.models import Instrument
from workshop.manuals.loader import load_manuals

PDF = b"%PDF-1.4\n% calibration certificate\n%%EOF\n"


def new(kind="vehicle_scale", serial="SC-1", days_ago=30, due_in=300, **fields):
    today = instruments.today()
    return NewInstrument(
        kind=kind,
        make_model=fields.pop("make_model", "Intercomp SW777"),
        serial=serial,
        certificate_number=fields.pop("certificate_number", "CAL-1"),
        calibrated_on=today - timedelta(days=days_ago),
        due_on=today + timedelta(days=due_in),
        certificate=fields.pop("certificate", PDF),
    )


@pytest.fixture
def jazz_job(app, centre, create_worker):
    supervisor = create_worker("supervisor")
    manual = load_manuals()["honda-jazz-ge"]
    job = jobs.open_job(centre, make_intake(vin="MRHGE8840BP100077"), manual, supervisor)
    db.session.commit()
    return job, manual.step("intake-03"), supervisor


WEIGHTS = {"curb_weight_kg": "1040", "front_axle_kg": "640", "rear_axle_kg": "400"}


def test_a_reading_names_a_calibrated_instrument_of_its_kind(app, jazz_job, tmp_path):
    job, step, supervisor = jazz_job
    scale = instruments.register_instrument(job.centre, new(), supervisor, tmp_path)
    tester = instruments.register_instrument(
        job.centre, new("insulation_tester", "IT-1"), supervisor, tmp_path
    )
    chosen = {f"instrument:{key}": str(scale.id) for key in WEIGHTS}
    used = instruments.instruments_used(job, step, {**WEIGHTS, **chosen})
    assert used["curb_weight_kg"] == scale.snapshot()
    assert used["curb_weight_kg"]["serial"] == "SC-1"
    with pytest.raises(InstrumentError, match="choose the calibrated"):
        instruments.instruments_used(job, step, dict(WEIGHTS))
    with pytest.raises(InstrumentError, match="needs a"):
        instruments.instruments_used(
            job, step, {**WEIGHTS, **chosen, "instrument:rear_axle_kg": str(tester.id)}
        )
    # an input left empty needs no instrument
    assert instruments.instruments_used(job, step, {}) == {}


def test_a_torque_names_a_calibrated_torque_wrench(app, jazz_job, tmp_path):
    job, _, supervisor = jazz_job
    step = load_manuals()["honda-jazz-ge"].step("drivetrain-01")
    (torque,) = [inp for inp in step.inputs if inp.type == "torque"][:1]
    value = {torque.key: str(torque.spec_nm)}
    scale = instruments.register_instrument(job.centre, new(), supervisor, tmp_path)
    wrench = instruments.register_instrument(
        job.centre, new("torque_wrench", "TW-1", make_model="Norbar TTi 60"), supervisor, tmp_path
    )
    with pytest.raises(InstrumentError, match="choose the calibrated"):
        instruments.instruments_used(job, step, value)
    with pytest.raises(InstrumentError, match="needs a"):
        instruments.instruments_used(
            job, step, {**value, f"instrument:{torque.key}": str(scale.id)}
        )
    used = instruments.instruments_used(
        job, step, {**value, f"instrument:{torque.key}": str(wrench.id)}
    )
    assert used[torque.key]["serial"] == "TW-1"


def test_another_centres_retired_or_overdue_instrument_is_refused(
    app, jazz_job, create_centre, create_user, tmp_path
):
    job, step, supervisor = jazz_job
    other = create_centre(code="OTH01")
    theirs = instruments.register_instrument(
        other, new(), create_user("supervisor", centre=other), tmp_path
    )
    ours = instruments.register_instrument(job.centre, new(serial="SC-2"), supervisor, tmp_path)

    def use(instrument):
        chosen = {f"instrument:{key}": str(instrument.id) for key in WEIGHTS}
        return instruments.instruments_used(job, step, {**WEIGHTS, **chosen})

    with pytest.raises(InstrumentError, match="choose the calibrated"):
        use(theirs)
    ours.due_on = instruments.today() - timedelta(days=1)  # the calibration ran out since
    with pytest.raises(InstrumentError, match="calibration was due on"):
        use(ours)
    assert instruments.usable(job.centre_id, {"vehicle_scale"}) == {"vehicle_scale": []}
    ours.due_on = instruments.today() + timedelta(days=10)
    instruments.retire_instrument(ours, supervisor)
    with pytest.raises(InstrumentError, match="retired"):
        use(ours)


@pytest.mark.parametrize(
    "entry, message",
    [
        (new(days_ago=-1), "in the future"),
        (new(days_ago=10, due_in=-20), "due date must come after"),
        (new(days_ago=400, due_in=-5), "calibrate it again first"),
        (new(kind="sextant"), "unknown kind"),
        (new(serial="<b>"), "serial number"),
        (new(certificate=b"GIF89a..."), "PDF, JPEG or PNG"),
        (new(certificate=b"%PDF-" + b"0" * (10 * 1024 * 1024)), "larger than 10 MB"),
    ],
)
def test_register_refusals_change_nothing(app, centre, create_worker, tmp_path, entry, message):
    supervisor = create_worker("supervisor")
    with pytest.raises(InstrumentError, match=message):
        instruments.register_instrument(centre, entry, supervisor, tmp_path)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Instrument.id))) == 0


def test_one_serial_per_kind_and_centre(app, centre, create_worker, tmp_path):
    supervisor = create_worker("supervisor")
    instruments.register_instrument(centre, new(), supervisor, tmp_path)
    with pytest.raises(InstrumentError, match="already has"):
        instruments.register_instrument(centre, new(), supervisor, tmp_path)


def form(**fields):
    today = instruments.today()
    data = {
        "kind": "insulation_tester",
        "make_model": "Fluke 1587 FC",
        "serial": "FL-0042",
        "certificate_number": "CAL-2026-17",
        "calibrated_on": (today - timedelta(days=20)).isoformat(),
        "due_on": (today + timedelta(days=340)).isoformat(),
        "certificate": (io.BytesIO(PDF), "cal.pdf"),
    }
    data.update(fields)
    return data


def test_a_supervisor_registers_and_retires_through_the_screen(
    client, auth, create_worker, tmp_path
):
    supervisor = create_worker("supervisor")
    auth.login(supervisor.username)
    r = client.post("/instruments/", data=form(), content_type="multipart/form-data")
    assert r.status_code == 302
    page = client.get("/instruments/").text
    assert "FL-0042" in page and "CAL-2026-17" in page
    instrument = db.session.scalar(sa.select(Instrument))
    download = client.get(f"/instruments/{instrument.id}/certificate")
    assert download.data == PDF and download.headers["Cache-Control"] == "private, no-store"
    download.close()
    r = client.post(f"/instruments/{instrument.id}/retire")
    assert r.status_code == 302
    db.session.refresh(instrument)
    assert instrument.retired_at is not None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"certificate": (io.BytesIO(b"not a certificate"), "cal.txt")}, "PDF, JPEG หรือ PNG"),
        (
            {
                "calibrated_on": (instruments.today() - timedelta(days=400)).isoformat(),
                "due_on": (instruments.today() - timedelta(days=1)).isoformat(),
            },
            "ต้องสอบเทียบใหม่ก่อน",
        ),
        ({"serial": ""}, "field-error"),
        ({"calibrated_on": "soon"}, "field-error"),
    ],
)
def test_a_bad_register_entry_changes_nothing(client, auth, create_worker, fields, message):
    auth.login(create_worker("supervisor").username)
    r = client.post(
        "/instruments/",
        data=form(**fields),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert r.status_code == 200 and message in r.text
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Instrument.id))) == 0


def test_a_technician_sees_the_register_but_cannot_add(client, auth, create_worker):
    auth.login(create_worker("technician").username)
    assert client.get("/instruments/").status_code == 200
    client.post("/instruments/", data=form(), content_type="multipart/form-data")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Instrument.id))) == 0
