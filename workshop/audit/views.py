"""The admin's view of the audit log."""

from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request

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
