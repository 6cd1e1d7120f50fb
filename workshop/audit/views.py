"""The admin's view of the audit log."""

from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from workshop.accounts.access import requires
from workshop.accounts.models import Role
from workshop.audit.services import search_events
from workshop.i18n import BANGKOK

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PAGE_SIZE = 100


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@bp.route("/")
@requires(Role.ADMIN)
def list_events():
    """Audit events, newest first, filtered by action, user, record and Bangkok dates."""
    args = request.args
    since_day = _parse_day(args.get("since"))
    until_day = _parse_day(args.get("until"))
    try:
        page = max(1, int(args.get("page", 1)))
    except ValueError:
        page = 1
    events = search_events(
        action=args.get("action") or None,
        username=args.get("username") or None,
        object_type=args.get("object_type") or None,
        object_id=args.get("object_id") or None,
        since=datetime.combine(since_day, time(), BANGKOK) if since_day else None,
        until=datetime.combine(until_day + timedelta(days=1), time(), BANGKOK)
        if until_day
        else None,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    bad_dates = (args.get("since") and not since_day) or (args.get("until") and not until_day)
    return render_template(
        "audit/events.html",
        events=events[:PAGE_SIZE],
        has_more=len(events) > PAGE_SIZE,
        page=page,
        args=args,
        bad_dates=bad_dates,
    )


ACTION_LABELS = {
    "login": _l("logged in"),
    "logout": _l("logged out"),
    "login.failed": _l("failed login"),
    "login.refused_locked": _l("login refused: account locked"),
    "centre.create": _l("created a centre"),
    "centre.update": _l("changed a centre"),
    "user.create": _l("created a user"),
    "user.update": _l("changed a user"),
    "user.password_change": _l("changed their password"),
    "user.password_reset": _l("reset a password"),
    "user.locale": _l("changed language"),
    "qualification.grant": _l("granted a qualification"),
    "qualification.revoke": _l("revoked a qualification"),
    "job.open": _l("opened a job"),
    "job.submit": _l("sent a job for inspection"),
    "job.cancel": _l("cancelled a job"),
    "step.sign": _l("signed a step"),
    "step.correct": _l("corrected a step"),
    "step.countersign": _l("countersigned a step"),
    "photo.upload": _l("uploaded a photo"),
}


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    """A readable, translated name for an audit action (the code itself for unknown ones)."""
    label = ACTION_LABELS.get(action)
    return f"{label} ({action})" if label else action


@bp.app_template_filter("audit_value")
def audit_value(value) -> str:
    """An audit detail value as text: lists joined, old/new pairs shown as 'old → new'."""
    if isinstance(value, list):
        if len(value) == 2 and not any(isinstance(v, dict) for v in value):
            old, new = (", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in value)
            return f"{old} → {new}"
        return ", ".join(map(str, value))
    if isinstance(value, dict):  # field names are data, shown as code
        return Markup(", ").join(
            Markup("<code>{}</code>: {}").format(k, v) for k, v in value.items()
        )
    return str(value)
