"""Issuing a certificate in the background: the inspector's request is checked at once, then a
worker (workshop.queue) numbers, renders, signs and stores the certificate while the job's page
shows how far it got.

The domain rule stays :func:`workshop.certificates.services.issue_certificate`; this module only
decides when it runs. A request is a row (:class:`IssueRequest`): queued → running → done (with
its certificate) or failed (a code and parameters, shown in the reader's language)."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import User
from workshop.audit.services import record_event
from workshop.certificates.models import IssueRequest
from workshop.certificates.services import (
    BLOCKER_MESSAGES,
    ISSUE_STAGES,
    SETUP_MISSING,
    Blocker,
    CertificateError,
    check_issuing,
    issue_certificate,
)
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.jobs.models import Job

# Why a request failed, by code; ``blocked`` lists the blockers with their own messages
# (services.BLOCKER_MESSAGES) and the ``*_failed`` codes name the stage that broke and the
# exception's class (the worker's log has the rest).
FAILURES = {
    "not_inspector": _l("only inspectors issue certificates"),
    "outside_centres": _l("this job is outside your centres"),
    "setup_missing": SETUP_MISSING,
    "blocked": _l("the certificate cannot be issued yet: %(missing)s"),
    "already_certified": BLOCKER_MESSAGES["already_certified"],
    "data_failed": _l("reading the job's records for the certificate failed (%(error)s)"),
    "render_failed": _l("rendering the certificate's PDF failed (%(error)s)"),
    "signing_failed": _l(
        "signing the certificate's PDF failed (%(error)s): check the signing keys and certificates"
    ),
    "storing_failed": _l("storing the certificate failed (%(error)s)"),
    "worker_lost": _l("the background worker stopped before it finished"),
    "refused": _l("the certificate rules refused it"),
}

# The stage an unexpected error broke in, by how many stages issue_certificate had reported.
STAGE_FAILURES = ("data_failed", "render_failed", "signing_failed", "storing_failed")


def failure_message(code: str, params: dict) -> str:
    """A failed request's reason in the current language."""
    if code == "blocked":
        missing = "; ".join(Blocker(b["code"], b["params"]).message for b in params["blockers"])
        return str(FAILURES["blocked"] % {"missing": missing})
    return str(FAILURES.get(code, FAILURES["worker_lost"]) % params)


def refusal(exc: CertificateError) -> tuple[str, dict]:
    """The code and parameters a failed request keeps for a refusal by the rules."""
    if exc.missing:
        return "blocked", {"blockers": [{"code": b.code, "params": b.params} for b in exc.missing]}
    if exc.code in FAILURES:
        return exc.code, exc.params
    return "refused", {}


@dataclass(frozen=True)
class IssueState:
    """What the job's page shows about its latest request: status, progress 0–1, the
    certificate once done and the reason once failed."""

    status: str
    progress: float
    certificate_id: int | None = None
    failure: str = ""
    requested_by_id: int | None = None

    @property
    def under_way(self) -> bool:
        """True while a worker has it queued or running."""
        return self.status in ("queued", "running")


def latest_issue_request(job: Job) -> IssueRequest | None:
    """The job's newest request to issue its certificate."""
    return db.session.scalar(
        sa.select(IssueRequest)
        .where(IssueRequest.job_id == job.id)
        .order_by(IssueRequest.id.desc())
        .limit(1)
    )


def _lost(request: IssueRequest, config) -> bool:
    """True when the queue no longer runs the request's task (the worker died with it, or the
    queue lost it) although the row still says it is under way."""
    from workshop.queue import task_status

    if not request.under_way or not request.rq_job_id:
        return False
    return task_status(config, request.rq_job_id) in ("missing", "failed", "stopped", "canceled")


