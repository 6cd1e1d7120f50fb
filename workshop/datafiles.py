"""The one data-file framework: every TOML file of the repository (manuals, kits, EOL definitions,
courses, qualifications, the inspection checklist, energy, duties) is read, validated and cached
here, and every problem is one :class:`DataFileError` naming the file, the place and the rule.

- :func:`read_data_bytes` / :func:`read_data_file`: the file's bytes (capped), decoded as UTF-8
  TOML; an unreadable file or a syntax error names the line and column.
- :func:`validation_error`: a pydantic ``ValidationError`` as a DataFileError listing every
  problem, unknown fields first (a typo also makes the real field "missing"); the place is written
  as in the file, ``course[0].grants[1]``.
- :func:`load_model`: both at once, for a file described by one pydantic model.
- :func:`cached_by_mtime`: one cache for every loader, re-read when the file changes.

Features subclass DataFileError (``ManualError``, ``KitError``, ``CourseFileError`` ...) only to
name which file went wrong; the shape is the same everywhere.
"""

import difflib
import functools
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

WHOLE_FILE = "(file)"
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


# A data file is a few kilobytes; a file far larger is a mistake (or an attack), not a manual.
MAX_DATA_FILE_BYTES = 4 * 1024 * 1024
Model = TypeVar("Model", bound=BaseModel)


class DataFileError(Exception):
    """A data file that cannot be used: ``str()`` is ``"FILE: LOCATION: PROBLEM"``.

    ``details`` lists every (location, problem) found, the first one being ``location``/``problem``.
    """

    def __init__(
        self,
        file: str | Path,
        location: str,
        problem: str,
        details: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(file, location, problem, tuple(details))
        self.file = Path(file)
        self.location = location
        self.problem = problem
        self.details: tuple[tuple[str, str], ...] = tuple(details) or ((location, problem),)

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: {self.problem}"


def parse_toml(
    path: Path,
    raw: bytes,
    error: type[DataFileError],
    parse_float: Callable[[str], Any] = float,
) -> dict[str, Any]:
    """Decode UTF-8 TOML; a problem raises ``error`` with the line and column as its location."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            path, WHOLE_FILE, f"not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text, parse_float=parse_float)
    except tomllib.TOMLDecodeError as exc:
        # tomllib only reports the position inside its message: move it to the location.
        message = str(exc)
        match = _TOML_POSITION.search(message)
        location = WHOLE_FILE
        if match:
            message = message[: match.start()]
            location = f"line {match[1]}, column {match[2]}" if match[1] else "end of file"
        raise error(path, location, f"TOML syntax error: {message}") from None


def read_data_bytes(path: str | Path, error: type[DataFileError] = DataFileError) -> bytes:
    """The bytes of a data file (at most ``MAX_DATA_FILE_BYTES``); a problem raises ``error``."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_DATA_FILE_BYTES + 1)
    except FileNotFoundError:
        raise error(path, WHOLE_FILE, "file not found") from None
    except IsADirectoryError:
        raise error(path, WHOLE_FILE, "is a folder, not a file") from None
    except OSError as exc:
        raise error(path, WHOLE_FILE, f"cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_DATA_FILE_BYTES:
        raise error(path, WHOLE_FILE, f"larger than {MAX_DATA_FILE_BYTES // 1024 // 1024} MB")
    return raw


def read_data_file(
    path: str | Path,
    error: type[DataFileError] = DataFileError,
    parse_float: Callable[[str], Any] = float,
) -> dict[str, Any]:
    """The TOML table in ``path``; any problem raises ``error`` naming the file and the place."""
    path = Path(path)
    return parse_toml(path, read_data_bytes(path, error), error, parse_float=parse_float)


def place(loc: Sequence[Any], where: str = "") -> str:
    """A pydantic location as written in the file: ``course[0].grants[1]`` (``where`` appended)."""
    text = ""
    for item in loc:
        text += f"[{item}]" if isinstance(item, int) else f".{item}"
    if where:
        text += where if where.startswith("[") else f".{where}"
    return text.lstrip(".") or WHOLE_FILE


def common_problem(
    error: dict[str, Any], field_names: Sequence[str] = (), own_kind: str = ""
) -> str | None:
    """The wording every data file shares for a missing or unknown field, and for a rule of the
    file's own (a ``PydanticCustomError`` of ``own_kind`` whose context holds ``problem``);
    ``None`` for other kinds. An unknown field close to a real one asks whether that one was
    meant."""
    if own_kind and error["type"] == own_kind:
        return (error.get("ctx") or {})["problem"]
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "extra_forbidden":
        name = str(error["loc"][-1])
        close = difflib.get_close_matches(name, list(field_names), n=1, cutoff=0.75)
        return f"unknown field {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    return None


def _noise(error: dict[str, Any]) -> bool:
    """pydantic also reports a list as too short when only its items failed: that is noise."""
    return (
        error["type"] == "too_short"
        and isinstance(error["input"], list | tuple)
        and len(error["input"]) >= (error.get("ctx") or {}).get("min_length", 0)
    )


def validation_error(
    path: str | Path,
    exc: ValidationError,
    error: type[DataFileError] = DataFileError,
    *,
    location: Callable[[dict[str, Any]], str] | None = None,
    problem: Callable[[dict[str, Any]], str] | None = None,
    hint: Callable[[str], str] | None = None,
) -> DataFileError:
    """Every problem pydantic found, unknown fields first. A loader with richer models (manuals,
    kits) words them its own way: ``location`` and ``problem`` of one pydantic error, ``hint`` of
    a location (``"step 'hv-01'"``, added to the problem as "(in step 'hv-01')")."""
    errors = [e for e in exc.errors(include_url=False) if not _noise(e)] or exc.errors()
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    details = []
    for e in errors:
        where = location(e) if location else place(e["loc"])
        what = problem(e) if problem else e["msg"]
        owner = hint(where) if hint else ""
        if owner and owner.split(" ", 1)[-1] not in what:
            what = f"{what} (in {owner})"
        details.append((where, what))
    first_location, first_problem = details[0]
    return error(path, first_location, first_problem, details)


def load_model(
    path: str | Path,
    model: type[Model],
    error: type[DataFileError] = DataFileError,
    parse_float: Callable[[str], Any] = float,
) -> Model:
    """Read ``path`` and validate it as ``model``; every problem raises ``error``."""
    data = read_data_file(path, error, parse_float=parse_float)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(path, exc, error) from None


def check_unique(
    path: str | Path,
    error: type[DataFileError],
    values: Sequence[Any],
    table: str,
    field: str,
    what: str,
) -> None:
    """Refuse the second of two equal ``values`` (``table[i].field``), naming the first one."""
    seen: dict[Any, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            raise error(
                path,
                f"{table}[{index}].{field}",
                f"duplicate {what} {value!r} (also {table}[{seen[value]}])",
            )
        seen[value] = index


def cached_by_mtime(loader: Callable[[Path], Any]) -> Callable[[str | Path], Any]:
    """``loader(path)`` remembered per file and re-run when the file changes (its modification
    time or size), so an edited checklist or course file is seen without a restart. A missing
    file is left to the loader to report."""

    @functools.lru_cache(maxsize=32)
    def remembered(path: str, mtime_ns: int, size: int):
        return loader(Path(path))

    @functools.wraps(loader)
    def cached(path: str | Path):
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            return loader(path)
        return remembered(str(path.resolve()), stat.st_mtime_ns, stat.st_size)

    cached.cache_clear = remembered.cache_clear  # type: ignore[attr-defined]
    return cached
