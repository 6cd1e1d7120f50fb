"""What the data-file loaders (manuals, kits) share: one error shape and TOML parsing that
reports positions as a location a person can find."""

import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

WHOLE_FILE = "(file)"
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


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
