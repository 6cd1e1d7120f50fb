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
    DemoLogin("trainer", "classroom-2569", Role.TRAINER, "อรุณี สอนเก่ง"),
    DemoLogin("inspector", "checklist-2569", Role.INSPECTOR, "ธนพล ตรวจละเอียด"),
    DemoLogin("admin", "control-2569", Role.ADMIN, "ผู้ดูแลระบบ"),
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
    db.session.commit()
    return DEMO_LOGINS
