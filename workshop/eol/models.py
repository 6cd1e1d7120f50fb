"""EOL runs queued from a job, executed by a bench agent, and their check results."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workshop.accounts.models import User
from workshop.columns import UTCDateTime, created_at, intpk, stored_enum
from workshop.eol.messages import render
from workshop.extensions import db


class RunStatus(enum.StrEnum):
    """Where a run is: waiting for a bench, on the bench, or finished with an outcome."""

    QUEUED = "queued"
    RUNNING = "running"
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    ABORTED = "aborted"


FINISHED = frozenset({RunStatus.PASS, RunStatus.FAIL, RunStatus.ERROR, RunStatus.ABORTED})


class EolRun(db.Model):
    """One end-of-line test run of a job's vehicle on a bench."""

    __tablename__ = "eol_runs"

    id: Mapped[intpk]
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    kit_id: Mapped[str] = mapped_column(sa.String(64))
    bench: Mapped[str] = mapped_column(sa.String(64), index=True)
    sequences: Mapped[list] = mapped_column(sa.JSON)
    # Faults the simulator injects (demo benches and training drills); empty on a real vehicle.
    faults: Mapped[list] = mapped_column(sa.JSON, default=list)
    simulated: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RunStatus] = mapped_column(
        stored_enum(RunStatus),
        default=RunStatus.QUEUED,
        index=True,
    )
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[created_at]
    agent: Mapped[str] = mapped_column(sa.String(128), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    abort_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Why, as a code the screens translate (runs.AGENT_LOST...); empty for older or other aborts.
    abort_code: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    # The reason as a message code and parameters (workshop.eol.messages), shown in the
    # reader's language; abort_reason keeps the English text (and the agent's own reasons).
    abort_message: Mapped[dict | None] = mapped_column(sa.JSON)
    checks_planned: Mapped[int] = mapped_column(default=0)
    # Simulated runs: the pacing of the simulated clock for people watching (vehicle seconds per
    # wall second; 0 = as fast as the computer allows) and the simulator's seed. The verdict
    # depends on the seed and the faults, never on the pacing.
    time_scale: Mapped[float] = mapped_column(default=1.0)
    seed: Mapped[int | None] = mapped_column()
    # Where the run ran (workshop.eol.runs.BenchKind): only an adapter bench of the job's own
    # centre is evidence for a certificate; the rest is recorded so that anyone can tell.
    bench_kind: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    bench_centre: Mapped[str] = mapped_column(sa.String(16), default="", server_default="")
    bench_interface: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    bench_channel: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    adapter_serial: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    agent_host: Mapped[str] = mapped_column(sa.String(128), default="", server_default="")
    software_version: Mapped[str] = mapped_column(sa.String(32), default="", server_default="")
    trace_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    trace_frames: Mapped[int] = mapped_column(default=0)
    # The report PDF rendered when the run ended, kept as evidence ("" for runs before that).
    report_sha256: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    eol_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    dbc_sha256: Mapped[str] = mapped_column(sa.String(64), default="")

    requested_by: Mapped[User] = relationship()
    checks: Mapped[list["EolCheck"]] = relationship(
        back_populates="run", order_by="EolCheck.position", cascade="all, delete-orphan"
    )

    @property
    def finished(self) -> bool:
        """True once the run has an outcome."""
        return self.status in FINISHED

    def abort_text(self, locale: str = "th") -> str:
        """Why the run was aborted, in the reader's language."""
        if self.abort_message:
            return render(self.abort_message["code"], self.abort_message.get("params"), locale)
        return self.abort_reason


class EolCheck(db.Model):
    """The result of one check of a run, written as soon as the check finishes."""

    __tablename__ = "eol_checks"
    __table_args__ = (sa.UniqueConstraint("run_id", "check_id"),)

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("eol_runs.id"), index=True)
    position: Mapped[int]
    check_id: Mapped[str] = mapped_column(sa.String(64))
    sequence: Mapped[str] = mapped_column(sa.String(16))
    title_th: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    # Legacy English text; new results carry a message code and its parameters instead.
    message: Mapped[str] = mapped_column(sa.Text, default="")
    message_code: Mapped[str] = mapped_column(sa.String(64), default="")
    message_params: Mapped[dict | None] = mapped_column(sa.JSON, default=dict)
    measurements: Mapped[list] = mapped_column(sa.JSON, default=list)
    series: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    duration_s: Mapped[float] = mapped_column(default=0.0)
    finished_at: Mapped[created_at]

    run: Mapped[EolRun] = relationship(back_populates="checks")

    def title(self, locale: str = "th") -> str:
        """The check's title in Thai or English."""
        return self.title_en if locale == "en" else self.title_th

    def message_in(self, locale: str = "th") -> str:
        """The check's message in the reader's language."""
        if self.message_code:
            return render(self.message_code, self.message_params, locale)
        return self.message


class TraceCheck(db.Model):
    """An uploaded trace checked offline by a background worker, in a limited child process.

    ``status``: queued → running → done (``result``: the run's plain data) or failed
    (``error_code`` / ``error_params``: a message of workshop.eol.messages). The upload itself is
    deleted once checked.
    """

    __tablename__ = "trace_checks"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kit_id: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    job_id: Mapped[str] = mapped_column(sa.String(64), default="")
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    error_code: Mapped[str] = mapped_column(sa.String(64), default="")
    error_params: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[created_at]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
