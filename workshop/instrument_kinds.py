"""Kinds of calibrated measuring instrument, read from ``checklists/instruments.toml`` (data, not
code). Manuals name a kind on a measurement; each centre registers its instruments of each kind."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from workshop.datafiles import DataFileError, cached_by_mtime, check_unique, load_model

INSTRUMENTS_FILE = Path(__file__).resolve().parents[1] / "checklists" / "instruments.toml"


class InstrumentKind(BaseModel):
    """A kind of instrument and its usual calibration interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)
    name_th: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    calibration_months: int = Field(gt=0, le=60)

    def name(self, locale: object = "th") -> str:
        """The name in Thai or English."""
        return self.name_en if str(locale).startswith("en") else self.name_th


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: list[InstrumentKind] = Field(min_length=1)


class InstrumentKindsError(DataFileError):
    """The instrument kinds file cannot be used: the file, the place and the problem."""


def load_instrument_kinds(path: Path = INSTRUMENTS_FILE) -> dict[str, InstrumentKind]:
    """Every instrument kind by id, validated; all or nothing."""
    data = load_model(path, _File, InstrumentKindsError)
    check_unique(path, InstrumentKindsError, [k.id for k in data.kind], "kind", "id", "id")
    return {k.id: k for k in data.kind}


_cached = cached_by_mtime(load_instrument_kinds)


def instrument_kinds(path: Path = INSTRUMENTS_FILE) -> dict[str, InstrumentKind]:
    """Every instrument kind by id (re-read when the file changes)."""
    return _cached(path)


def kind_name(kind: str, locale: object = "th") -> str:
    """The kind's name in the reader's language (the id if the file does not know it)."""
    found = instrument_kinds().get(kind)
    return found.name(locale) if found else kind
