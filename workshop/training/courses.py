"""The course catalogue, read from ``checklists/courses.toml`` (data, not code).

Plain Python (no Flask), so the CLI and the tests can validate the file on its own.
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from workshop.accounts.qualifications import qualification_types
from workshop.datafiles import DataFileError, cached_by_mtime, check_unique, load_model

COURSES_FILE = Path(__file__).resolve().parents[2] / "checklists" / "courses.toml"


class PassRules(BaseModel):
    """What a trainee must reach to pass: theory score, practical assessment, attendance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_theory_percent: int = Field(ge=0, le=100)
    practical_required: bool
    min_attendance_percent: int = Field(ge=0, le=100)


class Course(BaseModel):
    """A course of the catalogue and the qualifications it grants."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")
    title_th: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    hours: float = Field(gt=0, le=500)
    prerequisites: list[str] = []
    grants: list[str] = Field(min_length=1)
    syllabus_th: list[str] = Field(min_length=1)
    syllabus_en: list[str] = Field(min_length=1)
    pass_rules: PassRules

    def title(self, locale: str = "th") -> str:
        """The title in Thai or English."""
        return self.title_en if locale == "en" else self.title_th

    def syllabus(self, locale: str = "th") -> list[str]:
        """The syllabus topics in Thai or English."""
        return self.syllabus_en if locale == "en" else self.syllabus_th


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    course: list[Course] = Field(min_length=1)


class CourseFileError(DataFileError):
    """The course catalogue cannot be used: the file, the place and the problem."""


def load_courses(path: Path | str = COURSES_FILE) -> dict[str, Course]:
    """Every course by code, validated (qualification codes must exist); all or nothing."""
    path = Path(path)
    data = load_model(path, _File, CourseFileError)
    known = qualification_types()
    codes = [course.code for course in data.course]
    check_unique(path, CourseFileError, codes, "course", "code", "course code")
    for i, course in enumerate(data.course):
        for field in ("prerequisites", "grants"):
            for j, code in enumerate(getattr(course, field)):
                if code not in known:
                    raise CourseFileError(
                        path, f"course[{i}].{field}[{j}]", f"unknown qualification {code!r}"
                    )
    return {c.code: c for c in data.course}


_cached_courses = cached_by_mtime(load_courses)


def course_catalogue() -> dict[str, Course]:
    """The catalogue of the repository's courses file (re-read when it changes)."""
    return _cached_courses(COURSES_FILE)
