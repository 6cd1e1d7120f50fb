"""PAdES signing and validation of certificate PDFs: the engineers' signatures and the centre's.

Production configures ``CERTIFICATE_SIGNING_KEY`` and ``CERTIFICATE_SIGNING_CERT`` (PEM; the key
optionally protected by ``CERTIFICATE_SIGNING_PASSPHRASE``; ``CERTIFICATE_SIGNING_CHAIN`` the
issuing CA's certificate) and ``CERTIFICATE_TRUST_ROOTS``. Without them, in development, the
development CA of workshop.certificates.pki issues the centre's key. Each signature is its own
field, added as an incremental update, so that earlier signatures stay intact; its visible
appearance names the signer (Sarabun, shaped by HarfBuzz, so Thai names read as Thai).
Plain Python, no Flask: the caller passes paths and key material.
"""

import asyncio
import functools
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from workshop.certificates import pki

# Where the visible signatures go: on the certificate's last page, in the boxes the template
# draws (templates/certificates/pdf_certificate.html, .sigbox), in PDF points from the bottom left.
MM = 72 / 25.4
PAGE_HEIGHT_MM = 297
SIG_TOP_MM, SIG_PITCH_MM, SIG_HEIGHT_MM = 44, 62, 52
SIG_LEFT_MM, SIG_RIGHT_MM, SIG_WIDTH_MM = 116, 196, 80


def signature_box(position: int) -> tuple[float, float, float, float]:
    """The rectangle of the ``position``-th signature (0 mechanical, 1 electrical, 2 centre)."""
    top = SIG_TOP_MM + position * SIG_PITCH_MM
    return (
        SIG_LEFT_MM * MM,
        (PAGE_HEIGHT_MM - top - SIG_HEIGHT_MM) * MM,
        SIG_RIGHT_MM * MM,
        (PAGE_HEIGHT_MM - top) * MM,
    )


@dataclass(frozen=True)
class SigningMaterial:
    """Where the centre's signing key and its certificate (and chain) are."""

    key_path: Path
    cert_path: Path
    passphrase: bytes | None = None
    # True for the development CA's key (no configured key): the PDF says so on its face.
    development: bool = False
    chain_paths: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Signature:
    """One signature to apply: key and certificate as PEM, its field, position and appearance."""

    field_name: str
    key_pem: bytes
    cert_pem: bytes
    chain_pems: tuple[bytes, ...] = ()
    passphrase: bytes | None = None
    reason: str = ""
    location: str = ""
    appearance: tuple[str, ...] = field(default_factory=tuple)
    position: int = 2


def signing_material(config, instance_path: str) -> SigningMaterial:
    """The configured key and certificate, or the development CA's issuing key (created once)."""
    key, cert = config.get("CERTIFICATE_SIGNING_KEY"), config.get("CERTIFICATE_SIGNING_CERT")
    passphrase = config.get("CERTIFICATE_SIGNING_PASSPHRASE")
    if isinstance(passphrase, str):
        passphrase = passphrase.encode()
    if key and cert:
        chain = config.get("CERTIFICATE_SIGNING_CHAIN")
        chain_paths = tuple(Path(p) for p in ([chain] if isinstance(chain, str) else chain or ()))
        return SigningMaterial(Path(key), Path(cert), passphrase or None, False, chain_paths)
    ca_key_path, ca_cert_path = pki.development_ca(instance_path)
    folder = Path(instance_path) / pki.DEV_FOLDER
    key_path, cert_path = folder / "signing-key.pem", folder / "signing-cert.pem"
    if not _issued_by_ca(key_path, cert_path):
        with pki.creating(folder):  # one process issues it; the others wait and use it
            if not _issued_by_ca(key_path, cert_path):
                ca_key, ca_cert = pki.load_ca(ca_key_path, ca_cert_path)
                new_key, new_cert = pki.issue(
                    ca_key, ca_cert, "EV Conversion Workshop issuing key (DEVELOPMENT)", days=3650
                )
                pki.write_private(key_path, pki.key_pem(new_key))
                pki.write_private(cert_path, pki.cert_pem(new_cert))
    return SigningMaterial(key_path, cert_path, None, True, (ca_cert_path,))


