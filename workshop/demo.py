"""Demo data: a centre and one user per role, created idempotently."""

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from workshop.accounts import services as accounts
from workshop.accounts.models import Centre, Role, User
from workshop.extensions import db


@dataclass(frozen=True)
class DemoLogin:
    """A demo account as printed for the person trying the app."""

    username: str
    password: str
    role: Role
    full_name: str


DEMO_CENTRES = [
    dict(
        code="BKK01",
        name_th="ศูนย์บริการดัดแปลงรถยนต์ไฟฟ้า บางเขน",
        name_en="Bang Khen EV Conversion Centre",
        province="BKK",
        address="99 ถนนพหลโยธิน แขวงอนุสาวรีย์ เขตบางเขน กรุงเทพฯ 10220",
        licence_number="ขส.ดป. 001/2569",
        labour_rate=Decimal("650.00"),
    ),
    dict(
        code="CNX01",
        name_th="ศูนย์บริการดัดแปลงรถยนต์ไฟฟ้า เชียงใหม่",
        name_en="Chiang Mai EV Conversion Centre",
        province="CMI",
        address="12 ถนนซุปเปอร์ไฮเวย์ ตำบลป่าตัน อำเภอเมือง เชียงใหม่ 50300",
        licence_number="ขส.ดป. 014/2569",
        labour_rate=Decimal("550.00"),
    ),
]

DEMO_LOGINS = [
    DemoLogin("technician", "wrench-2569", Role.TECHNICIAN, "สมชาย ช่างดี"),
    DemoLogin("technician2", "torque-2569", Role.TECHNICIAN, "วิภา ไฟแรง"),
    DemoLogin("supervisor", "countersign-2569", Role.SUPERVISOR, "ประเสริฐ ควบคุมงาน"),
    # The mechanical engineer (structure and mounting): the inspector gives no sign-off, as the
    # separation of duties (checklists/duties.toml) requires.
    DemoLogin("engineer", "structure-2569", Role.SUPERVISOR, "กิตติ โครงสร้างมั่น"),
    DemoLogin("trainer", "classroom-2569", Role.TRAINER, "อรุณี สอนเก่ง"),
    DemoLogin("inspector", "checklist-2569", Role.INSPECTOR, "ธนพล ตรวจละเอียด"),
    DemoLogin("admin", "control-room-2569", Role.ADMIN, "ผู้ดูแลระบบ"),
]


def seed_demo() -> list[DemoLogin]:
    """Create the demo centres and users unless they exist; return the logins."""
    centres = {}
    for data in DEMO_CENTRES:
        centre = db.session.scalar(sa.select(Centre).where(Centre.code == data["code"]))
        centres[data["code"]] = centre or accounts.create_centre(**data)
    home = centres["BKK01"]
    for login in DEMO_LOGINS:
        if db.session.scalar(sa.select(User.id).where(User.username == login.username)):
            continue
        multi = login.role in (Role.INSPECTOR, Role.ADMIN)
        accounts.create_user(
            username=login.username,
            full_name=login.full_name,
            password=login.password,
            roles=[login.role],
            centre=None if multi else home,
            all_centres=login.role == Role.ADMIN,
            extra_centres=list(centres.values()) if login.role == Role.INSPECTOR else (),
        )
    _grant_demo_qualifications()
    _register_demo_instruments(home)
    _receive_demo_stock(home)
    _open_demo_jobs(home)
    _seed_demo_training()
    db.session.commit()
    _seed_demo_conversions()
    return DEMO_LOGINS


def _register_demo_instruments(centre: Centre) -> None:
    """The demo centre's calibrated instruments (Instruments), one of each kind."""
    from flask import current_app

    from workshop.certificates.demo import register_demo_instruments

    supervisor = db.session.scalar(sa.select(User).where(User.username == "supervisor"))
    register_demo_instruments(centre, supervisor, current_app.config["UPLOAD_FOLDER"])


def _seed_demo_conversions() -> None:
    """One certified conversion and one awaiting inspection (workshop.certificates.demo)."""
    from flask import current_app

    from workshop.certificates.demo import seed_certificate_demo

    app = current_app._get_current_object()
    seed_certificate_demo(app)


