"""Walk a job through the whole flow with plausible values: every step of its real manual
signed through ``sign_step`` (photos, serials from stock, countersigns), a passing EOL run on a
simulated bench, engineer sign-offs and an approved inspection.

Used by the demo data (one certified conversion, one awaiting inspection) and by the tests.
"""

import functools
import io
import logging
from datetime import timedelta

import sqlalchemy as sa

from workshop.accounts.models import Centre, User
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.i18n import BANGKOK
from workshop.jobs import services as jobs
from workshop.jobs.models import Job
from workshop.jobs.progress import StepState, job_progress

log = logging.getLogger(__name__)

# Weights that agree with each other (front + rear = curb) and with the manuals' limits.
DEFAULT_VALUES = {
    "curb_weight_kg": 1040.0,
    "front_axle_kg": 640.0,
    "rear_axle_kg": 400.0,
    "curb_weight_after_kg": 1235.0,
    "front_axle_after_kg": 610.0,
    "rear_axle_after_kg": 625.0,
}


def photo_bytes(colour=(40, 90, 160)) -> bytes:
    """A small PNG standing in for a tablet photo."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "PNG")
    return buf.getvalue()


def receive_full_kit(centre: Centre, user: User, kit, invoice: str, prefix: str):
    """Receive one complete kit into ``centre``'s stock; serials are ``<prefix>-<part>-NNNN``."""
    from workshop.kits import receiving

    lines = []
    for line in kit.bom:
        if line.serialised:
            serials = tuple(
                f"{prefix}-{line.part_number}-{n:04d}" for n in range(1, int(line.quantity) + 1)
            )
            lines.append(
                receiving.ReceiveLine(kit.id, line.part_number, line.unit_cost, serials=serials)
            )
        else:
            lines.append(
                receiving.ReceiveLine(
                    kit.id, line.part_number, line.unit_cost, quantity=int(line.quantity)
                )
            )
    return receiving.receive_delivery(
        centre, user, supplier="EV Kit Thailand Co., Ltd.", invoice_number=invoice, lines=lines
    )


def _measurement_value(inp, values):
    if inp.key in values:
        value = values[inp.key]
        if inp.evaluate(value):
            return value
    if inp.min is not None and inp.max is not None:
        return round((inp.min + inp.max) / 2, 3)
    if inp.min is not None:
        return inp.min * 1.2 if inp.min > 0 else inp.min + 1
    return inp.max / 2 if inp.max > 0 else inp.max - 1


def _serials_for(job: Job, inp) -> list[str]:
    from workshop.kits.catalogue import job_kit
    from workshop.kits.models import Component, ComponentStatus

    kit = job_kit(job)
    parts = [
        line.part_number
        for line in kit.bom
        if line.serialised
        and (
            line.part_number == inp.part_number or (inp.category and line.category == inp.category)
        )
    ]
    return list(
        db.session.scalars(
            sa.select(Component.serial)
            .where(
                Component.centre_id == job.centre_id,
                Component.status == ComponentStatus.IN_STOCK,
                Component.part_number.in_(parts),
            )
            # the newest first: the kit just received for this job, not the stock the open
            # demo jobs keep for people to try the steps with
            .order_by(Component.id.desc())
            .limit(inp.count)
        )
    )


def sign_every_step(
    job: Job, technician: User, countersigner: User, folder, values: dict | None = None
) -> None:
    """Sign every step of the job's manual with valid values, countersigning where required."""
    # the number the motor maker stamped, one per motor (it goes into the registration)
    values = {"motor_number_stamped": f"EVM{job.id:07d}", **DEFAULT_VALUES, **(values or {})}
    started = utcnow() - timedelta(minutes=20)
    while True:
        progress = job_progress(job)
        todo = [
            s
            for s in progress.values()
            if s.state in (StepState.READY, StepState.AWAITING_COUNTERSIGN)
        ]
        if not todo:
            break
        for status in todo:
            step = status.step
            if status.latest is None:
                raw = _raw_values(job, step, technician, folder, values)
                jobs.sign_step(job, step.id, technician, raw, base_seq=0, started_at=started)
            if step.countersign:
                jobs.countersign_step(job, step.id, countersigner)
            db.session.commit()
    unfinished = [s.step.id for s in job_progress(job).values() if s.state != "done"]
    if unfinished:
        raise RuntimeError(f"steps left unsigned: {', '.join(unfinished)}")


def demo_text(inp, values: dict) -> str:
    """What a careful technician types into a text input: a recent test date, the number on the
    part, or a short note."""
    if inp.format == "date":
        return (utcnow().astimezone(BANGKOK).date() - timedelta(days=30)).isoformat()
    if inp.format == "identifier":
        return str(values.get(inp.key) or "ID-0001")
    return str(values.get(inp.key, "OK"))


