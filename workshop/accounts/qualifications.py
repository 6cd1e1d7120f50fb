"""Qualification types, read from ``checklists/qualifications.toml`` (data, not code)."""

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class QualificationFileError(ValueError):
    """The qualification types file cannot be used; the message names the place."""


@cache
def qualification_types(path: Path = QUALIFICATIONS_FILE) -> dict[str, QualificationType]:
    """Every qualification type by code."""
    try:
        data = _File.model_validate(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise QualificationFileError(f"{path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise QualificationFileError(f"{path}: {where}: {first['msg']}") from None
    codes = [q.code for q in data.qualification]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise QualificationFileError(f"{path}: duplicate codes {', '.join(duplicates)}")
    return {q.code: q for q in data.qualification}


def qualification_name(code: str, locale: str = "th") -> str:
    """The qualification's name in the reader's language (the code if the file does not know it)."""
    qualification = qualification_types().get(code)
    return qualification.name(locale) if qualification else code
