"""The cost of a job: cost lines, the cost sheet (kit parts, stock issued, labour, VAT) and its CSV."""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.csvexport import csv_text
from workshop.extensions import db
from workshop.jobs.listing import job_seconds
from workshop.jobs.models import ACTIVE_STATUSES, Job
from workshop.kits.catalogue import StockError, job_kit, parse_money
from workshop.kits.fields import TARGET_EXCLUDING_BATTERY
from workshop.kits.models import (
    Component,
    ComponentStatus,
    CostKind,
    CostLine,
    StockConsumption,
)
from workshop.kits.spec import KitSpec
from workshop.money import VAT_RATE, round_thb


def add_cost_line(
    job: Job, user: User, *, kind: str, description: str, quantity, unit_cost
) -> CostLine:
    """Add a consumable, sublet or other cost to a job (supervisors of the job's centre)."""
    if user.centre_id != job.centre_id:
        raise StockError(_l("only staff of the job's centre can add costs to it"))
    if job.status not in ACTIVE_STATUSES:
        raise StockError(_l("job %(job)s is closed", job=job.reference))
    try:
        kind = CostKind(kind)
    except ValueError:
        raise StockError(_l("choose the kind of cost")) from None
    description = (description or "").strip()
    if not description or len(description) > 200:
        raise StockError(_l("describe the cost (at most 200 characters)"))
    if isinstance(quantity, float) or isinstance(unit_cost, float):
        raise TypeError("money is never a float")
    try:
        quantity = Decimal(str(quantity).strip().replace(",", ""))
    except InvalidOperation:
        quantity = None
    if (
        quantity is None
        or not quantity.is_finite()
        or quantity <= 0
        or quantity >= 10_000_000  # before quantize(), which raises on '1e30'
        or quantity != quantity.quantize(Decimal("0.001"))
    ):
        raise StockError(_l("the quantity must be a positive number with at most 3 decimals"))
    unit_cost = parse_money(unit_cost, what=_l("Unit cost"))
    line = CostLine(
        job_id=job.id,
        kind=kind,
        description=description,
        quantity=quantity,
        unit_cost=unit_cost,
        added_by_id=user.id,
        added_at=utcnow(),
    )
    db.session.add(line)
    db.session.flush()
    record_event(
        "cost.add",
        line,
        centre_id=job.centre_id,
        details={
            "job": job.reference,
            "kind": kind.value,
            "description": description,
            "quantity": str(quantity),
            "unit_cost": str(unit_cost),
        },
    )
    return line


@dataclass(frozen=True)
class SheetLine:
    """One line of a cost sheet."""

    section: str  # "parts", "labour" or "other"
    category: str  # a kit category, "labour", or a cost kind
    description: str
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal
    battery: bool = False
    part_number: str = ""
    serial: str = ""


@dataclass(frozen=True)
class KitPartProgress:
    """How much of one kit line is on the car: a line partly installed costs only its share."""

    part_number: str
    category: str
    needed: Decimal
    installed: Decimal
    kit_cost: Decimal  # the kit's price for the whole line

    @property
    def partial(self) -> bool:
        """Some of the line is installed, not all of it."""
        return 0 < self.installed < self.needed


@dataclass
class CostSheet:
    """The live cost of a job, THB excluding VAT unless named otherwise."""

    job: Job
    lines: list[SheetLine] = field(default_factory=list)
    kit_parts: list[KitPartProgress] = field(default_factory=list)
    parts_total: Decimal = Decimal("0.00")
    battery_total: Decimal = Decimal("0.00")
    labour_seconds: int = 0
    labour_rate: Decimal = Decimal("0.00")
    labour_total: Decimal = Decimal("0.00")
    other_total: Decimal = Decimal("0.00")
    target: Decimal = TARGET_EXCLUDING_BATTERY
    vat_rate: Decimal = VAT_RATE

    @property
    def total(self) -> Decimal:
        """Parts, labour and other lines, battery included."""
        return self.parts_total + self.labour_total + self.other_total

    @property
    def total_excluding_battery(self) -> Decimal:
        """What the programme target is measured against."""
        return self.total - self.battery_total

    @property
    def margin(self) -> Decimal:
        """Target minus the total excluding battery: positive under the target, negative over."""
        return self.target - self.total_excluding_battery

    @property
    def within_target(self) -> bool:
        """True when the total excluding battery does not exceed the target."""
        return self.margin >= 0

    @property
    def vat(self) -> Decimal:
        """VAT on the total, rounded half-up to the satang."""
        return round_thb(self.total * self.vat_rate)

    @property
    def grand_total(self) -> Decimal:
        """The total with VAT."""
        return self.total + self.vat

    @property
    def labour_hours(self) -> Decimal:
        """Time on steps in hours, 2 places (for display)."""
        return round_thb(Decimal(self.labour_seconds) / 3600)

    def by_category(self) -> dict[str, Decimal]:
        """Amount per category (kit categories, labour, cost kinds), largest first."""
        totals: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for line in self.lines:
            totals[line.category] += line.amount
        return dict(sorted(totals.items(), key=lambda kv: kv[1], reverse=True))