def register_demo_instruments(centre, user: User, folder) -> None:
    """One calibrated instrument of each kind for ``centre`` (calibrated 60 days ago, due in
    ten months), as a centre registers its own under Instruments."""
    from workshop.instrument_kinds import instrument_kinds
    from workshop.jobs import instruments

    today = instruments.today()
    have = instruments.usable(centre.id, instrument_kinds())
    for n, kind in enumerate(instrument_kinds().values(), start=1):
        if have[kind.id]:
            continue
        instruments.register_instrument(
            centre,
            instruments.NewInstrument(
                kind=kind.id,
                make_model=DEMO_INSTRUMENT_MODELS.get(kind.id, kind.name_en),
                serial=f"{centre.code}-{kind.id.upper().replace('_', '-')}-{n:02d}",
                certificate_number=f"CAL-{today.year}-{centre.id:03d}{n:02d}",
                calibrated_on=today - timedelta(days=60),
                due_on=today + timedelta(days=300),
                certificate=demo_document("calibration"),
            ),
            user,
            folder,
        )


DEMO_DOCUMENTS = {
    "calibration": (
        "ใบรับรองการสอบเทียบ",
        "Calibration certificate",
        "เครื่องมือของศูนย์สาธิต ศูนย์จริงแนบใบรับรองจากห้องปฏิบัติการสอบเทียบที่ได้รับการรับรอง",
        "An instrument of the demo centre; a real centre files the certificate of an accredited "
        "calibration laboratory.",
    ),
    "invoice": (
        "ใบกำกับภาษีการซื้อมอเตอร์",
        "Motor purchase invoice",
        "หลักฐานการได้มาซึ่งมอเตอร์ของรถสาธิต ศูนย์จริงแนบใบกำกับภาษีที่ระบุเลขมอเตอร์",
        "Proof of acquiring the motor of a demo car; a real centre files the seller's invoice "
        "naming the motor number.",
    ),
}


@functools.cache
def demo_document(kind: str) -> bytes:
    """A real PDF that says on its face it is a demo document (rendered once per process)."""
    from workshop.pdf import render_pdf

    title_th, title_en, body_th, body_en = DEMO_DOCUMENTS[kind]
    return render_pdf(
        "certificates/pdf_demo_document.html",
        {"title_th": title_th, "title_en": title_en, "body_th": body_th, "body_en": body_en},
    )


DEMO_INSTRUMENT_MODELS = {
    "insulation_tester": "Fluke 1587 FC",
    "milliohm_meter": "Hioki RM3548",
    "hv_multimeter": "Fluke 87V",
    "vehicle_scale": "Intercomp SW777",
    "torque_wrench": "Norbar TTi 60",
    "vacuum_gauge": "WIKA 111.10",
}


def _instrument_for(job, technician, folder, kind) -> str:
    from workshop.jobs import instruments

    found = instruments.usable(job.centre_id, {kind})[kind]
    if not found:
        register_demo_instruments(job.centre, technician, folder)
        found = instruments.usable(job.centre_id, {kind})[kind]
    return str(found[0].id)


def _raw_values(job, step, technician, folder, values) -> dict:
    from workshop.jobs.instruments import FIELD_PREFIX

    raw = {}
    for inp in step.inputs:
        if inp.type == "measurement":
            raw[inp.key] = str(_measurement_value(inp, values))
            if inp.calibrated:
                raw[FIELD_PREFIX + inp.key] = _instrument_for(
                    job, technician, folder, inp.calibrated
                )
        elif inp.type == "torque":
            raw[inp.key] = str(inp.spec_nm)
            if inp.calibrated:
                raw[FIELD_PREFIX + inp.key] = _instrument_for(
                    job, technician, folder, inp.calibrated
                )
        elif inp.type == "confirmation":
            raw[inp.key] = "y"
        elif inp.type == "choice":
            raw[inp.key] = inp.options[0].value
        elif inp.type == "text":
            raw[inp.key] = demo_text(inp, values)
        elif inp.type == "photo":
            for n in range(inp.count):
                data = demo_document("invoice") if inp.documents else photo_bytes((40 + n, 90, 160))
                jobs.add_photo(job, step.id, inp.key, data, technician, folder)
        elif inp.type == "serial":
            raw[inp.key] = _serials_for(job, inp)
    return raw


def run_passing_eol(app, job: Job, operator: User, bench: str) -> bool:
    """Queue a run of all three sequences on ``bench`` and execute it now (a bench agent in this
    process). The simulated vehicle (simulator bench, or the car on a development bay's
    virtual channel) runs on its own clock, so a busy computer makes the run slower, never
    different. Returns True if the run passed every check."""
    from workshop.eol import runs
    from workshop.eol.bench import run_agent

    runs.queue_run(job, operator, bench, runs.SEQUENCE_NAMES, app.config["EOL_BENCHES"])
    db.session.commit()
    run_agent(app, benches=[bench], once=True)
    db.session.expire_all()
    run = runs.latest_complete_run(job)
    return run is not None and run.status.value == "pass"


