"""Login throttling: exponential back-off per client address and per username.

Rather than locking an account (which any stranger could do to ``admin`` forever), each key gets
a number of free failures, then must wait ``base * 2**(extra failures)`` seconds, capped, before
the next attempt is even checked. The state lives in the database, so every server process
sees the same counts. Unknown usernames are throttled exactly like real ones: the answer never
tells whether an account exists.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from workshop.accounts.models import LoginThrottle
from workshop.columns import utcnow
from workshop.extensions import db


@dataclass(frozen=True)
class ThrottlePolicy:
    """Free failures per username and per address, the first delay, the longest delay, and how
    long a quiet key takes to forget its failures."""

    free_per_username: int = 5
    free_per_ip: int = 20
    base: timedelta = timedelta(seconds=2)
    longest: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=1)

    @classmethod
    def from_config(cls, config) -> "ThrottlePolicy":
        """The policy set by LOGIN_THROTTLE_* settings (defaults above)."""
        return cls(
            free_per_username=int(config.get("LOGIN_THROTTLE_FREE_PER_USERNAME", 5)),
            free_per_ip=int(config.get("LOGIN_THROTTLE_FREE_PER_IP", 20)),
            base=timedelta(seconds=float(config.get("LOGIN_THROTTLE_BASE_SECONDS", 2))),
            longest=timedelta(seconds=float(config.get("LOGIN_THROTTLE_MAX_SECONDS", 900))),
        )

    def delay(self, failures: int, free: int) -> timedelta:
        """How long a key with ``failures`` must wait (zero within its free failures)."""
        extra = failures - free
        if extra < 0:
            return timedelta(0)
        return min(self.longest, self.base * (2 ** min(extra, 30)))


def keys_for(ip: str, username: str) -> dict[str, str]:
    """The throttle keys of an attempt: ``{"ip": "ip:...", "username": "user:..."}``."""
    return {"ip": f"ip:{ip[:64]}", "username": f"user:{username.strip().lower()[:64]}"}


def wait_seconds(keys: dict[str, str], now: datetime | None = None) -> int:
    """Whole seconds until an attempt with ``keys`` may be checked (0: go ahead)."""
    now = now or utcnow()
    until = db.session.scalar(
        sa.select(sa.func.max(LoginThrottle.blocked_until)).where(
            LoginThrottle.key.in_(keys.values()), LoginThrottle.blocked_until > now
        )
    )
    if until is None:
        return 0
    return max(1, int((until - now).total_seconds() + 0.999))


def _insert(dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(LoginThrottle)


def record_failure(
    keys: dict[str, str], policy: ThrottlePolicy, now: datetime | None = None
) -> int:
    """Count a failed attempt against each key; returns the wait it now imposes (seconds)."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    wait = timedelta(0)
    for kind, key in keys.items():
        stmt = _insert(dialect).values(key=key, failures=0, last_failure_at=now)
        db.session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
        row = db.session.scalar(
            sa.select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
        )
        if now - row.last_failure_at > policy.forget_after:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        free = policy.free_per_ip if kind == "ip" else policy.free_per_username
        delay = policy.delay(row.failures, free)
        row.blocked_until = now + delay if delay else None
        wait = max(wait, delay)
    _forget_old(policy, now)
    return int(wait.total_seconds())


def clear(key: str) -> None:
    """Forget a key's failures (after a successful login for that username)."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == key))


def _forget_old(policy: ThrottlePolicy, now: datetime) -> None:
    # Keys of guessed usernames would otherwise pile up for ever.
    db.session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - policy.forget_after - policy.longest
        )
    )
