"""Checking an uploaded trace: stored, queued, parsed by a worker in a limited child process.

The request only stores the upload (by its SHA-256) and queues the check; a background worker
(workshop.queue) runs it through :func:`workshop.eol.sandbox.check_trace_isolated`, keeps the
result (or the error's code and parameters) and deletes the upload. A large trace therefore never
holds a web worker, and a hostile one never reaches one. The caller commits.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.eol.models import TraceCheck
from workshop.eol.traces import TraceError, trace_format
from workshop.extensions import db

UPLOAD_FOLDER = "trace-uploads"


def upload_path(files_folder: str | Path, check: TraceCheck) -> Path:
    """Where a queued check's upload waits for the worker."""
    suffix = trace_format(check.filename)
    return Path(files_folder) / UPLOAD_FOLDER / f"{check.id}-{check.sha256}{suffix}"


def queue_check(user, kit_id: str, filename: str, data: bytes, config) -> TraceCheck:
    """Store the upload and queue its check. Raises TraceError for a file that is refused at
    once (unknown type, empty), workshop.queue.QueueUnavailable when no worker can be reached
    (nothing is kept then)."""
    from workshop.queue import enqueue

    filename = os.path.basename(filename or "")[:255]
    trace_format(filename)  # the type is known from its name, before anything is stored
    if not data:
        raise TraceError("trace_empty")
    check = TraceCheck(
        user_id=user.id,
        kit_id=kit_id,
        filename=filename,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=utcnow(),
    )
    db.session.add(check)
    db.session.flush()
    path = upload_path(config["UPLOAD_FOLDER"], check)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    db.session.commit()  # the worker must find the row
    try:
        check.job_id = enqueue(config, "workshop.eol.tracechecks.run_check_task", check.id)
    except Exception:
        path.unlink(missing_ok=True)
        db.session.delete(check)
        db.session.commit()
        raise
    record_event("eol.trace_check", check, details={"kit": kit_id, "file": filename})
    return check


def run_check_task(check_id: int) -> str:
    """In the worker: check the stored upload in the limited child process, keep the outcome."""
    from flask import current_app

    from workshop.eol.sandbox import check_trace_isolated

    check = db.session.get(TraceCheck, check_id)
    if check is None or check.status in ("done", "failed"):
        return "gone" if check is None else check.status
    check.status = "running"
    db.session.commit()
    path = upload_path(current_app.config["UPLOAD_FOLDER"], check)
    try:
        result = check_trace_isolated(check.kit_id, path)
    except TraceError as exc:
        check.status, check.error_code, check.error_params = "failed", exc.code, exc.params
    else:
        data = result.to_dict("en")
        if data.get("trace"):
            data["trace"]["path"] = check.filename  # the stored copy is deleted below
        check.status, check.result = "done", data
    finally:
        path.unlink(missing_ok=True)
    check.finished_at = utcnow()
    db.session.commit()
    return check.status
