"""Engineers enrol a signing certificate: issued by the deployment's development CA, or uploaded
as PKCS#12. Refusals name what is wrong in the user's language and store nothing.
The caller commits.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from flask_babel import lazy_gettext as _l

from workshop.audit.services import record_event
from workshop.certificates import pki
from workshop.certificates.models import SigningKey
from workshop.columns import utcnow
from workshop.errors import DomainError
from workshop.extensions import db
from workshop.links import is_production


class SigningKeyError(DomainError):
    """An enrolment the rules refuse; the message says why."""


def _password(secret_key: str, user_id: int) -> bytes:
    """The key that encrypts an engineer's private key at rest (from the deployment's secret)."""
    return (
        hashlib.sha256(f"engineer-signing-key:{user_id}:{secret_key}".encode()).hexdigest().encode()
    )


def _holds_licence(user) -> bool:
    from workshop.inspection.models import Branch
    from workshop.inspection.services import valid_licence

    return any(valid_licence(user, branch) is not None for branch in Branch)


def _store(user, key, cert: x509.Certificate, source: str, config) -> SigningKey:
    for old in active_keys(user):
        old.revoked_at = utcnow()
    entry = SigningKey(
        user_id=user.id,
        certificate_pem=pki.cert_pem(cert).decode(),
        key_pem=pki.key_pem(key, _password(config["SECRET_KEY"], user.id)).decode(),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        subject=cert.subject.rfc4514_string()[:255],
        not_after=cert.not_valid_after_utc,
        source=source,
        created_at=utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    record_event(
        "signing_key.enrol",
        entry,
        details={"user": user.username, "source": source, "fingerprint": entry.fingerprint[:16]},
    )
    return entry


def enrol_from_ca(user, config, instance_path: str) -> SigningKey:
    """Have the development CA issue the engineer a signing certificate (not in production: there
    the engineer uploads a certificate from the deployment's CA)."""
    if is_production(config) or config.get("CERTIFICATE_TRUST_ROOTS"):
        raise SigningKeyError(
            _l("this deployment's CA issues certificates outside the app: upload your PKCS#12 file")
        )
    if not _holds_licence(user):
        raise SigningKeyError(_l("only holders of a valid engineer licence enrol a signing key"))
    ca_key, ca_cert = pki.load_ca(*pki.development_ca(instance_path))
    key, cert = pki.issue(ca_key, ca_cert, user.full_name, serial_text=user.username)
    return _store(user, key, cert, "ca", config)


def enrol_pkcs12(user, data: bytes, passphrase: str, config, instance_path: str) -> SigningKey:
    """Enrol an uploaded PKCS#12 (key + certificate): the passphrase must open it, the certificate
    must be in force and chain to the deployment's trust anchor."""
    if not _holds_licence(user):
        raise SigningKeyError(_l("only holders of a valid engineer licence enrol a signing key"))
    try:
        key, cert, _extra = pkcs12.load_key_and_certificates(
            data, (passphrase or "").encode() or None
        )
    except (ValueError, TypeError):
        raise SigningKeyError(
            _l("the file is not a PKCS#12 key file, or the passphrase is wrong")
        ) from None
    if key is None or cert is None:
        raise SigningKeyError(_l("the PKCS#12 file holds no key with its certificate"))
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SigningKeyError(
            _l(
                "the certificate is valid from %(start)s to %(end)s, not today",
                start=cert.not_valid_before_utc.date().isoformat(),
                end=cert.not_valid_after_utc.date().isoformat(),
            )
        )
    if not pki.chains_to(cert, pki.trust_roots(config, instance_path)):
        raise SigningKeyError(
            _l("the certificate was not issued by this deployment's trust anchor")
        )
    return _store(user, key, cert, "pkcs12", config)


def active_keys(user) -> list[SigningKey]:
    """The engineer's keys not revoked and not expired, newest first."""
    return list(
        db.session.scalars(
            sa.select(SigningKey)
            .where(
                SigningKey.user_id == user.id,
                SigningKey.revoked_at.is_(None),
                SigningKey.not_after > utcnow(),
            )
            .order_by(SigningKey.id.desc())
        )
    )


def active_key(user) -> SigningKey | None:
    """The key the engineer signs with now (None: not enrolled)."""
    keys = active_keys(user)
    return keys[0] if keys else None


def private_key_pem(entry: SigningKey, config) -> bytes:
    """The engineer's private key, decrypted, as unencrypted PKCS#8 PEM (for pyHanko)."""
    key = serialization.load_pem_private_key(
        entry.key_pem.encode(), password=_password(config["SECRET_KEY"], entry.user_id)
    )
    return pki.key_pem(key)
