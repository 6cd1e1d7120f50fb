"""Training drills: a simulated vehicle with hidden faults, attempts, runs and the scored diagnosis."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from workshop.accounts.models import Role, User
from workshop.audit.services import record_event
from workshop.columns import utcnow
from workshop.eol import runs as eol_runs
from workshop.eol.faults import FAULTS
from workshop.eol.models import FINISHED, EolRun
from workshop.extensions import db
from workshop.training.models import (
    Drill,
    DrillAttempt,
)
from workshop.training.services import (
    COMPONENT_POINTS,
    COMPONENTS,
    FAULT_POINTS,
    TRAINEE_ROLES,
    TrainingError,
)

# --- drills -------------------------------------------------------------------------------


def create_drill(trainer: User, *, title: str, kit_id: str, faults, sequences) -> Drill:
    """Set up a drill: a simulated vehicle of ``kit_id`` with hidden ``faults``."""
    from workshop.eol.definitions import list_kits, load_kit

    if not trainer.has_role(Role.TRAINER) or trainer.centre_id is None:
        raise TrainingError(_l("only trainers of a centre can set up drills"))
    if not title.strip():
        raise TrainingError(_l("give the drill a title"))
    if kit_id not in list_kits():
        raise TrainingError(_l("unknown kit %(kit)s", kit=kit_id))
    faults = list(dict.fromkeys(faults))
    if not faults:
        raise TrainingError(_l("choose at least one fault to hide"))
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise TrainingError(_l("unknown fault %(fault)s", fault=unknown[0]))
    kit = load_kit(kit_id)
    hidden = [f for f in faults if not FAULTS[f].applies_to(kit)]
    if hidden:
        raise TrainingError(
            _l("kit %(kit)s cannot reveal fault %(fault)s", kit=kit_id, fault=hidden[0])
        )
    sequences = [s for s in eol_runs.SEQUENCE_NAMES if s in set(sequences)]
    if not sequences:
        raise TrainingError(_l("choose at least one sequence"))
    hidden_from = [f for f in faults if FAULTS[f].sequence not in sequences]
    if hidden_from:
        raise TrainingError(
            _l(
                "fault %(fault)s is found only by the %(sequence)s sequence: include it",
                fault=hidden_from[0],
                sequence=FAULTS[hidden_from[0]].sequence.upper(),
            )
        )
    drill = Drill(
        title=title.strip(),
        trainer=trainer,
        centre_id=trainer.centre_id,
        kit_id=kit_id,
        faults=faults,
        sequences=sequences,
    )
    db.session.add(drill)
    db.session.flush()
    record_event("training.drill_create", drill, details={"kit": kit_id, "faults": faults})
    return drill


def list_drills(*, trainer: User | None = None) -> list[Drill]:
    """Active drills (or every drill of ``trainer``), newest first."""
    stmt = sa.select(Drill).order_by(Drill.created_at.desc(), Drill.id.desc())
    if trainer is not None:
        stmt = stmt.where(Drill.trainer_id == trainer.id)
    else:
        stmt = stmt.where(Drill.active.is_(True))
    return list(db.session.scalars(stmt))


def may_see_hidden_faults(user: User, attempt: DrillAttempt | None = None) -> bool:
    """Hidden faults are the drill's answer: shown only to trainers and, for an attempt, only
    once it is submitted (a colleague who saw them could otherwise pass them on or use them)."""
    if not user.is_authenticated or not user.has_role(Role.TRAINER):
        return False
    return attempt is None or attempt.submitted_at is not None


def start_attempt(drill: Drill, trainee: User) -> DrillAttempt:
    """The trainee's attempt at ``drill``, started now unless it exists (the clock keeps running)."""
    if not trainee.has_role(*TRAINEE_ROLES):
        raise TrainingError(_l("only technicians and supervisors take drills"))
    attempt = db.session.scalar(
        sa.select(DrillAttempt).where(
            DrillAttempt.drill_id == drill.id, DrillAttempt.trainee_id == trainee.id
        )
    )
    if attempt is not None:
        return attempt
    if not drill.active:
        raise TrainingError(_l("this drill is closed"))
    attempt = DrillAttempt(drill=drill, trainee=trainee, started_at=utcnow(), run_ids=[])
    db.session.add(attempt)
    db.session.flush()
    record_event(
        "training.drill_start", attempt, details={"drill": drill.id}, centre_id=trainee.centre_id
    )
    return attempt


