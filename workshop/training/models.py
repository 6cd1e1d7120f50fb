"""Training sessions, enrolments, attendance, training certificates, drills and attempts."""

import enum
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workshop.accounts.models import Centre, User
from workshop.columns import UTCDateTime, created_at, intpk, stored_enum
from workshop.extensions import db


class SessionStatus(enum.StrEnum):
    """A session is scheduled until the trainer completes (or cancels) it."""

    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EnrolmentStatus(enum.StrEnum):
    """A trainee holds a seat, waits for one, or has left."""

    ENROLLED = "enrolled"
    WAITING = "waiting"
    WITHDRAWN = "withdrawn"


class TrainingSession(db.Model):
    """One run of a catalogue course: dates, place, capacity, trainer."""

    __tablename__ = "training_sessions"

    id: Mapped[intpk]
    course_code: Mapped[str] = mapped_column(sa.String(32), index=True)
    trainer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The trainer's centre: where the session is organised (trainees may come from any centre).
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    place: Mapped[str] = mapped_column(sa.String(200))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    capacity: Mapped[int]
    status: Mapped[SessionStatus] = mapped_column(
        stored_enum(SessionStatus), default=SessionStatus.SCHEDULED
    )
    created_at: Mapped[created_at]
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    trainer: Mapped[User] = relationship()
    centre: Mapped[Centre] = relationship()
    enrolments: Mapped[list["Enrolment"]] = relationship(
        back_populates="session", order_by="Enrolment.enrolled_at, Enrolment.id"
    )

    @property
    def days(self) -> list[date]:
        """Every day of the session, first to last."""
        return [
            self.starts_on + timedelta(days=n)
            for n in range((self.ends_on - self.starts_on).days + 1)
        ]

    def with_status(self, *statuses: EnrolmentStatus) -> list["Enrolment"]:
        """The enrolments in one of ``statuses``, in enrolment order."""
        return [e for e in self.enrolments if e.status in statuses]


class Enrolment(db.Model):
    """A trainee in a session (or on its waiting list), with scores and the result."""

    __tablename__ = "training_enrolments"
    __table_args__ = (sa.UniqueConstraint("session_id", "user_id"),)

    id: Mapped[intpk]
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("training_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(stored_enum(EnrolmentStatus))
    enrolled_at: Mapped[created_at]
    theory_score: Mapped[int | None]
    practical_passed: Mapped[bool | None]
    passed: Mapped[bool | None]
    result_note: Mapped[str] = mapped_column(sa.Text, default="")

    session: Mapped[TrainingSession] = relationship(back_populates="enrolments")
    user: Mapped[User] = relationship()
    attendance: Mapped[list["Attendance"]] = relationship(
        back_populates="enrolment", order_by="Attendance.day", cascade="all, delete-orphan"
    )
    certificate: Mapped["TrainingCertificate | None"] = relationship(
        back_populates="enrolment", uselist=False
    )

    @property
    def days_present(self) -> set[date]:
        """The session days this trainee was marked present."""
        return {a.day for a in self.attendance}


class Attendance(db.Model):
    """A trainee present on one day of a session (marked by the trainer or by scanning the QR)."""

    __tablename__ = "training_attendance"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "day"),)

    id: Mapped[intpk]
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("training_enrolments.id"), index=True)
    day: Mapped[date] = mapped_column(sa.Date)
    method: Mapped[str] = mapped_column(sa.String(16))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[created_at]

    enrolment: Mapped[Enrolment] = relationship(back_populates="attendance")


class TrainingCertificate(db.Model):
    """The PDF certificate of a passed enrolment; the file is kept by its SHA-256 and never changes."""

    __tablename__ = "training_certificates"

    id: Mapped[intpk]
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("training_enrolments.id"), unique=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # The random part of the public verification URL (numbers are guessable, this is not).
    verify_code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    issued_at: Mapped[created_at]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    qualifications: Mapped[list] = mapped_column(sa.JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enrolment: Mapped[Enrolment] = relationship(back_populates="certificate")


class Drill(db.Model):
    """A simulated vehicle with hidden faults that trainees find with the EOL sequences."""

    __tablename__ = "training_drills"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(sa.String(200))
    trainer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    kit_id: Mapped[str] = mapped_column(sa.String(64))
    faults: Mapped[list] = mapped_column(sa.JSON)
    sequences: Mapped[list] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    trainer: Mapped[User] = relationship()
    attempts: Mapped[list["DrillAttempt"]] = relationship(
        back_populates="drill", order_by="DrillAttempt.started_at"
    )


class DrillAttempt(db.Model):
    """One trainee's attempt at a drill: the runs made, the diagnosis, score and time taken."""

    __tablename__ = "training_drill_attempts"
    __table_args__ = (sa.UniqueConstraint("drill_id", "trainee_id"),)

    id: Mapped[intpk]
    drill_id: Mapped[int] = mapped_column(sa.ForeignKey("training_drills.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    started_at: Mapped[created_at]
    run_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    # [{"component": "bms", "fault": "cell_imbalance"}, ...], one entry per hidden fault.
    diagnosis: Mapped[list | None] = mapped_column(sa.JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[int | None]
    faults_found: Mapped[int | None]
    seconds_taken: Mapped[int | None]

    drill: Mapped[Drill] = relationship(back_populates="attempts")
    trainee: Mapped[User] = relationship()