def _seed_demo_training() -> None:
    """One EOL operator course session next week and one drill, both by the demo trainer."""
    from datetime import timedelta

    from workshop.training import drills as training_drills
    from workshop.training import services as training
    from workshop.training.models import Drill, TrainingSession

    trainer = db.session.scalar(sa.select(User).where(User.username == "trainer"))
    if trainer is None:
        return
    if not db.session.scalar(
        sa.select(TrainingSession.id).where(TrainingSession.trainer_id == trainer.id)
    ):
        start = training.bangkok_today() + timedelta(days=7)
        session = training.create_session(
            trainer,
            "EOL-OP",
            place="ห้องอบรม 1 ศูนย์บางเขน",
            starts_on=start,
            ends_on=start + timedelta(days=1),
            capacity=12,
        )
        technician = db.session.scalar(sa.select(User).where(User.username == "technician2"))
        if technician is not None:
            training.enrol_trainee(session, technician, by=trainer)
    if not db.session.scalar(sa.select(Drill.id).where(Drill.trainer_id == trainer.id)):
        training_drills.create_drill(
            trainer,
            title="รถไม่เข้าโหมดพร้อมขับ (READY)",
            kit_id="jazz-ev1",
            faults=["hvil_open"],
            sequences=["ecu", "bms", "brakes"],
        )


# Workshop staff in the demo hold what the manuals ask for, so every step can be tried.
DEMO_QUALIFICATIONS = {
    "technician": (
        "hv_awareness",
        "hv_qualified",
        "hv_live",
        "eol_operator",
        "conversion_honda_jazz",
        "conversion_toyota_vios",
        "conversion_isuzu_dmax",
    ),
    "technician2": (
        "hv_awareness",
        "hv_qualified",
        "hv_live",
        "eol_operator",
        "conversion_toyota_vios",
        "conversion_honda_jazz",
        "conversion_isuzu_dmax",
    ),
    "supervisor": (
        "hv_awareness",
        "hv_qualified",
        "hv_live",
        "eol_operator",
        "conversion_honda_jazz",
        "conversion_toyota_vios",
        "conversion_isuzu_dmax",
    ),
    "inspector": ("inspector",),
}


def _grant_demo_qualifications() -> None:
    for username, codes in DEMO_QUALIFICATIONS.items():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        held = accounts.valid_qualifications(user)
        for code in codes:
            if code not in held:
                accounts.grant_qualification(user, code, note="demo")


DEMO_JOBS = [
    # (manual id, kit id, intake fields)
    (
        "toyota-vios-ncp93",
        "vios-ev1",
        dict(
            vin="MR053REH105123456",
            plate="1กข 2569",
            province="BKK",
            year=2011,
            colour="เทา",
            engine_number="1NZ-4821733",
            odometer_km=187400,
            curb_weight_kg=1075,
            owner_name="มานพ รักษ์โลก",
            owner_phone="081 555 0101",
            owner_national_id="3580730215733",
        ),
    ),
    (
        "honda-jazz-ge",
        "jazz-ev1",
        dict(
            vin="MRHGE8840BP123457",
            plate="2ขค 4455",
            province="NBI",
            year=2011,
            colour="ขาว",
            engine_number="L15A7-5533021",
            odometer_km=143250,
            curb_weight_kg=1040,
            owner_name="สุดา แสงทอง",
            owner_phone="089 222 0202",
            owner_national_id="3819303642624",
        ),
    ),
]


def _open_demo_jobs(centre: Centre) -> None:
    from workshop.jobs.models import Job, Vehicle
    from workshop.jobs.services import Intake, open_job
    from workshop.kits.loader import load_kits
    from workshop.manuals.loader import load_manuals

    manuals, kits = load_manuals(), load_kits()
    supervisor = db.session.scalar(sa.select(User).where(User.username == "supervisor"))
    for manual_id, kit_id, fields in DEMO_JOBS:
        if manual_id not in manuals:
            continue
        exists = db.session.scalar(
            sa.select(Job.id).join(Vehicle).where(Vehicle.vin == fields["vin"])
        )
        if exists:
            continue
        manual = manuals[manual_id]
        intake = Intake(make=manual.model.make, model=manual.model.model, **fields)
        open_job(centre, intake, manual, supervisor, kit=kits.get(kit_id))


def _receive_demo_stock(centre: Centre) -> None:
    """One full kit of each demo model in stock, with serial numbers, so every step can be signed."""
    from workshop.kits import receiving
    from workshop.kits.loader import load_kits
    from workshop.kits.models import Delivery

    supervisor = db.session.scalar(sa.select(User).where(User.username == "supervisor"))
    kits = load_kits()
    for _manual_id, kit_id, _fields in DEMO_JOBS:
        kit = kits.get(kit_id)
        invoice = f"DEMO-{kit_id.upper()}"
        if kit is None or db.session.scalar(
            sa.select(Delivery.id).where(
                Delivery.centre_id == centre.id, Delivery.invoice_number == invoice
            )
        ):
            continue
        lines = []
        for line in kit.bom:
            if line.serialised:
                serials = tuple(
                    f"{line.part_number}-{kit.id[:4].upper()}{n:04d}"
                    for n in range(1, int(line.quantity) + 1)
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
        receiving.receive_delivery(
            centre,
            supervisor,
            supplier="EV Kit Thailand Co., Ltd.",
            invoice_number=invoice,
            lines=lines,
            note="demo",
        )