def is_battery_part(kit: KitSpec | None, part_number: str, category: str) -> bool:
    """Whether a part counts as battery: by the job's pinned kit, else by its category."""
    if kit is not None:
        try:
            return kit.part(part_number).counts_as_battery
        except KeyError:
            pass
    return category == "battery"


def cost_sheet(job: Job) -> CostSheet:
    """The job's cost: installed serials at their received cost, unserialised parts consumed at
    their average cost, labour (time on steps × the centre's rate) and the supervisor's lines."""
    kit = job_kit(job)

    def is_battery(part_number: str, category: str) -> bool:
        return is_battery_part(kit, part_number, category)

    sheet = CostSheet(job=job)
    components = db.session.scalars(
        sa.select(Component)
        .where(Component.job_id == job.id, Component.status == ComponentStatus.INSTALLED)
        .order_by(Component.category, Component.part_number, Component.serial)
    )
    for c in components:
        battery = is_battery(c.part_number, c.category)
        sheet.lines.append(
            SheetLine(
                "parts",
                c.category,
                c.part_number,
                Decimal(1),
                c.unit_cost,
                c.unit_cost,
                battery,
                c.part_number,
                c.serial,
            )
        )
    consumptions = db.session.scalars(
        sa.select(StockConsumption)
        .where(StockConsumption.job_id == job.id)
        .order_by(StockConsumption.id)
    )
    for s in consumptions:
        sheet.lines.append(
            SheetLine(
                "parts",
                s.category,
                s.part_number,
                Decimal(s.quantity),
                s.unit_cost,
                round_thb(s.unit_cost * s.quantity),
                is_battery(s.part_number, s.category),
                s.part_number,
            )
        )
    for line in sheet.lines:
        sheet.parts_total += line.amount
        if line.battery:
            sheet.battery_total += line.amount
    if kit is not None:
        on_car: dict[str, Decimal] = defaultdict(Decimal)
        for line in sheet.lines:
            on_car[line.part_number] += line.quantity
        sheet.kit_parts = [
            KitPartProgress(
                b.part_number,
                b.category,
                Decimal(b.quantity),
                on_car.get(b.part_number, Decimal(0)),
                b.line_cost,
            )
            for b in kit.bom
        ]
    sheet.labour_seconds = job_seconds(job)
    sheet.labour_rate = job.centre.labour_rate or Decimal("0.00")
    sheet.labour_total = round_thb(Decimal(sheet.labour_seconds) * sheet.labour_rate / 3600)
    if sheet.labour_seconds:
        sheet.lines.append(
            SheetLine(
                "labour",
                "labour",
                "labour",
                sheet.labour_hours,
                sheet.labour_rate,
                sheet.labour_total,
            )
        )
    for line in db.session.scalars(
        sa.select(CostLine).where(CostLine.job_id == job.id).order_by(CostLine.id)
    ):
        sheet.lines.append(
            SheetLine(
                "other",
                line.kind.value,
                line.description,
                line.quantity,
                line.unit_cost,
                line.amount,
            )
        )
        sheet.other_total += line.amount
    return sheet


def cost_sheet_csv(sheet: CostSheet) -> str:
    """The cost sheet as CSV: one row a line, then the totals."""
    rows = [
        [
            "section",
            "category",
            "description",
            "part_number",
            "serial",
            "quantity",
            "unit_cost",
            "amount",
            "battery",
        ]
    ]
    for line in sheet.lines:
        rows.append(
            [
                line.section,
                line.category,
                line.description,
                line.part_number,
                line.serial,
                line.quantity,
                line.unit_cost,
                line.amount,
                "yes" if line.battery else "no",
            ]
        )
    for label, amount in (
        ("parts", sheet.parts_total),
        ("battery", sheet.battery_total),
        ("labour", sheet.labour_total),
        ("other", sheet.other_total),
        ("total", sheet.total),
        ("total_excluding_battery", sheet.total_excluding_battery),
        ("target_excluding_battery", sheet.target),
        ("margin", sheet.margin),
        ("vat_7", sheet.vat),
        ("grand_total", sheet.grand_total),
    ):
        rows.append(["total", label, "", "", "", "", "", amount, ""])
    return csv_text(rows[0], rows[1:])
