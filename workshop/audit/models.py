"""The append-only audit log."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from workshop.columns import UTCDateTime, intpk, utcnow
from workshop.extensions import db


class AuditEvent(db.Model):
    """One state change: who did what to which record, when and from where."""

    __tablename__ = "audit_events"

    id: Mapped[intpk]
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # No foreign key on purpose: the log must outlive the users and records it names.
    user_id: Mapped[int | None] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(64), default="")
    object_id: Mapped[str] = mapped_column(sa.String(64), default="")
    centre_id: Mapped[int | None] = mapped_column(index=True)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a record that is evidence."""


_APPEND_ONLY: set[type] = {AuditEvent}


def append_only(cls):
    """Class decorator: rows of this model may be added, never changed or deleted."""
    _APPEND_ONLY.add(cls)
    return cls


def _columns_changed(obj) -> bool:
    # Relationship bookkeeping (a new countersign pointing at a record) is not a change of the
    # record itself; only its own columns count.
    state = sa.inspect(obj)
    return any(state.attrs[attr.key].history.has_changes() for attr in state.mapper.column_attrs)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_evidence(session, flush_context, instances):
    # For audit events the database refuses too (triggers in the migration); this gives a
    # clear Python error first, for every append-only model.
    for obj in list(session.dirty) + list(session.deleted):
        if type(obj) in _APPEND_ONLY and (obj in session.deleted or _columns_changed(obj)):
            raise AppendOnlyError(f"{type(obj).__name__} records are append-only")
