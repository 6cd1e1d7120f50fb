"""Job list, intake, job page and the technician's step screen."""

import contextlib
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from workshop.accounts.access import centre_scope, get_in_scope_or_404, requires
from workshop.accounts.models import Role, User
from workshop.accounts.qualifications import qualification_name
from workshop.accounts.services import valid_qualifications
from workshop.extensions import db
from workshop.formtools import choices
from workshop.jobs import instruments, listing, services
from workshop.jobs.forms import CancelForm, IntakeForm
from workshop.jobs.labels import status_label, step_state_label
from workshop.jobs.models import Job, JobStatus, Photo
from workshop.jobs.overview import step_rows
from workshop.jobs.progress import (
    job_and_records,
    job_overview,
    job_progress,
    manual_of,
    next_step,
    pinned_manual,
    step_screen,
)
from workshop.jobs.signals import kits_offered
from workshop.jobs.stepform import step_inputs_html
from workshop.manuals.loader import manual_catalogue
from workshop.photos import PDF_CONTENT_TYPE, PhotoLimits, photo_path
from workshop.provinces import province_choices
from workshop.transactions import transaction
from workshop.web import current_locale

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
bp.add_app_template_global(status_label)
bp.add_app_template_global(step_state_label)

VIEWERS = (Role.TECHNICIAN, Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN)
WORKERS = (Role.TECHNICIAN, Role.SUPERVISOR)


def _kits():
    """The kits a new job may take, from the features that offer them (the kits feature)."""
    offered = {}
    for _receiver, kits in kits_offered.send(current_app._get_current_object()):
        offered.update(kits)
    return offered


@bp.route("/")
@requires(*VIEWERS)
def list_jobs():
    """Jobs of the user's centres, filterable by status and searchable by VIN or plate."""
    status = request.args.get("status") or None
    if status and status not in {s.value for s in JobStatus}:
        status = None
    page = listing.list_jobs(
        centre_scope(),
        status=status,
        search=request.args.get("q"),
        after=request.args.get("after"),
    )
    # Job ids are integers: one URL is built and the rows' links are the same with their id
    # at the end (50 url_for calls less on a page).
    job_url_prefix = url_for("jobs.show_job", job_id=0).removesuffix("0")
    return render_template(
        "jobs/list.html",
        rows=listing.job_list_rows(page.jobs, current_locale(), job_url_prefix),
        next_cursor=page.next_cursor,
        status=status,
        statuses=list(JobStatus),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.SUPERVISOR)
def create_job():
    """Intake: open a job for a vehicle at the supervisor's centre."""
    locale = current_locale()
    manuals = manual_catalogue()
    kits = _kits()
    form = IntakeForm()
    form.manual_id.choices = choices(
        (
            m.id,
            f"{m.model.make} {m.model.model} {m.model.generation} "
            f"{m.model.year_from}–{m.model.year_to} · v{m.version}",
        )
        for m in manuals.values()
    )
    form.kit_id.choices = choices(
        [("", _("— choose later —"))]
        + [(k.id, f"{k.name(locale)} · v{k.version}") for k in kits.values()]
    )
    form.province.choices = choices(province_choices(locale))
    if form.validate_on_submit():
        manual = manuals[form.manual_id.data]
        kit = kits.get(form.kit_id.data) if form.kit_id.data else None
        intake = services.Intake(
            vin=form.vin.data,
            plate=form.plate.data,
            province=form.province.data,
            make=manual.model.make,
            model=manual.model.model,
            year=form.year.data,
            colour=form.colour.data,
            engine_number=form.engine_number.data,
            odometer_km=form.odometer_km.data,
            curb_weight_kg=form.curb_weight_kg.data,
            owner_name=form.owner_name.data,
            owner_phone=form.owner_phone.data,
            owner_national_id=form.owner_national_id.data or "",
        )
        with transaction() as done:
            job = services.open_job(
                current_user.centre,
                intake,
                manual,
                current_user,
                kit=kit,
                is_training=form.is_training.data,
            )
            done.success = _("Job %(ref)s opened.", ref=job.reference)
        if done:
            return redirect(url_for("jobs.show_job", job_id=job.id))
    kit_fits = {k.id: sorted(m for m in manuals if k.fits(m)) for k in kits.values()}
    return render_template("jobs/new.html", form=form, kit_fits=kit_fits)


