"""Helpers for the security tests: reading a page's CSRF token and the audit log."""

import re

TOKEN_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    """The first CSRF token in a page's forms."""
    match = TOKEN_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def events(action: str):
    """The audit events of ``action``, oldest first (after ending the test's own transaction)."""
    import sqlalchemy as sa

    from workshop.audit.models import AuditEvent
    from workshop.extensions import db

    db.session.rollback()
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )
