"""Load and validate conversion manuals from ``checklists/manuals/*.toml``.

Every problem becomes a :class:`ManualError` naming the file, the place inside it (TOML key names and
0-based array indices, e.g. ``sections[2].steps[4].inputs[0].max``) and what is wrong. A broken file
never half-loads: either a whole validated :class:`Manual` comes back, or an error.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workshop.datafiles import (
    WHOLE_FILE,
    DataFileError,
    check_unique,
    common_problem,
    parse_toml,
    read_data_bytes,
    read_data_file,
    validation_error,
)
from workshop.instrument_kinds import instrument_kinds
from workshop.manuals import schema
from workshop.manuals.schema import Manual

REPO_ROOT = Path(__file__).resolve().parents[2]
MANUALS_DIR = REPO_ROOT / "checklists" / "manuals"
QUALIFICATIONS_FILE = REPO_ROOT / "checklists" / "qualifications.toml"


class ManualError(DataFileError):
    """A manual that cannot be used: ``str()`` is ``"FILE: LOCATION: PROBLEM"``."""


# --- public API --------------------------------------------------------------------------------------


def load_qualification_codes(path: str | Path | None = None) -> set[str]:
    """The qualification codes defined in ``checklists/qualifications.toml`` (or ``path``)."""
    path = Path(path) if path is not None else QUALIFICATIONS_FILE
    data = _read_toml(path)
    try:
        parsed = _QualificationFile.model_validate(data)
    except ValidationError as exc:
        raise _error_from_validation(path, data, exc) from None
    codes = [entry.code for entry in parsed.qualification]
    check_unique(path, ManualError, codes, "qualification", "code", "code")
    return set(codes)


def load_manual(path: str | Path, *, qualification_codes: Iterable[str] | None = None) -> Manual:
    """Parse and validate one manual file; raise :class:`ManualError` on any problem.

    ``qualification_codes`` defaults to the codes in ``checklists/qualifications.toml``.
    """
    path = Path(path)
    codes = load_qualification_codes() if qualification_codes is None else set(qualification_codes)
    raw = read_data_bytes(path, ManualError)
    data = parse_toml(path, raw, ManualError)
    if not data:
        raise ManualError(
            path,
            WHOLE_FILE,
            "the file is empty: a manual needs id, version, [model] and [[sections]]",
        )
    if "fingerprint" in data:
        raise ManualError(
            path, "fingerprint", "is computed from the file's bytes by the loader; remove this key"
        )
    data["fingerprint"] = hashlib.sha256(raw).hexdigest()
    context = {
        "qualification_codes": codes,
        "file_stem": path.stem,
        "instrument_kinds": set(instrument_kinds()),
    }
    try:
        return Manual.model_validate(data, context=context)
    except ValidationError as exc:
        raise _error_from_validation(path, data, exc) from None


def load_manuals(
    directory: str | Path | None = None, *, qualification_codes: Iterable[str] | None = None
) -> dict[str, Manual]:
    """Every ``*.toml`` manual in ``directory`` (default ``checklists/manuals``), keyed by id.

    Raises :class:`ManualError` on the first broken file, so nothing is returned from a broken set.
    """
    directory = Path(directory) if directory is not None else MANUALS_DIR
    if not directory.is_dir():
        raise ManualError(directory, WHOLE_FILE, "manuals directory not found")
    codes = load_qualification_codes() if qualification_codes is None else set(qualification_codes)
    return {
        manual.id: manual
        for manual in (
            load_manual(path, qualification_codes=codes)
            for path in sorted(directory.glob("*.toml"))
        )
    }


_catalogue: dict[tuple, dict[str, Manual]] = {}


def manual_catalogue() -> dict[str, Manual]:
    """The manuals of ``checklists/manuals``, parsed once and again only when a file changes
    (the intake form lists them on every request; parsing them all takes most of a second)."""
    files = [*sorted(MANUALS_DIR.glob("*.toml")), QUALIFICATIONS_FILE]
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists())
    if key not in _catalogue:
        manuals = load_manuals()
        _catalogue.clear()
        _catalogue[key] = manuals
    return _catalogue[key]


def check_manuals(
    paths: Iterable[str | Path] | None = None, *, qualification_codes: Iterable[str] | None = None
) -> list[tuple[Path, Manual | ManualError]]:
    """Validate each file independently and return ``(path, Manual or ManualError)`` per file.

    No paths (None or empty) means every manual in ``checklists/manuals``; a directory stands for its
    ``*.toml`` files. A broken qualifications file raises :class:`ManualError`, since no manual could
    be judged without it.
    """
    files: list[Path] = []
    for path in [Path(p) for p in paths or ()] or [MANUALS_DIR]:
        files.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
    codes = load_qualification_codes() if qualification_codes is None else set(qualification_codes)
    results: list[tuple[Path, Manual | ManualError]] = []
    for path in files:
        try:
            results.append((path, load_manual(path, qualification_codes=codes)))
        except ManualError as exc:
            results.append((path, exc))
    return results


def summary_line(manual: Manual) -> str:
    """One line for ``workshop manuals check``: ``id  make model  vVERSION  N sections  M steps``."""
    return (
        f"{manual.id}  {manual.model.make} {manual.model.model}  v{manual.version}"
        f"  {len(manual.sections)} sections  {len(manual.steps)} steps"
    )


def format_check_result(path: Path, result: Manual | ManualError) -> str:
    """The CLI line for one ``check_manuals`` result: a summary or the error."""
    return summary_line(result) if isinstance(result, Manual) else str(result)


# --- reading -----------------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    data = read_data_file(path, ManualError)
    if not data:
        raise ManualError(path, WHOLE_FILE, "the file is empty")
    return data


class _QualificationEntry(BaseModel):
    # Other features read more of this file (names, validity); here only the codes matter.
    model_config = ConfigDict(extra="ignore", frozen=True)
    code: schema.QualificationCode


class _QualificationFile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    qualification: Annotated[tuple[_QualificationEntry, ...], Field(min_length=1)]


# --- turning pydantic errors into ManualError ----------------------------------------------------


def _all_field_names() -> set[str]:
    models = [
        Manual,
        schema.VehicleModel,
        schema.Section,
        schema.Step,
        schema.ChoiceOption,
        *[m for m in vars(schema).values() if isinstance(m, type) and issubclass(m, schema._Input)],
    ]
    return {name for model in models for name in model.model_fields}


_FIELD_NAMES = _all_field_names()

_PATTERN_HELP = {
    schema.SLUG_PATTERN: "use lowercase letters, digits and single hyphens, e.g. 'hv-prep-03'",
    schema.KEY_PATTERN: "use lowercase letters, digits and underscores, starting with a letter,"
    " e.g. 'odometer_km'",
    schema.VERSION_PATTERN: "use a version like '1.2'",
    schema.PART_NUMBER_PATTERN: "use letters, digits and . _ / -",
    schema.FINGERPRINT_PATTERN: "use 64 lowercase hex digits",
}

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "an array",
    "tuple_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}

_SINGULAR = {"hazards": "hazard", "depends_on": "step id", "options": "option"}


def _toml_type(value: object) -> str:
    """The TOML name of a parsed value's type, so messages speak the file's language."""
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    names[dict] = "table"
    for python_type, name in names.items():
        if type(value) is python_type:
            return name
    return type(value).__name__


def _format_location(loc: tuple[Any, ...], where: str = "") -> str:
    tokens: list[str] = []
    for index, item in enumerate(loc):
        if isinstance(item, int):
            if tokens:
                tokens[-1] += f"[{item}]"
            else:
                tokens.append(f"[{item}]")
        # A discriminated union puts the tag after the index ("inputs", 0, "torque", ...);
        # it is not a key in the file, so it is dropped.
        elif (
            item in schema.INPUT_TYPES
            and index >= 2
            and loc[index - 2] == "inputs"
            and isinstance(loc[index - 1], int)
        ):
            continue
        else:
            tokens.append(str(item))
    if where:
        tokens.append(where)
    return ".".join(tokens) or WHOLE_FILE


def _field_name(loc: tuple[Any, ...]) -> str:
    for item in reversed(loc):
        if isinstance(item, str) and item not in schema.INPUT_TYPES:
            return _SINGULAR.get(item, item) if isinstance(loc[-1], int) else item
    return "value"


def _describe_problem(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    loc = error["loc"]
    common = common_problem(error, _FIELD_NAMES, own_kind="manual")
    if common:
        return common
    if kind == "union_tag_not_found":
        return "required field is missing: the input type, one of " + ", ".join(schema.INPUT_TYPES)
    if kind == "union_tag_invalid":
        return f"unknown input type {ctx.get('tag')!r}; expected one of " + ", ".join(
            schema.INPUT_TYPES
        )
    if kind == "literal_error":
        return f"unknown {_field_name(loc)} {value!r}; expected one of {ctx.get('expected')}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_toml_type(value)} {value!r}"
    if kind == "string_pattern_mismatch":
        help_text = _PATTERN_HELP.get(ctx.get("pattern", ""), f"must match {ctx.get('pattern')}")
        return f"{value!r} is not valid here: {help_text}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} entries, got {ctx.get('actual_length')}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        words = {
            "greater_than": "greater than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {words} {bound}, got {value!r}"
    message = error["msg"]
    return message.removeprefix("Value error, ")


_STEP_IN_LOCATION = re.compile(r"^sections\[(\d+)\](?:\.steps\[(\d+)\])?")


def _owner_hint(location: str, data: dict[str, Any]) -> str:
    """Which step (or section) a location is in, by id, so a reader can search the file for it."""
    match = _STEP_IN_LOCATION.match(location)
    if not match:
        return ""
    try:
        section = data["sections"][int(match[1])]
        if match[2] is None:
            return f"section {section['id']!r}" if isinstance(section.get("id"), str) else ""
        step = section["steps"][int(match[2])]
        return f"step {step['id']!r}" if isinstance(step.get("id"), str) else ""
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def _error_from_validation(path: Path, data: dict[str, Any], exc: ValidationError) -> ManualError:
    def location(error: dict[str, Any]) -> str:
        where = (error.get("ctx") or {}).get("where", "") if error["type"] == "manual" else ""
        if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
            where = "type"
        return _format_location(error["loc"], where)

    return validation_error(
        path,
        exc,
        ManualError,
        location=location,
        problem=_describe_problem,
        hint=lambda where: _owner_hint(where, data),
    )
