"""Domain rules for centres and user accounts."""

import calendar
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from workshop.accounts.models import (
    MULTI_CENTRE_ROLES,
    Centre,
    QualificationGrant,
    Role,
    User,
    UserRole,
)
from workshop.accounts.qualifications import qualification_types
from workshop.accounts.sessions import end_user_sessions
from workshop.accounts.throttle import ThrottlePolicy, clear, keys_for, record_failure, wait_seconds
from workshop.audit.services import Actor, record_event
from workshop.columns import utcnow
from workshop.errors import DomainError
from workshop.extensions import db

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# zxcvbn's scale: 3 = "safely unguessable: moderate protection from offline slow-hash attacks".
MIN_PASSWORD_SCORE = 3
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
CENTRE_CODE_RE = re.compile(r"^[A-Z0-9]{2,16}$")


class AccountError(DomainError):
    """A request that the account rules refuse; the message is shown to the user."""

    code = "account"


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the user, or None and how long to wait before the next."""

    user: User | None
    retry_after: int = 0


def password_problem(password: str, username: str = "", *other_inputs: str):
    """Why ``password`` is too weak, or None when it is acceptable.

    Length first, then zxcvbn's estimate of how many guesses it takes (common passwords, keyboard
    walks, dates, dictionary words with digits, the username and other personal inputs).
    """
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("at least %(n)d characters", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _l("at most %(n)d characters", n=MAX_PASSWORD_LENGTH)
    if username and username.lower() in password.lower():
        return _l("must not contain the username")
    inputs = [s for s in (username, *other_inputs) if s]
    if zxcvbn(password, user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        return _l(
            "too easy to guess (a common password, a keyboard pattern or a word with a few "
            "digits): use three or more unrelated words or a longer phrase"
        )
    return None


def hash_password(password: str) -> str:
    """A salted hash of ``password``: scrypt (memory-hard) unless the app configures another.

    The test suite configures a cheap method because it creates hundreds of users.
    """
    method = (
        current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    )
    return generate_password_hash(password, method=method)


_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash made the way real ones are, checked when the username is unknown so that the
    answer takes as long as for a real account."""
    method = (
        current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
    )
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _dummy_hashes[method]


def _check_roles_and_centres(roles, centre, all_centres, extra_centres):
    roles = {Role(r) for r in roles}
    if not roles:
        raise AccountError(_l("a user needs at least one role"))
    single_centre = roles - MULTI_CENTRE_ROLES
    if single_centre and centre is None:
        raise AccountError(_l("technicians, supervisors and trainers belong to a centre"))
    if (all_centres or extra_centres) and not roles & MULTI_CENTRE_ROLES:
        raise AccountError(_l("only inspectors and admins can be assigned to several centres"))
    return roles


def create_centre(
    *,
    code: str,
    name_th: str,
    name_en: str,
    province: str,
    address: str = "",
    licence_number: str = "",
    labour_rate: Decimal = Decimal("0.00"),
) -> Centre:
    """Register a new service centre."""
    code = code.strip().upper()
    if not CENTRE_CODE_RE.match(code):
        raise AccountError(_l("centre code: 2-16 capital letters or digits"))
    if db.session.scalar(sa.select(Centre.id).where(Centre.code == code)):
        raise AccountError(_l("centre code %(code)s is already used", code=code))
    if labour_rate < 0:
        raise AccountError(_l("labour rate cannot be negative"))
    centre = Centre(
        code=code,
        name_th=name_th.strip(),
        name_en=name_en.strip(),
        province=province,
        address=address.strip(),
        licence_number=licence_number.strip(),
        labour_rate=Decimal(labour_rate).quantize(Decimal("0.01")),
    )
    db.session.add(centre)
    db.session.flush()
    record_event("centre.create", centre, details={"code": code}, centre_id=centre.id)
    return centre


CENTRE_FIELDS = (
    "name_th",
    "name_en",
    "province",
    "address",
    "licence_number",
    "labour_rate",
    "active",
)


