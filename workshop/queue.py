"""Background work on a real queue: RQ on the Redis a centre already runs.

Heavy work (issuing a certificate, building an evidence bundle) never runs inside a request: the
web app enqueues a task, a worker (``workshop worker``; the demo starts one) runs it in an
application context and reports progress in the job's meta, which the page polls. ``REDIS_URL`` names the server
(default ``redis://127.0.0.1:6379/0``), ``QUEUE_NAME`` the queue.
"""

from __future__ import annotations

from typing import Any

from flask import has_app_context
from flask_babel import lazy_gettext as _l
from redis import Redis
from rq import Queue, get_current_job
from werkzeug.utils import import_string

from workshop.errors import DomainError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class QueueUnavailable(DomainError):
    """The queue's Redis cannot be reached (``detail`` says why, for the logs)."""

    code = "queue_unavailable"

    def __init__(self, detail: str = ""):
        super().__init__(
            _l("The background worker's queue cannot be reached; try again in a minute.")
        )
        self.detail = detail


def redis_connection(config) -> Redis:
    """A connection to the queue's Redis (``REDIS_URL``)."""
    return Redis.from_url(config.get("REDIS_URL") or DEFAULT_REDIS_URL, socket_timeout=5)


def task_queue(config) -> Queue:
    """The application's queue."""
    return Queue(config.get("QUEUE_NAME") or "workshop", connection=redis_connection(config))


def enqueue(config, task: str, *args: Any, timeout: int = 600) -> str:
    """Queue ``task`` (a dotted path to a function taking plain arguments); return the job id."""
    from redis.exceptions import RedisError

    try:
        job = task_queue(config).enqueue(run_task, task, *args, job_timeout=timeout)
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    return job.id


def run_task(task: str, *args: Any) -> Any:
    """In the worker: run ``task`` in the worker's application context (``workshop worker`` runs
    inside the app's CLI, which pushes it; a test pushes its own)."""
    if not has_app_context():
        raise RuntimeError("run background tasks with `workshop worker` (an application context)")
    return import_string(task)(*args)


def report_progress(done: int, total: int) -> None:
    """From inside a task: how far it has got (shown on the page that waits for it)."""
    job = get_current_job()
    if job is None or total <= 0:
        return
    job.meta["progress"] = round(min(max(done / total, 0.0), 1.0), 3)
    job.save_meta()


def job_progress(config, job_id: str) -> float | None:
    """The fraction a queued task reported (None when unknown)."""
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=redis_connection(config))
    except (NoSuchJobError, RedisError):
        return None
    return job.meta.get("progress")


def task_status(config, job_id: str) -> str | None:
    """A queued task's state as RQ keeps it ("queued", "started", "finished", "failed", ...;
    "missing" once the queue no longer knows it; None when Redis cannot be reached)."""
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        status = Job.fetch(job_id, connection=redis_connection(config)).get_status(refresh=False)
    except NoSuchJobError:
        return "missing"
    except RedisError:
        return None
    return getattr(status, "value", status)


def run_worker(config, *, burst: bool = False) -> None:
    """Serve the queue in this process until stopped (``burst``: until it is empty)."""
    from rq import SimpleWorker

    queue = task_queue(config)
    # Tasks run in this process, in its application context (a forked child would share the
    # parent's database connections).
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, logging_level="WARNING")
