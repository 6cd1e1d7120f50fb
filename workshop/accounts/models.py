"""Service centres, users and their roles."""

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workshop.columns import UTCDateTime, created_at, intpk, money, stored_enum
from workshop.extensions import db


class Role(enum.StrEnum):
    """What a user may do; a user holds one or more."""

    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    TRAINER = "trainer"
    INSPECTOR = "inspector"
    ADMIN = "admin"


# Roles that may span several centres (or all of them) rather than belong to one.
MULTI_CENTRE_ROLES = frozenset({Role.INSPECTOR, Role.ADMIN})

user_centres = sa.Table(
    "user_centres",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("centre_id", sa.ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
)


class Centre(db.Model):
    """A conversion service centre (workshop)."""

    __tablename__ = "centres"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name_th: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    province: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.Text, default="")
    licence_number: Mapped[str] = mapped_column(sa.String(64), default="")
    labour_rate: Mapped[money] = mapped_column(default=Decimal("0.00"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]

    def name(self, locale: str = "th") -> str:
        """The centre's name in the given language."""
        return self.name_en if locale == "en" else self.name_th

    def __repr__(self) -> str:
        return f"<Centre {self.code}>"


class UserRole(db.Model):
    """One role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(
        stored_enum(Role),
        primary_key=True,
    )


class User(UserMixin, db.Model):
    """A person who logs in: technician, supervisor, trainer, inspector or admin."""

    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    locale: Mapped[str] = mapped_column(sa.String(5), default="th")
    active: Mapped[bool] = mapped_column(default=True)
    # Home centre for technicians, supervisors and trainers; inspectors/admins use ``centres``.
    centre_id: Mapped[int | None] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    all_centres: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[created_at]

    centre: Mapped[Centre | None] = relationship(foreign_keys=[centre_id])
    extra_centres: Mapped[list[Centre]] = relationship(secondary=user_centres)
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[Role]:
        """The set of roles this user holds."""
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        """True when the user holds any of ``roles``."""
        return bool(self.roles.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated users cannot log in
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class QualificationGrant(db.Model):
    """A qualification held by a user (granted by an admin or by passing a course), with expiry."""

    __tablename__ = "qualification_grants"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    granted_at: Mapped[created_at]
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(sa.String(32), default="admin")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id], back_populates="qualifications")
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])

    def valid_at(self, moment: datetime) -> bool:
        """True when the grant is in force at ``moment``."""
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        return self.expires_at is None or self.expires_at > moment


User.qualifications = relationship(
    QualificationGrant,
    foreign_keys=[QualificationGrant.user_id],
    back_populates="user",
    lazy="selectin",
    order_by=QualificationGrant.granted_at,
)


class UserSession(db.Model):
    """One login on one device; the session cookie carries its token, the database its state.

    Ending the row (logout, password change, admin action, idle timeout) ends the session even
    for a copy of the cookie. Only the token's SHA-256 is stored, so a leaked table opens nothing.
    """

    __tablename__ = "user_sessions"

    id: Mapped[intpk]
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[created_at]
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str] = mapped_column(sa.String(32), default="")
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    user: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed logins counted per client address or per username, shared by every server process."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
