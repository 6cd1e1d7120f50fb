"""Stock of kit parts at each centre: deliveries, serialised components and their moves,
unserialised stock lots and their consumption by jobs, and the other cost lines of a job.

Money is ``Decimal`` THB with 2 places (``workshop.columns.money``), never float.
"""

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workshop.accounts.models import Centre, User
from workshop.audit.models import append_only
from workshop.columns import UTCDateTime, created_at, intpk, money, stored_enum
from workshop.extensions import db
from workshop.jobs.models import Job, Vehicle
from workshop.money import round_thb


class ComponentStatus(enum.StrEnum):
    """Where one serialised component is: it is in exactly one of these places at a time."""

    IN_STOCK = "in_stock"
    RESERVED = "reserved"
    INSTALLED = "installed"
    RETURNED = "returned"  # sent back to the supplier (defective, warranty, wrong delivery)
    SCRAPPED = "scrapped"


# A component may be installed only from these states.
INSTALLABLE = (ComponentStatus.IN_STOCK, ComponentStatus.RESERVED)


class CostKind(enum.StrEnum):
    """Cost lines a supervisor adds to a job besides parts and labour."""

    CONSUMABLE = "consumable"
    SUBLET = "sublet"
    OTHER = "other"


@append_only
class Delivery(db.Model):
    """One kit delivery received into a centre's stock, against a supplier's invoice."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("centre_id", "supplier", "invoice_number"),)

    id: Mapped[intpk]
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    supplier: Mapped[str] = mapped_column(sa.String(200))
    invoice_number: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[created_at]
    received_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    centre: Mapped[Centre] = relationship()
    received_by: Mapped[User] = relationship()
    lines: Mapped[list["DeliveryLine"]] = relationship(
        back_populates="delivery", order_by="DeliveryLine.id"
    )

    @property
    def total(self) -> Decimal:
        """What the delivery cost, THB (excluding VAT)."""
        return sum((line.line_cost for line in self.lines), Decimal("0.00"))


@append_only
class DeliveryLine(db.Model):
    """One part of a delivery: how many arrived and what one actually cost."""

    __tablename__ = "delivery_lines"

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("deliveries.id"), index=True)
    kit_id: Mapped[str] = mapped_column(sa.String(64))
    part_number: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(32))
    quantity: Mapped[int]
    unit_cost: Mapped[money]

    delivery: Mapped[Delivery] = relationship(back_populates="lines")

    @property
    def line_cost(self) -> Decimal:
        """Quantity × unit cost, THB."""
        return (self.unit_cost * self.quantity).quantize(Decimal("0.01"))


class Component(db.Model):
    """One serialised unit of a kit part (a cell, a BMS board, a motor), traced for its life."""

    __tablename__ = "components"
    __table_args__ = (sa.UniqueConstraint("part_number", "serial"),)

    id: Mapped[intpk]
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    kit_id: Mapped[str] = mapped_column(sa.String(64))
    part_number: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(32))
    serial: Mapped[str] = mapped_column(sa.String(64), index=True)
    unit_cost: Mapped[money]
    delivery_line_id: Mapped[int] = mapped_column(sa.ForeignKey("delivery_lines.id"), index=True)
    status: Mapped[ComponentStatus] = mapped_column(
        stored_enum(ComponentStatus), default=ComponentStatus.IN_STOCK, index=True
    )
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vehicles.id"), index=True)
    step_id: Mapped[str | None] = mapped_column(sa.String(64))
    input_key: Mapped[str | None] = mapped_column(sa.String(64))
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("step_records.id"))
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    installed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[created_at]

    centre: Mapped[Centre] = relationship()
    job: Mapped[Job | None] = relationship()
    vehicle: Mapped[Vehicle | None] = relationship()
    installed_by: Mapped[User | None] = relationship()
    delivery_line: Mapped[DeliveryLine] = relationship()
    moves: Mapped[list["ComponentMove"]] = relationship(
        back_populates="component", order_by="ComponentMove.id"
    )


@append_only
class ComponentMove(db.Model):
    """One move of a component from one status to another. Append-only: the full history."""

    __tablename__ = "component_moves"

    id: Mapped[intpk]
    component_id: Mapped[int] = mapped_column(sa.ForeignKey("components.id"), index=True)
    from_status: Mapped[ComponentStatus | None] = mapped_column(stored_enum(ComponentStatus))
    to_status: Mapped[ComponentStatus] = mapped_column(stored_enum(ComponentStatus))
    at: Mapped[created_at]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"))
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("step_records.id"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")

    component: Mapped[Component] = relationship(back_populates="moves")
    user: Mapped[User | None] = relationship()
    job: Mapped[Job | None] = relationship()


class StockLot(db.Model):
    """Unserialised stock of one part at one centre, valued at its moving average cost."""

    __tablename__ = "stock_lots"

    id: Mapped[intpk]
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    kit_id: Mapped[str] = mapped_column(sa.String(64))
    part_number: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(32))
    quantity_on_hand: Mapped[int] = mapped_column(default=0)
    average_cost: Mapped[money] = mapped_column(default=Decimal("0.00"))

    __table_args__ = (
        sa.UniqueConstraint("centre_id", "part_number"),
        sa.CheckConstraint("quantity_on_hand >= 0", name="quantity_not_negative"),
    )


@append_only
class StockConsumption(db.Model):
    """Unserialised parts taken from a centre's stock for a job, at the average cost of the day."""

    __tablename__ = "stock_consumptions"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("stock_lots.id"), index=True)
    kit_id: Mapped[str] = mapped_column(sa.String(64))
    part_number: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(32))
    quantity: Mapped[int]
    unit_cost: Mapped[money]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[created_at]

    user: Mapped[User] = relationship()


class CostLine(db.Model):
    """A cost a supervisor adds to a job: consumables bought for it, sublet work, other."""

    __tablename__ = "cost_lines"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    kind: Mapped[CostKind] = mapped_column(stored_enum(CostKind))
    description: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(10, 3))
    unit_cost: Mapped[money]
    added_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[created_at]

    added_by: Mapped[User] = relationship()

    @property
    def amount(self) -> Decimal:
        """Quantity × unit cost, rounded half-up to the satang."""
        return round_thb(self.quantity * self.unit_cost)