def update_centre(centre: Centre, **changes) -> Centre:
    """Change a centre's details; the audit event lists old and new values."""
    diff = {}
    for field, value in changes.items():
        if field not in CENTRE_FIELDS:
            raise AccountError(_l("unknown centre field %(field)s", field=field))
        if field == "labour_rate":
            if value < 0:
                raise AccountError(_l("labour rate cannot be negative"))
            value = Decimal(value).quantize(Decimal("0.01"))
        old = getattr(centre, field)
        if old != value:
            diff[field] = [str(old), str(value)]
            setattr(centre, field, value)
    if diff:
        record_event("centre.update", centre, details=diff, centre_id=centre.id)
    return centre


def create_user(
    *,
    username: str,
    full_name: str,
    password: str,
    roles,
    centre: Centre | None = None,
    email: str = "",
    all_centres: bool = False,
    extra_centres=(),
    locale: str = "th",
) -> User:
    """Create an account after checking username, password strength and role/centre rules."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError(_l("username: 3-64 lower-case letters, digits, dot, dash or underscore"))
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise AccountError(_l("username %(username)s is taken", username=username))
    problem = password_problem(password, username, full_name, email)
    if problem:
        raise AccountError(_l("password: %(problem)s", problem=problem))
    roles = _check_roles_and_centres(roles, centre, all_centres, list(extra_centres))
    user = User(
        username=username,
        full_name=full_name.strip(),
        email=email.strip(),
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
        centre=centre,
        all_centres=all_centres,
        extra_centres=list(extra_centres),
        locale=locale,
        role_rows=[UserRole(role=r) for r in sorted(roles)],
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.create",
        user,
        details={"username": username, "roles": sorted(roles)},
        centre_id=centre.id if centre else None,
    )
    return user


def update_user(
    user: User,
    *,
    full_name: str,
    email: str,
    roles,
    centre: Centre | None,
    all_centres: bool,
    extra_centres,
    active: bool,
    actor: User | None = None,
) -> User:
    """Change a user's details, roles and centres."""
    roles = _check_roles_and_centres(roles, centre, all_centres, list(extra_centres))
    if actor is not None and actor.id == user.id and (Role.ADMIN not in roles or not active):
        raise AccountError(_l("you cannot remove your own admin role or deactivate yourself"))
    before = _user_snapshot(user)
    user.full_name = full_name.strip()
    user.email = email.strip()
    user.centre = centre
    user.all_centres = all_centres
    user.extra_centres = list(extra_centres)
    user.active = active
    current = user.roles
    for row in list(user.role_rows):
        if row.role not in roles:
            user.role_rows.remove(row)
    for r in sorted(roles - current):
        user.role_rows.append(UserRole(role=r))
    db.session.flush()
    after = _user_snapshot(user)
    diff = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if diff:
        record_event("user.update", user, details=diff)
    return user


def _user_snapshot(user: User) -> dict:
    return {
        "full_name": user.full_name,
        "email": user.email,
        "roles": sorted(r.value for r in user.roles),
        "centre": user.centre.code if user.centre else None,
        "all_centres": user.all_centres,
        "extra_centres": sorted(c.code for c in user.extra_centres),
        "active": user.active,
    }


def set_password(
    user: User, new_password: str, *, by_admin: bool = False, keep_session: str | None = None
) -> None:
    """Replace a user's password (checked for strength) and end the user's other sessions.

    ``keep_session`` is the token of the session making the change, which stays open when a
    user changes their own password; an administrator's reset ends every session of the user.
    """
    problem = password_problem(new_password, user.username, user.full_name, user.email)
    if problem:
        raise AccountError(_l("password: %(problem)s", problem=problem))
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    record_event("user.password_reset" if by_admin else "user.password_change", user)
    reason = "password_reset" if by_admin else "password_change"
    end_user_sessions(user, reason, keep_token=keep_session)
    clear(keys_for("", user.username)["username"])


def change_password(
    user: User, current_password: str, new_password: str, *, keep_session: str | None = None
) -> None:
    """A user changes their own password; the current one must be given."""
    if not check_password_hash(user.password_hash, current_password):
        raise AccountError(_l("the current password is wrong"))
    if current_password == new_password:
        raise AccountError(_l("the new password must differ from the current one"))
    set_password(user, new_password, keep_session=keep_session)


