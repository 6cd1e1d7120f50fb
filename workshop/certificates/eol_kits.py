"""The EOL kit definitions a certificate reads (limits' sources, the certificate policy), kept in
memory while the kit's files stay byte for byte the same.

Loading a kit parses its DBC files (tens of milliseconds); the issuing rule, the safety table and
the waivers of every certificate read the same few kits. The files are read and hashed on every
use (a millisecond), so an edited eol.toml, DBC or limit profile is loaded afresh.
"""

import hashlib
import threading
from pathlib import Path

from workshop.eol import definitions, profiles

_lock = threading.Lock()
# kit id -> (fingerprint of its files, definition): one entry per kit, the latest
_loaded: dict[str, tuple[str, object]] = {}


def _fingerprint(kit_id: str) -> str:
    root = definitions.kit_specs_root()
    folder = root / kit_id
    digest = hashlib.sha256(str(folder.resolve()).encode())
    # The kit's own files and the limit profiles it may name (beside it or the repository's).
    shared = profiles.kit_specs_root() / profiles.PROFILES_FOLDER
    for base in (folder, root / profiles.PROFILES_FOLDER, shared):
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
        for path in files:
            digest.update(str(path.resolve()).encode() + b"\0")
            digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()


def eol_kit(kit_id: str):
    """The kit's validated EOL definition, or None when it does not load (raises nothing)."""
    fingerprint = _fingerprint(kit_id)
    with _lock:
        cached = _loaded.get(kit_id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    try:
        kit = definitions.load_kit(kit_id)
    except definitions.EolDefinitionError:
        return None
    with _lock:
        _loaded[kit_id] = (fingerprint, kit)
    return kit
