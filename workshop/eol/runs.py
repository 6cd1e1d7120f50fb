"""Domain rules of EOL runs: queueing from a job, claiming by a bench agent, recording results.

The web app only queues and reads; a bench agent (``workshop bench``) owns the CAN adapter,
claims a queued run and writes each check as it finishes. The caller commits.
"""

import contextlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import can
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import User
from workshop.accounts.services import holds_qualification
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.eol.models import FINISHED, EolCheck, EolRun, RunStatus
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.filestore import FileStore

SEQUENCE_NAMES = ("ecu", "bms", "brakes")
OPERATOR_QUALIFICATION = "eol_operator"
# A running run whose agent has not written for this long is taken as dead (the agent beats
# every second while it runs; EOL_STALE_AFTER_SECONDS overrides).
STALE_AFTER = timedelta(seconds=60)
# abort_code of a run whose bench agent stopped responding (killed, crashed, lost the database).
AGENT_LOST = "agent_lost"


class EolRunError(DomainError):
    """A request the EOL rules refuse; the message is shown to the operator."""


class BenchKind(StrEnum):
    """Where a run ran. Only ADAPTER (a CAN adapter on the car, at the job's centre) is evidence
    for a certificate; VIRTUAL_BAY (a python-can virtual bus with the simulated car on its far
    end) counts only outside production, marked as development; the rest never count."""

    ADAPTER = "adapter"
    VIRTUAL_BAY = "virtual_bay"
    SIMULATOR = "simulator"
    DRILL = "drill"
    TRACE = "trace"


BENCH_KIND_LABELS = {
    BenchKind.ADAPTER: _l("CAN adapter on the vehicle"),
    BenchKind.VIRTUAL_BAY: _l("development bay (virtual CAN, simulated car)"),
    BenchKind.SIMULATOR: _l("simulator"),
    BenchKind.DRILL: _l("training drill"),
    BenchKind.TRACE: _l("uploaded trace"),
}


def bench_kind(config: dict) -> BenchKind:
    """The kind of the bench configured as ``config`` (an entry of EOL_BENCHES)."""
    if config.get("simulate"):
        return BenchKind.SIMULATOR
    if str(config.get("interface", "")).lower() == "virtual":
        return BenchKind.VIRTUAL_BAY
    return BenchKind.ADAPTER


def software_version() -> str:
    """The installed workshop package's version, recorded with every run."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("workshop")
    except PackageNotFoundError:
        return "unknown"


def offered_benches(job, benches: dict) -> dict:
    """The benches a job's run form offers: a customer job never gets a simulator bench."""
    if job.is_training:
        return dict(benches)
    return {
        n: c
        for n, c in benches.items()
        if bench_kind(c) != BenchKind.SIMULATOR and not bench_of_other_centre(c, job)
    }


def bench_of_other_centre(config: dict, job) -> bool:
    """True when the bench is configured for a centre other than the job's."""
    centre = str(config.get("centre", "")).upper()
    return bool(centre) and job.centre is not None and centre != job.centre.code.upper()


def evidence_problem(run: EolRun, centre_code: str, *, production: bool) -> str | None:
    """Why ``run`` is not evidence for a certificate of a job at ``centre_code`` (None: it is).

    The one place that says what counts: a run on a CAN adapter bench of the job's own centre;
    a development bay (virtual CAN) only outside production; never a simulator, a drill or an
    uploaded trace."""
    kind = run.bench_kind or (BenchKind.SIMULATOR if run.simulated else "")
    if kind == BenchKind.VIRTUAL_BAY and production:
        return "virtual_bay_in_production"
    if kind not in (BenchKind.ADAPTER, BenchKind.VIRTUAL_BAY):
        return "not_a_bench"
    if run.bench_centre != centre_code:
        return "other_centre"
    return None


def bench_speed(config: dict) -> float:
    """How fast a simulated bench paces its clock: vehicle seconds per wall second, 1-20 for
    people watching, 0 for as fast as the computer allows. (``time_scale`` is the old name.)"""
    from workshop.eol.simbus import MAX_SPEED

    speed = float(config.get("speed", config.get("time_scale", 1.0)))
    return 0.0 if speed <= 0 else min(max(speed, 1.0), MAX_SPEED)


def bench_provenance(config: dict) -> dict:
    """What a run records about its bench when it is queued (the agent adds host, adapter and
    software version when it runs it)."""
    kind = bench_kind(config)
    return {
        "bench_kind": kind.value,
        "bench_centre": str(config.get("centre", "")).upper()[:16],
        "bench_interface": "simulated"
        if kind == BenchKind.SIMULATOR
        else str(config.get("interface", ""))[:32],
        "bench_channel": str(config.get("channel", ""))[:64],
    }


