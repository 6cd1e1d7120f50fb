"""Training screens: certificates (PDF, public check), qualification oversight, my qualifications."""

from flask import (
    abort,
    current_app,
    render_template,
    request,
    send_file,
)
from flask_login import current_user

from workshop.accounts.access import centre_scope, public, requires
from workshop.accounts.models import Centre
from workshop.accounts.qualifications import qualification_types
from workshop.accounts.services import centres_of
from workshop.extensions import db
from workshop.training import assessments, services
from workshop.training.blueprint import TR, A, S, T, bp
from workshop.training.courses import course_catalogue
from workshop.training.models import (
    DrillAttempt,
    Enrolment,
    TrainingCertificate,
)


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
