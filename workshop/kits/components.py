"""Moving serialised components (reserve, release, return, scrap) and unserialised stock (issue to a
job, stock levels).

Status changes are conditional UPDATEs (``... WHERE status IN (...)``) whose row count is checked,
so two tablets moving the same serial at once give one success and one clear refusal.
"""

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import Centre, User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.jobs.models import ACTIVE_STATUSES, Job, StepRecord
from workshop.kits.catalogue import StockError, job_kit
from workshop.kits.models import (
    Component,
    ComponentMove,
    ComponentStatus,
    StockConsumption,
    StockLot,
)
from workshop.money import round_thb


def whereabouts(component: Component) -> str:
    """Where a component is, in words (for refusals)."""
    status = component.status
    if status == ComponentStatus.INSTALLED and component.job is not None:
        return str(
            _l(
                "installed in vehicle %(vin)s, job %(job)s",
                vin=component.vehicle.vin if component.vehicle else "?",
                job=component.job.reference,
            )
        )
    if status == ComponentStatus.RESERVED and component.job is not None:
        return str(_l("reserved for job %(job)s", job=component.job.reference))
    if status == ComponentStatus.RETURNED:
        return str(_l("returned to the supplier"))
    if status == ComponentStatus.SCRAPPED:
        return str(_l("scrapped"))
    return str(_l("in stock at %(centre)s", centre=component.centre.code))


