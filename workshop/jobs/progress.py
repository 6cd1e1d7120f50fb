"""A job's progress through its pinned manual: the manual of a job (cached per manual version),
the latest records of each step, open non-conformances, and the state of every step for a user
(done, next, blocked, waiting for a countersignature or a qualification)."""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache

import sqlalchemy as sa

from workshop.accounts.models import User
from workshop.extensions import db
from workshop.jobs.models import (
    Countersign,
    Job,
    NonConformance,
    Photo,
    StepRecord,
)
from workshop.manuals.schema import Manual, Step
from workshop.transactions import plain_rows
from workshop.vin import VIN_RE, normalise_vin, vin_problem  # noqa: F401  (re-exported)

_MANUAL_CACHE_SIZE = 64
_manual_cache: OrderedDict[tuple[str, str, str], Manual] = OrderedDict()
# Job id -> the key of the manual it pins. A pin is set when the job is opened and never changes,
# so the step screen can know a step's dependencies before it reads the job (``job_and_records``)
# and read the job and the records in one statement; the row read says whether it still holds.
_pins: dict[int, tuple[str, str, str]] = {}
_PINS_SIZE = 100_000


def _manual_key(job: Job) -> tuple[str, str, str]:
    return (job.manual_id, job.manual_version, job.manual_fingerprint or f"job-{job.id}")


def pinned_manual(job_id: int) -> Manual | None:
    """The manual job ``job_id`` pins if this process has read that job before, else None."""
    key = _pins.get(job_id)
    return _manual_cache.get(key) if key is not None else None


def manual_of(job: Job) -> Manual:
    """The manual pinned by ``job`` (rebuilt from its snapshot, never from the file).

    Cached per manual version (id, version, fingerprint), not per job: every job on one manual
    version shares one parsed copy, and the snapshot column is only read on a cache miss.
    """
    key = _manual_key(job)
    if _pins.get(job.id) != key:
        if len(_pins) >= _PINS_SIZE:
            _pins.clear()
        _pins[job.id] = key
    manual = _manual_cache.get(key)
    if manual is not None:
        _manual_cache.move_to_end(key)
        return manual
    manual = Manual.model_validate(job.manual_snapshot)
    _manual_cache[key] = manual
    if len(_manual_cache) > _MANUAL_CACHE_SIZE:
        _manual_cache.popitem(last=False)
    return manual


class StepState(StrEnum):
    """What a technician needs to know about a step at a glance."""

    DONE = "done"
    AWAITING_COUNTERSIGN = "awaiting_countersign"
    FAILED = "failed"  # signed with an open non-conformance
    READY = "ready"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Signature:
    """What the job page shows of a step record: who signed it when, and who countersigned."""

    signer: str
    signed_at: datetime
    countersigner: str | None

    @property
    def countersigned(self) -> bool:
        """True once a second person has countersigned the record."""
        return self.countersigner is not None


@dataclass
class StepStatus:
    """One step of a job: its state, its latest record, and why it is blocked if it is."""

    step: Step
    state: StepState
    latest: StepRecord | Signature | None = None
    records: list[StepRecord] | list[Signature] = field(default_factory=list)
    blocked_by: list[str] = field(default_factory=list)
    missing_qualification: str | None = None


def _step_has_open_nc():
    """Whether a record's step has an open non-conformance, as a column of a select of records
    (a non-conformance is raised by a record of its step: the flag comes with the records)."""
    return (
        sa.exists()
        .where(
            NonConformance.job_id == StepRecord.job_id,
            NonConformance.step_id == StepRecord.step_id,
            NonConformance.closed_at.is_(None),
        )
        .correlate(StepRecord)
    )


