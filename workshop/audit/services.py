"""Writing and reading the audit log.

Services never look at ``request``: the acting user and client address reach them through
``audit_context``, which the web layer sets per request and the CLI sets per command.
"""

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from workshop.audit.models import AuditEvent
from workshop.extensions import db


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where."""

    user_id: int | None = None
    username: str = ""
    ip: str = ""


SYSTEM = Actor(username="system")
_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


def set_actor(actor: Actor):
    """Make ``actor`` the author of audit events recorded from now on in this context."""
    return _actor.set(actor)


def current_actor() -> Actor:
    """The actor audit events are currently attributed to."""
    return _actor.get() or SYSTEM


def record_event(
    action: str,
    target=None,
    *,
    details: dict | None = None,
    centre_id: int | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    """Add an audit event for ``action`` on ``target`` to the session (the caller commits)."""
    actor = actor or current_actor()
    object_type = object_id = ""
    if target is not None:
        object_type = type(target).__name__
        object_id = str(getattr(target, "id", "") or "")
        if centre_id is None:
            centre_id = getattr(target, "centre_id", None)
    ev = AuditEvent(
        user_id=actor.user_id,
        username=actor.username,
        ip=actor.ip,
        action=action,
        object_type=object_type,
        object_id=object_id,
        centre_id=centre_id,
        details=details or {},
    )
    db.session.add(ev)
    return ev


def search_events(
    *,
    action: str | None = None,
    username: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    centre_ids: list[int] | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditEvent]:
    """Audit events matching the filters, newest first."""
    stmt = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if username:
        stmt = stmt.where(AuditEvent.username == username)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    if centre_ids is not None:
        stmt = stmt.where(AuditEvent.centre_id.in_(centre_ids))
    return list(db.session.scalars(stmt.limit(limit).offset(offset)))