def issue_state(job: Job, config) -> IssueState | None:
    """The state of the job's latest request (None: never asked)."""
    from workshop.queue import job_progress

    request = latest_issue_request(job)
    if request is None:
        return None
    if request.status == "done":
        return IssueState(
            "done",
            1.0,
            certificate_id=request.certificate_id,
            requested_by_id=request.requested_by_id,
        )
    if request.status == "failed":
        return IssueState(
            "failed", 0.0, failure=failure_message(request.error_code, request.error_params)
        )
    if _lost(request, config):
        return IssueState("failed", 0.0, failure=failure_message("worker_lost", {}))
    progress = job_progress(config, request.rq_job_id) if request.rq_job_id else None
    return IssueState(request.status, progress or 0.0)


def issued_for(certificate, user: User) -> bool:
    """True when ``certificate`` was issued by a background request ``user`` asked for."""
    return (
        db.session.scalar(
            sa.select(IssueRequest.id).where(
                IssueRequest.certificate_id == certificate.id,
                IssueRequest.requested_by_id == user.id,
                IssueRequest.status == "done",
            )
        )
        is not None
    )


def _finish(request: IssueRequest, status: str, **values) -> None:
    request.status, request.finished_at, request.pending_job_id = status, utcnow(), None
    for name, value in values.items():
        setattr(request, name, value)


def request_issue(job: Job, user: User, config) -> tuple[IssueRequest, bool]:
    """Ask a worker to issue ``job``'s certificate; return the request and whether it is new.

    Refused at once, changing nothing, with the same :class:`CertificateError` issuing would
    raise (permission, setup, every blocker). A request already under way is returned rather
    than queued twice. Raises workshop.queue.QueueUnavailable when the queue cannot be reached
    (nothing is kept). The caller commits (the new row is committed here already: the worker
    must find it).
    """
    from workshop.queue import enqueue

    check_issuing(job, user)
    current = latest_issue_request(job)
    if current is not None and current.under_way:
        if not _lost(current, config):
            return current, False
        _finish(current, "failed", error_code="worker_lost", error_params={})
        db.session.flush()
    request = IssueRequest(
        job_id=job.id, pending_job_id=job.id, requested_by_id=user.id, requested_at=utcnow()
    )
    try:
        with db.session.begin_nested():
            db.session.add(request)
    except sa.exc.IntegrityError:  # another press got there first: that one is under way
        return latest_issue_request(job), False
    # committed before the worker can look for it
    db.session.commit()
    try:
        request.rq_job_id = enqueue(config, "workshop.certificates.issuing.issue_task", request.id)
    except Exception:
        db.session.delete(request)
        db.session.commit()
        raise
    record_event(
        "certificate.issue_requested",
        job,
        centre_id=job.centre_id,
        details={"request": request.id, "job": job.reference},
    )
    return request, True


def issue_task(request_id: int) -> str:
    """In the worker: issue the certificate a request asks for and record how it ended.

    On any failure the whole issuing transaction is rolled back (the job stays approved, no
    number is used, no certificate row exists) and the request is marked failed with its reason.
    """
    from workshop.queue import report_progress

    request = db.session.get(IssueRequest, request_id)
    if request is None or not request.under_way:
        return "gone" if request is None else request.status
    request.status = "running"
    db.session.commit()
    job, user = db.session.get(Job, request.job_id), db.session.get(User, request.requested_by_id)
    reached = [0]

    def progress(done: int, total: int) -> None:
        reached[0] = done
        report_progress(done, total)

    report_progress(0, ISSUE_STAGES)
    try:
        certificate = issue_certificate(job, user, progress=progress)
        _finish(request, "done", certificate_id=certificate.id)
        db.session.commit()
    except CertificateError as exc:  # refused by the rules: an answer, not a crash
        db.session.rollback()
        code, params = refusal(exc)
        _finish(request, "failed", error_code=code, error_params=params)
        db.session.commit()
        return "failed"
    except Exception as exc:  # the request must end recorded, whatever broke
        db.session.rollback()
        stage = STAGE_FAILURES[min(reached[0], len(STAGE_FAILURES) - 1)]
        _finish(request, "failed", error_code=stage, error_params={"error": type(exc).__name__})
        db.session.commit()
        raise
    return "done"
