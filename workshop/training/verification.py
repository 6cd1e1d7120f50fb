"""The public check of a training certificate: genuine, and whether what it granted still holds.

A certificate stays genuine for ever, but the qualifications it granted can be revoked or expire;
the check says which, per qualification. Requests are rate-limited and logged with the
conversion-certificate checks (workshop.certificates.services), in the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from workshop.accounts.models import QualificationGrant
from workshop.certificates.services import log_verification, verification_allowed
from workshop.columns import utcnow
from workshop.extensions import db
from workshop.training.models import TrainingCertificate


@dataclass(frozen=True)
class GrantState:
    """One qualification the certificate granted: 'valid', 'revoked' or 'expired'."""

    code: str
    state: str
    until: datetime | None


def grant_states(certificate: TrainingCertificate, now: datetime | None = None) -> list[GrantState]:
    """The state today of each qualification ``certificate`` granted."""
    now = now or utcnow()
    enrolment = certificate.enrolment
    grants = db.session.scalars(
        sa.select(QualificationGrant).where(
            QualificationGrant.user_id == enrolment.user_id,
            QualificationGrant.source == "course",
            QualificationGrant.note.endswith(f"#{enrolment.session_id}"),
            QualificationGrant.code.in_(certificate.qualifications),
        )
    ).all()
    by_code = {g.code: g for g in grants}
    states = []
    for code in certificate.qualifications:
        grant = by_code.get(code)
        until = grant.expires_at if grant else certificate.expires_at
        if grant is not None and grant.revoked_at is not None:
            state = "revoked"
        elif until is not None and until <= now:
            state = "expired"
        else:
            state = "valid"
        states.append(GrantState(code, state, until))
    return states


def overall_state(states: list[GrantState]) -> str:
    """'revoked' if any qualification was revoked, else 'expired' if any expired, else 'valid'."""
    for state in ("revoked", "expired"):
        if any(s.state == state for s in states):
            return state
    return "valid"


def verification_permitted(ip: str, code: str) -> bool:
    """False (and logged) when ``ip`` has checked too often lately."""
    if verification_allowed(ip):
        return True
    log_verification(ip, "training", "rate_limited", token=code)
    return False


def log_training_check(ip: str, code: str, outcome: str) -> None:
    """Record one training-certificate check (the caller commits)."""
    log_verification(ip, "training", outcome, token=code)
