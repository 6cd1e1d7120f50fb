"""Domain rules of training: sessions, enrolment and waiting list, attendance, pass rules,
qualification grants and certificates, fault-finding drills, and qualification oversight.

Plain functions on domain objects; the caller (view, CLI, test) commits.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, Signer

from workshop.accounts.models import Centre, Role, User
from workshop.accounts.qualifications import qualification_types
from workshop.accounts.services import valid_qualifications
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.i18n import BANGKOK
from workshop.training.courses import Course, course_catalogue
from workshop.training.models import (
    Attendance,
    Enrolment,
    EnrolmentStatus,
    SessionStatus,
    TrainingSession,
)

MAX_SESSION_DAYS = 31
MAX_CAPACITY = 200
TRAINEE_ROLES = (Role.TECHNICIAN, Role.SUPERVISOR)
EXPIRY_WARNING = timedelta(days=90)
COMPONENTS = ("ecu", "bms", "brakes")
# Points for a hidden fault: the right component, then the right fault on it.
COMPONENT_POINTS, FAULT_POINTS = 30, 70


class TrainingError(DomainError):
    """A request the training rules refuse; the message is shown to the user."""

    code = "training"


def bangkok_today() -> date:
    """Today's date in Bangkok (sessions, attendance days and QR codes are local days)."""
    return utcnow().astimezone(BANGKOK).date()


def course_of(session: TrainingSession) -> Course:
    """The catalogue course a session runs."""
    return course_catalogue()[session.course_code]


# --- sessions and enrolment ---------------------------------------------------------------


def create_session(
    trainer: User,
    course_code: str,
    *,
    place: str,
    starts_on: date,
    ends_on: date,
    capacity: int,
) -> TrainingSession:
    """Schedule a session of a catalogue course, organised by ``trainer`` at their centre."""
    if not trainer.has_role(Role.TRAINER) or trainer.centre_id is None:
        raise TrainingError(_l("only trainers of a centre can schedule sessions"))
    if course_code not in course_catalogue():
        raise TrainingError(_l("unknown course %(code)s", code=course_code))
    if not place.strip():
        raise TrainingError(_l("say where the session takes place"))
    if ends_on < starts_on:
        raise TrainingError(_l("the last day cannot be before the first day"))
    if (ends_on - starts_on).days + 1 > MAX_SESSION_DAYS:
        raise TrainingError(_l("a session lasts at most %(n)d days", n=MAX_SESSION_DAYS))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise TrainingError(_l("capacity: 1 to %(n)d trainees", n=MAX_CAPACITY))
    session = TrainingSession(
        course_code=course_code,
        trainer=trainer,
        centre_id=trainer.centre_id,
        place=place.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        capacity=capacity,
    )
    db.session.add(session)
    db.session.flush()
    record_event(
        "training.session_create",
        session,
        details={"course": course_code, "from": str(starts_on), "to": str(ends_on)},
    )
    return session


def list_sessions(*, trainer: User | None = None, open_only: bool = False, today=None):
    """Sessions newest first; only ``trainer``'s, or only those still taking trainees."""
    stmt = sa.select(TrainingSession).order_by(
        TrainingSession.starts_on.desc(), TrainingSession.id.desc()
    )
    if trainer is not None:
        stmt = stmt.where(TrainingSession.trainer_id == trainer.id)
    if open_only:
        stmt = stmt.where(
            TrainingSession.status == SessionStatus.SCHEDULED,
            TrainingSession.ends_on >= (today or bangkok_today()),
        )
    return list(db.session.scalars(stmt))


def _lock(session: TrainingSession) -> None:
    # Two enrolments racing for the last seat: on PostgreSQL the row lock serialises them
    # (SQLite serialises every writer anyway).
    db.session.execute(
        sa.select(TrainingSession.id).where(TrainingSession.id == session.id).with_for_update()
    )


def _seats_taken(session: TrainingSession) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Enrolment.id)).where(
            Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.ENROLLED
        )
    )


