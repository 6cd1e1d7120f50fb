"""Conversion jobs, the vehicles they convert, and the evidence recorded step by step."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from workshop.accounts.models import Centre, User
from workshop.audit.models import append_only
from workshop.columns import UTCDateTime, created_at, intpk, stored_enum
from workshop.extensions import db


class JobStatus(enum.StrEnum):
    """Where a job is in the flow of a conversion."""

    OPEN = "open"
    AWAITING_INSPECTION = "awaiting_inspection"
    APPROVED = "approved"
    CERTIFIED = "certified"
    CANCELLED = "cancelled"


# A vehicle may have only one job in these states at a time.
ACTIVE_STATUSES = frozenset({JobStatus.OPEN, JobStatus.AWAITING_INSPECTION, JobStatus.APPROVED})


class Vehicle(db.Model):
    """A car identified by its VIN; it keeps its identity across jobs."""

    __tablename__ = "vehicles"

    id: Mapped[intpk]
    vin: Mapped[str] = mapped_column(sa.String(17), unique=True)
    make: Mapped[str] = mapped_column(sa.String(64))
    model: Mapped[str] = mapped_column(sa.String(64))
    year: Mapped[int]
    colour: Mapped[str] = mapped_column(sa.String(64), default="")
    engine_number: Mapped[str] = mapped_column(sa.String(64), default="")
    plate: Mapped[str] = mapped_column(sa.String(32))
    province: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[created_at]


class Job(db.Model):
    """One conversion of one vehicle at one centre, pinned to a manual version."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.UniqueConstraint("centre_id", "number"),
        # The job lists: a centre's jobs (by status) newest first, paged by (created_at, id).
        sa.Index("ix_jobs_centre_created", "centre_id", "created_at", "id"),
        sa.Index("ix_jobs_status_created", "status", "created_at", "id"),
        # ... and every centre's (admins, inspectors of all centres): no sort of the whole table.
        sa.Index("ix_jobs_created", "created_at", "id"),
    )

    id: Mapped[intpk]
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    number: Mapped[int]
    vehicle_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicles.id"), index=True)
    # Set to the VIN while the job is active and cleared when it ends: the unique constraint then
    # guarantees one active job per vehicle on every database, even under concurrent intakes.
    active_vin: Mapped[str | None] = mapped_column(sa.String(17), unique=True)
    status: Mapped[JobStatus] = mapped_column(
        stored_enum(JobStatus, length=32), default=JobStatus.OPEN, index=True
    )
    is_training: Mapped[bool] = mapped_column(default=False)
    manual_id: Mapped[str] = mapped_column(sa.String(64))
    manual_version: Mapped[str] = mapped_column(sa.String(32))
    manual_fingerprint: Mapped[str] = mapped_column(sa.String(64), default="")
    # The whole manual as it was at intake: later edits of the file never change a running job.
    # Both snapshots (~170 KB) load only when read: lists never need them, and the parsed manual
    # and kit are cached per version (jobs.progress.manual_of, kits.catalogue.job_kit).
    manual_snapshot: Mapped[dict] = mapped_column(sa.JSON, deferred=True)
    kit_id: Mapped[str | None] = mapped_column(sa.String(64))
    kit_version: Mapped[str | None] = mapped_column(sa.String(32))
    kit_snapshot: Mapped[dict | None] = mapped_column(sa.JSON, deferred=True)
    # The pinned kit's fingerprint (as in its snapshot): the kit cache's key, so a cached kit
    # never needs the snapshot read, and reports group jobs by kit without reading any.
    kit_fingerprint: Mapped[str] = mapped_column(sa.String(64), default="")
    # Time on the job's steps (the sum of its records' seconds_spent), kept up to date by each
    # signature: the cost sheet and the cost report read it instead of summing every record.
    labour_seconds: Mapped[int] = mapped_column(default=0)
    # How often an inspection rejected the job (kept by inspection's reject_inspection): an open
    # job's page looks for the decision that sent it back only when there is one.
    rejections: Mapped[int] = mapped_column(default=0, server_default="0")
    odometer_km: Mapped[int]
    curb_weight_kg: Mapped[int]
    owner_name: Mapped[str] = mapped_column(sa.String(200))
    owner_phone: Mapped[str] = mapped_column(sa.String(32))
    # 13 digits (normalised); "" on a training car.
    owner_national_id: Mapped[str] = mapped_column(sa.String(13), default="", server_default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[created_at]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    centre: Mapped[Centre] = relationship()
    vehicle: Mapped[Vehicle] = relationship()
    created_by: Mapped[User] = relationship()
    # The name of who opened the job, where a statement asks for it (``with_expression``): the
    # job page shows only the name, and loading the User would load their roles and
    # qualifications too.
    created_by_name: Mapped[str | None] = query_expression()

    @property
    def reference(self) -> str:
        """The job number people read and say: centre code and number, e.g. BKK01-00042."""
        return job_reference(self.centre.code, self.number)


def job_reference(centre_code: str, number: int) -> str:
    """A job's reference from its centre's code and its number: BKK01-00042."""
    return f"{centre_code}-{number:05d}"


@append_only
class StepRecord(db.Model):
    """A signature of one manual step with every value entered. Append-only.

    A correction is a new record with ``corrects_id`` and a ``reason``; ``seq`` numbers the
    records of one step of one job, and its uniqueness turns two tablets saving the same step
    at once into one success and one clear refusal.
    """

    __tablename__ = "step_records"
    __table_args__ = (sa.UniqueConstraint("job_id", "step_id", "seq"),)

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    step_id: Mapped[str] = mapped_column(sa.String(64))
    seq: Mapped[int]
    values: Mapped[dict] = mapped_column(sa.JSON)
    # Per input key: True (within limits) / False (out of limits), for measurements and torques.
    evaluations: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    passed: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("step_records.id"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_at: Mapped[created_at]
    seconds_spent: Mapped[int] = mapped_column(default=0)
    # A key the tablet sends with each save: the same save sent again (a retry after a dropped
    # connection) finds this record instead of creating a second one.
    save_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Per input key, the calibrated instrument the reading was taken with, as it stood then:
    # {"id", "kind", "make_model", "serial", "certificate_number", "due_on"}.
    instruments: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    job: Mapped[Job] = relationship()
    user: Mapped[User] = relationship()
    countersign: Mapped["Countersign | None"] = relationship(back_populates="record", uselist=False)
    photos: Mapped[list["Photo"]] = relationship(back_populates="record", order_by="Photo.id")

    @property
    def countersigned(self) -> bool:
        """True once a second person has countersigned this record."""
        return self.countersign is not None


@append_only
class Countersign(db.Model):
    """A second, different, qualified person confirming a step record. Append-only."""

    __tablename__ = "countersigns"

    id: Mapped[intpk]
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("step_records.id"), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[created_at]

    record: Mapped[StepRecord] = relationship(back_populates="countersign")
    user: Mapped[User] = relationship()


class Photo(db.Model):
    """A photo taken for a step; the file lives under the instance folder, named by its SHA-256."""

    __tablename__ = "photos"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    step_id: Mapped[str] = mapped_column(sa.String(64))
    input_key: Mapped[str] = mapped_column(sa.String(64))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    # Empty until the step is signed; then the photo is evidence of that record.
    record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("step_records.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[created_at]

    record: Mapped[StepRecord | None] = relationship(back_populates="photos")
    uploaded_by: Mapped[User] = relationship()


class NonConformance(db.Model):
    """A value recorded outside its limits; open until a later record of the step passes."""

    __tablename__ = "non_conformances"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    step_id: Mapped[str] = mapped_column(sa.String(64))
    input_key: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[str] = mapped_column(sa.String(64))
    limits: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.Text)
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("step_records.id"))
    raised_at: Mapped[created_at]
    closed_record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("step_records.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_open(self) -> bool:
        """True until a passing record of the same step closes it."""
        return self.closed_at is None


class Instrument(db.Model):
    """A measuring instrument of a centre with its calibration: which certificate, valid until
    when. Readings that need a calibrated instrument name one of these; a retired or overdue
    instrument is refused."""

    __tablename__ = "instruments"
    __table_args__ = (sa.UniqueConstraint("centre_id", "kind", "serial"),)

    id: Mapped[intpk]
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    make_model: Mapped[str] = mapped_column(sa.String(120))
    serial: Mapped[str] = mapped_column(sa.String(64))
    certificate_number: Mapped[str] = mapped_column(sa.String(64))
    calibrated_on: Mapped[date]
    due_on: Mapped[date]
    # The calibration certificate (PDF or image) in the file store, "" when none was uploaded.
    certificate_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    certificate_type: Mapped[str] = mapped_column(sa.String(32), default="")
    registered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    registered_at: Mapped[created_at]
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    centre: Mapped[Centre] = relationship()
    registered_by: Mapped[User] = relationship()

    def usable_on(self, day: date) -> bool:
        """Not retired and calibrated for ``day`` (the due date itself still counts)."""
        return self.retired_at is None and self.calibrated_on <= day <= self.due_on

    def snapshot(self) -> dict:
        """What a record keeps of the instrument a reading was taken with."""
        return {
            "id": self.id,
            "kind": self.kind,
            "make_model": self.make_model,
            "serial": self.serial,
            "certificate_number": self.certificate_number,
            "due_on": self.due_on.isoformat(),
        }
