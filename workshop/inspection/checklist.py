"""The inspector's physical inspection checklist (``checklists/inspection.toml``), validated on load.

Plain Python (no Flask): a broken file raises :class:`ChecklistError` naming the file, the place
inside it and the problem, and never half-loads.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKLIST_FILE = REPO_ROOT / "checklists" / "inspection.toml"

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
RESULTS = ("pass", "fail", "na")


class ChecklistError(Exception):
    """A checklist file that cannot be used: ``"FILE: LOCATION: PROBLEM"``."""

    def __init__(self, file: Path, location: str, problem: str):
        super().__init__(f"{file}: {location}: {problem}")
        self.file, self.location, self.problem = file, location, problem


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChecklistItem(_Model):
    """One thing the inspector checks on the car."""

    id: Key
    branch: Literal["general", "mechanical", "electrical"]
    title_th: Text
    title_en: Text
    guidance_th: Text = ""
    guidance_en: Text = ""

    def title(self, locale: str = "th") -> str:
        """The item's title in ``locale``."""
        return self.title_en if str(locale).startswith("en") else self.title_th

    def guidance(self, locale: str = "th") -> str:
        """The item's guidance in ``locale``."""
        return self.guidance_en if str(locale).startswith("en") else self.guidance_th


class Checklist(_Model):
    """The whole checklist, versioned."""

    version: Annotated[str, StringConstraints(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")]
    title_th: Text
    title_en: Text
    items: Annotated[tuple[ChecklistItem, ...], Field(min_length=1)]

    def item(self, item_id: str) -> ChecklistItem:
        """The item ``item_id``; KeyError when there is none."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


def _location(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def load_checklist(path: str | Path | None = None) -> Checklist:
    """Read and validate the checklist; raise :class:`ChecklistError` on any problem."""
    path = Path(path) if path is not None else CHECKLIST_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ChecklistError(path, "(file)", f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ChecklistError(path, "(file)", f"not valid TOML: {exc}") from None
    try:
        checklist = Checklist.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ChecklistError(path, _location(first["loc"]), first["msg"]) from None
    seen: dict[str, int] = {}
    for index, item in enumerate(checklist.items):
        if item.id in seen:
            raise ChecklistError(
                path,
                f"items[{index}].id",
                f"duplicate id {item.id!r} (also items[{seen[item.id]}])",
            )
        seen[item.id] = index
        if not any("\u0e00" <= c <= "\u0e7f" for c in item.title_th):
            raise ChecklistError(path, f"items[{index}].title_th", "Thai text expected")
    return checklist


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> Checklist:
    return load_checklist(path)


def inspection_checklist() -> Checklist:
    """The checklist in ``checklists/inspection.toml``, re-read when the file changes."""
    return _cached(str(CHECKLIST_FILE), CHECKLIST_FILE.stat().st_mtime_ns)