def enrol_trainee(session: TrainingSession, trainee: User, *, by: User) -> Enrolment:
    """Give ``trainee`` a seat, or a place on the waiting list when the session is full."""
    if session.status != SessionStatus.SCHEDULED:
        raise TrainingError(_l("this session no longer takes trainees"))
    if not trainee.active or not trainee.has_role(*TRAINEE_ROLES):
        raise TrainingError(_l("only active technicians and supervisors can be trainees"))
    course = course_of(session)
    held = valid_qualifications(trainee)
    missing = [q for q in course.prerequisites if q not in held]
    if missing:
        types = qualification_types()
        raise TrainingError(
            _l(
                "%(name)s needs a valid %(quals)s qualification first",
                name=trainee.full_name,
                quals=", ".join(types[q].name_en for q in missing),
            )
        )
    _lock(session)
    enrolment = db.session.scalar(
        sa.select(Enrolment).where(
            Enrolment.session_id == session.id, Enrolment.user_id == trainee.id
        )
    )
    if enrolment is not None and enrolment.status != EnrolmentStatus.WITHDRAWN:
        raise TrainingError(_l("%(name)s is already on this session", name=trainee.full_name))
    status = (
        EnrolmentStatus.ENROLLED
        if _seats_taken(session) < session.capacity
        else EnrolmentStatus.WAITING
    )
    if enrolment is None:
        enrolment = Enrolment(session=session, user=trainee, status=status, enrolled_at=utcnow())
        db.session.add(enrolment)
    else:  # back after withdrawing: to the end of the queue
        enrolment.status, enrolment.enrolled_at = status, utcnow()
    db.session.flush()
    record_event(
        "training.enrol",
        enrolment,
        details={
            "session": session.id,
            "user": trainee.username,
            "status": status.value,
            "by": by.username,
        },
        centre_id=trainee.centre_id,
    )
    return enrolment


def withdraw_enrolment(enrolment: Enrolment, *, by: User) -> Enrolment | None:
    """Take a trainee off a session; the first on the waiting list gets the seat (returned)."""
    session = enrolment.session
    if session.status != SessionStatus.SCHEDULED:
        raise TrainingError(_l("this session is over: its list cannot change"))
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise TrainingError(_l("already withdrawn"))
    _lock(session)
    had_seat = enrolment.status == EnrolmentStatus.ENROLLED
    enrolment.status = EnrolmentStatus.WITHDRAWN
    record_event(
        "training.withdraw",
        enrolment,
        details={"session": session.id, "user": enrolment.user.username, "by": by.username},
        centre_id=enrolment.user.centre_id,
    )
    db.session.flush()
    if not had_seat or _seats_taken(session) >= session.capacity:
        return None
    promoted = db.session.scalar(
        sa.select(Enrolment)
        .where(Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.WAITING)
        .order_by(Enrolment.enrolled_at, Enrolment.id)
        .limit(1)
    )
    if promoted is not None:
        promoted.status = EnrolmentStatus.ENROLLED
        record_event(
            "training.promote",
            promoted,
            details={"session": session.id, "user": promoted.user.username},
            centre_id=promoted.user.centre_id,
        )
    return promoted


def waiting_position(enrolment: Enrolment) -> int | None:
    """1 for the first on the waiting list, and so on; None when not waiting."""
    if enrolment.status != EnrolmentStatus.WAITING:
        return None
    waiting = enrolment.session.with_status(EnrolmentStatus.WAITING)
    return waiting.index(enrolment) + 1


# --- attendance -------------------------------------------------------------------------


def _mark_present(enrolment: Enrolment, day: date, by: User, method: str) -> Attendance | None:
    if day in enrolment.days_present:
        return None
    attendance = Attendance(
        enrolment=enrolment, day=day, method=method, recorded_by_id=by.id, recorded_at=utcnow()
    )
    db.session.add(attendance)
    return attendance


def _check_day(session: TrainingSession, day: date, today: date) -> None:
    if session.status != SessionStatus.SCHEDULED:
        raise TrainingError(_l("this session is over: its attendance cannot change"))
    if day not in session.days:
        raise TrainingError(_l("%(day)s is not a day of this session", day=day.isoformat()))
    if day > today:
        raise TrainingError(_l("attendance cannot be taken for a day still to come"))


def record_attendance(
    session: TrainingSession, day: date, present_user_ids, *, by: User, today: date | None = None
) -> None:
    """The trainer's roll call for ``day``: exactly these enrolled trainees were present."""
    _check_day(session, day, today or bangkok_today())
    present = set(present_user_ids)
    added, removed = [], []
    for enrolment in session.with_status(EnrolmentStatus.ENROLLED):
        if enrolment.user_id in present:
            if _mark_present(enrolment, day, by, "trainer"):
                added.append(enrolment.user.username)
        else:
            for row in [a for a in enrolment.attendance if a.day == day]:
                enrolment.attendance.remove(row)
                removed.append(enrolment.user.username)
    if added or removed:
        record_event(
            "training.attendance",
            session,
            details={"day": day.isoformat(), "present": added, "absent": removed},
        )
    db.session.flush()


