"""Lists of jobs: the job list of a user's centres (filter, search, keyset pagination by cursor),
the paging other lists share, and a job's recorded labour time.

Lists read plain rows of the few columns they show (``ListedJob``), not Job objects: building
50 ORM objects with their vehicle and centre cost more than the rest of a list's query.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import sqlalchemy as sa
from markupsafe import Markup

from workshop.accounts.models import Centre
from workshop.extensions import db
from workshop.i18n import format_local_datetime
from workshop.jobs.labels import status_label
from workshop.jobs.models import (
    Job,
    JobStatus,
    Vehicle,
    job_reference,
)
from workshop.provinces import province_name
from workshop.vin import VIN_RE, normalise_vin, vin_problem  # noqa: F401  (re-exported)


def job_seconds(job: Job) -> int:
    """Time spent on the job's steps, in seconds (labour for the cost sheet)."""
    return int(job.labour_seconds or 0)


class ListedJob(NamedTuple):
    """A job as lists show it, with its vehicle and centre (one row of ``listed_jobs()``)."""

    id: int
    centre_code: str
    number: int
    status: JobStatus
    is_training: bool
    created_at: datetime
    make: str
    model: str
    year: int
    plate: str
    province: str
    vin: str

    @property
    def reference(self) -> str:
        """The job number people read and say (as ``Job.reference``)."""
        return job_reference(self.centre_code, self.number)


def listed_jobs():
    """A select of ``ListedJob`` rows (jobs joined with their vehicle and centre), to filter."""
    return (
        sa.select(
            Job.id,
            Centre.code,
            Job.number,
            Job.status,
            Job.is_training,
            Job.created_at,
            Vehicle.make,
            Vehicle.model,
            Vehicle.year,
            Vehicle.plate,
            Vehicle.province,
            Vehicle.vin,
        )
        .join(Job.vehicle)
        .join(Job.centre)
    )


@dataclass(frozen=True)
class JobPage:
    """One page of a job list, newest first, and the cursor of the next (older) page."""

    jobs: list[ListedJob]
    next_cursor: str | None


class JobListRow(NamedTuple):
    """One row of the job list page, ready to show."""

    url: str
    reference: str
    is_training: bool
    vehicle: str  # make, model and year
    plate: str  # plate and province
    vin: str
    opened: str  # Bangkok local time, in the reader's language
    status: str
    status_label: Markup | str


def job_list_rows(jobs: list[ListedJob], locale: str, job_url_prefix: str) -> list[JobListRow]:
    """The job list's rows in one pass (a page shows 50: looking each value up in the
    template cost more than the query); ``job_url_prefix`` + a job id is the job's page."""
    labels = {s.value: status_label(s.value) for s in JobStatus}
    return [
        JobListRow(
            url=f"{job_url_prefix}{job.id}",
            reference=job_reference(job.centre_code, job.number),
            is_training=job.is_training,
            vehicle=f"{job.make} {job.model} {job.year}",
            plate=f"{job.plate} {province_name(job.province, locale)}",
            vin=job.vin,
            opened=format_local_datetime(job.created_at, locale),
            status=job.status.value,
            status_label=labels[job.status.value],
        )
        for job in jobs
    ]


class JobTile(NamedTuple):
    """A job as a start page's tile shows it."""

    url: str
    reference: str
    vehicle: str  # make, model and plate
    vin: str


def job_tiles(jobs: list[ListedJob], job_url_prefix: str) -> list[JobTile]:
    """The tiles of ``jobs`` (a start page shows up to 50); ``job_url_prefix`` + a job id is
    the job's page."""
    return [
        JobTile(
            url=f"{job_url_prefix}{job.id}",
            reference=job_reference(job.centre_code, job.number),
            vehicle=f"{job.make} {job.model} · {job.plate}",
            vin=job.vin,
        )
        for job in jobs
    ]


def _cursor(job: ListedJob) -> str:
    return f"{job.created_at.isoformat()}~{job.id}"


def _parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    stamp, _sep, job_id = raw.rpartition("~")
    try:
        moment = datetime.fromisoformat(stamp)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), int(job_id)
    except ValueError:
        return None  # a mangled link starts again at the newest jobs


def list_jobs(
    scope,
    *,
    status: str | None = None,
    search: str | None = None,
    limit: int = 50,
    after: str | None = None,
) -> JobPage:
    """Jobs visible in ``scope`` (a CentreScope) as ``ListedJob`` rows, newest first, filtered
    by status and VIN/plate.

    Keyset pagination: ``after`` is the cursor of the previous page's last job, so a page costs
    the same however deep in the list it is.
    """
    stmt = scope.filter(listed_jobs(), Job.centre_id)
    if status:
        stmt = stmt.where(Job.status == status)
    if search:
        term = f"%{search.strip().upper()}%"
        plate = f"%{search.strip()}%"
        stmt = stmt.where(sa.or_(Vehicle.vin.like(term), Vehicle.plate.like(plate)))
    return page_jobs(stmt, limit=limit, after=after)


def page_jobs(stmt, *, limit: int, after: str | None = None, newest_first: bool = True) -> JobPage:
    """One keyset page of ``stmt`` (a select of ``listed_jobs()``) ordered by (created_at, id).

    ``after`` is the cursor of the previous page's last job: a page costs the same however deep
    in the list it is (no OFFSET). A mangled cursor starts again at the first page.
    """
    if newest_first:
        stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc())
    else:
        stmt = stmt.order_by(Job.created_at, Job.id)
    cursor = _parse_cursor(after)
    if cursor is not None:
        moment, job_id = cursor
        if newest_first:
            beyond = sa.or_(
                Job.created_at < moment, sa.and_(Job.created_at == moment, Job.id < job_id)
            )
        else:
            beyond = sa.or_(
                Job.created_at > moment, sa.and_(Job.created_at == moment, Job.id > job_id)
            )
        stmt = stmt.where(beyond)
    jobs = [ListedJob._make(row) for row in db.session.execute(stmt.limit(limit + 1))]
    more = len(jobs) > limit
    jobs = jobs[:limit]
    return JobPage(jobs=jobs, next_cursor=_cursor(jobs[-1]) if more else None)
