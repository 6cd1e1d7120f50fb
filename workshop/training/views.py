"""Training screens: catalogue, sessions (enrolment, roll call, projector QR, scores, completion).

The blueprint is in blueprint.py; drills and qualifications have their own view modules."""

from datetime import date

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

# The blueprint's other screens register their routes on it when imported.
import workshop.training.drill_views  # noqa: F401
import workshop.training.qualification_views  # noqa: F401
from workshop.accounts.access import centre_scope, requires
from workshop.accounts.models import User
from workshop.accounts.qualifications import qualification_types
from workshop.extensions import db
from workshop.formtools import choices
from workshop.links import public_url
from workshop.training import assessments, drills, services
from workshop.training.blueprint import TR, TRAINEES, A, S, T, bp
from workshop.training.courses import course_catalogue
from workshop.training.forms import EnrolForm, SessionForm
from workshop.training.models import (
    Enrolment,
    EnrolmentStatus,
    TrainingSession,
)
from workshop.transactions import transaction
from workshop.web import current_locale

# Seconds a projector QR code stays valid: long enough to scan, too short to share by chat.
QR_MAX_AGE_S = 300


def _qr_max_age() -> int:
    return int(current_app.config.get("TRAINING_QR_MAX_AGE", QR_MAX_AGE_S))


def _own_session(session_id: int) -> TrainingSession:
    session = db.get_or_404(TrainingSession, session_id)
    if session.trainer_id != current_user.id:
        abort(403)
    return session


@bp.route("/")
@requires(T, S, TR, A)
def index():
    """Sessions and drills: the trainer's own, or those a trainee can join."""
    is_trainer = current_user.has_role(TR)
    mine = None
    if current_user.has_role(*TRAINEES):
        mine = db.session.scalars(
            db.select(Enrolment)
            .where(Enrolment.user_id == current_user.id)
            .order_by(Enrolment.enrolled_at.desc())
        ).all()
    return render_template(
        "training/index.html",
        courses=course_catalogue(),
        my_sessions=services.list_sessions(trainer=current_user) if is_trainer else [],
        my_drills=drills.list_drills(trainer=current_user) if is_trainer else [],
        open_sessions=services.list_sessions(open_only=True)
        if current_user.has_role(*TRAINEES, A)
        else [],
        drills=drills.list_drills() if current_user.has_role(*TRAINEES, A) else [],
        my_enrolments=mine,
    )


@bp.route("/courses")
@requires()
def catalogue():
    """The course catalogue: syllabus, hours, prerequisites, pass rules, qualifications granted."""
    return render_template(
        "training/catalogue.html", courses=course_catalogue(), types=qualification_types()
    )


@bp.route("/sessions/new", methods=["GET", "POST"])
@requires(TR)
def create_session():
    """Schedule a session of a catalogue course."""
    form = SessionForm()
    locale = current_locale()
    form.course_code.choices = choices(
        (c.code, f"{c.code} · {c.title(locale)}") for c in course_catalogue().values()
    )
    if form.validate_on_submit():
        with transaction(_("Session scheduled.")) as done:
            session = services.create_session(
                current_user,
                form.course_code.data,
                place=form.place.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                capacity=form.capacity.data,
            )
        if done:
            return redirect(url_for("training.show_session", session_id=session.id))
    return render_template("training/session_form.html", form=form)


@bp.route("/sessions/<int:session_id>")
@requires(T, S, TR, A)
def show_session(session_id: int):
    """A session: details; the trainer also sees the roll, attendance and scores."""
    session = db.get_or_404(TrainingSession, session_id)
    manages = session.trainer_id == current_user.id
    mine = next((e for e in session.enrolments if e.user_id == current_user.id), None)
    today = services.bangkok_today()
    day = request.args.get("day", "")
    try:
        roll_day = date.fromisoformat(day) if day else None
    except ValueError:
        roll_day = None
    if roll_day not in session.days:
        roll_day = today if today in session.days else session.starts_on
    course = services.course_of(session)
    results = {
        e.id: assessments.result_problems(e, course)
        for e in session.with_status(EnrolmentStatus.ENROLLED)
    }
    return render_template(
        "training/session.html",
        session=session,
        course=course,
        manages=manages,
        sees_roll=manages or current_user.has_role(A),
        mine=mine,
        waiting_position=services.waiting_position(mine) if mine else None,
        enrolled=session.with_status(EnrolmentStatus.ENROLLED),
        waiting=session.with_status(EnrolmentStatus.WAITING),
        roll_day=roll_day,
        today=today,
        results=results,
        types=qualification_types(),
        enrol_form=EnrolForm(),
    )


def _after_enrol(enrolment: Enrolment) -> None:
    if enrolment.status == EnrolmentStatus.WAITING:
        flash(
            _(
                "The session is full: %(name)s is number %(n)d on the waiting list.",
                name=enrolment.user.full_name,
                n=services.waiting_position(enrolment),
            ),
            "warning",
        )
    else:
        flash(_("%(name)s is enrolled.", name=enrolment.user.full_name), "success")


@bp.route("/sessions/<int:session_id>/enrol", methods=["POST"])
@requires(TR)
def enrol(session_id: int):
    """The trainer enrols a trainee of any centre (waiting list when full)."""
    session = _own_session(session_id)
    form = EnrolForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        trainee = db.session.scalar(db.select(User).where(User.username == username))
        if trainee is None:
            flash(_("There is no user %(username)s.", username=username), "error")
        else:
            with transaction() as done:
                enrolment = services.enrol_trainee(session, trainee, by=current_user)
            if done:
                _after_enrol(enrolment)
    else:
        flash(_("Enter the trainee's username."), "error")
    return redirect(url_for("training.show_session", session_id=session.id))