def attempt_runs(attempt: DrillAttempt) -> list[EolRun]:
    """The EOL runs of an attempt, oldest first."""
    if not attempt.run_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(EolRun).where(EolRun.id.in_(attempt.run_ids)).order_by(EolRun.id)
        )
    )


def run_drill(attempt: DrillAttempt, user: User, bench: str, sequences, benches: dict) -> EolRun:
    """Queue an EOL run of the drill's simulated vehicle (its hidden faults injected)."""
    if user.id != attempt.trainee_id:
        raise TrainingError(_l("this is another trainee's attempt"))
    if attempt.submitted_at is not None:
        raise TrainingError(_l("the diagnosis is submitted: the attempt is over"))
    if any(not r.finished for r in attempt_runs(attempt)):
        raise TrainingError(_l("wait for the running test to finish"))
    drill = attempt.drill
    try:
        run = eol_runs.queue_drill_run(
            user, drill.kit_id, bench, sequences, drill.faults, benches, allowed=drill.sequences
        )
    except eol_runs.EolRunError as exc:
        raise TrainingError(str(exc)) from None
    attempt.run_ids = [*attempt.run_ids, run.id]
    return run


@dataclass(frozen=True)
class DrillScore:
    """How a diagnosis compares with the hidden faults."""

    score: int
    found: int
    per_fault: dict  # hidden fault -> "found" | "component" | "missed"


def score_diagnosis(hidden: list[str], diagnosis: list[dict]) -> DrillScore:
    """Score a diagnosis: per hidden fault, points for the component and for the fault."""
    remaining = list(diagnosis)
    per_fault = {}
    points = 0
    for fault in hidden:  # exact answers first, so a near miss never takes an exact one's place
        match = next(
            (
                d
                for d in remaining
                if d["fault"] == fault and d["component"] == FAULTS[fault].sequence
            ),
            None,
        )
        if match is not None:
            remaining.remove(match)
            per_fault[fault] = "found"
            points += COMPONENT_POINTS + FAULT_POINTS
    for fault in hidden:
        if fault in per_fault:
            continue
        match = next((d for d in remaining if d["component"] == FAULTS[fault].sequence), None)
        if match is not None:
            remaining.remove(match)
            per_fault[fault] = "component"
            points += COMPONENT_POINTS
        else:
            per_fault[fault] = "missed"
    found = sum(1 for v in per_fault.values() if v == "found")
    total = (COMPONENT_POINTS + FAULT_POINTS) * len(hidden)
    return DrillScore(round(100 * points / total), found, per_fault)


def submit_diagnosis(
    attempt: DrillAttempt, user: User, diagnosis: list[dict], *, now: datetime | None = None
) -> DrillScore:
    """Record the trainee's diagnosis (one component + fault per hidden fault) and score it."""
    if user.id != attempt.trainee_id:
        raise TrainingError(_l("this is another trainee's attempt"))
    if attempt.submitted_at is not None:
        raise TrainingError(_l("the diagnosis was already submitted"))
    runs = attempt_runs(attempt)
    if not any(r.status in FINISHED for r in runs):
        raise TrainingError(_l("run the tests and read the results before you diagnose"))
    hidden = list(attempt.drill.faults)
    cleaned = []
    for entry in diagnosis:
        component, fault = entry.get("component", ""), entry.get("fault", "")
        if component not in COMPONENTS or fault not in FAULTS:
            raise TrainingError(_l("choose a component and a fault for every line"))
        cleaned.append({"component": component, "fault": fault})
    if len(cleaned) != len(hidden):
        raise TrainingError(
            _l("this vehicle has %(n)d fault(s): give one answer for each", n=len(hidden))
        )
    result = score_diagnosis(hidden, cleaned)
    now = now or utcnow()
    attempt.diagnosis = cleaned
    attempt.submitted_at = now
    attempt.score = result.score
    attempt.faults_found = result.found
    attempt.seconds_taken = int((now - attempt.started_at).total_seconds())
    record_event(
        "training.drill_submit",
        attempt,
        details={"drill": attempt.drill_id, "score": result.score, "found": result.found},
        centre_id=user.centre_id,
    )
    return result


# --- oversight ----------------------------------------------------------------------------
