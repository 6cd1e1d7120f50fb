"""The inspector's queue and job record, checklist, findings, decision; engineer sign-offs and
the admin screen of engineer licences."""

from datetime import UTC, datetime, time

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workshop.accounts.access import centre_scope, get_in_scope_or_404, requires
from workshop.accounts.models import Role, User
from workshop.extensions import db
from workshop.formtools import choices
from workshop.inspection import services
from workshop.inspection.checklist import RESULTS, inspection_checklist
from workshop.inspection.forms import FindingForm, LicenceForm, RejectForm, SignoffForm
from workshop.inspection.models import EngineerLicence, Inspection, InspectionFinding
from workshop.jobs.models import Job, JobStatus
from workshop.jobs.progress import manual_of
from workshop.photos import PhotoLimits, photo_path
from workshop.transactions import transaction
from workshop.web import current_locale, flash_errors

bp = Blueprint("inspection", __name__, url_prefix="/inspection")


@bp.app_context_processor
def _duties_context():
    """``duty_conflicts(roles)``: the separation-of-duties rules one person holding ``roles``
    could break (the admin's user form and list warn with them)."""
    from workshop.inspection.duties import role_conflicts

    return {"duty_conflicts": role_conflicts}


READERS = (Role.INSPECTOR, Role.ADMIN)


@bp.app_template_global()
def inspection_panel(job):
    """What the job page shows about inspection: the latest decision and sign-offs."""
    # Engineers sign off from submission on, and a rejection, the only way back to open,
    # withdraws every sign-off: an open job has none in force, so none are looked for.
    signoffs = {} if job.status == JobStatus.OPEN else services.active_signoffs(job)
    can_sign = []
    if current_user.is_authenticated and job.status in services.SIGNOFF_STATUSES:
        can_sign = [
            b.value
            for b in services.Branch
            if b not in signoffs and services.valid_licence(current_user, b) is not None
        ]
    # Only a rejection sends a job back to open: an open job never rejected has no decision.
    never_decided = job.status == JobStatus.OPEN and not job.rejections
    return {
        "decision": None if never_decided else services.latest_decision(job),
        "signoffs": signoffs,
        "can_sign": can_sign,
    }


@bp.route("/")
@requires(Role.INSPECTOR)
def queue():
    """Jobs awaiting inspection (or their certificate) in the inspector's centres."""
    page = services.inspection_queue(centre_scope(), after=request.args.get("after"))
    return render_template(
        "inspection/queue.html",
        jobs=page.jobs,
        next_cursor=page.next_cursor,
        # Job ids are integers: one URL is built and the rows' links end with their id instead.
        job_url_prefix=url_for("inspection.show_job", job_id=0).removesuffix("0"),
    )


def _finding_form(inspection):
    form = FindingForm(prefix="finding")
    loc = current_locale()
    form.item_id.choices = choices(
        [("", _("— general —"))] + [(i.id, i.title(loc)) for i in inspection_checklist().items]
    )
    return form


@bp.route("/jobs/<int:job_id>")
@requires(*READERS)
def show_job(job_id: int):
    """The whole record of a job on one page, the checklist, findings and the decision."""
    job = get_in_scope_or_404(Job, job_id)
    record = services.job_record(job)
    current = services.open_inspection(job)
    return render_template(
        "inspection/job.html",
        job=job,
        record=record,
        manual=manual_of(job),
        checklist=inspection_checklist(),
        inspection=current,
        results=RESULTS,
        finding_form=_finding_form(current) if current else None,
        reject_form=RejectForm(prefix="reject"),
        signoff_form=SignoffForm(prefix="signoff"),
        my_licences={
            b.value for b in services.Branch if services.valid_licence(current_user, b) is not None
        },
    )


@bp.route("/jobs/<int:job_id>/start", methods=["POST"])
@requires(Role.INSPECTOR)
def start(job_id: int):
    """Open an inspection of the job."""
    job = get_in_scope_or_404(Job, job_id)
    with transaction():
        services.start_inspection(job, current_user)
    return redirect(url_for("inspection.show_job", job_id=job.id) + "#checklist")


def _inspection(inspection_id: int) -> Inspection:
    return get_in_scope_or_404(Inspection, inspection_id)


@bp.route("/<int:inspection_id>/checklist", methods=["POST"])
@requires(Role.INSPECTOR)
def save_checklist(inspection_id: int):
    """Save the checklist answers."""
    inspection = _inspection(inspection_id)
    answers = {
        item.id: (request.form.get(f"result-{item.id}", ""), request.form.get(f"note-{item.id}"))
        for item in inspection_checklist().items
    }
    with transaction(_("Checklist saved.")):
        services.save_answers(inspection, current_user, answers)
    return redirect(url_for("inspection.show_job", job_id=inspection.job_id) + "#checklist")