def new_seed() -> int:
    """A fresh simulator seed, stored with the run so the run can be repeated exactly."""
    return secrets.randbelow(1_000_000)


def queue_run(
    job, user: User, bench: str, sequences, benches: dict, *, faults=(), production=False
) -> EolRun:
    """Queue a run of ``sequences`` for ``job`` on ``bench`` (one of ``benches``).

    In production a customer's car is tested only on a CAN adapter bench; elsewhere any bench
    may run it, and :func:`evidence_problem` says whether the run counts."""
    from workshop.jobs.models import JobStatus

    if bench not in benches:
        raise EolRunError(_l("unknown test bench %(bench)s", bench=bench))
    sequences = [s for s in SEQUENCE_NAMES if s in set(sequences)]
    if not sequences:
        raise EolRunError(_l("choose at least one sequence"))
    if not job.kit_id:
        raise EolRunError(_l("the job has no kit: its CAN database is unknown"))
    if job.status != JobStatus.OPEN:
        raise EolRunError(_l("this job is not open for work"))
    if user.centre_id != job.centre_id:
        raise EolRunError(_l("only staff of the job's centre can run its tests"))
    if not holds_qualification(user, OPERATOR_QUALIFICATION):
        raise EolRunError(_l("you need a valid EOL test operator qualification"))
    busy = db.session.scalar(
        sa.select(EolRun.id).where(
            EolRun.job_id == job.id, EolRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING])
        )
    )
    if busy:
        raise EolRunError(_l("a test run of this job is already queued or running"))
    config = benches[bench]
    kind = bench_kind(config)
    if not job.is_training and bench_of_other_centre(config, job):
        raise EolRunError(
            _l(
                "bench %(bench)s belongs to centre %(centre)s: a run there is no evidence for a "
                "job of this centre",
                bench=bench,
                centre=str(config.get("centre", "")).upper(),
            )
        )
    if production and not job.is_training and kind != BenchKind.ADAPTER:
        raise EolRunError(
            _l(
                "bench %(bench)s has no CAN adapter on the vehicle: it cannot test a customer's car",
                bench=bench,
            )
        )
    simulated = kind in (BenchKind.SIMULATOR, BenchKind.VIRTUAL_BAY)
    run = EolRun(
        job_id=job.id,
        centre_id=job.centre_id,
        kit_id=job.kit_id,
        bench=bench,
        sequences=sequences,
        faults=list(faults) if kind == BenchKind.SIMULATOR else [],
        simulated=simulated,
        requested_by=user,
        requested_at=utcnow(),
        time_scale=bench_speed(config) if kind == BenchKind.SIMULATOR else 1.0,
        seed=new_seed() if simulated else None,
        **bench_provenance(config),
    )
    db.session.add(run)
    db.session.flush()
    record_event(
        "eol.queue", run, details={"job": job.reference, "bench": bench, "sequences": sequences}
    )
    return run


def queue_drill_run(
    user: User, kit_id: str, bench: str, sequences, faults, benches: dict, *, allowed=None
) -> EolRun:
    """Queue a training-drill run: no job, a simulated vehicle with ``faults`` injected.

    Trainees practise here before they hold the EOL operator qualification, so it is not
    required; ``allowed`` limits the sequences to those the drill offers.
    """
    if bench not in benches:
        raise EolRunError(_l("unknown test bench %(bench)s", bench=bench))
    if not benches[bench].get("simulate"):
        raise EolRunError(_l("drills run only on a simulated bench"))
    wanted = set(sequences) & set(allowed if allowed is not None else SEQUENCE_NAMES)
    sequences = [s for s in SEQUENCE_NAMES if s in wanted]
    if not sequences:
        raise EolRunError(_l("choose at least one sequence"))
    if user.centre_id is None:
        raise EolRunError(_l("only staff of a centre can run drills"))
    config = benches[bench]
    run = EolRun(
        job_id=None,
        centre_id=user.centre_id,
        kit_id=kit_id,
        bench=bench,
        sequences=sequences,
        faults=list(faults),
        simulated=True,
        requested_by=user,
        requested_at=utcnow(),
        time_scale=bench_speed(config),
        seed=new_seed(),
        **{**bench_provenance(config), "bench_kind": BenchKind.DRILL.value},
    )
    db.session.add(run)
    db.session.flush()
    record_event("eol.queue_drill", run, details={"bench": bench, "sequences": sequences})
    return run