def _signer(secret: str) -> Signer:
    return Signer(secret, salt="training-attendance")


def attendance_token(
    session: TrainingSession, day: date, secret: str, *, issued_at: datetime | None = None
) -> str:
    """A signed code for the projector's QR: this session, this day, issued now."""
    issued = int((issued_at or utcnow()).timestamp())
    return _signer(secret).sign(f"{session.id}.{day.isoformat()}.{issued}").decode()


def read_attendance_token(
    token: str, secret: str, *, max_age_s: int, now: datetime | None = None
) -> tuple[int, date]:
    """The (session id, day) of a projector code; refuses forged and expired codes."""
    try:
        session_id, day, issued = _signer(secret).unsign(token).decode().split(".")
        session_id, day, issued = int(session_id), date.fromisoformat(day), int(issued)
    except (BadSignature, ValueError, UnicodeDecodeError):
        raise TrainingError(
            _l("This attendance code is not valid. Scan the code on the classroom screen.")
        ) from None
    age = (now or utcnow()).timestamp() - issued
    if age > max_age_s:
        raise TrainingError(
            _l("This attendance code has expired. Scan the code on the classroom screen again.")
        )
    return session_id, day


def attend_by_token(
    token: str,
    user: User,
    *,
    secret: str,
    max_age_s: int,
    now: datetime | None = None,
) -> tuple[TrainingSession, Attendance | None]:
    """Mark ``user`` present from a scanned projector code (None: already marked today)."""
    now = now or utcnow()
    session_id, day = read_attendance_token(token, secret, max_age_s=max_age_s, now=now)
    session = db.session.get(TrainingSession, session_id)
    if session is None:
        raise TrainingError(
            _l("This attendance code is not valid. Scan the code on the classroom screen.")
        )
    if day != now.astimezone(BANGKOK).date():
        raise TrainingError(_l("This attendance code is for another day."))
    _check_day(session, day, day)
    enrolment = next(
        (e for e in session.with_status(EnrolmentStatus.ENROLLED) if e.user_id == user.id), None
    )
    if enrolment is None:
        raise TrainingError(_l("You are not enrolled in this session. Ask the trainer."))
    attendance = _mark_present(enrolment, day, user, "qr")
    if attendance is not None:
        record_event(
            "training.attendance_qr",
            session,
            details={"day": day.isoformat(), "user": user.username},
            centre_id=user.centre_id,
        )
        db.session.flush()
    return session, attendance


@dataclass
class StaffQualifications:
    """One person of a centre and, per qualification code, their latest grant."""

    user: User
    latest: dict  # code -> QualificationGrant (the one valid longest, else the newest)
    valid: set


def centre_staff_qualifications(centre: Centre, now: datetime | None = None):
    """Everyone of ``centre`` with their qualifications now."""
    now = now or utcnow()
    users = db.session.scalars(
        sa.select(User)
        .where(User.centre_id == centre.id, User.active.is_(True))
        .order_by(User.full_name)
    )
    out = []
    for user in users:
        latest = {}
        for grant in user.qualifications:
            if grant.revoked_at is not None:
                continue
            best = latest.get(grant.code)
            if best is None or (grant.expires_at or now) > (best.expires_at or now):
                latest[grant.code] = grant
        out.append(StaffQualifications(user, latest, valid_qualifications(user, now)))
    return out


def expiring_soon(staff, now: datetime | None = None, within: timedelta = EXPIRY_WARNING):
    """(user, grant) pairs in force now whose expiry falls within ``within``, soonest first."""
    now = now or utcnow()
    pairs = [
        (s.user, g)
        for s in staff
        for g in s.latest.values()
        if g.valid_at(now) and g.expires_at is not None and g.expires_at <= now + within
    ]
    return sorted(pairs, key=lambda p: p[1].expires_at)


def who_may_today(staff) -> dict:
    """Per qualification code, the people who hold it in force now (who may do that work)."""
    return {code: [s.user for s in staff if code in s.valid] for code in qualification_types()}