def authenticate(
    username: str, password: str, ip: str = "", policy: ThrottlePolicy | None = None
) -> LoginResult:
    """Check a login, throttled per client address and per username.

    Every failure (unknown user, inactive user, wrong password) costs one password hash and
    gives the same answer; a throttled attempt is refused before anything is checked. All
    outcomes go to the audit log.
    """
    policy = policy or ThrottlePolicy.from_config(current_app.config)
    username = (username or "").strip().lower()[:64]
    keys = keys_for(ip, username)
    user = db.session.scalar(sa.select(User).where(User.username == username))
    actor = Actor(user_id=user.id if user else None, username=username, ip=ip)
    wait = wait_seconds(keys)
    if wait:
        record_event("login.throttled", user, details={"retry_after": wait}, actor=actor)
        return LoginResult(None, retry_after=wait)
    known = user is not None
    password_ok = check_password_hash(
        user.password_hash if known else _dummy_hash(), password or ""
    )
    if not (known and password_ok and user.active):
        reason = (
            "unknown user" if not known else "wrong password" if not password_ok else "inactive"
        )
        wait = record_failure(keys, policy)
        details = {"reason": reason, **({"throttled_for": wait} if wait else {})}
        record_event("login.failed", user, details=details, actor=actor)
        return LoginResult(None)
    clear(keys["username"])
    user.last_login_at = utcnow()
    record_event("login", user, actor=actor)
    return LoginResult(user)


def set_locale(user: User, locale: str) -> None:
    """Remember the user's language choice."""
    if locale not in ("th", "en"):
        raise AccountError(_l("unsupported language"))
    if user.locale != locale:
        user.locale = locale
        record_event("user.locale", user, details={"locale": locale})


def centres_of(user: User) -> list[Centre] | None:
    """The centres whose data ``user`` may see, or None for all centres."""
    if user.all_centres:
        return None
    centres = {c.id: c for c in user.extra_centres}
    if user.centre is not None:
        centres[user.centre.id] = user.centre
    return sorted(centres.values(), key=lambda c: c.code)


def list_centres() -> list[Centre]:
    """Every centre, by code."""
    return list(db.session.scalars(sa.select(Centre).order_by(Centre.code)))


def list_users() -> list[User]:
    """Every user, by username."""
    return list(db.session.scalars(sa.select(User).order_by(User.username)))


def count_users() -> int:
    """How many accounts exist."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months (the day is clamped to the month's length)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def grant_qualification(
    user: User,
    code: str,
    *,
    granted_by: User | None = None,
    expires_at: datetime | None = None,
    source: str = "admin",
    note: str = "",
) -> QualificationGrant:
    """Grant ``code`` to ``user``; expiry defaults to the type's validity period from now."""
    types = qualification_types()
    if code not in types:
        raise AccountError(_l("unknown qualification %(code)s", code=code))
    now = utcnow()
    if expires_at is None:
        expires_at = add_months(now, types[code].validity_months)
    if expires_at <= now:
        raise AccountError(_l("the expiry date must be in the future"))
    grant = QualificationGrant(
        user=user,
        code=code,
        granted_at=now,
        expires_at=expires_at,
        granted_by=granted_by,
        source=source,
        note=note.strip(),
    )
    db.session.add(grant)
    db.session.flush()
    record_event(
        "qualification.grant",
        grant,
        details={"user": user.username, "code": code, "expires_at": expires_at.isoformat()},
        centre_id=user.centre_id,
    )
    return grant


def revoke_qualification(grant: QualificationGrant, reason: str) -> None:
    """End a grant now, for a stated reason (the record stays, for the history of who could do
    what when; the reason goes to the audit log)."""
    if grant.revoked_at is not None:
        raise AccountError(_l("this qualification was already revoked"))
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise AccountError(
            _l("write why the qualification is revoked (at least 5 characters): it is audited")
        )
    grant.revoked_at = utcnow()
    record_event(
        "qualification.revoke",
        grant,
        details={"user": grant.user.username, "code": grant.code, "reason": reason[:2000]},
        centre_id=grant.user.centre_id,
    )


def valid_qualifications(user: User, at: datetime | None = None) -> set[str]:
    """The qualification codes ``user`` holds in force at ``at`` (default now)."""
    at = at or utcnow()
    return {g.code for g in user.qualifications if g.valid_at(at)}


def holds_qualification(user: User, code: str | None, at: datetime | None = None) -> bool:
    """True when ``code`` is None or ``user`` holds it, unexpired and unrevoked, at ``at``."""
    return code is None or code in valid_qualifications(user, at)
