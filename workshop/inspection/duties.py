"""Separation of duties on a job, as data (``checklists/duties.toml``), validated on load.

The rules say which duties one person may not combine on one job (the inspector has not
worked on the car; two engineers sign off). :func:`violations` finds broken rules from what the
job's records say; :func:`check_duty` refuses an action that would break one. Plain Python
with the database models, no Flask.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workshop.datafiles import DataFileError, cached_by_mtime, check_unique, load_model
from workshop.extensions import db

DUTIES_FILE = Path(__file__).resolve().parents[2] / "checklists" / "duties.toml"
Duty = Literal[
    "inspector",
    "signed_step",
    "countersigned_step",
    "ran_eol",
    "signoff_mechanical",
    "signoff_electrical",
]
RoleName = Literal["technician", "supervisor", "trainer", "inspector", "admin"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5)]


class DutiesError(DataFileError):
    """``checklists/duties.toml`` cannot be used: file, place and rule."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Model):
    """Whoever holds ``who`` on a job holds none of ``not_`` (``not`` in the file)."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    who: Duty
    not_: tuple[Duty, ...] = Field(alias="not", min_length=1)
    roles: tuple[tuple[RoleName, ...], ...] = ()
    text_th: Text
    text_en: Text

    def text(self, locale: object = "th") -> str:
        """The rule in words."""
        return self.text_en if str(locale).startswith("en") else self.text_th


class DutiesFile(_Model):
    format: Literal[1]
    rule: tuple[Rule, ...] = Field(min_length=1)


def load_duties(path: Path = DUTIES_FILE) -> tuple[Rule, ...]:
    """The rules, or DutiesError naming the file, the place and what is wrong."""
    rules = load_model(path, DutiesFile, DutiesError).rule
    check_unique(path, DutiesError, [r.id for r in rules], "rule", "id", "rule id")
    for i, rule in enumerate(rules):
        if rule.who in rule.not_:
            raise DutiesError(path, f"rule[{i}].not", f"'{rule.who}' cannot exclude itself")
    return rules


_cached_rules = cached_by_mtime(load_duties)


def duty_rules() -> tuple[Rule, ...]:
    """The deployment's rules (re-read when the file changes)."""
    return _cached_rules(DUTIES_FILE)


@dataclass(frozen=True)
class Violation:
    """A broken rule: the rule and the person holding the conflicting duties."""

    rule: Rule
    user_id: int
    duties: tuple[str, ...]


def job_duties(job) -> dict[int, set[str]]:
    """Who did what on ``job``, from its records: user id -> duties."""
    from workshop.eol.models import EolRun
    from workshop.inspection.models import EngineerSignoff, Inspection, SignoffWithdrawal
    from workshop.jobs.models import Countersign, StepRecord

    held: dict[int, set[str]] = defaultdict(set)
    for (user_id,) in db.session.execute(
        sa.select(StepRecord.user_id).where(StepRecord.job_id == job.id).distinct()
    ):
        held[user_id].add("signed_step")
    for (user_id,) in db.session.execute(
        sa.select(Countersign.user_id)
        .join(StepRecord, StepRecord.id == Countersign.record_id)
        .where(StepRecord.job_id == job.id)
        .distinct()
    ):
        held[user_id].add("countersigned_step")
    for (user_id,) in db.session.execute(
        sa.select(EolRun.requested_by_id).where(EolRun.job_id == job.id).distinct()
    ):
        held[user_id].add("ran_eol")
    for user_id, branch in db.session.execute(
        sa.select(EngineerSignoff.engineer_id, EngineerSignoff.branch)
        .outerjoin(SignoffWithdrawal, SignoffWithdrawal.signoff_id == EngineerSignoff.id)
        .where(EngineerSignoff.job_id == job.id, SignoffWithdrawal.id.is_(None))
    ):
        held[user_id].add(f"signoff_{getattr(branch, 'value', branch)}")
    for (user_id,) in db.session.execute(
        sa.select(Inspection.inspector_id).where(Inspection.job_id == job.id).distinct()
    ):
        held[user_id].add("inspector")
    return held


def violations(job, held: dict[int, set[str]] | None = None) -> list[Violation]:
    """Every rule broken on ``job`` (by what its records say, or by ``held``)."""
    held = job_duties(job) if held is None else held
    found = []
    for rule in duty_rules():
        for user_id, duties in sorted(held.items()):
            clash = duties & set(rule.not_)
            if rule.who in duties and clash:
                found.append(Violation(rule, user_id, (rule.who, *sorted(clash))))
    return found


def would_violate(job, user_id: int, duty: str) -> Violation | None:
    """The rule ``user_id`` would break by taking ``duty`` on ``job`` (None: none)."""
    held = job_duties(job)
    held.setdefault(user_id, set()).add(duty)
    for violation in violations(job, held):
        if violation.user_id == user_id:
            return violation
    return None


def role_conflicts(roles) -> list[Rule]:
    """Rules that a person with all of ``roles`` could break (the user form warns)."""
    names = {getattr(r, "value", r) for r in roles}
    return [rule for rule in duty_rules() if any(set(combo) <= names for combo in rule.roles)]
