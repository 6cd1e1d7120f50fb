"""Keys and certificates for signing conversion certificates: the trust anchor, the centre's
issuing key and the engineers' own keys.

A deployment configures its trust anchor (``CERTIFICATE_TRUST_ROOTS``: PEM file of the CA that
issued the signing certificates) and its issuing key and chain (``CERTIFICATE_SIGNING_KEY`` /
``CERTIFICATE_SIGNING_CERT``). In development and the demo a **development CA** is generated into
``<instance>/certificate-signing/`` whose name says it is development; it issues the centre's key
and the engineers' keys, and every PDF signed under it carries the development mark.
Plain Python (cryptography), no Flask.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEV_FOLDER = "certificate-signing"
DEV_CA_NAME = "EV Workshop DEVELOPMENT CA - not for registration"


def _name(common_name: str, organisation: str = "EV Conversion Workshop") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by the owner only (mode 600), whole or not at all: the data goes to
    a temporary file beside it that is renamed over ``path``, so another process never reads a
    half-written key or certificate."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@contextmanager
def creating(folder: Path) -> Iterator[None]:
    """Hold the folder's creation lock: the web app and a worker starting together must not
    both generate a development key (each would sign with a CA the other does not trust). The
    caller checks again, inside, whether the files exist by now."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes, even on a crash
        yield
    finally:
        os.close(fd)


def key_pem(key, password: bytes | None = None) -> bytes:
    """The private key as PKCS#8 PEM, encrypted when ``password`` is given."""
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """The certificate as PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def development_ca(instance_path: str | Path) -> tuple[Path, Path]:
    """The development CA's key and certificate files, generated once (10 years) by whichever
    process comes first; the others wait for it and use the same files."""
    folder = Path(instance_path) / DEV_FOLDER
    key_path, cert_path = folder / "ca-key.pem", folder / "ca-cert.pem"
    # each file appears whole (see write_private), so existing files are finished ones
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    with creating(folder):
        if not (key_path.exists() and cert_path.exists()):
            _create_development_ca(key_path, cert_path)
    return key_path, cert_path


def _create_development_ca(key_path: Path, cert_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(DEV_CA_NAME)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, key_pem(key))
    write_private(cert_path, cert_pem(cert))


def load_ca(key_path: Path, cert_path: Path):
    """The CA's private key and certificate."""
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    return key, x509.load_pem_x509_certificate(cert_path.read_bytes())


def issue(ca_key, ca_cert: x509.Certificate, common_name: str, *, days: int = 730, serial_text=""):
    """A new EC key and an end-entity signing certificate for it, issued by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EV Conversion Workshop"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if serial_text:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_text))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def trust_root_paths(config, instance_path: str | Path) -> list[Path]:
    """The PEM files of the deployment's trust anchors (the development CA when none is set)."""
    configured = config.get("CERTIFICATE_TRUST_ROOTS")
    if configured:
        items = configured if isinstance(configured, list | tuple) else [configured]
        return [Path(p) for p in items]
    return [development_ca(instance_path)[1]]


def trust_roots(config, instance_path: str | Path) -> list[x509.Certificate]:
    """The trust anchors as certificates."""
    roots = []
    for path in trust_root_paths(config, instance_path):
        roots.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return roots


def chains_to(cert: x509.Certificate, roots: list[x509.Certificate]) -> bool:
    """True when ``cert`` is issued directly by one of ``roots`` (our CAs issue end entities)."""
    for root in roots:
        try:
            cert.verify_directly_issued_by(root)
        except (ValueError, TypeError, Exception):  # noqa: BLE001 - any failure means "not this root"
            continue
        return True
    return False


def is_development_root(cert: x509.Certificate) -> bool:
    """True for the generated development CA."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return bool(names) and names[0].value == DEV_CA_NAME