@bp.route("/<int:inspection_id>/findings", methods=["POST"])
@requires(Role.INSPECTOR)
def add_finding(inspection_id: int):
    """Record a finding, optionally with a photo."""
    inspection = _inspection(inspection_id)
    form = _finding_form(inspection)
    if not form.validate_on_submit():
        flash_errors(form)
    else:
        photo = form.photo.data.read() if form.photo.data else None
        with transaction(_("Finding recorded.")):
            services.add_finding(
                inspection,
                current_user,
                form.text.data,
                item_id=form.item_id.data or "",
                photo=photo,
                folder=current_app.config["UPLOAD_FOLDER"],
                limits=PhotoLimits.from_config(current_app.config),
            )
    return redirect(url_for("inspection.show_job", job_id=inspection.job_id) + "#findings")


@bp.route("/findings/<int:finding_id>/photo")
@requires(Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN)
def finding_photo(finding_id: int):
    """The photo of a finding (``?thumb=1`` for its thumbnail)."""
    from flask import send_file

    finding = db.get_or_404(InspectionFinding, finding_id)
    centre_scope().require(finding.inspection.centre_id)
    if not finding.photo_sha256:
        abort(404)
    thumb = request.args.get("thumb") == "1"
    path = photo_path(current_app.config["UPLOAD_FOLDER"], finding.photo_sha256, thumbnail=thumb)
    if not path.exists():
        abort(404)
    return send_file(
        path, mimetype="image/jpeg" if thumb else finding.photo_content_type, max_age=86400
    )


@bp.route("/<int:inspection_id>/decision", methods=["POST"])
@requires(Role.INSPECTOR)
def decide(inspection_id: int):
    """Approve, or reject with reasons (the job reopens at its centre)."""
    inspection = _inspection(inspection_id)
    decision = request.form.get("decision")
    with transaction() as done:
        if decision == "approve":
            if request.form.get("confirm") != "y":
                raise services.InspectionError(
                    _("Tick the box that states what you approve, then approve again.")
                )
            services.approve_inspection(inspection, current_user)
            done.success = _("Inspection approved.")
        elif decision == "reject":
            form = RejectForm(prefix="reject")
            services.reject_inspection(inspection, current_user, form.reasons.data or "")
            done.success = _("Inspection rejected: the job is back with its centre.")
        else:
            raise services.InspectionError(_("Choose approve or reject."))
    return redirect(url_for("inspection.show_job", job_id=inspection.job_id))


@bp.route("/jobs/<int:job_id>/signoff", methods=["POST"])
@requires(Role.SUPERVISOR, Role.INSPECTOR)
def sign_off(job_id: int):
    """A licensed engineer signs off the structure or the HV system."""
    job = get_in_scope_or_404(Job, job_id)
    form = SignoffForm(prefix="signoff")
    if not form.validate_on_submit():
        flash_errors(form)
    else:
        with transaction(_("Sign-off recorded.")):
            services.sign_off(job, current_user, form.branch.data, form.note.data or "")
    if current_user.has_role(Role.INSPECTOR):
        return redirect(url_for("inspection.show_job", job_id=job.id) + "#signoffs")
    return redirect(url_for("jobs.show_job", job_id=job.id))


@bp.route("/licences", methods=["GET", "POST"])
@requires(Role.ADMIN)
def licences():
    """Engineer licences: record one, see all, revoke."""
    form = LicenceForm()
    users = list(db.session.scalars(sa.select(User).where(User.active).order_by(User.full_name)))
    form.user_id.choices = choices((str(u.id), f"{u.full_name} ({u.username})") for u in users)
    if form.validate_on_submit():
        user = db.get_or_404(User, int(form.user_id.data))
        expires = datetime.combine(form.expires_on.data, time(23, 59), tzinfo=UTC)
        with transaction(_("Licence recorded.")) as done:
            services.record_licence(
                user, form.branch.data, form.licence_number.data, expires, current_user
            )
        if done:
            return redirect(url_for("inspection.licences"))
    elif request.method == "POST":
        flash_errors(form)
    return render_template("inspection/licences.html", form=form, licences=services.list_licences())


@bp.route("/licences/<int:licence_id>/revoke", methods=["POST"])
@requires(Role.ADMIN)
def revoke_licence(licence_id: int):
    """End a licence now."""
    licence = db.get_or_404(EngineerLicence, licence_id)
    with transaction(_("Licence revoked.")):
        services.revoke_licence(licence)
    return redirect(url_for("inspection.licences"))