def transition(
    component: Component,
    allowed_from,
    to_status: ComponentStatus,
    user: User,
    *,
    values: dict,
    job: Job | None = None,
    record: StepRecord | None = None,
    reason: str = "",
    extra_where=(),
) -> ComponentMove:
    """Move ``component`` atomically: UPDATE ... WHERE status IN allowed_from, or refuse."""
    before = component.status
    result = db.session.execute(
        sa.update(Component)
        .where(Component.id == component.id, Component.status.in_(list(allowed_from)), *extra_where)
        .values(status=to_status, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(component)
        raise StockError(
            _l(
                "serial %(serial)s changed just now: it is %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    db.session.refresh(component)
    move = ComponentMove(
        component_id=component.id,
        from_status=before,
        to_status=to_status,
        at=utcnow(),
        user_id=user.id,
        job_id=job.id if job is not None else None,
        record_id=record.id if record is not None else None,
        reason=reason,
    )
    db.session.add(move)
    return move


CLEARED = dict(
    job_id=None,
    vehicle_id=None,
    step_id=None,
    input_key=None,
    record_id=None,
    installed_at=None,
    installed_by_id=None,
)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StockError(_l("give a reason"))
    if len(reason) > 2000:
        raise StockError(_l("the reason is too long (at most 2000 characters)"))
    return reason


def _check_part_in_kit(component: Component, job: Job) -> None:
    kit = job_kit(job)
    if kit is None:
        raise StockError(_l("job %(job)s has no kit yet", job=job.reference))
    if component.part_number not in {p.part_number for p in kit.bom}:
        raise StockError(
            _l(
                "serial %(serial)s is part %(part)s, which is not in this job's kit %(kit)s",
                serial=component.serial,
                part=component.part_number,
                kit=kit.id,
            )
        )


def reserve_component(component: Component, job: Job, user: User) -> None:
    """Set a component in stock aside for a job of the same centre."""
    if job.status not in ACTIVE_STATUSES:
        raise StockError(_l("job %(job)s is closed", job=job.reference))
    if component.centre_id != job.centre_id:
        raise StockError(
            _l(
                "serial %(serial)s is at centre %(centre)s, not at the job's centre",
                serial=component.serial,
                centre=component.centre.code,
            )
        )
    if component.status != ComponentStatus.IN_STOCK:
        raise StockError(
            _l(
                "serial %(serial)s cannot be reserved: it is %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    _check_part_in_kit(component, job)
    transition(
        component,
        [ComponentStatus.IN_STOCK],
        ComponentStatus.RESERVED,
        user,
        values={"job_id": job.id},
        job=job,
    )
    record_event(
        "component.reserve",
        component,
        details={"serial": component.serial, "part": component.part_number, "job": job.reference},
    )


def release_component(component: Component, user: User, reason: str = "") -> None:
    """Put a reserved component back in stock."""
    if component.status != ComponentStatus.RESERVED:
        raise StockError(
            _l(
                "serial %(serial)s is not reserved: it is %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    job = component.job
    transition(
        component,
        [ComponentStatus.RESERVED],
        ComponentStatus.IN_STOCK,
        user,
        values=CLEARED,
        job=job,
        reason=(reason or "").strip(),
    )
    record_event("component.release", component, details={"serial": component.serial})


def return_component(component: Component, user: User, reason: str) -> None:
    """Send a component back to the supplier (defective, warranty, wrong part), with a reason."""
    _end_of_life(component, user, reason, ComponentStatus.RETURNED, "component.return")


def scrap_component(component: Component, user: User, reason: str) -> None:
    """Scrap a component (damaged, failed test), with a reason."""
    _end_of_life(component, user, reason, ComponentStatus.SCRAPPED, "component.scrap")


def _end_of_life(component, user, reason, to_status, action):
    reason = _require_reason(reason)
    allowed = [ComponentStatus.IN_STOCK, ComponentStatus.RESERVED, ComponentStatus.INSTALLED]
    if component.status not in allowed:
        raise StockError(
            _l(
                "serial %(serial)s is already %(where)s",
                serial=component.serial,
                where=whereabouts(component),
            )
        )
    job = component.job
    vehicle = component.vehicle
    transition(component, allowed, to_status, user, values=CLEARED, job=job, reason=reason)
    record_event(
        action,
        component,
        details={
            "serial": component.serial,
            "part": component.part_number,
            "reason": reason,
            "job": job.reference if job else None,
            "vin": vehicle.vin if vehicle else None,
        },
    )


def consume_stock(job: Job, part_number: str, quantity: int, user: User) -> StockConsumption:
    """Take unserialised parts from the job's centre's stock for the job, at the average cost."""
    if job.status not in ACTIVE_STATUSES:
        raise StockError(_l("job %(job)s is closed", job=job.reference))
    if not isinstance(quantity, int) or not 0 < quantity <= 100000:
        raise StockError(_l("give a quantity of 1 or more"))
    lot = db.session.scalar(
        sa.select(StockLot).where(
            StockLot.centre_id == job.centre_id, StockLot.part_number == part_number
        )
    )
    if lot is None:
        raise StockError(_l("there is no stock of %(part)s at this centre", part=part_number))
    result = db.session.execute(
        sa.update(StockLot)
        .where(StockLot.id == lot.id, StockLot.quantity_on_hand >= quantity)
        .values(quantity_on_hand=StockLot.quantity_on_hand - quantity)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(lot)
    if result.rowcount != 1:
        raise StockError(
            _l(
                "only %(n)d of %(part)s in stock",
                n=lot.quantity_on_hand,
                part=part_number,
            )
        )
    consumption = StockConsumption(
        job_id=job.id,
        lot_id=lot.id,
        kit_id=lot.kit_id,
        part_number=part_number,
        category=lot.category,
        quantity=quantity,
        unit_cost=lot.average_cost,
        user_id=user.id,
        at=utcnow(),
    )
    db.session.add(consumption)
    db.session.flush()
    record_event(
        "stock.consume",
        consumption,
        centre_id=job.centre_id,
        details={
            "job": job.reference,
            "part": part_number,
            "quantity": quantity,
            "unit_cost": str(lot.average_cost),
        },
    )
    return consumption


@dataclass
class StockRow:
    """Stock of one part at one centre."""

    centre: Centre
    kit_id: str
    part_number: str
    category: str
    serialised: bool
    in_stock: int = 0
    reserved: int = 0
    installed: int = 0
    value: Decimal = Decimal("0.00")
    average_cost: Decimal | None = None


def stock_levels(scope) -> list[StockRow]:
    """Stock per part and centre within ``scope``: serialised counts by status, lots on hand."""
    rows: dict[tuple[int, str], StockRow] = {}
    centres = {c.id: c for c in db.session.scalars(scope.filter(sa.select(Centre), Centre.id))}
    stmt = sa.select(
        Component.centre_id,
        Component.kit_id,
        Component.part_number,
        Component.category,
        Component.status,
        sa.func.count(Component.id),
        sa.func.coalesce(sa.func.sum(Component.unit_cost), 0),
    ).group_by(
        Component.centre_id,
        Component.kit_id,
        Component.part_number,
        Component.category,
        Component.status,
    )
    for centre_id, kit_id, part, category, status, n, value in db.session.execute(
        scope.filter(stmt, Component.centre_id)
    ):
        row = rows.setdefault(
            (centre_id, part), StockRow(centres[centre_id], kit_id, part, category, True)
        )
        if status == ComponentStatus.IN_STOCK:
            row.in_stock += n
            row.value += round_thb(value)
        elif status == ComponentStatus.RESERVED:
            row.reserved += n
            row.value += round_thb(value)
        elif status == ComponentStatus.INSTALLED:
            row.installed += n
    for lot in db.session.scalars(scope.filter(sa.select(StockLot), StockLot.centre_id)):
        row = rows.setdefault(
            (lot.centre_id, lot.part_number),
            StockRow(centres[lot.centre_id], lot.kit_id, lot.part_number, lot.category, False),
        )
        row.in_stock += lot.quantity_on_hand
        row.value += round_thb(lot.average_cost * lot.quantity_on_hand)
        row.average_cost = lot.average_cost
    return sorted(rows.values(), key=lambda r: (r.centre.code, r.category, r.part_number))
