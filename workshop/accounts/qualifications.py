"""Qualification types, read from ``checklists/qualifications.toml`` (data, not code)."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from workshop.datafiles import DataFileError, cached_by_mtime, check_unique, load_model

QUALIFICATIONS_FILE = Path(__file__).resolve().parents[2] / "checklists" / "qualifications.toml"


class QualificationType(BaseModel):
    """A kind of qualification and how long a grant of it stays valid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_th: str
    name_en: str
    validity_months: int = Field(gt=0, le=120)

    def name(self, locale: str = "th") -> str:
        """The name in Thai or English."""
        return self.name_en if locale == "en" else self.name_th


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    qualification: list[QualificationType] = Field(min_length=1)


class QualificationFileError(DataFileError):
    """The qualification types file cannot be used: the file, the place and the problem."""


def load_qualification_types(path: Path = QUALIFICATIONS_FILE) -> dict[str, QualificationType]:
    """Every qualification type by code, validated; all or nothing."""
    data = load_model(path, _File, QualificationFileError)
    codes = [q.code for q in data.qualification]
    check_unique(path, QualificationFileError, codes, "qualification", "code", "code")
    return {q.code: q for q in data.qualification}


_cached_types = cached_by_mtime(load_qualification_types)


def qualification_types(path: Path = QUALIFICATIONS_FILE) -> dict[str, QualificationType]:
    """Every qualification type by code (re-read when the file changes)."""
    return _cached_types(path)


def qualification_name(code: str, locale: str = "th") -> str:
    """The qualification's name in the reader's language (the code if the file does not know it)."""
    qualification = qualification_types().get(code)
    return qualification.name(locale) if qualification else code
