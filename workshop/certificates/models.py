"""Issued certificates (immutable, with their signed PDF), numbering counters, revocations and
the log of public verification requests."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workshop.accounts.models import Centre, User
from workshop.audit.models import append_only
from workshop.columns import UTCDateTime, created_at, intpk
from workshop.extensions import db
from workshop.jobs.models import Job


class CertificateCounter(db.Model):
    """The last certificate number used by one centre in one Buddhist-era year.

    Incremented in the transaction that inserts the certificate, so numbers are gap-free.
    """

    __tablename__ = "certificate_counters"

    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), primary_key=True)
    year_be: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


@append_only
class Certificate(db.Model):
    """A conversion certificate as issued: its number, verification token and signed PDF."""

    __tablename__ = "certificates"
    __table_args__ = (sa.UniqueConstraint("centre_id", "year_be", "sequence"),)

    id: Mapped[intpk]
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    year_be: Mapped[int]
    sequence: Mapped[int]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    # The secret part of the public verification URL printed as a QR code.
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[created_at]
    issued_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    pdf_size: Mapped[int]
    # What the PDF says, as plain data, for the verification page and the lists.
    summary: Mapped[dict] = mapped_column(sa.JSON)

    centre: Mapped[Centre] = relationship()
    job: Mapped[Job] = relationship()
    issued_by: Mapped[User] = relationship()
    revocation: Mapped["CertificateRevocation | None"] = relationship(
        back_populates="certificate", uselist=False, lazy="selectin"
    )

    @property
    def revoked(self) -> bool:
        """True once the certificate has been revoked."""
        return self.revocation is not None


@append_only
class CertificateRevocation(db.Model):
    """The revocation of a certificate, with who, when and why. The PDF stays as issued."""

    __tablename__ = "certificate_revocations"

    id: Mapped[intpk]
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    revoked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[created_at]

    certificate: Mapped[Certificate] = relationship(back_populates="revocation")
    revoked_by: Mapped[User] = relationship()


class VerificationRequest(db.Model):
    """One public verification request (page view or PDF upload), for rate limits and the log."""

    __tablename__ = "verification_requests"
    __table_args__ = (sa.Index("ix_verification_requests_ip_at", "ip", "at"),)

    id: Mapped[intpk]
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    token: Mapped[str] = mapped_column(sa.String(64), default="")
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))
    outcome: Mapped[str] = mapped_column(sa.String(32))


class EvidenceBundle(db.Model):
    """One request for a certificate's evidence bundle, built by a background worker.

    ``status``: queued → running → ready (the ZIP is stored by its SHA-256) or failed (``error``).
    """

    __tablename__ = "evidence_bundles"

    id: Mapped[intpk]
    certificate_id: Mapped[int] = mapped_column(sa.ForeignKey("certificates.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    job_id: Mapped[str] = mapped_column(sa.String(64), default="")
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[created_at]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    size: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.Text, default="")

    certificate: Mapped[Certificate] = relationship()
    requested_by: Mapped[User] = relationship()


class IssueRequest(db.Model):
    """One request to issue a job's certificate, carried out by a background worker.

    ``status``: queued → running → done (``certificate_id``) or failed (``error_code`` and
    ``error_params``: a code the page renders in the reader's language, never a sentence).
    ``pending_job_id`` holds the job's id while the request is queued or running; it is unique,
    so the database itself keeps a job to one request under way.
    """

    __tablename__ = "certificate_issue_requests"

    id: Mapped[intpk]
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), index=True)
    pending_job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    rq_job_id: Mapped[str] = mapped_column(sa.String(64), default="")
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[created_at]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))
    error_code: Mapped[str] = mapped_column(sa.String(40), default="")
    error_params: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    job: Mapped[Job] = relationship(foreign_keys=[job_id])
    requested_by: Mapped[User] = relationship()
    certificate: Mapped[Certificate | None] = relationship()

    @property
    def under_way(self) -> bool:
        """True while the request waits for a worker or is being carried out."""
        return self.status in ("queued", "running")


class SigningKey(db.Model):
    """An engineer's signing key and certificate (PAdES signatures on certificates they sign off).

    The private key is stored as encrypted PKCS#8, under a key derived from the deployment's
    secret: a copy of the database alone does not yield it. ``source``: "ca" (issued by the
    deployment's CA) or "pkcs12" (uploaded).
    """

    __tablename__ = "signing_keys"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    certificate_pem: Mapped[str] = mapped_column(sa.Text)
    key_pem: Mapped[str] = mapped_column(sa.Text)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(255), default="")
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[created_at]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