@cache
def _records_statement(of_steps: bool, evidence: bool = True):
    """A job's records (of some steps only, when ``of_steps``) with their signers,
    countersigns, photos and whether their step has an open non-conformance, in one statement;
    built once (an ORM select with eager loads costs more to build than to run).

    Without ``evidence``, what a record holds (values, evaluations, instruments, note, photos)
    is not read, and reading it raises: who signed when is enough to tell a step's state."""
    has_open_nc = _step_has_open_nc()
    stmt = (
        sa.select(StepRecord, has_open_nc)
        .where(StepRecord.job_id == sa.bindparam("job_id"))
        .order_by(StepRecord.step_id, StepRecord.seq)
        .options(
            # A record has one signer, at most one countersign and a few photos: joins stay
            # small. Who signed and countersigned: their names only (not the password hash
            # and the rest of the row); their roles and qualifications are not needed to show
            # a record (User loads both eagerly by default).
            sa.orm.joinedload(StepRecord.countersign)
            .joinedload(Countersign.user)
            .load_only(User.id, User.full_name, User.username)
            .lazyload("*"),
            sa.orm.joinedload(StepRecord.user)
            .load_only(User.id, User.full_name, User.username)
            .lazyload("*"),
        )
    )
    if evidence:
        stmt = stmt.options(sa.orm.joinedload(StepRecord.photos))
    else:
        stmt = stmt.options(
            sa.orm.raiseload(StepRecord.photos),
            *(
                sa.orm.defer(column, raiseload=True)
                for column in (
                    StepRecord.values,
                    StepRecord.evaluations,
                    StepRecord.instruments,
                    StepRecord.note,
                )
            ),
        )
    if of_steps:
        stmt = stmt.where(StepRecord.step_id.in_(sa.bindparam("step_ids", expanding=True)))
    return stmt


def _records_and_open_nc(
    job: Job, step_ids=None, *, evidence: bool = True
) -> tuple[dict[str, list[StepRecord]], set]:
    """The job's records (of ``step_ids`` only, when given), grouped by step, oldest first, and
    the steps among them with an open non-conformance."""
    params = {"job_id": job.id}
    if step_ids is not None:
        params["step_ids"] = list(step_ids)
    grouped: dict[str, list[StepRecord]] = {}
    open_nc_steps = set()
    statement = _records_statement(step_ids is not None, evidence)
    for r, open_nc in db.session.execute(statement, params).unique():
        grouped.setdefault(r.step_id, []).append(r)
        if open_nc:
            open_nc_steps.add(r.step_id)
    return grouped, open_nc_steps


def _records(job: Job, step_ids=None) -> dict[str, list[StepRecord]]:
    """The job's records (of ``step_ids`` only, when given), grouped by step, oldest first."""
    return _records_and_open_nc(job, step_ids)[0]


_signer = sa.orm.aliased(User)
_countersigner = sa.orm.aliased(User)
# Plain rows, not ORM objects: the job page reads 44+ records on every view, and building a
# StepRecord, its Countersign and their Users for each costs more than the statement itself.
_SIGNATURES = (
    sa.select(
        StepRecord.step_id,
        _signer.full_name,
        StepRecord.signed_at,
        _countersigner.full_name,
        StepRecord.passed,
    )
    .join(_signer, _signer.id == StepRecord.user_id)
    .outerjoin(Countersign, Countersign.record_id == StepRecord.id)
    .outerjoin(_countersigner, _countersigner.id == Countersign.user_id)
    .where(StepRecord.job_id == sa.bindparam("job_id"))
    .order_by(StepRecord.step_id, StepRecord.seq)
)


def _signatures(job: Job) -> tuple[dict[str, list[Signature]], bool]:
    """Who signed and countersigned each record of the job, grouped by step, oldest first;
    and whether any record failed (was signed out of limits)."""
    grouped: dict[str, list[Signature]] = {}
    failed = False
    for step_id, signer, signed_at, countersigner, passed in plain_rows(
        _SIGNATURES, {"job_id": job.id}
    ):
        grouped.setdefault(step_id, []).append(Signature(signer, signed_at, countersigner))
        failed = failed or not passed
    return grouped, failed


def latest_records(job: Job) -> dict[str, list[StepRecord]]:
    """Every record of the job, grouped by step, oldest first."""
    return _records(job)


@cache
def _open_non_conformances_statement(of_step: bool):
    """Built once, like ``_records_statement``: the job page asks on every view."""
    stmt = sa.select(NonConformance).where(
        NonConformance.job_id == sa.bindparam("job_id"), NonConformance.closed_at.is_(None)
    )
    if of_step:
        stmt = stmt.where(NonConformance.step_id == sa.bindparam("step_id"))
    return stmt.order_by(NonConformance.id)


def open_non_conformances(job: Job, step_id: str | None = None) -> list[NonConformance]:
    """The job's non-conformances (of one step, when given) that no passing record has closed."""
    statement = _open_non_conformances_statement(step_id is not None)
    params = {"job_id": job.id} if step_id is None else {"job_id": job.id, "step_id": step_id}
    return list(db.session.scalars(statement, params))


def _complete(step: Step, latest: StepRecord | Signature | None) -> bool:
    return latest is not None and (not step.countersign or latest.countersigned)


