"""Training screens: catalogue, sessions (roll call, projector QR, scores), drills, oversight."""

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from workshop.accounts.access import centre_scope, public, requires
from workshop.accounts.models import Centre, Role, User
from workshop.accounts.qualifications import qualification_types
from workshop.accounts.services import centres_of
from workshop.eol.definitions import list_kits
from workshop.eol.runs import SEQUENCE_NAMES, reap_with_settings
from workshop.eol.simulator import FAULTS
from workshop.extensions import db
from workshop.formtools import choices
from workshop.links import public_url
from workshop.training import assessments, drills, services
from workshop.training.courses import course_catalogue
from workshop.training.forms import DrillForm, EnrolForm, SessionForm
from workshop.training.models import (
    Drill,
    DrillAttempt,
    Enrolment,
    EnrolmentStatus,
    TrainingCertificate,
    TrainingSession,
)
from workshop.transactions import transaction
from workshop.web import current_locale

bp = Blueprint("training", __name__, url_prefix="/training")

T, S, TR, A = Role.TECHNICIAN, Role.SUPERVISOR, Role.TRAINER, Role.ADMIN
TRAINEES = (T, S)
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


@bp.route("/certificates/<int:certificate_id>.pdf")
@requires(T, S, TR, A)
def certificate_pdf(certificate_id: int):
    """A training certificate's PDF (its holder, the trainer, their supervisor, admins)."""
    certificate = db.get_or_404(TrainingCertificate, certificate_id)
    holder = certificate.enrolment.user
    allowed = (
        holder.id == current_user.id
        or certificate.enrolment.session.trainer_id == current_user.id
        or current_user.has_role(A)
        or (current_user.has_role(S) and centre_scope().allows(holder.centre_id))
    )
    if not allowed:
        abort(403)
    path = assessments.certificate_path(current_app.config["UPLOAD_FOLDER"], certificate.sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype="application/pdf", download_name=f"{certificate.number}.pdf")


@bp.route("/verify/<code>")
@public
def verify_certificate(code: str):
    """Public check of a training certificate (the QR code on the paper leads here): genuine or
    not, and whether each qualification it granted is still valid, revoked or expired."""
    from workshop.training import verification

    ip = request.remote_addr or ""
    if not verification.verification_permitted(ip, code):
        db.session.commit()
        return render_template("certificates/verify.html", rate_limited=True, form=None), 429
    certificate = assessments.find_certificate(code)
    states = verification.grant_states(certificate) if certificate is not None else []
    overall = verification.overall_state(states) if certificate is not None else "unknown"
    verification.log_training_check(ip, code, overall)
    db.session.commit()
    return render_template(
        "training/verify.html",
        certificate=certificate,
        course=services.course_of(certificate.enrolment.session) if certificate else None,
        valid_until=certificate.expires_at if certificate else None,
        states=states,
        overall=overall,
        types=qualification_types(),
    ), (200 if certificate else 404)


# --- drills -------------------------------------------------------------------------------


def _fault_label(name: str, locale: str) -> str:
    fault = FAULTS[name]
    return fault.title_en if locale == "en" else fault.title_th


def _component_labels() -> dict:
    return {"ecu": _("EV ECU"), "bms": _("Battery (BMS)"), "brakes": _("Brakes (vacuum pump)")}


@bp.route("/drills/new", methods=["GET", "POST"])
@requires(TR)
def create_drill():
    """Set up a drill: a simulated vehicle with hidden faults."""
    locale = current_locale()
    form = DrillForm()
    form.kit_id.choices = choices((k, k) for k in list_kits())
    form.faults.choices = choices(
        (name, f"{f.sequence.upper()} · {_fault_label(name, locale)}") for name, f in FAULTS.items()
    )
    form.sequences.choices = choices((s, s.upper()) for s in SEQUENCE_NAMES)
    if request.method == "GET":
        form.sequences.data = list(SEQUENCE_NAMES)
    if form.validate_on_submit():
        with transaction(_("Drill ready for trainees.")) as done:
            drill = drills.create_drill(
                current_user,
                title=form.title.data,
                kit_id=form.kit_id.data,
                faults=form.faults.data,
                sequences=form.sequences.data,
            )
        if done:
            return redirect(url_for("training.show_drill", drill_id=drill.id))
    return render_template("training/drill_form.html", form=form)


@bp.route("/drills/<int:drill_id>")
@requires(T, S, TR, A)
def show_drill(drill_id: int):
    """A drill: trainees start or continue it; its trainer sees every attempt."""
    drill = db.get_or_404(Drill, drill_id)
    sees_all = drill.trainer_id == current_user.id or current_user.has_role(A)
    mine = next((a for a in drill.attempts if a.trainee_id == current_user.id), None)
    return render_template(
        "training/drill.html",
        drill=drill,
        sees_all=sees_all,
        shows_faults=drills.may_see_hidden_faults(current_user),
        mine=mine,
        attempts=drill.attempts if sees_all else [],
        runs_of=drills.attempt_runs,
        fault_label=lambda n: _fault_label(n, current_locale()),
        components=_component_labels(),
    )


