"""Lists of jobs: the job list of a user's centres (filter, search, keyset pagination by cursor),
the paging other lists share, and a job's recorded labour time."""

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from workshop.extensions import db
from workshop.jobs.models import (
    Job,
    Vehicle,
)
from workshop.vin import VIN_RE, normalise_vin, vin_problem  # noqa: F401  (re-exported)


def job_seconds(job: Job) -> int:
    """Time spent on the job's steps, in seconds (labour for the cost sheet)."""
    return int(job.labour_seconds or 0)


@dataclass(frozen=True)
class JobPage:
    """One page of a job list, newest first, and the cursor of the next (older) page."""

    jobs: list[Job]
    next_cursor: str | None


def _cursor(job: Job) -> str:
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
    """Jobs visible in ``scope`` (a CentreScope), newest first, filtered by status and VIN/plate.

    Keyset pagination: ``after`` is the cursor of the previous page's last job, so a page costs
    the same however deep in the list it is. The manual and kit snapshots are not loaded.
    """
    stmt = (
        sa.select(Job)
        .join(Job.vehicle)
        .options(sa.orm.contains_eager(Job.vehicle), sa.orm.joinedload(Job.centre))
    )
    stmt = scope.filter(stmt, Job.centre_id)
    if status:
        stmt = stmt.where(Job.status == status)
    if search:
        term = f"%{search.strip().upper()}%"
        plate = f"%{search.strip()}%"
        stmt = stmt.where(sa.or_(Vehicle.vin.like(term), Vehicle.plate.like(plate)))
    return page_jobs(stmt, limit=limit, after=after)


def page_jobs(stmt, *, limit: int, after: str | None = None, newest_first: bool = True) -> JobPage:
    """One keyset page of ``stmt`` (a select of Job) ordered by (created_at, id).

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
    jobs = list(db.session.scalars(stmt.limit(limit + 1)))
    more = len(jobs) > limit
    jobs = jobs[:limit]
    return JobPage(jobs=jobs, next_cursor=_cursor(jobs[-1]) if more else None)