def _step_status(job, manual, step, grouped, open_nc_steps, held) -> StepStatus:
    records = grouped.get(step.id, [])
    latest = records[-1] if records else None
    status = StepStatus(step=step, state=StepState.READY, latest=latest, records=records)
    if latest is not None:
        if step.id in open_nc_steps:
            status.state = StepState.FAILED
        elif _complete(step, latest):
            status.state = StepState.DONE
        else:
            status.state = StepState.AWAITING_COUNTERSIGN
    else:
        status.blocked_by = [
            dep
            for dep in step.depends_on
            if not _complete(manual.step(dep), (grouped.get(dep) or [None])[-1])
        ]
        if status.blocked_by:
            status.state = StepState.BLOCKED
    if held is not None:
        needed = [q for q in (step.qualification, model_qualification(job)) if q]
        missing = [q for q in needed if q not in held]
        status.missing_qualification = missing[0] if missing else None
    return status


def _held(user: User | None):
    if user is None:
        return None
    from workshop.accounts.services import valid_qualifications

    return valid_qualifications(user)


def job_progress(
    job: Job,
    user: User | None = None,
    *,
    non_conformances: list | None = None,
    evidence: bool = True,
) -> dict[str, StepStatus]:
    """The state of every step of ``job`` (in manual order); qualification gaps for ``user``.

    ``non_conformances``: the job's open ones when the caller has them already.
    ``evidence=False``: the records carry who signed and countersigned when, not what they
    hold (values, photos): enough for finding the next step (the job page reads
    ``job_overview``).
    """
    grouped = _records_and_open_nc(job, evidence=evidence)[0]
    return _progress(job, grouped, user, non_conformances)


def job_overview(
    job: Job, user: User | None = None
) -> tuple[dict[str, StepStatus], list[NonConformance]]:
    """The state of every step of ``job``, as in ``job_progress``, with each record read as a
    ``Signature`` (who signed when, who countersigned): what the job page shows; and the job's
    open non-conformances.

    A non-conformance is only ever raised by a record signed out of limits (and records are
    never changed): when every record of the job passed, there is none to look for.
    """
    grouped, failed = _signatures(job)
    non_conformances = open_non_conformances(job) if failed else []
    return _progress(job, grouped, user, non_conformances), non_conformances


def _progress(job, grouped, user, non_conformances) -> dict[str, StepStatus]:
    manual = manual_of(job)
    if non_conformances is None:
        non_conformances = open_non_conformances(job)
    open_nc_steps = {nc.step_id for nc in non_conformances}
    held = _held(user)
    return {
        step.id: _step_status(job, manual, step, grouped, open_nc_steps, held)
        for step in manual.steps
    }


@dataclass(frozen=True, slots=True)
class ShownRecord:
    """What the step screen shows of a step record, read as a plain row: what was entered and
    with which instruments, who signed it when, who countersigned it when, its photos' ids."""

    id: int
    user_id: int
    signer: str
    signed_at: datetime
    corrects_id: int | None
    reason: str
    passed: bool
    values: dict
    evaluations: dict
    instruments: dict
    note: str
    countersigner: str | None
    countersigned_at: datetime | None
    photo_ids: list[int]

    @property
    def countersigned(self) -> bool:
        """True once a second person has countersigned the record."""
        return self.countersigner is not None


def _shown_columns() -> tuple:
    has_open_nc = _step_has_open_nc()
    return (
        StepRecord.step_id,
        StepRecord.id,
        StepRecord.user_id,
        _signer.full_name,
        StepRecord.signed_at,
        StepRecord.corrects_id,
        StepRecord.reason,
        StepRecord.passed,
        StepRecord.values,
        StepRecord.evaluations,
        StepRecord.instruments,
        StepRecord.note,
        _countersigner.full_name,
        Countersign.at,
        has_open_nc,
    )


@cache
def _shown_records_statement():
    """The records of some steps of a job, as plain rows (building a StepRecord, its
    Countersign, their Users and Photos for each costs more than the statement), with whether
    their step has an open non-conformance; built once."""
    return (
        sa.select(*_shown_columns())
        .join(_signer, _signer.id == StepRecord.user_id)
        .outerjoin(Countersign, Countersign.record_id == StepRecord.id)
        .outerjoin(_countersigner, _countersigner.id == Countersign.user_id)
        .where(
            StepRecord.job_id == sa.bindparam("job_id"),
            StepRecord.step_id.in_(sa.bindparam("step_ids", expanding=True)),
        )
        .order_by(StepRecord.step_id, StepRecord.seq)
    )


