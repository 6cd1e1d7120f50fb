"""Engineer licences, engineer sign-offs, inspections with their checklist answers and findings."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workshop.accounts.models import User
from workshop.audit.models import append_only
from workshop.columns import UTCDateTime, created_at, intpk, stored_enum
from workshop.extensions import db
from workshop.jobs.models import Job


class Branch(enum.StrEnum):
    """The branch of engineering a licence covers (and a sign-off attests)."""

    MECHANICAL = "mechanical"
    ELECTRICAL = "electrical"


class Decision(enum.StrEnum):
    """An inspector's decision on a job."""

    APPROVED = "approved"
    REJECTED = "rejected"


class EngineerLicence(db.Model):
    """A professional engineer's licence held by a user (recorded by an admin)."""

    __tablename__ = "engineer_licences"
    __table_args__ = (sa.UniqueConstraint("branch", "licence_number"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    branch: Mapped[Branch] = mapped_column(stored_enum(Branch))
    licence_number: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[created_at]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    def valid_at(self, moment: datetime) -> bool:
        """True when the licence is in force at ``moment``."""
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        return self.expires_at > moment


@append_only
class EngineerSignoff(db.Model):
    """A licensed engineer attesting one branch of a job (structure or HV system). Append-only.

    A rejected inspection withdraws the job's sign-offs by recording a ``SignoffWithdrawal``; the
    sign-off itself stays as evidence.
    """

    __tablename__ = "engineer_signoffs"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    branch: Mapped[Branch] = mapped_column(stored_enum(Branch))
    engineer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    licence_id: Mapped[int] = mapped_column(sa.ForeignKey("engineer_licences.id"))
    licence_number: Mapped[str] = mapped_column(sa.String(64))
    statement: Mapped[str] = mapped_column(sa.Text)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    signed_at: Mapped[created_at]

    job: Mapped[Job] = relationship()
    engineer: Mapped[User] = relationship()
    licence: Mapped[EngineerLicence] = relationship()
    withdrawal: Mapped["SignoffWithdrawal | None"] = relationship(
        back_populates="signoff", uselist=False
    )


@append_only
class SignoffWithdrawal(db.Model):
    """The end of a sign-off's force (the job was rejected and reworked). Append-only."""

    __tablename__ = "signoff_withdrawals"

    id: Mapped[intpk]
    signoff_id: Mapped[int] = mapped_column(sa.ForeignKey("engineer_signoffs.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[created_at]

    signoff: Mapped[EngineerSignoff] = relationship(back_populates="withdrawal")


class Inspection(db.Model):
    """One inspection of a job: checklist answers while open, then a decision (final)."""

    __tablename__ = "inspections"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    checklist_version: Mapped[str] = mapped_column(sa.String(32))
    # item id -> {"result": "pass" | "fail" | "na", "note": str}
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    started_at: Mapped[created_at]
    decision: Mapped[Decision | None] = mapped_column(stored_enum(Decision))
    reasons: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    job: Mapped[Job] = relationship()
    inspector: Mapped[User] = relationship(foreign_keys=[inspector_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    findings: Mapped[list["InspectionFinding"]] = relationship(
        back_populates="inspection", order_by="InspectionFinding.id"
    )


@append_only
class InspectionFinding(db.Model):
    """Something the inspector found on the car, with an optional photo. Append-only."""

    __tablename__ = "inspection_findings"

    id: Mapped[intpk]
    inspection_id: Mapped[int] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    item_id: Mapped[str] = mapped_column(sa.String(64), default="")
    text: Mapped[str] = mapped_column(sa.Text)
    photo_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    photo_content_type: Mapped[str] = mapped_column(sa.String(32), default="")
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[created_at]

    inspection: Mapped[Inspection] = relationship(back_populates="findings")
    user: Mapped[User] = relationship()
