"""Home page by role, language switch and health check."""

import os

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template, session, url_for
from flask_login import current_user

from workshop.accounts import services as account_services
from workshop.accounts.access import public, requires
from workshop.accounts.forms import LanguageForm
from workshop.accounts.models import Role
from workshop.audit.services import search_events
from workshop.extensions import db
from workshop.transactions import transaction
from workshop.web import redirect_back

bp = Blueprint("core", __name__)


@bp.route("/")
@requires()
def home():
    """The role-specific start page."""
    panels = {}
    if current_user.has_role(Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR):
        from workshop.accounts.access import centre_scope
        from workshop.jobs.listing import job_tiles, list_jobs
        from workshop.jobs.models import JobStatus

        # Job ids are integers: one URL is built and the tiles' links end with their id instead.
        job_url_prefix = url_for("jobs.show_job", job_id=0).removesuffix("0")
        if current_user.has_role(Role.TECHNICIAN, Role.SUPERVISOR) and current_user.centre_id:
            jobs = list_jobs(centre_scope(), status=JobStatus.OPEN.value, limit=20).jobs
            panels["jobs"] = job_tiles(jobs, job_url_prefix)
        if current_user.has_role(Role.INSPECTOR):
            jobs = list_jobs(
                centre_scope(), status=JobStatus.AWAITING_INSPECTION.value, limit=50
            ).jobs
            panels["inspection"] = job_tiles(jobs, job_url_prefix)
    if current_user.has_role(Role.TRAINER):
        from workshop.training.services import list_sessions

        panels["sessions"] = list_sessions(trainer=current_user)[:12]
    if current_user.has_role(Role.ADMIN):
        panels["admin"] = {
            "centres": account_services.list_centres(),
            "user_count": account_services.count_users(),
            "recent_events": search_events(limit=8),
        }
    return render_template("core/home.html", panels=panels)


@bp.route("/language/<lang>", methods=["POST"])
@public
def set_language(lang: str):
    """Switch between Thai and English; remembered on the account and in the session."""
    form = LanguageForm()
    if lang not in ("th", "en") or not form.validate_on_submit():
        return redirect_back()
    session["lang"] = lang
    if current_user.is_authenticated:
        with transaction():
            account_services.set_locale(current_user, lang)
    return redirect_back()


@bp.route("/healthz")
@public
def healthz():
    """Report whether the app and its database answer (for monitors and load balancers)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify(status="error", database="unreachable", detail=type(exc).__name__), 503
    return jsonify(status="ok", database="ok", backend=db.engine.dialect.name)


@bp.route("/fonts/<name>")
@public
def font(name: str):
    """Serve Sarabun as WOFF2 subsets (Thai + Latin): tablets on a LAN have no CDN."""
    from flask import abort, current_app, send_file

    from workshop.fonts import WEB_FONTS, web_font

    if name not in WEB_FONTS:
        abort(404)
    path = web_font(name, os.path.join(current_app.instance_path, "cache", "fonts"))
    response = send_file(path, mimetype="font/woff2", max_age=31536000, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
