"""Server-side login sessions: started at login, checked on every request, ended for good.

The signed session cookie holds a random token; the ``user_sessions`` table decides whether it
still opens anything. That is what makes logout, a password change or an administrator's
"end sessions" reach every copy of a cookie, and what times out an idle shared tablet.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa

from workshop.accounts.models import User, UserSession
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.extensions import db

# Seeing a session again within this interval does not rewrite its row (one write a minute,
# not one per request); the idle timeout is therefore exact to within this interval.
TOUCH_INTERVAL = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, ip: str = "", user_agent: str = "") -> str:
    """Open a session for ``user``; returns the token to keep in the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            token_sha256=_digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            ip=ip[:64],
            user_agent=user_agent[:200],
        )
    )
    return token


def open_session(token: str | None, user_id: int) -> UserSession | None:
    """The open session of ``user_id`` that ``token`` names, or None."""
    if not token:
        return None
    return db.session.scalar(
        sa.select(UserSession).where(
            UserSession.token_sha256 == _digest(token),
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
        )
    )


@cache
def _user_with_session_statement():
    """The statement of ``load_user_with_session``, built once: building an ORM select with its
    eager loads and computing its cache key costs more than running it, on every request."""
    return (
        sa.select(User, UserSession)
        .outerjoin(
            UserSession,
            sa.and_(
                UserSession.user_id == User.id,
                UserSession.token_sha256 == sa.bindparam("token_sha256"),
                UserSession.ended_at.is_(None),
            ),
        )
        .where(User.id == sa.bindparam("user_id"))
        # What every page asks of the user: roles (access), qualifications (may they sign),
        # home and extra centres (which records they see).
        .options(
            sa.orm.joinedload(User.role_rows),
            sa.orm.joinedload(User.qualifications),
            sa.orm.joinedload(User.extra_centres),
            sa.orm.joinedload(User.centre),
        )
    )


def load_user_with_session(
    user_id: int, token: str | None
) -> tuple[User | None, UserSession | None]:
    """User ``user_id`` (with roles, qualifications and centres) and their open session that
    ``token`` names, in one statement: every request of a logged-in user needs both."""
    row = (
        db.session.execute(
            _user_with_session_statement(),
            # No token names no session: "" is no SHA-256 digest.
            {"user_id": user_id, "token_sha256": _digest(token) if token else ""},
        )
        .unique()
        .one_or_none()
    )
    return (row[0], row[1]) if row is not None else (None, None)


def check_session(
    token: str | None, user_id: int, idle_timeout: timedelta, now: datetime | None = None
) -> tuple[UserSession | None, str]:
    """Validate a request's session: (session, "") when it is open, else (None, reason).

    A session idle for longer than ``idle_timeout`` is ended here (reason ``idle``); a live one
    has its ``last_seen_at`` moved on. The caller commits.
    """
    return check_open_session(open_session(token, user_id), idle_timeout, now)


def check_open_session(
    record: UserSession | None, idle_timeout: timedelta, now: datetime | None = None
) -> tuple[UserSession | None, str]:
    """As ``check_session``, for a session already read (``load_user_with_session``)."""
    now = now or utcnow()
    if record is None:
        return None, "ended"
    if now - record.last_seen_at > idle_timeout:
        _end(record, "idle", now)
        return None, "idle"
    if now - record.last_seen_at >= TOUCH_INTERVAL:
        record.last_seen_at = now
    return record, ""


def _end(record: UserSession, reason: str, now: datetime) -> None:
    record.ended_at = now
    record.end_reason = reason
    record_event(
        "session.end",
        record.user,
        details={"session": record.id, "reason": reason},
    )


def end_session(token: str | None, user_id: int, reason: str = "logout") -> bool:
    """End the session ``token`` names (logout); True when there was one to end."""
    record = open_session(token, user_id)
    if record is None:
        return False
    _end(record, reason, utcnow())
    return True


def end_user_sessions(user: User, reason: str, *, keep_token: str | None = None) -> int:
    """End every open session of ``user`` except the one ``keep_token`` names; returns how many."""
    keep = _digest(keep_token) if keep_token else None
    now = utcnow()
    ended = 0
    for record in db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    ):
        if record.token_sha256 != keep:
            _end(record, reason, now)
            ended += 1
    return ended


def open_sessions(user: User) -> list[UserSession]:
    """``user``'s open sessions, newest first (for the admin's user page)."""
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .order_by(UserSession.last_seen_at.desc())
        )
    )
