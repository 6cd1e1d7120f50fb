"""The inspector's physical inspection checklist (``checklists/inspection.toml``), validated on load.

Plain Python (no Flask): a broken file raises :class:`ChecklistError` naming the file, the place
inside it and the problem, and never half-loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workshop.datafiles import DataFileError, cached_by_mtime, check_unique, load_model

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKLIST_FILE = REPO_ROOT / "checklists" / "inspection.toml"

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
RESULTS = ("pass", "fail", "na")


class ChecklistError(DataFileError):
    """A checklist file that cannot be used: ``"FILE: LOCATION: PROBLEM"``."""


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


def load_checklist(path: str | Path | None = None) -> Checklist:
    """Read and validate the checklist; raise :class:`ChecklistError` on any problem."""
    path = Path(path) if path is not None else CHECKLIST_FILE
    checklist = load_model(path, Checklist, ChecklistError)
    check_unique(path, ChecklistError, [item.id for item in checklist.items], "items", "id", "id")
    for index, item in enumerate(checklist.items):
        if not any("\u0e00" <= c <= "\u0e7f" for c in item.title_th):
            raise ChecklistError(path, f"items[{index}].title_th", "Thai text expected")
    return checklist


_cached = cached_by_mtime(load_checklist)


def inspection_checklist() -> Checklist:
    """The checklist in ``checklists/inspection.toml``, re-read when the file changes."""
    return _cached(CHECKLIST_FILE)
