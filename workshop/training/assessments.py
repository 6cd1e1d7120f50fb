"""Training results: scores, pass rules, completing or cancelling a session, training certificates."""

import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import QualificationGrant, User
from workshop.accounts.qualifications import qualification_types
from workshop.accounts.services import grant_qualification
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.filestore import FileStore
from workshop.i18n import BANGKOK, format_be_date, format_ce_date
from workshop.pdf import QR_URL, qr_png, render_pdf
from workshop.training.courses import Course
from workshop.training.models import (
    Enrolment,
    EnrolmentStatus,
    SessionStatus,
    TrainingCertificate,
    TrainingSession,
)
from workshop.training.services import (
    TrainingError,
    bangkok_today,
    course_of,
)

# --- scores, pass rules, completion -----------------------------------------------------------


def record_scores(session: TrainingSession, scores: dict, *, by: User) -> None:
    """Store theory scores (0-100 %) and practical results: {enrolment id: (score, passed)}."""
    if session.status != SessionStatus.SCHEDULED:
        raise TrainingError(_l("this session is over: its scores cannot change"))
    enrolled = {e.id: e for e in session.with_status(EnrolmentStatus.ENROLLED)}
    changes = {}
    for enrolment_id, (theory, practical) in scores.items():
        enrolment = enrolled.get(enrolment_id)
        if enrolment is None:
            raise TrainingError(_l("a score names someone not enrolled in this session"))
        if theory is not None and not 0 <= theory <= 100:
            raise TrainingError(
                _l(
                    "%(name)s: the theory score is a percentage, 0 to 100",
                    name=enrolment.user.full_name,
                )
            )
        if (enrolment.theory_score, enrolment.practical_passed) != (theory, practical):
            enrolment.theory_score, enrolment.practical_passed = theory, practical
            changes[enrolment.user.username] = [theory, practical]
    if changes:
        record_event("training.scores", session, details=changes)


def result_problems(enrolment: Enrolment, course: Course) -> list[str]:
    """Why ``enrolment`` does not meet the course's pass rules (empty: it passes)."""
    rules = course.pass_rules
    problems = []
    days = enrolment.session.days
    attended = 100 * len(enrolment.days_present & set(days)) / len(days)
    if attended + 1e-9 < rules.min_attendance_percent:
        problems.append(
            str(
                _l(
                    "attendance %(got)d%% is below %(min)d%%",
                    got=int(attended),
                    min=rules.min_attendance_percent,
                )
            )
        )
    if enrolment.theory_score is None:
        problems.append(str(_l("no theory score")))
    elif enrolment.theory_score < rules.min_theory_percent:
        problems.append(
            str(
                _l(
                    "theory score %(got)d%% is below %(min)d%%",
                    got=enrolment.theory_score,
                    min=rules.min_theory_percent,
                )
            )
        )
    if rules.practical_required and not enrolment.practical_passed:
        problems.append(str(_l("the practical assessment was not passed")))
    return problems


def complete_session(
    session: TrainingSession,
    *,
    by: User,
    certificate_folder: str | Path,
    verify_url: Callable[[str], str],
    today: date | None = None,
) -> list[Enrolment]:
    """Close a session after its last day: trainees who meet the pass rules are granted the
    course's qualifications (with expiry) and a certificate; returns those who passed."""
    if session.status != SessionStatus.SCHEDULED:
        raise TrainingError(_l("this session is already closed"))
    if (today or bangkok_today()) < session.ends_on:
        raise TrainingError(_l("a session can be completed only after its last day"))
    course = course_of(session)
    passed = []
    for enrolment in session.with_status(EnrolmentStatus.ENROLLED):
        problems = result_problems(enrolment, course)
        enrolment.passed = not problems
        enrolment.result_note = "; ".join(problems)
        if problems:
            continue
        grants = [
            grant_qualification(
                enrolment.user,
                code,
                granted_by=by,
                source="course",
                note=f"{course.code} #{session.id}",
            )
            for code in course.grants
        ]
        issue_training_certificate(enrolment, grants, certificate_folder, verify_url)
        passed.append(enrolment)
    session.status = SessionStatus.COMPLETED
    session.completed_at = utcnow()
    record_event(
        "training.session_complete",
        session,
        details={
            "passed": [e.user.username for e in passed],
            "failed": [e.user.username for e in session.enrolments if e.passed is False],
        },
    )
    db.session.flush()
    return passed