def _issued_by_ca(key_path: Path, cert_path: Path) -> bool:
    """True when the development issuing certificate exists and is not an older self-signed one
    (which is replaced). Files appear whole (pki.write_private)."""
    if not (key_path.exists() and cert_path.exists()):
        return False
    issued = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return issued.issuer != issued.subject


def centre_signature(
    material: SigningMaterial, *, reason: str, location: str, appearance
) -> Signature:
    """The centre's closing signature from its signing material."""
    return Signature(
        field_name="Centre",
        key_pem=material.key_path.read_bytes(),
        cert_pem=material.cert_path.read_bytes(),
        chain_pems=tuple(p.read_bytes() for p in material.chain_paths),
        passphrase=material.passphrase,
        reason=reason,
        location=location,
        appearance=tuple(appearance),
        position=2,
    )


def _off_event_loop(fn, *args, **kwargs):
    # pyHanko runs its own asyncio loop; inside a thread that already runs one (an async server,
    # Playwright's sync API in tests) that is refused, so the work moves to a short-lived thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def sign_all(pdf: bytes, signatures: list[Signature], *, timestamp_url: str = "") -> bytes:
    """The PDF with each of ``signatures`` applied in order, each an incremental PAdES update
    (with an RFC 3161 timestamp from ``timestamp_url`` when given)."""
    return _off_event_loop(_sign_all, pdf, signatures, timestamp_url)


def _font_path() -> str:
    import fontpkg_sarabun

    return str(Path(fontpkg_sarabun.ROOT) / "files" / "Sarabun-Regular.ttf")


@functools.cache
def _font_bytes(path: str) -> bytes:
    # The packaged font never changes while the process runs: read it once, not once a stamp.
    return Path(path).read_bytes()


# Room for the CMS beyond its certificates and signature value: signed attributes (content
# type, digest, signing certificate), algorithm identifiers, signer info; ~600 bytes in practice.
CMS_OVERHEAD_BYTES = 2048


def _bytes_reserved(signer, key) -> int:
    """The hex digits to reserve for a signature without a timestamp: its certificates, the
    signature value and the CMS around them, with room to spare. pyHanko would otherwise sign a
    dummy document first just to measure it (a third of a signature's time)."""
    certs = [signer.signing_cert, *signer.cert_registry]
    der = sum(len(cert.dump()) for cert in certs)
    return 2 * (der + 2 * (key.bit_size // 8 + 8) + CMS_OVERHEAD_BYTES)


def _font_factory():
    """pyHanko's OpenType font engine on Sarabun, reading the font from memory (its own
    factory opens the file and never closes it), its embedded subset made by HarfBuzz."""
    import uharfbuzz as hb
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

    class HarfBuzzSubset(GlyphAccumulator):
        """The stamp's font subset cut by HarfBuzz (as WeasyPrint cuts the certificate's) rather
        than by fontTools: 0.1 ms where fontTools took 7 (a fifth of a signature). The same
        glyph ids are kept (pyHanko writes CIDToGIDMap /Identity and the widths and ToUnicode
        map from the whole font); the layout tables are left out, HarfBuzz has already shaped."""

        def _extract_subset(self, options=None):
            request = hb.SubsetInput()
            for glyph in self._glyphs:
                request.glyph_set.add(glyph)
            for tag in LAYOUT_TABLES:
                request.drop_table_tag_set.add(int.from_bytes(tag.encode(), "big"))
            request.flags = hb.SubsetFlags.RETAIN_GIDS
            program = hb.subset(self.hb_font.face, request).blob.data
            # pyHanko embeds the program by saving its fontTools font: hand it the bytes instead.
            self.cidfont_obj._tt = _FontProgram(program)

    class InMemory(GlyphAccumulatorFactory):
        def create_font_engine(self, writer, obj_stream=None):
            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return HarfBuzzSubset(
                writer=writer,
                font_handle=io.BytesIO(_font_bytes(self.font_file)),
                font_size=self.font_size,
                obj_stream=obj_stream,
            )

    return InMemory(_font_path())


# OpenType layout tables: HarfBuzz's business when shaping, not needed in a stamp's subset.
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF")


class _FontProgram:
    """A finished font program where pyHanko expects a fontTools font to save."""

    def __init__(self, data: bytes):
        self.data = data

    def save(self, file) -> None:
        file.write(self.data)


def _sign_all(pdf: bytes, signatures: list[Signature], timestamp_url: str) -> bytes:
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.stamp import TextStampStyle
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    timestamper = timestamps.HTTPTimeStamper(timestamp_url) if timestamp_url else None
    for signature in signatures:
        key = load_private_key_from_pemder_data(signature.key_pem, signature.passphrase)
        (cert,) = list(load_certs_from_pemder_data(signature.cert_pem))[:1]
        chain = [c for pem in signature.chain_pems for c in load_certs_from_pemder_data(pem)]
        signer = signers.SimpleSigner(
            signing_cert=cert,
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )
        style = TextStampStyle(
            stamp_text="\n".join(signature.appearance) + "\n%(ts)s",
            timestamp_format="%Y-%m-%d %H:%M UTC",
            text_box_style=TextBoxStyle(font=_font_factory(), font_size=8),
            border_width=1,
        )
        pdf_signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name=signature.field_name,
                subfilter=fields.SigSeedSubFilter.PADES,
                md_algorithm="sha256",
                reason=signature.reason or None,
                location=signature.location or None,
            ),
            signer=signer,
            timestamper=timestamper,
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec(
                signature.field_name, on_page=-1, box=signature_box(signature.position)
            ),
        )
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        # A timestamp token's size depends on the authority: pyHanko measures it.
        reserved = None if timestamper else _bytes_reserved(signer, key)
        pdf = pdf_signer.sign_pdf(writer, bytes_reserved=reserved).getvalue()
    return pdf