def claim_next_run(agent: str, benches) -> EolRun | None:
    """Atomically take the oldest queued run for one of ``benches``; None when there is none.

    The conditional UPDATE is the lock: of several agents racing for the same run (several
    processes, several hosts on PostgreSQL), exactly one sees its row updated.
    """
    while True:
        candidate = db.session.scalar(
            sa.select(EolRun.id)
            .where(EolRun.status == RunStatus.QUEUED, EolRun.bench.in_(list(benches)))
            .order_by(EolRun.requested_at, EolRun.id)
            .limit(1)
        )
        if candidate is None:
            db.session.rollback()
            return None
        now = utcnow()
        claimed = db.session.execute(
            sa.update(EolRun)
            .where(EolRun.id == candidate, EolRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, agent=agent, claimed_at=now, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed == 1:
            run = db.session.get(EolRun, candidate)
            db.session.refresh(run)
            return run


def heartbeat(run: EolRun) -> bool:
    """Mark the run alive; returns True when someone asked to cancel it."""
    db.session.execute(
        sa.update(EolRun)
        .where(EolRun.id == run.id)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(db.session.scalar(sa.select(EolRun.cancel_requested).where(EolRun.id == run.id)))


def record_check(run: EolRun, result, position: int) -> EolCheck:
    """Store one finished check of a running run (called by the bench agent as it goes)."""
    data = result.to_dict()
    check = EolCheck(
        run_id=run.id,
        position=position,
        check_id=data["check_id"],
        sequence=data["sequence"],
        title_th=data["title_th"][:200],
        title_en=data["title_en"][:200],
        outcome=data["outcome"],
        message_code=data["message_code"],
        message_params=data["message_params"],
        measurements=data["measurements"],
        series=data["series"],
        duration_s=data["duration_s"],
        finished_at=utcnow(),
    )
    db.session.add(check)
    db.session.execute(
        sa.update(EolRun)
        .where(EolRun.id == run.id)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return check


def finish_run(run: EolRun, result, trace_folder: str | Path) -> EolRun:
    """Close a run with its engine result and keep its trace under ``trace_folder``."""
    run.status = RunStatus(result.outcome.value)
    run.abort_reason = result.abort_reason or ""
    run.abort_message = result.abort_message
    run.finished_at = utcnow()
    run.eol_sha256, run.dbc_sha256 = result.eol_sha256, result.dbc_sha256
    if result.trace is not None:
        run.trace_sha256 = result.trace.sha256
        run.trace_frames = result.trace.frames
        if Path(result.trace.path).is_file():
            FileStore(trace_folder).put_file("traces", result.trace.path, ".blf")
    if run.job_id is not None:
        store_report(run, trace_folder)
    record_event(
        "eol.finish",
        run,
        centre_id=run.centre_id,
        details={
            "outcome": run.status.value,
            "abort_reason": run.abort_reason,
            "trace_sha256": run.trace_sha256,
        },
    )
    return run


def store_report(run: EolRun, folder: str | Path) -> str:
    """Render the report of a finished job run as it stands now and keep it: the job file and
    the evidence bundle use these bytes, never a later rendering."""
    from workshop.eol.report import render_run_report, run_charts

    db.session.flush()  # the checks just written are part of the report
    run.report_sha256 = FileStore(folder).put_bytes(
        "eol-reports", render_run_report(run, run_charts(run, "th")), ".pdf"
    )
    return run.report_sha256


def stored_report(run: EolRun, folder: str | Path) -> bytes | None:
    """The report PDF kept when the run ended, or None (a run from before reports were kept)."""
    if not run.report_sha256:
        return None
    path = FileStore(folder).path("eol-reports", run.report_sha256, ".pdf")
    return path.read_bytes() if path.is_file() else None


def abort_run(run: EolRun, reason: str, code: str = "") -> EolRun:
    """End a run as aborted with ``reason`` (and a ``code`` the screens translate); the checks
    already written stay."""
    if run.status in FINISHED:
        return run
    run.status = RunStatus.ABORTED
    run.abort_reason = reason
    run.abort_code = code
    run.finished_at = utcnow()
    record_event(
        "eol.abort", run, centre_id=run.centre_id, details={"reason": reason, "code": code}
    )
    return run


def request_cancel(run: EolRun, user: User) -> None:
    """Ask the bench to stop a run; a queued run is cancelled at once."""
    if run.status in FINISHED:
        raise EolRunError(_l("this run has already finished"))
    if run.status == RunStatus.QUEUED:
        abort_run(run, f"cancelled by {user.full_name} before it started")
    else:
        run.cancel_requested = True
        record_event("eol.cancel", run, centre_id=run.centre_id)


def reap_stale_runs(
    trace_folder: str | Path | None = None,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> list[EolRun]:
    """Abort running runs whose bench agent stopped writing (it died or lost the database).

    Called by every bench agent, by the web app's EOL screens and by ``workshop eol-reap`` (a
    scheduled job), so a run is closed even when its agent was the only one. The checks written
    so far stay; with ``trace_folder`` the partial trace becomes the run's stored trace.
    """
    now = now or utcnow()
    dead = (EolRun.status == RunStatus.RUNNING, EolRun.heartbeat_at < now - stale_after)
    reaped = []
    for run in list(db.session.scalars(sa.select(EolRun).where(*dead))):
        reason = (
            f"the bench agent {run.agent} stopped responding (last sign of life "
            f"{run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); results obtained so far are kept"
        )
        # Conditional, like claiming: of two processes reaping at once, one closes the run.
        closed = db.session.execute(
            sa.update(EolRun)
            .where(EolRun.id == run.id, *dead)
            .values(
                status=RunStatus.ABORTED,
                abort_reason=reason,
                abort_code=AGENT_LOST,
                finished_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if closed != 1:
            continue
        db.session.refresh(run)
        record_event(
            "eol.abort",
            run,
            centre_id=run.centre_id,
            details={"reason": reason, "code": AGENT_LOST, "checks": len(run.checks)},
        )
        if trace_folder is not None:
            keep_partial_trace(run, trace_folder)
        reaped.append(run)
    return reaped


def stale_after(config) -> timedelta:
    """How long a running run may go without a heartbeat (``EOL_STALE_AFTER_SECONDS``)."""
    return timedelta(seconds=float(config.get("EOL_STALE_AFTER_SECONDS", STALE_AFTER.seconds)))


def reap_with_settings(config) -> list[EolRun]:
    """``reap_stale_runs`` with the app's upload folder and ``EOL_STALE_AFTER_SECONDS``."""
    return reap_stale_runs(config["UPLOAD_FOLDER"], stale_after=stale_after(config))


def partial_trace_path(folder: str | Path, run_id: int) -> Path:
    """Where the bench agent writes a run's trace while it runs.

    Among the stored files rather than in a temporary folder: if the agent dies, whoever reaps
    the run finds the trace by the run's id and keeps it as evidence.
    """
    return Path(folder) / "traces" / "partial" / f"run-{run_id}.blf"


def _readable_frames(path: Path) -> int:
    # A killed agent leaves a BLF file without its closing header: count what can be read, and
    # let any damage past that end the count, never the reaping. (We own the file handle: the
    # reader leaves its own open when the header is unreadable.)
    frames = 0
    with open(path, "rb") as handle, contextlib.suppress(Exception):
        for _msg in can.BLFReader(handle):
            frames += 1
    return frames


def keep_partial_trace(run: EolRun, trace_folder: str | Path) -> None:
    """Move what the agent wrote of ``run``'s trace into the stored traces, as its evidence."""
    partial = partial_trace_path(trace_folder, run.id)
    if not partial.is_file() or run.trace_sha256:
        return
    frames = _readable_frames(partial)
    digest = FileStore(trace_folder).put_file("traces", partial, ".blf")
    run.trace_sha256, run.trace_frames = digest, frames
    record_event(
        "eol.partial_trace",
        run,
        centre_id=run.centre_id,
        details={"trace_sha256": digest, "frames": frames},
    )


def trace_path(folder: str | Path, sha256: str) -> Path:
    """Where a run's BLF trace is kept in the file store: ``traces/ab/abcd….blf``."""
    return FileStore(folder).path("traces", sha256, ".blf")


def job_runs(job) -> list[EolRun]:
    """Every run of a job, newest first."""
    return list(
        db.session.scalars(
            sa.select(EolRun)
            .where(EolRun.job_id == job.id)
            .order_by(EolRun.requested_at.desc(), EolRun.id.desc())
        )
    )


def latest_complete_run(job) -> EolRun | None:
    """The newest finished run of a job that covered all three sequences (for certificates)."""
    for run in job_runs(job):
        if run.finished and set(run.sequences) == set(SEQUENCE_NAMES):
            return run
    return None