_JOB_WITH_VEHICLE = (
    sa.select(Job)
    .options(
        sa.orm.joinedload(Job.vehicle),
        sa.orm.with_expression(
            Job.created_by_name,
            sa.select(User.full_name).where(User.id == Job.created_by_id).scalar_subquery(),
        ),
    )
    .where(Job.id == sa.bindparam("ident"))
)


@bp.route("/<int:job_id>")
@requires(*VIEWERS)
def show_job(job_id: int):
    """Progress by section: what is done, blocked or next, and who did what when."""
    job = get_in_scope_or_404(Job, job_id, statement=_JOB_WITH_VEHICLE)
    progress, non_conformances = job_overview(job, current_user)
    manual = manual_of(job)
    # Step ids are slugs ([a-z0-9-], safe in a path): one URL is built and the others are
    # the same with the step's id at the end (a page of 44 steps, 44 url_for calls less).
    step_url_prefix = url_for("jobs.show_step", job_id=job.id, step_id="_").removesuffix("_")
    return render_template(
        "jobs/show.html",
        job=job,
        manual=manual,
        progress=progress,
        sections=step_rows(manual, progress, current_locale(), step_url_prefix),
        next_status=next_step(progress),
        non_conformances=non_conformances,
        cancel_form=CancelForm(),
        hours=listing.job_seconds(job) / 3600,
    )


def _job_step_or_404(job_id: int, step_id: str):
    """The job (in the user's centres), its pinned manual and one of its steps; 404 if unknown."""
    job = get_in_scope_or_404(Job, job_id)
    manual = manual_of(job)
    try:
        return job, manual, manual.step(step_id)
    except KeyError:
        abort(404)


@bp.route("/<int:job_id>/steps/<step_id>")
@requires(*VIEWERS)
def show_step(job_id: int, step_id: str):
    """The technician's main screen: one step, its hazards, its inputs, Back and Next."""
    screen = None
    manual = pinned_manual(job_id)
    step = None
    if manual is not None:
        with contextlib.suppress(KeyError):
            step = manual.step(step_id)
    if step is not None:
        # This process has read the job before: the job and the step's records in one statement.
        job, rows = job_and_records(job_id, manual, step)
        if job is None:
            abort(404)
        centre_scope().require(job.centre_id)
        if rows is not None:
            screen = step_screen(job, step, current_user, rows=rows)
        else:
            job, manual, step = _job_step_or_404(job_id, step_id)
    else:
        job, manual, step = _job_step_or_404(job_id, step_id)
    # Values are typed or measured on the tablet, never carried in by a link: a crafted URL
    # must not pre-fill a measurement the technician then signs without noticing.
    return render_template(
        "jobs/step.html", **_step_context(job, manual, step, MultiDict(), screen=screen)
    )


def _raw_values(step):
    raw = {}
    for inp in step.inputs:
        if inp.type == "serial":
            raw[inp.key] = request.form.getlist(inp.key)
        else:
            raw[inp.key] = request.form.get(inp.key)
        if getattr(inp, "calibrated", None):
            name = instruments.FIELD_PREFIX + inp.key
            raw[name] = request.form.get(name)
    return raw


def _paused_seconds() -> int:
    try:
        return max(0, min(int(request.form.get("paused_seconds", "0")), 7 * 24 * 3600))
    except ValueError:
        return 0


def _started_at():
    try:
        started = datetime.fromisoformat(request.form.get("opened_at", ""))
    except ValueError:
        return None
    return started if started.tzinfo else started.replace(tzinfo=UTC)


