"""Load and validate kits from ``kit_specs/<id>/`` (``kit.toml`` + the CAN database + the EOL limits).

Every problem becomes a :class:`KitError` naming the file, the place inside it (TOML key names and 0-based
array indices, e.g. ``bom[4].unit_cost``) and what is wrong. A broken kit never half-loads: either a whole
validated :class:`KitSpec` comes back, or an error.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from workshop.candb import DbcError, count_messages, parse_once
from workshop.datafiles import (
    WHOLE_FILE,
    DataFileError,
    common_problem,
    parse_toml,
    place,
    validation_error,
)
from workshop.jobs.signals import kits_offered
from workshop.kits import fields, ratings, spec
from workshop.kits.spec import KitFile, KitSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
KITS_DIR = REPO_ROOT / "kit_specs"
KIT_FILE = "kit.toml"

# Filled in by the loader from the folder; a file that sets them would be claiming something unchecked.
COMPUTED_KEYS = ("directory", "dbc_message_count", "fingerprint")


class KitError(DataFileError):
    """A kit that cannot be used: ``str()`` is ``"FILE: LOCATION: PROBLEM"``."""


class KitCheckError(KitError):
    """What the folder checks found wrong with a kit that loads: each of ``details`` is a line
    that names its own file and place (``jazz-ev1/eol.toml: signals.soc: ...``)."""


# --- public API --------------------------------------------------------------------------------------


def load_kit(directory: str | Path) -> KitSpec:
    """Parse and validate the kit in ``directory``; raise :class:`KitError` on any problem."""
    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise KitError(directory, WHOLE_FILE, "kit folder not found")
    kit_file = directory / KIT_FILE
    raw = _read_bytes(kit_file, kit_file, WHOLE_FILE, "kit.toml")
    data = _parse_toml(kit_file, raw)
    if not data:
        raise KitError(
            kit_file,
            WHOLE_FILE,
            "the file is empty: a kit needs id, version, [ratings] and [[bom]]",
        )
    for key in COMPUTED_KEYS:
        if key in data:
            raise KitError(
                kit_file, key, "is computed by the loader from the kit folder; remove it"
            )
    try:
        kit = KitFile.model_validate(data)
    except ValidationError as exc:
        raise _error_from_validation(kit_file, data, exc) from None
    if kit.id != directory.name:
        raise KitError(
            kit_file, "id", f"{kit.id!r} must equal the kit's folder name {directory.name!r}"
        )
    dbc_raw = _read_bytes(directory / kit.dbc, kit_file, "dbc", kit.dbc)
    message_count = _count_dbc_messages(directory / kit.dbc)
    eol_raw = _read_bytes(directory / kit.eol, kit_file, "eol", kit.eol)
    fingerprint = hashlib.sha256()
    for name, content in ((KIT_FILE, raw), (kit.dbc, dbc_raw), (kit.eol, eol_raw)):
        fingerprint.update(f"{name}\0{len(content)}\0".encode())
        fingerprint.update(content)
    for name, path in _named_by_eol(directory, eol_raw):
        _hash_file(fingerprint, name, path)
    # Sub-models are already validated instances; KitSpec keeps them as they are.
    return KitSpec.model_validate(
        {
            **dict(kit),
            "directory": directory,
            "dbc_message_count": message_count,
            "fingerprint": fingerprint.hexdigest(),
        }
    )


PROFILES_FOLDER = "_profiles"


def profile_path(name: str, kit_folder: Path) -> Path:
    """The limit profile ``name`` (``_profiles/<name>.toml``) a kit's eol.toml names: beside the
    kit's folder if the kit maker ships one, else the repository's."""
    for folder in (kit_folder.parent / PROFILES_FOLDER, KITS_DIR / PROFILES_FOLDER):
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    return KITS_DIR / PROFILES_FOLDER / f"{name}.toml"


def _named_by_eol(directory: Path, eol_raw: bytes) -> list[tuple[str, Path]]:
    """The files the kit's EOL definition names besides its DBC, for the fingerprint: its overlay
    DBCs and its limit profile (a change to either changes what a job's tests read). What cannot
    be read or parsed here is left to the EOL definition's loader, which refuses it by name."""
    try:
        eol = tomllib.loads(eol_raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    named = []
    overlays = eol.get("overlays")
    for overlay in overlays if isinstance(overlays, list) else []:
        if isinstance(overlay, str):
            named.append((f"overlay:{overlay}", directory / overlay))
    profile = eol.get("profile", "lfp")
    if isinstance(profile, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", profile):
        named.append((f"profile:{profile}", profile_path(profile, directory)))
    return named


def _hash_file(digest, name: str, path: Path) -> None:
    """Add ``path`` (its name, size and bytes, read in blocks: memory stays bounded whatever its
    size) to ``digest``; a file that cannot be read adds its name only."""
    try:
        with path.open("rb") as fh:
            digest.update(f"{name}\0{os.fstat(fh.fileno()).st_size}\0".encode())
            while block := fh.read(1 << 16):
                digest.update(block)
    except OSError:
        digest.update(f"{name}\0unreadable\0".encode())


def load_kits(root: str | Path | None = None) -> dict[str, KitSpec]:
    """Every kit under ``root`` (default ``kit_specs/``), keyed by id.

    Raises :class:`KitError` on the first broken kit, so nothing is returned from a broken set.
    """
    root = Path(root) if root is not None else KITS_DIR
    if not root.is_dir():
        raise KitError(root, WHOLE_FILE, "kits folder not found")
    return {kit.id: kit for kit in (load_kit(folder) for folder in _subfolders(root))}


def usable_kits(root: str | Path | None = None) -> tuple[dict[str, KitSpec], list[KitError]]:
    """The kits under ``root`` that load, keyed by id, and the errors of those that do not.

    For the web app: one broken kit folder must not take every page that lists kits down with it.
    ``workshop kits check`` (and ``load_kits``) still refuse a broken set outright.
    """
    root = Path(root) if root is not None else KITS_DIR
    if not root.is_dir():
        return {}, [KitError(root, WHOLE_FILE, "kits folder not found")]
    kits: dict[str, KitSpec] = {}
    problems: list[KitError] = []
    for folder in _subfolders(root):
        try:
            kit = load_kit(folder)
        except KitError as exc:
            problems.append(exc)
        else:
            kits[kit.id] = kit
    return kits, problems


@kits_offered.connect
def _offer_usable_kits(sender) -> dict[str, KitSpec]:
    """A new job may take every kit that loads (a broken kit folder is listed on the kits page,
    not a 500 on the intake form)."""
    return usable_kits()[0]


# Further checks of a loaded kit that other packages own (the EOL definition registers one, see
# workshop.eol.kitcheck): each takes the KitSpec and returns problem lines ("file: place: problem").
FOLDER_CHECKS: list[Callable[[KitSpec], list[str]]] = []


def register_folder_check(check: Callable[[KitSpec], list[str]]):
    """Add ``check`` to what ``workshop kits check`` runs on every kit that loads."""
    if check not in FOLDER_CHECKS:
        FOLDER_CHECKS.append(check)
    return check


# What a kit may go without but should not (a safety limit without its source): each takes the
# KitSpec and returns warning lines; `workshop kits check` prints them and still exits 0.
FOLDER_WARNINGS: list[Callable[[KitSpec], list[str]]] = []


def register_folder_warning(check: Callable[[KitSpec], list[str]]):
    """Add ``check`` to the warnings ``workshop kits check`` prints for every kit that loads."""
    if check not in FOLDER_WARNINGS:
        FOLDER_WARNINGS.append(check)
    return check


def folder_warnings(kit: KitSpec) -> list[str]:
    """Every warning of a kit that loads ("file: place: what is missing")."""
    return [line for check in FOLDER_WARNINGS for line in check(kit)]


def _folder_problems(kit: KitSpec) -> KitError | None:
    lines = [line for check in FOLDER_CHECKS for line in check(kit)]
    if not lines:
        return None
    return KitCheckError(
        kit.directory, WHOLE_FILE, lines[0], details=[(WHOLE_FILE, line) for line in lines]
    )


def check_kits(
    dirs: Iterable[str | Path] | None = None,
) -> list[tuple[Path, KitSpec | KitError]]:
    """Validate each kit independently and return ``(folder, KitSpec or KitError)`` per kit.

    No dirs (None or empty) means every kit in ``kit_specs/``. A folder holding a ``kit.toml`` is one kit;
    any other folder stands for the kit folders inside it.
    """
    folders: list[Path] = []
    for path in [Path(d) for d in dirs or ()] or [KITS_DIR]:
        if path.name == KIT_FILE and path.is_file():
            folders.append(path.parent)
        elif path.is_dir() and not (path / KIT_FILE).exists() and _subfolders(path):
            folders.extend(_subfolders(path))
        else:
            folders.append(path)
    results: list[tuple[Path, KitSpec | KitError]] = []
    for folder in folders:
        with parse_once():  # the kit's DBC, parsed for kit.toml, serves the EOL checks too
            try:
                kit = load_kit(folder)
            except KitError as exc:
                results.append((folder, exc))
                continue
            results.append((folder, _folder_problems(kit) or kit))
    return results


def summary_line(kit: KitSpec) -> str:
    """One line for ``workshop kits check``: id, version, BOM lines, cost excl. battery, DBC messages."""
    return (
        f"{kit.id}  v{kit.version}  {len(kit.bom)} BOM lines"
        f"  cost excl. battery {kit.cost_excluding_battery:,.2f} THB"
        f"  {kit.dbc_message_count} DBC messages"
    )


# --- reading -----------------------------------------------------------------------------------------


def _subfolders(root: Path) -> list[Path]:
    # Hidden and underscore folders (editor backups, __pycache__) are not kits.
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _read_bytes(path: Path, named_in: Path, location: str, name: str) -> bytes:
    """The bytes of ``path``; a problem is reported against ``named_in`` at ``location``."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KitError(named_in, location, f"file {name!r} not found in {path.parent}") from None
    except IsADirectoryError:
        raise KitError(named_in, location, f"{name!r} is a folder, not a file") from None
    except OSError as exc:
        raise KitError(named_in, location, f"cannot read {name!r}: {exc.strerror}") from None


def _parse_toml(path: Path, raw: bytes) -> dict[str, Any]:
    # Costs must reach the schema exactly as written: Decimal, never float.
    return parse_toml(path, raw, KitError, parse_float=Decimal)


def _count_dbc_messages(path: Path) -> int:
    """Load the DBC with cantools; its complaint becomes the problem. Overlapping signals alone
    are left to the EOL definition (``non_strict`` in eol.toml decides, and `workshop kits
    check` applies it through the EOL checks)."""
    try:
        try:
            count = count_messages(path)
        except DbcError as exc:
            if "overlap" not in str(exc).lower():
                raise
            count = count_messages(path, strict=False)
    except DbcError as exc:
        location = f"line {exc.line}, column {exc.column}" if exc.line else WHOLE_FILE
        why = "cantools cannot load it" if exc.by_cantools else "not a usable CAN database"
        raise KitError(path, location, f"{why}: {exc}") from None
    if not count:
        raise KitError(
            path, WHOLE_FILE, "defines no messages; the EOL tests need the kit's messages"
        )
    return count


# --- turning pydantic errors into KitError -----------------------------------------------------------


def _field_names() -> set[str]:
    models = [
        m
        for module in (spec, ratings)
        for m in vars(module).values()
        if isinstance(m, type) and issubclass(m, BaseModel)
    ]
    return {name for model in models for name in model.model_fields}


_FIELD_NAMES = _field_names()

_PATTERN_HELP = {
    fields.SLUG_PATTERN: "use lowercase letters, digits and single hyphens, e.g. 'vios-ev1'",
    fields.VERSION_PATTERN: "use a version like '1.2'",
    fields.PART_NUMBER_PATTERN: "use FAMILY-CAT-NNNN, e.g. 'VS1-MOT-0001' or 'EVC-CHG-0001'",
    fields.FILE_NAME_PATTERN: "use a plain file name inside the kit folder, e.g. 'vehicle.dbc'",
}

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "tuple_type": "an array",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dict_type": "a table",
}

_BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}


def _show(value: object) -> str:
    # A TOML float arrives as Decimal; show it as the file wrote it, not as Decimal('2.5').
    return str(value) if isinstance(value, Decimal) else repr(value)


def _problem(error: dict[str, Any]) -> str:
    kind, ctx, value, loc = error["type"], error.get("ctx") or {}, error.get("input"), error["loc"]
    common = common_problem(error, _FIELD_NAMES, own_kind="kit")
    if common:
        return common
    if kind == "literal_error":
        field = next((item for item in reversed(loc) if isinstance(item, str)), "value")
        return f"unknown {field} {_show(value)}; expected one of {ctx.get('expected')}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {fields.toml_type(value)} {_show(value)}"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        return f"{value!r} is not valid here: {_PATTERN_HELP.get(pattern, f'must match {pattern}')}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entries, got {ctx.get('actual_length')}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "")
        return f"must be {_BOUNDS[kind]} {bound}, got {_show(value)}"
    return error["msg"].removeprefix("Value error, ")


_BOM_LINE = re.compile(r"^bom\[(\d+)\]")


def _part_hint(location: str, data: dict[str, Any]) -> str:
    """The part number of the BOM line a location is in, so a reader can search the file for it."""
    match = _BOM_LINE.match(location)
    try:
        part_number = data["bom"][int(match[1])]["part_number"] if match else None
    except (KeyError, IndexError, TypeError):
        return ""
    return f"part {part_number!r}" if isinstance(part_number, str) else ""


def _error_from_validation(path: Path, data: dict[str, Any], exc: ValidationError) -> KitError:
    def location(error: dict[str, Any]) -> str:
        where = (error.get("ctx") or {}).get("where", "") if error["type"] == "kit" else ""
        return place(error["loc"], where)

    return validation_error(
        path,
        exc,
        KitError,
        location=location,
        problem=_problem,
        hint=lambda where: _part_hint(where, data),
    )
