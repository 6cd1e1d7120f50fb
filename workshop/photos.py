"""One guard and one store for every uploaded image (job step photos, inspection findings).

The guard checks what an upload costs before paying for it: the number of files, their bytes,
then each file's header (format and dimensions, which Pillow reads without decoding) against
the pixel limit, and only then decodes the pixels. Every file of a request is checked before
any is stored, so a refused upload leaves nothing behind. Photos are stored by content hash
with a JPEG thumbnail; no Flask imports, so the CLI and tests use it as it is.
"""

import hashlib
import io
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, UnidentifiedImageError

from workshop.errors import DomainError
from workshop.filestore import FileStore

# Only these decoders ever run on an upload (Image.open is told so, the rest stay unused).
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMBNAIL_SIZE = (320, 320)
DEFAULT_MAX_BYTES = 12 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_FILES = 6

# What Pillow raises on a damaged or truncated file (it varies by format and stage).
_DAMAGED = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
_STRICT = threading.Lock()


class PhotoRefused(DomainError):
    """An upload the guard refuses; ``args[0]`` is the message for the user (lazy, translated)."""

    code = "photo"


@dataclass(frozen=True)
class PhotoLimits:
    """What one upload may cost: bytes per file, pixels per image, files per request."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_files: int = DEFAULT_MAX_FILES

    @classmethod
    def from_config(cls, config) -> "PhotoLimits":
        """The limits set by ``PHOTO_MAX_BYTES``, ``PHOTO_MAX_PIXELS`` and ``PHOTO_MAX_FILES``."""
        return cls(
            max_bytes=int(config.get("PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)),
            max_pixels=int(config.get("PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS)),
            max_files=int(config.get("PHOTO_MAX_FILES", DEFAULT_MAX_FILES)),
        )


@dataclass(frozen=True)
class CheckedPhoto:
    """An upload that passed the guard: its bytes, hash, type and size in pixels."""

    data: bytes
    sha256: str
    content_type: str
    width: int
    height: int


def set_decoder_limit(limits: PhotoLimits) -> None:
    """Make Pillow itself refuse images over the pixel limit (a second line behind the guard).

    Pillow warns above ``MAX_IMAGE_PIXELS`` and raises above twice that, in ``Image.open``,
    before decoding; the guard refuses both.
    """
    Image.MAX_IMAGE_PIXELS = limits.max_pixels


def _damaged():
    return PhotoRefused(_l("the file is not a JPEG, PNG or WebP photo, or it is damaged"))


def _too_many_pixels(limits: PhotoLimits):
    megapixels = f"{limits.max_pixels / 1_000_000:g}"
    return PhotoRefused(
        _l(
            "the photo has too many pixels; at most %(mp)s megapixels are accepted",
            mp=megapixels,
        )
    )


def _open(data: bytes) -> Image.Image:
    # Pillow warns (rather than raises) between MAX_IMAGE_PIXELS and twice that: a refusal too.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=list(PHOTO_FORMATS))


@contextmanager
def _strict_decoding():
    # WeasyPrint turns on LOAD_TRUNCATED_IMAGES for the whole process when it is imported; an
    # upload must be complete, so the guard decodes with it off (the lock keeps two uploads
    # from restoring each other's setting).
    with _STRICT:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


def check_header(data: bytes, limits: PhotoLimits) -> tuple[str, int, int]:
    """Format and dimensions from the file's header, refused when too large; nothing decoded."""
    if not data:
        raise PhotoRefused(_l("the file is empty"))
    if len(data) > limits.max_bytes:
        raise PhotoRefused(
            _l("the photo is larger than %(mb)d MB", mb=max(1, limits.max_bytes // 2**20))
        )
    try:
        with _open(data) as probe:
            kind, (width, height) = probe.format, probe.size
    except _BOMB:
        raise _too_many_pixels(limits) from None
    except _DAMAGED:
        raise _damaged() from None
    if kind not in PHOTO_FORMATS:
        raise _damaged()
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits)
    return kind, width, height


def check_photo(data: bytes, limits: PhotoLimits) -> CheckedPhoto:
    """Check one upload: header first (bytes, format, pixels), then decode it whole."""
    kind, width, height = check_header(data, limits)
    try:
        with _open(data) as probe:
            probe.verify()
        with _open(data) as image, _strict_decoding():
            image.load()
    except _BOMB:
        raise _too_many_pixels(limits) from None
    except _DAMAGED:
        raise _damaged() from None
    return CheckedPhoto(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=PHOTO_FORMATS[kind],
        width=width,
        height=height,
    )


PDF_MAGIC = b"%PDF-"
PDF_CONTENT_TYPE = "application/pdf"
# A PDF's last bytes hold its end-of-file marker (a few bytes of padding may follow).
_PDF_TAIL_BYTES = 1024


def is_pdf(data: bytes) -> bool:
    """Whether ``data`` claims to be a PDF (its first bytes)."""
    return data.startswith(PDF_MAGIC)


def check_document(data: bytes, limits: PhotoLimits) -> CheckedPhoto:
    """A PDF document (an invoice) where a manual's photo input accepts documents: bounded in
    bytes like a photo and complete (header and end-of-file marker); it is stored as it came and
    never parsed on the server."""
    if not data:
        raise PhotoRefused(_l("the file is empty"))
    if len(data) > limits.max_bytes:
        raise PhotoRefused(
            _l("the file is larger than %(mb)d MB", mb=max(1, limits.max_bytes // 2**20))
        )
    if not is_pdf(data) or b"%%EOF" not in data[-_PDF_TAIL_BYTES:]:
        raise PhotoRefused(_l("the PDF is incomplete or damaged"))
    return CheckedPhoto(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=PDF_CONTENT_TYPE,
        width=0,
        height=0,
    )


def check_photos(
    uploads: list[bytes], limits: PhotoLimits, *, documents: bool = False
) -> list[CheckedPhoto]:
    """Check every upload of one request; every header is read before any image is decoded.
    With ``documents`` a PDF is accepted beside photos (a purchase invoice)."""
    if len(uploads) > limits.max_files:
        raise PhotoRefused(
            _l("send at most %(n)d photos at once", n=limits.max_files)
            if limits.max_files > 1
            else _l("send one photo at a time")
        )
    for data in uploads:
        if documents and is_pdf(data):
            check_document(data, limits)
            continue
        try:
            check_header(data, limits)
        except PhotoRefused:
            if documents and data and not is_pdf(data):
                raise PhotoRefused(
                    _l("the file is not a PDF, JPEG, PNG or WebP file, or it is damaged")
                ) from None
            raise
    return [
        check_document(data, limits) if documents and is_pdf(data) else check_photo(data, limits)
        for data in uploads
    ]


def photo_path(folder: str | Path, sha256: str, *, thumbnail: bool = False) -> Path:
    """Where a photo (or its thumbnail) is kept in the file store: ``photos/ab/abcdef…``."""
    return FileStore(folder).path("photos", sha256, ".thumb.jpg" if thumbnail else "")


def store_photo(photo: CheckedPhoto, folder: str | Path) -> Path:
    """Keep a checked photo and its thumbnail (once per content); returns the photo's path."""
    store = FileStore(folder)
    if photo.content_type == PDF_CONTENT_TYPE:
        # A document has no thumbnail: pages show a PDF symbol and link to the file.
        store.put_bytes("photos", photo.data)
        return store.path("photos", photo.sha256)

    def thumbnail(part: Path) -> None:
        with _open(photo.data) as image:
            # Before loading: lets the JPEG decoder produce a reduced image straight away.
            image.thumbnail(THUMBNAIL_SIZE)
            image.convert("RGB").save(part, "JPEG", quality=80)

    store.write("photos", photo.sha256, ".thumb.jpg", thumbnail)
    store.put_bytes("photos", photo.data)
    return store.path("photos", photo.sha256)