@bp.route("/<int:job_id>/steps/<step_id>/sign", methods=["POST"])
@requires(*WORKERS)
def sign_step(job_id: int, step_id: str):
    """Sign (or correct) a step with the values entered."""
    job, manual, step = _job_step_or_404(job_id, step_id)
    try:
        base_seq = int(request.form.get("base_seq", "-1"))
    except ValueError:
        base_seq = -1
    with transaction() as done:
        record = services.sign_step(
            job,
            step.id,
            current_user,
            _raw_values(step),
            base_seq=base_seq,
            note=request.form.get("note", ""),
            record_failure=request.form.get("record_failure") == "y",
            started_at=_started_at(),
            paused_seconds=_paused_seconds(),
            reason=request.form.get("reason", ""),
            save_key=request.form.get("save_key"),
        )
    if not done:
        return render_template(
            "jobs/step.html", **_step_context(job, manual, step, request.form)
        ), 409 if isinstance(done.error, services.StaleStepError) else 422
    if record.passed:
        flash(_("Step %(step)s signed.", step=step.title(current_locale())), "success")
    else:
        flash(_("Failure recorded: it stays open on the job until the step passes."), "warning")
    if step.countersign:
        return redirect(url_for("jobs.show_step", job_id=job.id, step_id=step.id))
    following = next_step(job_progress(job, evidence=False))
    if following is not None:
        return redirect(url_for("jobs.show_step", job_id=job.id, step_id=following.step.id))
    return redirect(url_for("jobs.show_job", job_id=job.id))


def _step_context(job, manual, step, form_values, *, screen=None):
    held = valid_qualifications(current_user)
    status, pending = screen or step_screen(job, step, current_user)
    is_worker = current_user.has_role(*WORKERS) and current_user.centre_id == job.centre_id
    steps = manual.steps
    index = next(i for i, s in enumerate(steps) if s.id == step.id)
    # The form (and the instruments it offers) only shows to whoever may work on the open job's
    # step once the steps it depends on are signed (the template's condition).
    shows_form = is_worker and job.status == JobStatus.OPEN and not status.blocked_by
    inputs_html = ""
    if shows_form:
        inputs_html = step_inputs_html(
            job,
            step,
            form_values=form_values,
            instrument_choices=instruments.usable(
                job.centre_id,
                {inp.calibrated for inp in step.inputs if getattr(inp, "calibrated", None)},
            ),
            pending=pending,
            instrument_field=instruments.FIELD_PREFIX,
        )
    return dict(
        job=job,
        manual=manual,
        step=step,
        section=manual.section_of(step.id),
        status=status,
        index=index,
        total=len(steps),
        previous=steps[index - 1] if index > 0 else None,
        following=steps[index + 1] if index + 1 < len(steps) else None,
        pending=pending,
        form_values=form_values,
        inputs_html=inputs_html,
        opened_at=request.form.get("opened_at") or datetime.now(UTC).isoformat(timespec="seconds"),
        held=held,
        is_worker=is_worker,
        refusal=services.sign_refusal(job, step, current_user) if is_worker else None,
        qualification_name=qualification_name,
        save_key=request.form.get("save_key") or uuid.uuid4().hex,
        # Photo ids are integers and step ids slugs: one URL is built and the others end with
        # their own id.
        photo_url_prefix=url_for("jobs.photo", job_id=job.id, photo_id=0).removesuffix("0"),
        step_url_prefix=url_for("jobs.show_step", job_id=job.id, step_id="_").removesuffix("_"),
        job_url=url_for("jobs.show_job", job_id=job.id),
    )


@bp.route("/<int:job_id>/steps/<step_id>/countersign", methods=["POST"])
@requires(*WORKERS)
def countersign_step(job_id: int, step_id: str):
    """A second qualified person countersigns the step's latest record."""
    job = get_in_scope_or_404(Job, job_id)
    with transaction(_("Countersigned.")):
        services.countersign_step(job, step_id, current_user)
    return redirect(url_for("jobs.show_step", job_id=job.id, step_id=step_id))


