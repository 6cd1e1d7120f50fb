"""CAN end-of-line testing: kit definitions, the test engine, the vehicle simulator, traces.

Plain Python (no Flask): the bench agent, the CLI and the tests all use this API.
"""

from workshop.eol import kitcheck  # noqa: F401  (registers the EOL half of `kits check`)
from workshop.eol.definitions import (
    EolDefinitionError,
    KitDefinition,
    kit_specs_root,
    list_kits,
    load_kit,
)
from workshop.eol.engine import (
    CHECKS,
    SEQUENCES,
    CheckInfo,
    CheckResult,
    Measurement,
    Outcome,
    RunOutcome,
    RunResult,
    evaluate_frames,
    plan_checks,
    run_eol,
)
from workshop.eol.faults import FAULTS, Fault
from workshop.eol.runner import evaluate_trace
from workshop.eol.simbus import VehicleSimulator
from workshop.eol.traces import TraceError, TraceInfo, TraceRecorder, load_trace

__all__ = [
    "CHECKS",
    "FAULTS",
    "SEQUENCES",
    "CheckInfo",
    "CheckResult",
    "EolDefinitionError",
    "Fault",
    "KitDefinition",
    "Measurement",
    "Outcome",
    "RunOutcome",
    "RunResult",
    "TraceError",
    "TraceInfo",
    "TraceRecorder",
    "VehicleSimulator",
    "evaluate_frames",
    "evaluate_trace",
    "kit_specs_root",
    "list_kits",
    "load_kit",
    "load_trace",
    "plan_checks",
    "run_eol",
]
