"""The EOL test engine's public API, kept in one place for callers (CLI, bench, views, tests).

The engine itself lives in: ``records`` (results, the check registry), ``tester`` (the bus side
and its clock), ``checks_ecu`` / ``checks_bms`` / ``checks_brakes`` (the checks), ``procedures``
(precharge, alarm self-test, vacuum build and hold) and ``runner`` (plan, run, evaluate traces).
"""

from workshop.eol.records import (
    CHECKS,
    SEQUENCES,
    BusFailure,
    CheckInfo,
    CheckResult,
    Measurement,
    Outcome,
    Report,
    RunOutcome,
    RunResult,
    RunStopped,
)
from workshop.eol.runner import evaluate_frames, evaluate_trace, plan_checks, run_eol
from workshop.eol.tester import Hit, Observation, Tester

__all__ = [
    "CHECKS",
    "SEQUENCES",
    "BusFailure",
    "CheckInfo",
    "CheckResult",
    "Hit",
    "Measurement",
    "Observation",
    "Outcome",
    "Report",
    "RunOutcome",
    "RunResult",
    "RunStopped",
    "Tester",
    "evaluate_frames",
    "evaluate_trace",
    "plan_checks",
    "run_eol",
]
