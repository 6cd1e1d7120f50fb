"""One store for every file the app keeps: job and inspection photos (and their thumbnails), EOL
traces and the report PDFs stored when a run ends, training certificate PDFs and evidence bundles.

Files are kept by content: ``<root>/<kind>/<ab>/<sha256><suffix>``, where ``ab`` is the first two
hex digits of the SHA-256 of the bytes. A file never changes once written (the same bytes give
the same name, other bytes another name), is written to a ``.part`` file first and renamed into
place, so a reader never sees half a file, and is private (the app's umask makes it 0600 in
0700 folders). Features name a *kind* and a digest and never build paths themselves, so another
backend (object storage) can take this interface's place without touching them.
"""

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from workshop.errors import DomainError

KINDS = frozenset(
    {"photos", "traces", "eol-reports", "calibration", "training-certificates", "evidence"}
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^(\.[a-z0-9]{1,8}){0,2}$")
_CHUNK = 1 << 20


class StoreError(DomainError):
    """A request the store refuses (an unknown kind, a malformed digest)."""

    code = "file_store"


def sha256_of_file(path: str | Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FileStore:
    """Content-addressed files under ``root`` (the app's ``UPLOAD_FOLDER``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @classmethod
    def from_config(cls, config) -> "FileStore":
        """The app's store."""
        return cls(config["UPLOAD_FOLDER"])

    def path(self, kind: str, sha256: str, suffix: str = "") -> Path:
        """Where the file of ``kind`` with this digest is (or would be) kept."""
        if kind not in KINDS:
            raise StoreError(f"unknown kind of stored file: {kind!r}")
        if not _SHA256.match(sha256 or ""):
            raise StoreError("a stored file is named by the SHA-256 of its bytes (64 hex digits)")
        if not _SUFFIX.match(suffix):
            raise StoreError(f"unusable file suffix {suffix!r}")
        return self.root / kind / sha256[:2] / f"{sha256}{suffix}"

    def exists(self, kind: str, sha256: str, suffix: str = "") -> bool:
        """Whether that file is kept."""
        return self.path(kind, sha256, suffix).is_file()

    def put_bytes(self, kind: str, data: bytes, suffix: str = "") -> str:
        """Keep ``data``; returns its SHA-256 (nothing is written when it is already kept)."""
        sha256 = hashlib.sha256(data).hexdigest()
        self.write(kind, sha256, suffix, lambda part: part.write_bytes(data))
        return sha256

    def put_file(self, kind: str, source: str | Path, suffix: str = "") -> str:
        """Move the file at ``source`` into the store; returns its SHA-256. When the same bytes
        are already kept, ``source`` is simply removed."""
        source = Path(source)
        sha256 = sha256_of_file(source)
        target = self.path(kind, sha256, suffix)
        if target.is_file():
            if source.resolve() != target.resolve():
                source.unlink()
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        shutil.move(str(source), part)  # a rename on one file system, a copy across two
        os.replace(part, target)
        return sha256

    def write(self, kind: str, sha256: str, suffix: str, writer: Callable[[Path], object]) -> Path:
        """Keep what ``writer`` writes to the path it is given, under ``sha256`` (for derived
        files named after their source, e.g. a photo's thumbnail); nothing when already kept."""
        target = self.path(kind, sha256, suffix)
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        writer(part)
        os.replace(part, target)
        return target