def approve_with_signoffs(job: Job, inspector: User, mechanical: User, electrical: User) -> None:
    """Engineer sign-offs, then an inspection with every item passed and approved."""
    from workshop.inspection import services as inspection
    from workshop.inspection.checklist import inspection_checklist

    active = inspection.active_signoffs(job)
    for branch, engineer in (("mechanical", mechanical), ("electrical", electrical)):
        if branch not in {b.value for b in active}:
            inspection.sign_off(job, engineer, branch)
    current = inspection.start_inspection(job, inspector)
    inspection.save_answers(
        current, inspector, {item.id: ("pass", "") for item in inspection_checklist().items}
    )
    inspection.approve_inspection(current, inspector)
    db.session.commit()


def demo_serial_prefix(job: Job) -> str:
    """The serial prefix used for a job's demo stock."""
    return f"D{job.centre.code}{job.number:03d}"


# --- demo data ---------------------------------------------------------------------------------------

# (manual id, kit id, intake, how far the demo takes it)
DEMO_CONVERSIONS = [
    (
        "honda-jazz-ge",
        "jazz-ev1",
        dict(
            vin="MRHGE8840BP123458",
            plate="3กข 8899",
            province="BKK",
            year=2011,
            colour="แดง",
            engine_number="L15A7-6611042",
            odometer_km=121800,
            curb_weight_kg=1040,
            owner_name="วีระ ใจงาม",
            owner_phone="086 333 0303",
            owner_national_id="1299722003328",
        ),
        "certified",
    ),
    (
        "toyota-vios-ncp93",
        "vios-ev1",
        dict(
            vin="MR053REH105123459",
            plate="4กค 1212",
            province="NBI",
            year=2012,
            colour="ดำ",
            engine_number="1NZ-5530917",
            odometer_km=165300,
            curb_weight_kg=1075,
            owner_name="ปรียา สุขใจ",
            owner_phone="087 444 0404",
            owner_national_id="1453832364051",
        ),
        "awaiting_inspection",
    ),
    # Shown to explain the issuing rule: each is approved and signed off, and blocked by one
    # thing only (workshop certificates blockers --all lists them).
    (
        "honda-jazz-ge",
        "jazz-ev1",
        dict(
            vin="MRHGE8840BP123461",
            plate="5กง 4545",
            province="BKK",
            year=2010,
            colour="ขาว",
            engine_number="L15A7-6611077",
            odometer_km=98400,
            curb_weight_kg=1040,
            owner_name="สมศรี มีสุข",
            owner_phone="089 555 0505",
            owner_national_id="3224154990953",
        ),
        "blocked_simulator",
    ),
    (
        "honda-jazz-ge",
        "jazz-ev1",
        dict(
            vin="MRHGE8840BP123462",
            plate="6กจ 7878",
            province="BKK",
            year=2012,
            colour="เทา",
            engine_number="L15A7-6611088",
            odometer_km=143900,
            curb_weight_kg=1040,
            owner_name="ชัยวัฒน์ รุ่งเรือง",
            owner_phone="081 666 0606",
            owner_national_id="1454752772048",
        ),
        "blocked_duties",
    ),
]
DEMO_LICENCES = [
    ("engineer", "mechanical", "สก. 12345"),
    ("supervisor", "electrical", "ภฟ. 67890"),
    # the engineer also holds an electrical licence: the blocked_duties job shows one person
    # giving both sign-offs
    ("engineer", "electrical", "ภฟ. 24680"),
]
# The demo's bay: python-can's virtual interface with the simulated car on its far end
# (workshop.eol.bay), at BKK01. Evidence outside production, marked as development.
DEMO_BAY = "BAY-1"
DEMO_BAY_CONFIG = {"interface": "virtual", "channel": "bay1", "centre": "BKK01", "car": "simulated"}
DEMO_SIMULATOR = "SIM-DEMO"
DEMO_VALUES = {
    "toyota-vios-ncp93": {
        "curb_weight_kg": 1075.0,
        "curb_weight_after_kg": 1260.0,
    }
}