@bp.route("/drills/<int:drill_id>/start", methods=["POST"])
@requires(*TRAINEES)
def start_attempt(drill_id: int):
    """Start (or continue) the current user's attempt; the clock starts now."""
    drill = db.get_or_404(Drill, drill_id)
    with transaction() as done:
        attempt = drills.start_attempt(drill, current_user)
    if not done:
        return redirect(url_for("training.show_drill", drill_id=drill.id))
    return redirect(url_for("training.show_attempt", attempt_id=attempt.id))


def _visible_attempt(attempt_id: int) -> DrillAttempt:
    attempt = db.get_or_404(DrillAttempt, attempt_id)
    allowed = (
        attempt.trainee_id == current_user.id
        or attempt.drill.trainer_id == current_user.id
        or current_user.has_role(A)
        or (current_user.has_role(S) and centre_scope().allows(attempt.trainee.centre_id))
    )
    if not allowed:
        abort(403)
    return attempt


def _simulated_benches() -> list[str]:
    return [n for n, c in current_app.config["EOL_BENCHES"].items() if c.get("simulate")]


@bp.route("/attempts/<int:attempt_id>")
@requires(T, S, TR, A)
def show_attempt(attempt_id: int):
    """The trainee's bench: run sequences, read the results, submit a diagnosis."""
    attempt = _visible_attempt(attempt_id)
    if reap_with_settings(current_app.config):  # a drill run whose bench agent died
        db.session.commit()
    runs = drills.attempt_runs(attempt)
    revealed = drills.may_see_hidden_faults(current_user, attempt)
    locale = current_locale()
    return render_template(
        "training/attempt.html",
        attempt=attempt,
        drill=attempt.drill,
        runs=runs,
        running=any(not r.finished for r in runs),
        is_trainee=attempt.trainee_id == current_user.id,
        revealed=revealed,
        benches=_simulated_benches(),
        components=_component_labels(),
        faults=[(n, f"{_fault_label(n, locale)}") for n in FAULTS],
        fault_label=lambda n: _fault_label(n, locale),
        score=drills.score_diagnosis(attempt.drill.faults, attempt.diagnosis)
        if attempt.diagnosis
        else None,
    )


@bp.route("/attempts/<int:attempt_id>/runs", methods=["POST"])
@requires(*TRAINEES)
def run_drill(attempt_id: int):
    """Queue an EOL run of the drill vehicle on a simulated bench."""
    attempt = _visible_attempt(attempt_id)
    benches = _simulated_benches()
    with transaction(_("Test queued on the simulated bench.")):
        drills.run_drill(
            attempt,
            current_user,
            request.form.get("bench") or (benches[0] if benches else ""),
            request.form.getlist("sequence"),
            current_app.config["EOL_BENCHES"],
        )
    return redirect(url_for("training.show_attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/diagnosis", methods=["POST"])
@requires(*TRAINEES)
def submit_diagnosis(attempt_id: int):
    """Submit which component and which fault, for each hidden fault; scored at once."""
    attempt = _visible_attempt(attempt_id)
    entries = [
        {
            "component": request.form.get(f"component-{i}", ""),
            "fault": request.form.get(f"fault-{i}", ""),
        }
        for i in range(len(attempt.drill.faults))
    ]
    with transaction() as done:
        result = drills.submit_diagnosis(attempt, current_user, entries)
        done.success = _("Diagnosis submitted: score %(score)d%%.", score=result.score)
    return redirect(url_for("training.show_attempt", attempt_id=attempt.id))


# --- oversight ----------------------------------------------------------------------------


@bp.route("/oversight")
@requires(S, A)
def oversight():
    """Per centre: who holds which qualification, what expires within 90 days, who may do what."""
    visible = centres_of(current_user)
    if visible is None:
        visible = db.session.scalars(db.select(Centre).order_by(Centre.code)).all()
    if not visible:
        abort(404)
    wanted = request.args.get("centre", type=int)
    centre = next((c for c in visible if c.id == wanted), visible[0])
    staff = services.centre_staff_qualifications(centre)
    return render_template(
        "training/oversight.html",
        centres=visible,
        centre=centre,
        staff=staff,
        expiring=services.expiring_soon(staff),
        may=services.who_may_today(staff),
        types=qualification_types(),
    )


@bp.route("/me")
@requires()
def my_qualifications():
    """My qualifications with their expiry dates, my courses and certificates."""
    enrolments = db.session.scalars(
        db.select(Enrolment)
        .where(Enrolment.user_id == current_user.id)
        .order_by(Enrolment.enrolled_at.desc())
    ).all()
    attempts = db.session.scalars(
        db.select(DrillAttempt)
        .where(DrillAttempt.trainee_id == current_user.id)
        .order_by(DrillAttempt.started_at.desc())
    ).all()
    return render_template(
        "training/me.html",
        types=qualification_types(),
        grants=sorted(current_user.qualifications, key=lambda g: g.granted_at, reverse=True),
        enrolments=enrolments,
        attempts=attempts,
        courses=course_catalogue(),
        soon=services.EXPIRY_WARNING,
    )
