"""The deployment's certificate-signing key, and PAdES signing/validation of certificate PDFs.

Production configures ``CERTIFICATE_SIGNING_KEY`` and ``CERTIFICATE_SIGNING_CERT`` (PEM files, the
key optionally protected by ``CERTIFICATE_SIGNING_PASSPHRASE``). Without them a self-signed
development key is generated once into ``<instance>/certificate-signing/``.
Plain Python, no Flask: the caller passes the paths.
"""

import asyncio
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEV_FOLDER = "certificate-signing"


@dataclass(frozen=True)
class SigningMaterial:
    """Where the signing key and its certificate are."""

    key_path: Path
    cert_path: Path
    passphrase: bytes | None = None
    # True for the generated development key (no configured key): the PDF says so on its face.
    development: bool = False


def create_development_key(folder: Path, common_name: str = "EV Conversion Workshop (development)"):
    """Generate a self-signed EC P-256 key and certificate into ``folder`` (key mode 600)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EV Conversion Workshop"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "signing-key.pem", folder / "signing-cert.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return SigningMaterial(key_path, cert_path)


def signing_material(config, instance_path: str) -> SigningMaterial:
    """The configured key and certificate, or the development pair (created on first use)."""
    key, cert = config.get("CERTIFICATE_SIGNING_KEY"), config.get("CERTIFICATE_SIGNING_CERT")
    passphrase = config.get("CERTIFICATE_SIGNING_PASSPHRASE")
    if isinstance(passphrase, str):
        passphrase = passphrase.encode()
    if key and cert:
        return SigningMaterial(Path(key), Path(cert), passphrase or None)
    folder = Path(instance_path) / DEV_FOLDER
    key_path, cert_path = folder / "signing-key.pem", folder / "signing-cert.pem"
    if key_path.exists() and cert_path.exists():
        return SigningMaterial(key_path, cert_path, development=True)
    created = create_development_key(folder)
    return SigningMaterial(created.key_path, created.cert_path, development=True)


def _off_event_loop(fn, *args, **kwargs):
    # pyHanko runs its own asyncio loop; inside a thread that already runs one (an async server,
    # Playwright's sync API in tests) that is refused, so the work moves to a short-lived thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def sign_pdf(pdf: bytes, material: SigningMaterial, *, reason: str, location: str) -> bytes:
    """The PDF with a PAdES (ETSI.CAdES.detached) signature by ``material``'s key."""
    return _off_event_loop(_sign_pdf, pdf, material, reason=reason, location=location)


def _sign_pdf(pdf: bytes, material: SigningMaterial, *, reason: str, location: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load(
        str(material.key_path), str(material.cert_path), key_passphrase=material.passphrase
    )
    if signer is None:
        raise RuntimeError(f"cannot load the signing key {material.key_path}")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name="WorkshopCertificate",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        md_algorithm="sha256",
    )
    out = signers.sign_pdf(writer, meta, signer=signer)
    return out.getvalue()


def signature_status(pdf: bytes, cert_path: Path) -> dict:
    """Validate the PDF's signature against the deployment certificate.

    Returns ``{"signed": bool, "intact": bool, "valid": bool, "covers_whole_file": bool}``.
    """
    return _off_event_loop(_signature_status, pdf, cert_path)


def _signature_status(pdf: bytes, cert_path: Path) -> dict:
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # a damaged file is simply not a valid signed PDF
        return {"signed": False, "intact": False, "valid": False, "covers_whole_file": False}
    if not signatures:
        return {"signed": False, "intact": False, "valid": False, "covers_whole_file": False}
    root = load_cert_from_pemder(str(cert_path))
    try:
        status = validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[root]))
    except Exception:
        return {"signed": True, "intact": False, "valid": False, "covers_whole_file": False}
    return {
        "signed": True,
        "intact": bool(status.intact),
        "valid": bool(status.intact and status.valid and status.trusted),
        "covers_whole_file": status.coverage.name == "ENTIRE_FILE",
    }
