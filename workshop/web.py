"""Web glue shared by every blueprint: language, current user, audit actor, filters, errors."""

from flask import flash, has_request_context, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workshop import i18n
from workshop.accounts.access import access_of, user_may
from workshop.audit.services import Actor, set_actor
from workshop.extensions import db, login_manager

# (endpoint, label); a user sees the entries whose views they may open.
NAV = [
    ("core.home", _l("Home")),
    ("jobs.list_jobs", _l("Jobs")),
    ("kits.stock_levels", _l("Stock")),
    ("kits.search_serial", _l("Serials")),
    ("kits.catalogue", _l("Kits")),
    ("kits.cost_report", _l("Costs")),
    ("inspection.queue", _l("Inspection")),
    ("certificates.list_certificates", _l("Certificates")),
    ("training.index", _l("Training")),
    ("training.oversight", _l("Qualifications")),
    ("accounts.list_centres", _l("Centres")),
    ("accounts.list_users", _l("Users")),
    ("inspection.licences", _l("Engineer licences")),
    ("audit.list_events", _l("Audit log")),
]


def select_locale() -> str:
    """The user's saved language, else the session's choice, else Thai.

    Outside a request (CLI, bench agent) messages are in English, the language of the logs.
    """
    if not has_request_context():
        return "en"
    if current_user and current_user.is_authenticated and current_user.locale in ("th", "en"):
        return current_user.locale
    lang = session.get("lang")
    return lang if lang in ("th", "en") else "th"


def current_locale() -> str:
    """The language of the current request as 'th' or 'en'."""
    return str(get_locale() or "th")


@login_manager.user_loader
def _load_user(user_id: str):
    from workshop.accounts.models import User

    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.active else None


def _set_audit_actor():
    if current_user.is_authenticated:
        set_actor(Actor(current_user.id, current_user.username, request.remote_addr or ""))
    else:
        set_actor(Actor(None, "", request.remote_addr or ""))


def nav_items():
    """Navigation entries the current user may open."""
    items = []
    for endpoint, label in NAV:
        access = access_of(endpoint)
        if access is not None and user_may(current_user, access):
            items.append((endpoint, label))
    return items


def _error_page(code: int, title, message):
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_web(app) -> None:
    """Register the request hooks, Jinja filters, context and error pages on ``app``."""
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    app.before_request(_set_audit_actor)

    app.jinja_env.filters["be_date"] = lambda v: i18n.format_be_date(v, current_locale())
    app.jinja_env.filters["ce_date"] = lambda v: i18n.format_ce_date(v, current_locale())
    app.jinja_env.filters["local_dt"] = lambda v: i18n.format_local_datetime(v, current_locale())
    app.jinja_env.filters["thb"] = i18n.format_thb

    @app.context_processor
    def _context():
        from workshop.accounts.forms import ROLE_LABELS
        from workshop.columns import utcnow
        from workshop.provinces import province_name

        return {
            "nav_items": nav_items,
            "current_locale": current_locale,
            "province_name": province_name,
            "role_label": lambda role: ROLE_LABELS.get(role, role),
            "now": utcnow,
        }

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        return _error_page(
            400,
            _l("The form expired"),
            _l(
                "The form was missing its security token or it had expired. "
                "Nothing was saved: reload the page and try again."
            ),
        )

    @app.errorhandler(403)
    def _forbidden(error):
        return _error_page(
            403,
            _l("Not allowed"),
            _l(
                "Your account does not have access to this page or this centre's records. "
                "Ask your centre manager or an administrator if you need it."
            ),
        )

    @app.errorhandler(404)
    def _not_found(error):
        return _error_page(404, _l("Not found"), _l("There is no such page or record."))

    @app.errorhandler(413)
    def _too_large(error):
        return _error_page(
            413,
            _l("Too large"),
            _l("What you sent is larger than the app accepts. Nothing was saved."),
        )

    @app.errorhandler(400)
    def _bad_request(error):
        return _error_page(
            400, _l("Bad request"), _l("The request could not be read. Nothing was saved.")
        )

    @app.errorhandler(HTTPException)
    def _other_http(error):
        return _error_page(error.code or 500, error.name, error.description)

    @app.errorhandler(500)
    def _server_error(error):
        db.session.rollback()
        return _error_page(
            500,
            _l("Something went wrong"),
            _l("The app hit an error. Nothing was saved. The error has been logged."),
        )


def flash_errors(form) -> None:
    """Flash every validation error of a WTForms form (used where the form is not re-rendered)."""
    for field, errors in form.errors.items():
        label = getattr(getattr(form, field, None), "label", None)
        for error in errors:
            flash(f"{label.text if label else field}: {error}", "error")


def redirect_back(default_endpoint: str = "core.home"):
    """Redirect to a same-site ``next`` parameter or to ``default_endpoint``."""
    target = request.args.get("next") or request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return redirect(target)
    return redirect(url_for(default_endpoint))