@bp.route("/sessions/<int:session_id>/join", methods=["POST"])
@requires(*TRAINEES)
def join(session_id: int):
    """A technician or supervisor enrols themselves (waiting list when full)."""
    session = db.get_or_404(TrainingSession, session_id)
    with transaction() as done:
        enrolment = services.enrol_trainee(session, current_user, by=current_user)
    if done:
        _after_enrol(enrolment)
    return redirect(url_for("training.show_session", session_id=session.id))


@bp.route("/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@requires(T, S, TR)
def withdraw(enrolment_id: int):
    """Leave a session (the trainee, their centre's supervisor or the trainer)."""
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    session = enrolment.session
    allowed = (
        enrolment.user_id == current_user.id
        or session.trainer_id == current_user.id
        or (current_user.has_role(S) and centre_scope().allows(enrolment.user.centre_id))
    )
    if not allowed:
        abort(403)
    with transaction() as done:
        promoted = services.withdraw_enrolment(enrolment, by=current_user)
    if done:
        flash(_("%(name)s withdrawn.", name=enrolment.user.full_name), "info")
        if promoted is not None:
            flash(
                _("%(name)s moves up from the waiting list.", name=promoted.user.full_name),
                "success",
            )
    return redirect(url_for("training.show_session", session_id=session.id))


@bp.route("/sessions/<int:session_id>/attendance", methods=["POST"])
@requires(TR)
def record_attendance(session_id: int):
    """The trainer's roll call for one day: ticked trainees were present."""
    session = _own_session(session_id)
    try:
        day = date.fromisoformat(request.form.get("day", ""))
        present = {int(v) for v in request.form.getlist("present")}
    except ValueError:
        flash(_("Choose a day of the session."), "error")
        return redirect(url_for("training.show_session", session_id=session.id))
    with transaction(_("Attendance saved.")):
        services.record_attendance(session, day, present, by=current_user)
    return redirect(url_for("training.show_session", session_id=session.id, day=day.isoformat()))


@bp.route("/sessions/<int:session_id>/projector")
@requires(TR)
def projector(session_id: int):
    """Full-screen QR code for today's attendance; it renews itself before it expires."""
    session = _own_session(session_id)
    today = services.bangkok_today()
    qr = url = None
    if today in session.days and session.status == services.SessionStatus.SCHEDULED:
        token = services.attendance_token(session, today, current_app.config["SECRET_KEY"])
        url = public_url("training.attend", token=token)
        qr = assessments.qr_svg(url)
    present = [e for e in session.with_status(EnrolmentStatus.ENROLLED) if today in e.days_present]
    return render_template(
        "training/projector.html",
        session=session,
        course=services.course_of(session),
        qr=qr,
        url=url,
        today=today,
        present=present,
        enrolled=session.with_status(EnrolmentStatus.ENROLLED),
        refresh_s=max(10, _qr_max_age() // 3),
    )


@bp.route("/attend/<token>")
@requires(*TRAINEES)
def attend(token: str):
    """Opened by scanning the projector's QR code: marks the logged-in trainee present.

    A GET changes state here on purpose: a phone's camera opens the link, and the signed,
    short-lived code (not a cookie) is what proves the trainee was in the room.
    """
    with transaction(quiet=True) as done:
        session, attendance = services.attend_by_token(
            token,
            current_user,
            secret=current_app.config["SECRET_KEY"],
            max_age_s=_qr_max_age(),
        )
    if not done:
        error = str(done.error.message)
        return render_template("training/attend.html", error=error, session=None), 400
    return render_template(
        "training/attend.html",
        error=None,
        session=session,
        course=services.course_of(session),
        already=attendance is None,
    )


def _scores_from(form, session: TrainingSession) -> dict:
    scores = {}
    for enrolment in session.with_status(EnrolmentStatus.ENROLLED):
        raw = form.get(f"theory-{enrolment.id}", "").strip()
        practical = form.get(f"practical-{enrolment.id}", "")
        try:
            theory = int(raw) if raw else None
        except ValueError:
            raise services.TrainingError(
                _("%(name)s: the theory score is a whole number", name=enrolment.user.full_name)
            ) from None
        scores[enrolment.id] = (theory, {"pass": True, "fail": False}.get(practical))
    return scores


@bp.route("/sessions/<int:session_id>/scores", methods=["POST"])
@requires(TR)
def record_scores(session_id: int):
    """Theory scores and practical assessments of the enrolled trainees."""
    session = _own_session(session_id)
    with transaction(_("Scores saved.")):
        assessments.record_scores(session, _scores_from(request.form, session), by=current_user)
    return redirect(url_for("training.show_session", session_id=session.id))


@bp.route("/sessions/<int:session_id>/complete", methods=["POST"])
@requires(TR)
def complete_session(session_id: int):
    """Close the session: grant qualifications and certificates to those who pass."""
    session = _own_session(session_id)
    with transaction() as done:
        passed = assessments.complete_session(
            session,
            by=current_user,
            certificate_folder=current_app.config["UPLOAD_FOLDER"],
            verify_url=lambda code: public_url("training.verify_certificate", code=code),
        )
    if done:
        flash(
            _(
                "Session completed: %(passed)d of %(total)d passed.",
                passed=len(passed),
                total=len(session.with_status(EnrolmentStatus.ENROLLED)),
            ),
            "success",
        )
    return redirect(url_for("training.show_session", session_id=session.id))