@bp.route("/<int:job_id>/steps/<step_id>/photos", methods=["POST"])
@requires(*WORKERS)
def upload_photo(job_id: int, step_id: str):
    """Store photos taken with the tablet camera for one photo input of the step."""
    job = get_in_scope_or_404(Job, job_id)
    files = [f for f in request.files.getlist("photo") if f and f.filename]
    key = request.form.get("input_key", "")
    wants_json = request.accept_mimetypes.best == "application/json"
    error = None
    if not files:
        error = _("Choose or take a photo first.")
    else:
        with transaction(quiet=True) as done:
            services.add_photos(
                job,
                step_id,
                key,
                [f.read() for f in files],
                current_user,
                current_app.config["UPLOAD_FOLDER"],
                PhotoLimits.from_config(current_app.config),
            )
        error = None if done else str(done.error.message)
    message = error or _("%(n)d photo(s) saved.", n=len(files))
    if wants_json:
        # The step screen uploads in the background: the form the technician is filling in
        # stays as it is; the page only adds the new thumbnails.
        if error:
            return jsonify(ok=False, message=message), 422
        photos = services.pending_photos(job, step_id).get(key, [])
        return jsonify(
            ok=True,
            message=message,
            count=len(photos),
            thumbnails=[
                url_for("jobs.photo", job_id=job.id, photo_id=p.id, thumb=1) for p in photos
            ],
        )
    flash(message, "error" if error else "success")
    return redirect(url_for("jobs.show_step", job_id=job.id, step_id=step_id) + "#inputs")


@bp.route("/<int:job_id>/photos/<int:photo_id>")
@requires(*VIEWERS)
def photo(job_id: int, photo_id: int):
    """A stored photo (``?thumb=1`` for its thumbnail)."""
    job = get_in_scope_or_404(Job, job_id)
    p = db.get_or_404(Photo, photo_id)
    if p.job_id != job.id:
        abort(404)
    thumb = request.args.get("thumb") == "1"
    document = p.content_type == PDF_CONTENT_TYPE
    if thumb and document:
        return current_app.send_static_file("document.svg")
    path = photo_path(current_app.config["UPLOAD_FOLDER"], p.sha256, thumbnail=thumb)
    if not path.exists():
        abort(404)
    if document:
        # An uploaded PDF is downloaded, never shown inside the app's own origin.
        return send_file(
            path,
            mimetype=p.content_type,
            as_attachment=True,
            download_name=f"{job.reference}-{p.step_id}-{p.input_key}.pdf",
            max_age=86400,
        )
    return send_file(path, mimetype="image/jpeg" if thumb else p.content_type, max_age=86400)


@bp.route("/<int:job_id>/submit", methods=["POST"])
@requires(Role.SUPERVISOR)
def submit_job(job_id: int):
    """Send a finished job to the inspectors."""
    job = get_in_scope_or_404(Job, job_id)
    with transaction(_("Job %(ref)s sent for inspection.", ref=job.reference)):
        services.submit_for_inspection(job, current_user)
    return redirect(url_for("jobs.show_job", job_id=job.id))


@bp.route("/<int:job_id>/cancel", methods=["POST"])
@requires(Role.SUPERVISOR)
def cancel_job(job_id: int):
    """Cancel a job with a reason; its evidence stays."""
    job = get_in_scope_or_404(Job, job_id)
    form = CancelForm()
    if not form.validate_on_submit():
        flash(_("Give a reason to cancel the job."), "error")
    else:
        with transaction(_("Job %(ref)s cancelled.", ref=job.reference)):
            services.cancel_job(job, current_user, form.reason.data)
    return redirect(url_for("jobs.show_job", job_id=job.id))