@cache
def _job_and_records_statement():
    """The job and, on the same rows, its records of some steps as ``_shown_records_statement``
    reads them (one row with no record when there is none); built once."""
    records = (
        sa.join(StepRecord, _signer, _signer.id == StepRecord.user_id)
        .outerjoin(Countersign, Countersign.record_id == StepRecord.id)
        .outerjoin(_countersigner, _countersigner.id == Countersign.user_id)
    )
    on = sa.and_(
        StepRecord.job_id == Job.id,
        StepRecord.step_id.in_(sa.bindparam("step_ids", expanding=True)),
    )
    return (
        sa.select(Job, *_shown_columns())
        .select_from(sa.outerjoin(Job, records, on))
        .where(Job.id == sa.bindparam("job_id"))
        .order_by(StepRecord.step_id, StepRecord.seq)
    )


def job_and_records(job_id: int, manual: Manual, step: Step):
    """Job ``job_id`` and the records the step screen shows of ``step`` (of ``manual``, the
    manual this process has seen the job pin) in one statement: (job, rows) for
    ``step_screen(..., rows=rows)``, (job, None) when the job pins another manual after all (its
    records are then read again by ``step_screen``), (None, None) when there is no such job."""
    result = db.session.execute(
        _job_and_records_statement(), {"job_id": job_id, "step_ids": [step.id, *step.depends_on]}
    ).all()
    if not result:
        return None, None
    job = result[0][0]
    if manual_of(job) is not manual:  # a job id used again (SQLite), or the cache moved on
        return job, None
    return job, [row[1:] for row in result if row[2] is not None]


_STEP_PHOTOS = (
    sa.select(Photo.id, Photo.record_id, Photo.input_key)
    .where(Photo.job_id == sa.bindparam("job_id"), Photo.step_id == sa.bindparam("step_id"))
    .order_by(Photo.id)
)


def step_screen(
    job: Job, step: Step, user: User | None = None, *, rows=None
) -> tuple[StepStatus, dict[str, list[int]]]:
    """What the step screen shows: the step's state as in ``step_progress``, its records as
    ``ShownRecord`` rows (newest last), and the ids of the photos uploaded for each of its photo
    inputs and not yet attached to a signed record; in two statements (one for a step that
    asks for no photo: it has none), or one when ``rows`` were read with the job."""
    manual = manual_of(job)
    photos_of: dict[int, list[int]] = {}
    pending: dict[str, list[int]] = {}
    asks_photos = any(inp.type == "photo" for inp in step.inputs)
    photos = plain_rows(_STEP_PHOTOS, {"job_id": job.id, "step_id": step.id}) if asks_photos else ()
    for photo_id, record_id, input_key in photos:
        if record_id is None:
            pending.setdefault(input_key, []).append(photo_id)
        else:
            photos_of.setdefault(record_id, []).append(photo_id)
    grouped: dict[str, list[ShownRecord]] = {}
    open_nc_steps = set()
    if rows is None:  # else read with the job (``job_and_records``)
        rows = plain_rows(
            _shown_records_statement(),
            {"job_id": job.id, "step_ids": [step.id, *step.depends_on]},
        )
    for step_id, record_id, *shown, open_nc in rows:
        grouped.setdefault(step_id, []).append(
            ShownRecord(record_id, *shown, photo_ids=photos_of.get(record_id, []))
        )
        if open_nc and step_id == step.id:
            open_nc_steps.add(step_id)
    return _step_status(job, manual, step, grouped, open_nc_steps, _held(user)), pending


def step_progress(job: Job, step: Step, user: User | None = None) -> StepStatus:
    """The state of one step of ``job``, as in ``job_progress``, reading only that step's records
    and those of the steps it depends on (the step screen and signing need no more)."""
    manual = manual_of(job)
    grouped, open_nc_steps = _records_and_open_nc(job, [step.id, *step.depends_on])
    open_nc_steps &= {step.id}
    return _step_status(job, manual, step, grouped, open_nc_steps, _held(user))


def model_qualification(job: Job) -> str | None:
    # Training jobs are practice: the car-model qualification is what the trainee is working towards.
    return None if job.is_training else manual_of(job).qualification


def next_step(progress: dict[str, StepStatus]) -> StepStatus | None:
    """The first step that can be worked on now."""
    for status in progress.values():
        if status.state == StepState.READY:
            return status
    return None
