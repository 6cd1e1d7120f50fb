"""Running EOL checks: plan, execute (live on a bus, or offline over recorded frames or a
trace), and turn what the checks found into results.

Entry points: :func:`run_eol` (live), :func:`plan_checks`, :func:`evaluate_frames` and
:func:`evaluate_trace` (offline, passive checks only).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import can

from workshop.eol import (  # noqa: F401 (registers the checks)
    checks_bms,
    checks_brakes,
    checks_ecu,
    checks_safety,
    checktable,
    procedures,
)
from workshop.eol.definitions import KitDefinition
from workshop.eol.messages import message as say
from workshop.eol.overlap import SideBySide
from workshop.eol.records import (
    CHECKS,
    SEQUENCES,
    BusFailure,
    CheckInfo,
    CheckResult,
    Outcome,
    Report,
    RunOutcome,
    RunResult,
    RunStopped,
    _Precondition,
    _several,
    _Skip,
    _unique,
)
from workshop.eol.semantics import SAFE_COMMANDS
from workshop.eol.tester import Tester
from workshop.eol.traces import (
    FORMATS,
    TraceError,
    TraceInfo,
    TraceRecorder,
    load_trace,
    trace_format,
)
from workshop.filestore import sha256_of_file

log = logging.getLogger(__name__)

# The order checks run in: physical order matters (the booster is vented before it is timed).
ORDER = (
    "ecu.heartbeat",
    "ecu.alive_counter",
    "ecu.hvil",
    "ecu.no_faults",
    "ecu.ready",
    "ecu.drive_modes",
    "ecu.torque_response",
    "ecu.charge_inhibit",
    "ecu.dcdc_output",
    "bms.pack_voltage",
    "bms.cell_voltage",
    "bms.cell_spread",
    "bms.temperatures",
    "bms.soc",
    "bms.isolation",
    "bms.ac_isolation",
    "bms.balancing",
    "bms.charge_current_limit",
    "bms.contactors_open",
    "bms.precharge",
    "bms.precharge_ratio",
    "bms.hvil_shutdown",
    "bms.alarm_reporting",
    "bms.thermal_warning",
    "brakes.vacuum_build",
    "brakes.vacuum_hold",
    "brakes.vacuum_recovery",
    "brakes.brake_switch",
    "brakes.regen_request",
    "brakes.regen_cut",
    "brakes.low_vacuum_warning",
)
_ordered = {check_id: CHECKS[check_id] for check_id in ORDER}
CHECKS.clear()
CHECKS.update(_ordered)


def certificate_policy_problems(kit: KitDefinition) -> list[str]:
    """What is wrong with the kit's [certificate] table: unknown check ids, a check waived
    twice or waived although not mandatory (file, place and rule, as the other definition
    problems)."""
    policy = kit.spec.certificate
    shown = f"{kit.kit_id}/eol.toml"
    problems = []
    for i, check in enumerate(policy.mandatory or ()):
        if check not in CHECKS:
            problems.append(f"{shown}: certificate.mandatory[{i + 1}]: unknown check '{check}'")
    mandatory = set(policy.mandatory) if policy.mandatory is not None else set(CHECKS)
    seen = set()
    for i, waiver in enumerate(policy.waivers):
        place = f"{shown}: certificate.waivers[{i + 1}]"
        if waiver.check not in CHECKS:
            problems.append(f"{place}: unknown check '{waiver.check}'")
        elif waiver.check not in mandatory:
            problems.append(f"{place}: '{waiver.check}' is not mandatory, nothing to waive")
        if waiver.check in seen:
            problems.append(f"{place}: '{waiver.check}' is waived twice")
        seen.add(waiver.check)
    return problems


def mandatory_checks(kit: KitDefinition) -> list[str]:
    """The checks that must pass for a certificate of a car with this kit, in run order."""
    policy = kit.spec.certificate
    wanted = set(policy.mandatory) if policy.mandatory is not None else set(CHECKS)
    wanted -= {w.check for w in policy.waivers}
    return [check_id for check_id in CHECKS if check_id in wanted]


def mandatory_not_passed(kit: KitDefinition, outcomes: dict[str, str]) -> list[str]:
    """Mandatory checks whose outcome (check id -> 'pass' / 'fail' / 'error' / 'skipped') is not
    a pass: skipped, errored, never run or never mapped all mean "not passed"."""
    return [c for c in mandatory_checks(kit) if outcomes.get(c) != Outcome.PASS.value]


def plan_checks(
    kit: KitDefinition | None = None,
    sequences: Iterable[str] | None = None,
    *,
    passive_only: bool = False,
    check_ids: Iterable[str] | None = None,
) -> list[CheckInfo]:
    """The checks a run will execute, in order (all kits share the list; a kit that lacks a
    signal gets that check SKIPPED, not removed)."""
    wanted = list(sequences) if sequences else list(SEQUENCES)
    unknown = [s for s in wanted if s not in SEQUENCES]
    if unknown:
        raise ValueError(f"unknown sequence(s) {', '.join(unknown)}; use {', '.join(SEQUENCES)}")
    only = set(check_ids) if check_ids else None
    if only:
        missing = only - set(CHECKS)
        if missing:
            raise ValueError(f"unknown check(s) {', '.join(sorted(missing))}")
    return [
        info
        for seq in SEQUENCES
        if seq in wanted
        for info in CHECKS.values()
        if info.sequence == seq
        and (not passive_only or info.passive)
        and (only is None or info.check_id in only)
    ]


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

_INITIAL_COMMANDS = {**SAFE_COMMANDS, "eol_session": True}


def run_eol(
    kit: KitDefinition,
    bus: can.BusABC,
    sequences: Iterable[str] | None = None,
    *,
    time_scale: float = 1.0,
    on_check: Callable[[CheckResult], Any] | None = None,
    on_check_started: Callable[[CheckInfo], Any] | None = None,
    should_abort: Callable[[], Any] | None = None,
    trace_path: str | Path | None = None,
    check_ids: Iterable[str] | None = None,
) -> RunResult:
    """Run the kit's EOL sequences on ``bus`` and return every result.

    ``on_check(result)`` is called after each check (progress); ``should_abort()`` is polled
    and a truthy return (a reason string, or True) stops the run as ABORTED. The raw CAN trace
    (every frame seen and sent) is written as BLF to ``trace_path`` (default: a temporary
    file) and returned with its SHA-256 in ``RunResult.trace``.
    """
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    plan = plan_checks(kit, sequences, check_ids=check_ids)
    recorder = TraceRecorder(trace_path)
    tester = Tester(
        kit, bus=bus, time_scale=time_scale, recorder=recorder, should_abort=should_abort
    )
    started = datetime.now(UTC)
    results: list[CheckResult] = []
    abort_reason, abort_message = None, None
    try:
        tester.start_session(_INITIAL_COMMANDS)
        tester.wait_for_traffic(kit.run.startup_timeout_s)
        _execute(
            tester,
            plan,
            results,
            on_check,
            on_check_started,
            side_by_side=kit.run.side_by_side,
        )
    except (BusFailure, RunStopped) as exc:
        abort_reason, abort_message = str(exc), exc.message
    finally:
        # Whatever happened, leave the vehicle out of test mode: key off, pedal up, no override.
        safe = {
            name: value
            for name, value in SAFE_COMMANDS.items()
            if kit.has(name)
            and (
                kit.binding(name).semantic.kind != "state"
                or kit.binding(name).has_state(str(value))
            )
        }
        try:
            tester.command(**safe)
        except Exception as exc:  # the adapter may be the thing that failed
            log.warning("could not return the vehicle to its safe state: %s", exc)
        trace = recorder.close()
    outcome = _run_outcome(results, abort_reason)
    return RunResult(
        kit_id=kit.kit_id,
        sequences=sorted({c.sequence for c in plan}, key=SEQUENCES.index),
        outcome=outcome,
        checks=results,
        started_at=started,
        finished_at=datetime.now(UTC),
        time_scale=time_scale,
        abort_reason=abort_reason,
        abort_message=abort_message,
        trace=trace,
        eol_sha256=kit.eol_sha256,
        dbc_sha256=kit.dbc_sha256,
        max_lag_s=tester.max_lag_s,
        seed=getattr(bus, "seed", None) if tester.simulated else None,
        faults=sorted(bus.model.faults) if tester.simulated else [],
    )


def _run_outcome(results: list[CheckResult], abort_reason: str | None) -> RunOutcome:
    if abort_reason is not None:
        return RunOutcome.ABORTED
    outcomes = {c.outcome for c in results}
    if Outcome.FAIL in outcomes:
        return RunOutcome.FAIL
    if Outcome.ERROR in outcomes:
        return RunOutcome.ERROR
    return RunOutcome.PASS


def _notify(callback, payload) -> None:
    if callback is None:
        return
    try:
        callback(payload)
    except Exception:  # a progress writer failing must not leave the car in test mode
        log.exception("EOL progress callback failed")


def _execute(
    tester: Tester,
    plan: list[CheckInfo],
    results: list[CheckResult],
    on_check,
    on_check_started,
    offline: bool = False,
    side_by_side: bool = False,
) -> None:
    """Run the planned checks, appending results in plan order (raises BusFailure /
    RunStopped). Side by side, independent checks overlap (workshop.eol.overlap)."""
    ledger = _Ledger()
    if not side_by_side:
        try:
            for info in plan:
                _before_start(tester, info, on_check_started, offline)
                _run_check(tester, info, ledger, offline, lambda result: _notify(on_check, result))
        finally:
            results.extend(ledger.results)
        return
    lanes = SideBySide(
        tester,
        plan,
        lambda info: _run_check(
            tester, info, ledger, offline, lambda result: lanes.defer(_on_check, result)
        ),
    )

    def _on_check(result):
        _notify(on_check, result)

    tester.lanes = lanes
    try:
        lanes.run(lambda info: _before_start(tester, info, on_check_started, offline))
    finally:
        tester.lanes = None
        order = {info.check_id: n for n, info in enumerate(plan)}
        results.extend(sorted(ledger.results, key=lambda r: order[r.check_id]))


class _Ledger:
    """What the checks of one run found so far."""

    def __init__(self):
        self.by_id: dict[str, CheckResult] = {}
        self.blocking: set[str] = set()
        self.results: list[CheckResult] = []


def _before_start(tester: Tester, info: CheckInfo, on_check_started, offline: bool) -> None:
    if not offline:
        # A simulated run can finish many checks within one poll interval: ask every time.
        tester.poll_abort()
    _notify(on_check_started, info)


def _run_check(
    tester: Tester, info: CheckInfo, ledger: _Ledger, offline: bool, report_result
) -> None:
    """Run one check (or say why it cannot run) and record its result."""
    started, real0, v0 = datetime.now(UTC), time.monotonic(), tester.now()
    missing = [n for n in info.needs if not tester.kit.maps(n)]
    # A dependency blocks when it failed, could not run, or was itself blocked; one that
    # merely does not apply to this kit (unmapped, not at rest) does not.
    failed_deps = [d for d in info.depends_on if d in ledger.blocking]
    report = Report()
    outcome, said = None, say("passed")
    if offline and not info.passive:
        outcome, said = Outcome.SKIPPED, say("not_live")
    elif missing:
        outcome = Outcome.SKIPPED
        said = say("unmapped", names=", ".join(missing))
    elif failed_deps:
        dep = ledger.by_id[failed_deps[0]]
        outcome = Outcome.SKIPPED
        code = {
            Outcome.FAIL: "skipped_failed",
            Outcome.ERROR: "skipped_error",
            Outcome.SKIPPED: "skipped_skipped",
        }[dep.outcome]
        said = say(code, check={"en": dep.title_en, "th": dep.title_th})
        ledger.blocking.add(info.check_id)
    else:
        if offline:
            tester.rewind()
        try:
            info.func(tester, report)
        except _Skip as exc:
            outcome, said = Outcome.SKIPPED, exc.message
        except _Precondition as exc:
            outcome, said = Outcome.ERROR, exc.message
        except (BusFailure, RunStopped) as exc:
            said = say("aborted", reason=exc.message)
            result = _result(info, Outcome.ERROR, said, report, started, real0, v0, tester)
            ledger.results.append(result)
            report_result(result)
            raise
        except Exception as exc:  # a bug must not hide the other results; log it in full
            log.exception("EOL check %s crashed", info.check_id)
            outcome = Outcome.ERROR
            said = say("internal_error", error=f"{type(exc).__name__}: {exc}")
    if outcome is None:
        if report.failures:
            outcome = Outcome.FAIL
            said = _several(_unique(report.failures))
        else:
            outcome = Outcome.PASS
            passed = [
                say("measured", label={"label": m.name}, value=m.value_text)
                for m in report.measurements
                if m.value is not None
            ][:3]
            said = _several(report.notes or passed) if (report.notes or passed) else said
    result = _result(info, outcome, said, report, started, real0, v0, tester)
    if outcome in (Outcome.FAIL, Outcome.ERROR):
        ledger.blocking.add(info.check_id)
    ledger.by_id[info.check_id] = result
    ledger.results.append(result)
    report_result(result)


def _result(info, outcome, said, report, started, real0, v0, tester) -> CheckResult:
    return CheckResult(
        check_id=info.check_id,
        sequence=info.sequence,
        title_en=info.title_en,
        title_th=info.title_th,
        outcome=outcome,
        message_code=said["code"],
        message_params=said["params"],
        measurements=report.measurements,
        series=report.series,
        started_at=started,
        duration_s=time.monotonic() - real0,
        vehicle_duration_s=max(0.0, tester.now() - v0),
    )


def evaluate_frames(
    kit: KitDefinition,
    frames: Sequence[can.Message],
    *,
    time_scale: float = 1.0,
    on_check: Callable[[CheckResult], Any] | None = None,
    source: str = "trace",
) -> RunResult:
    """Evaluate the passive checks on recorded frames (active checks are SKIPPED)."""
    started = datetime.now(UTC)
    tester = Tester(kit, frames=frames, time_scale=time_scale)
    plan = plan_checks(kit)
    results: list[CheckResult] = []
    _execute(tester, plan, results, on_check, None, offline=True)
    return RunResult(
        kit_id=kit.kit_id,
        sequences=list(SEQUENCES),
        outcome=_run_outcome(results, None),
        checks=results,
        started_at=started,
        finished_at=datetime.now(UTC),
        time_scale=time_scale,
        eol_sha256=kit.eol_sha256,
        dbc_sha256=kit.dbc_sha256,
        source=source,
    )


def evaluate_trace(
    kit: KitDefinition,
    path: str | Path,
    fmt: str | None = None,
    *,
    time_scale: float = 1.0,
    on_check: Any = None,
) -> RunResult:
    """Load a trace and evaluate the kit's passive checks on it (active ones are SKIPPED).

    ``time_scale`` is that of the run that produced the trace (1.0 for a real vehicle and for
    any simulated run: simulated traces carry vehicle time).
    """
    path = Path(path)
    frames = load_trace(path, fmt)
    known = {m.frame_id for m in kit.database.messages}
    seen = {m.arbitration_id for m in frames if not m.is_error_frame}
    if not seen & known:
        shown = ", ".join(f"0x{i:X}" for i in sorted(seen)[:8]) + (" …" if len(seen) > 8 else "")
        raise TraceError("trace_foreign", ids=shown)
    result = evaluate_frames(
        kit, frames, time_scale=time_scale, on_check=on_check, source=f"trace:{path.name}"
    )
    suffix = trace_format(path, fmt)
    result.trace = TraceInfo(
        path, sha256_of_file(path), len(frames), path.stat().st_size, FORMATS[suffix][0]
    )
    return result