def seed_certificate_demo(app) -> None:
    """One fully certified conversion and one awaiting inspection at BKK01 (idempotent)."""
    from workshop.accounts.models import User
    from workshop.certificates import services as certificates
    from workshop.inspection import services as inspection
    from workshop.inspection.models import Branch
    from workshop.jobs.models import JobStatus, Vehicle
    from workshop.kits.loader import load_kits
    from workshop.kits.models import Delivery
    from workshop.manuals.loader import load_manuals

    def user(name):
        return db.session.scalar(sa.select(User).where(User.username == name))

    tech, supervisor, inspector = user("technician"), user("supervisor"), user("inspector")
    engineer = user("engineer")
    centre = db.session.scalar(sa.select(Centre).where(Centre.code == "BKK01"))
    if None in (tech, supervisor, inspector, engineer, centre):
        return
    for username, branch, number in DEMO_LICENCES:
        if inspection.valid_licence(user(username), Branch(branch)) is None:
            inspection.record_licence(
                user(username), branch, number, utcnow() + timedelta(days=3 * 365), None
            )
    db.session.commit()
    # Each engineer signs certificates with their own key, from the development CA.
    from workshop.certificates.engineer_keys import active_key, enrol_from_ca

    for username in dict.fromkeys(name for name, _branch, _number in DEMO_LICENCES):
        if active_key(user(username)) is None:
            enrol_from_ca(user(username), app.config, app.instance_path)
    db.session.commit()
    manuals, kits = load_manuals(), load_kits()
    benches = app.config["EOL_BENCHES"]
    saved = {name: benches.get(name) for name in (DEMO_BAY, DEMO_SIMULATOR)}
    benches[DEMO_BAY] = dict(DEMO_BAY_CONFIG)
    benches[DEMO_SIMULATOR] = {"simulate": True, "channel": "demo-seed", "speed": 0}
    try:
        for manual_id, kit_id, fields, target in DEMO_CONVERSIONS:
            if manual_id not in manuals or kit_id not in kits:
                continue
            manual, kit = manuals[manual_id], kits[kit_id]
            job = db.session.scalar(
                sa.select(Job).join(Vehicle).where(Vehicle.vin == fields["vin"]).order_by(Job.id)
            )
            if job is None:
                intake = jobs.Intake(make=manual.model.make, model=manual.model.model, **fields)
                job = jobs.open_job(centre, intake, manual, supervisor, kit=kit)
                db.session.commit()
            if job.status in (JobStatus.CERTIFIED, JobStatus.CANCELLED):
                continue
            invoice = f"DEMO-CERT-{fields['vin'][-6:]}"
            if not db.session.scalar(
                sa.select(Delivery.id).where(
                    Delivery.centre_id == centre.id, Delivery.invoice_number == invoice
                )
            ):
                receive_full_kit(centre, supervisor, kit, invoice, f"V{fields['vin'][-6:]}")
                db.session.commit()
            if job.status == JobStatus.OPEN:
                sign_every_step(
                    job,
                    tech,
                    supervisor,
                    app.config["UPLOAD_FOLDER"],
                    DEMO_VALUES.get(manual_id),
                )
                from workshop.eol.runs import latest_complete_run

                run = latest_complete_run(job)
                bench = DEMO_SIMULATOR if target == "blocked_simulator" else DEMO_BAY
                if (run is None or run.status.value != "pass") and not run_passing_eol(
                    app, job, tech, bench
                ):
                    log.warning("demo job %s: the EOL run did not pass; left open", job.reference)
                    continue
                jobs.submit_for_inspection(job, supervisor)
                db.session.commit()
            if target == "awaiting_inspection":
                continue
            if job.status == JobStatus.AWAITING_INSPECTION and target == "blocked_duties":
                _both_signoffs_by_one_engineer(job, engineer)
            if job.status == JobStatus.AWAITING_INSPECTION:
                approve_with_signoffs(job, inspector, engineer, supervisor)
            if target != "certified":
                continue
            if job.status == JobStatus.APPROVED:
                try:
                    certificates.issue_certificate(job, inspector)
                except certificates.CertificateError as exc:
                    db.session.rollback()
                    log.warning("demo job %s: no certificate: %s", job.reference, exc)
                    continue
                db.session.commit()
    finally:
        for name, config in saved.items():
            if config is None:
                benches.pop(name, None)
            else:
                benches[name] = config


def _both_signoffs_by_one_engineer(job: Job, engineer: User) -> None:
    """The demo's example of a broken separation of duties: one engineer gives both sign-offs.

    The services refuse this (workshop.inspection.duties); the demo writes the second sign-off
    directly, as data imported from an older system or written before a rule changed would
    be, so that people can see the certificate refuse it too."""
    from workshop.inspection import services as inspection
    from workshop.inspection.models import Branch, EngineerSignoff

    active = inspection.active_signoffs(job)
    if Branch.MECHANICAL not in active:
        inspection.sign_off(job, engineer, "mechanical")
    if Branch.ELECTRICAL not in active:
        licence = inspection.valid_licence(engineer, Branch.ELECTRICAL)
        db.session.add(
            EngineerSignoff(
                job=job,
                branch=Branch.ELECTRICAL,
                engineer=engineer,
                licence=licence,
                licence_number=licence.licence_number,
                statement=inspection.STATEMENTS[Branch.ELECTRICAL],
                signed_at=utcnow(),
            )
        )
    db.session.commit()