def sign_pdf(pdf: bytes, material: SigningMaterial, *, reason: str, location: str) -> bytes:
    """The PDF with the centre's PAdES signature only (kept for documents no engineer signs)."""
    return sign_all(
        pdf,
        [centre_signature(material, reason=reason, location=location, appearance=[reason])],
    )


def signature_report(pdf: bytes, root_paths: list[Path]) -> list[dict]:
    """Each embedded signature: field, signer, signing time, intact, trusted, whole-file cover."""
    return _off_event_loop(_signature_report, pdf, root_paths)


def _signature_report(pdf: bytes, root_paths: list[Path]) -> list[dict]:
    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception:  # a damaged file is simply not a valid signed PDF
        return []
    roots = list(load_certs_from_pemder([str(p) for p in root_paths]))
    report = []
    for sig in embedded:
        entry = {
            "field": sig.field_name,
            "signer": "",
            "time": None,
            "intact": False,
            "valid": False,
            "covers_whole_file": False,
        }
        try:
            status = validate_pdf_signature(sig, ValidationContext(trust_roots=roots))
        except Exception:  # noqa: BLE001 - a signature that cannot be validated is not valid
            report.append(entry)
            continue
        entry.update(
            signer=status.signing_cert.subject.native.get("common_name", ""),
            time=status.signer_reported_dt,
            intact=bool(status.intact),
            valid=bool(status.intact and status.valid and status.trusted),
            covers_whole_file=status.coverage.name == "ENTIRE_FILE",
        )
        report.append(entry)
    return report


def signature_status(pdf: bytes, root_paths) -> dict:
    """Summary of every signature: signed at all, all intact, all valid, last covers the file."""
    if isinstance(root_paths, str | Path):
        root_paths = [Path(root_paths)]
    report = signature_report(pdf, list(root_paths))
    if not report:
        return {"signed": False, "intact": False, "valid": False, "covers_whole_file": False}
    return {
        "signed": True,
        "intact": all(s["intact"] for s in report),
        "valid": all(s["valid"] for s in report),
        "covers_whole_file": report[-1]["covers_whole_file"],
        "signatures": report,
    }