def cancel_session(session: TrainingSession, *, by: User) -> None:
    """Call a scheduled session off (its records stay)."""
    if session.status != SessionStatus.SCHEDULED:
        raise TrainingError(_l("this session is already closed"))
    session.status = SessionStatus.CANCELLED
    record_event("training.session_cancel", session, details={"by": by.username})


# --- training certificates ---------------------------------------------------------------


def qr_svg(data: str) -> str:
    """An inline SVG QR code of ``data``: sharp on a classroom projector at any size."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    return qrcode.make(data, image_factory=SvgPathImage, box_size=10, border=2).to_string(
        encoding="unicode"
    )


def certificate_path(folder: str | Path, sha256: str) -> Path:
    """Where a training certificate PDF is kept in the file store, named by its SHA-256."""
    return FileStore(folder).path("training-certificates", sha256, ".pdf")


def issue_training_certificate(
    enrolment: Enrolment, grants: list[QualificationGrant], folder, verify_url
) -> TrainingCertificate:
    """Render, store and record the certificate PDF of a passed enrolment."""
    session, user = enrolment.session, enrolment.user
    course = course_of(session)
    types = qualification_types()
    issued_at = utcnow()
    number = f"TRN-{issued_at.astimezone(BANGKOK).year + 543}-{enrolment.id:06d}"
    code = secrets.token_urlsafe(12)
    url = verify_url(code)
    expires_at = min((g.expires_at for g in grants if g.expires_at), default=None)
    context = {
        "number": number,
        "trainee": user.full_name,
        "centre_th": user.centre.name_th if user.centre else "",
        "centre_en": user.centre.name_en if user.centre else "",
        "course_th": course.title_th,
        "course_en": course.title_en,
        "course_code": course.code,
        "hours": f"{course.hours:g}",
        "dates_th": f"{format_be_date(session.starts_on, 'th')} – {format_be_date(session.ends_on, 'th')}",
        "dates_en": f"{format_ce_date(session.starts_on, 'en')} – {format_ce_date(session.ends_on, 'en')}",
        "qualifications": [
            {
                "th": types[g.code].name_th,
                "en": types[g.code].name_en,
                "until_th": format_be_date(g.expires_at, "th"),
                "until_en": format_ce_date(g.expires_at, "en"),
            }
            for g in grants
        ],
        "trainer": session.trainer.full_name,
        "issued_th": format_be_date(issued_at, "th"),
        "issued_en": format_ce_date(issued_at, "en"),
        "verify_url": url,
        "qr_url": QR_URL,
    }
    # The certificates feature's renderer: Sarabun and the QR image only, never the network.
    pdf = render_pdf("training/certificate_pdf.html", context, {QR_URL: (qr_png(url), "image/png")})
    sha = FileStore(folder).put_bytes("training-certificates", pdf, ".pdf")
    certificate = TrainingCertificate(
        enrolment=enrolment,
        number=number,
        verify_code=code,
        issued_at=issued_at,
        sha256=sha,
        qualifications=[g.code for g in grants],
        expires_at=expires_at,
    )
    db.session.add(certificate)
    db.session.flush()
    record_event(
        "training.certificate_issue",
        certificate,
        details={"number": number, "user": user.username, "sha256": sha},
        centre_id=user.centre_id,
    )
    return certificate


def find_certificate(code: str) -> TrainingCertificate | None:
    """The certificate behind a verification code, or None."""
    return db.session.scalar(
        sa.select(TrainingCertificate).where(TrainingCertificate.verify_code == code)
    )
