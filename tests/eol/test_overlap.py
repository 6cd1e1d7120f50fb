"""Independent checks side by side: shorter runs, the same verdicts, still deterministic."""

from __future__ import annotations

import threading
import uuid

import pytest

from workshop.eol.definitions import load_kit
from workshop.eol.engine import Outcome, RunOutcome, plan_checks, run_eol
from workshop.eol.simbus import SimulatedBus


def _run(tmp_path, kit_id="jazz-ev1", side_by_side=True, faults=(), seed=1, **kwargs):
    kit = load_kit(kit_id)
    kit.run.side_by_side = side_by_side
    with SimulatedBus(kit, faults=list(faults), seed=seed) as bus:
        result = run_eol(kit, bus, trace_path=tmp_path / f"{uuid.uuid4().hex}.blf", **kwargs)
        return result, bus.clock.now()


@pytest.mark.parametrize("faults", [(), ("vacuum_leak", "hvil_open")])
def test_side_by_side_gives_the_serial_verdicts_in_under_70_percent_of_the_time(tmp_path, faults):
    serial, serial_s = _run(tmp_path, side_by_side=False, faults=faults)
    overlapped, overlapped_s = _run(tmp_path, faults=faults)
    plan = [info.check_id for info in plan_checks()]
    assert [c.check_id for c in overlapped.checks] == plan  # reported in plan order
    assert {c.check_id: c.outcome for c in overlapped.checks} == {
        c.check_id: c.outcome for c in serial.checks
    }
    if faults:
        failed = {c.check_id for c in overlapped.checks if c.outcome is Outcome.FAIL}
        assert failed == {"brakes.vacuum_hold", "ecu.hvil"}
    else:
        assert overlapped.passed
    # The brakes' vacuum chain waits for physics while the ECU and BMS are tested.
    assert overlapped_s <= 0.7 * serial_s


def test_side_by_side_is_deterministic(tmp_path):
    first, _ = _run(tmp_path, faults=["dead_pump"], seed=7)
    again, _ = _run(tmp_path, faults=["dead_pump"], seed=7)
    assert first.trace.sha256 == again.trace.sha256
    assert [(c.check_id, c.outcome, c.message, c.vehicle_duration_s) for c in first.checks] == [
        (c.check_id, c.outcome, c.message, c.vehicle_duration_s) for c in again.checks
    ]


def test_a_kit_can_ask_for_one_check_after_another(tmp_path):
    kit = load_kit("jazz-ev1")
    assert kit.run.side_by_side  # the default
    serial, serial_s = _run(tmp_path, side_by_side=False)
    assert serial.passed
    assert serial_s >= sum(c.vehicle_duration_s for c in serial.checks) - 0.5


def test_callbacks_run_in_the_callers_thread(tmp_path):
    """Progress writers use the caller's database session: never called from a check's thread."""
    threads = set()
    started = []
    result, _ = _run(
        tmp_path,
        on_check=lambda r: threads.add(threading.current_thread()),
        on_check_started=lambda info: started.append(info.check_id),
    )
    assert result.passed
    assert threads == {threading.current_thread()}
    assert sorted(started) == sorted(c.check_id for c in result.checks)
    # the vacuum chain starts before the last ECU / BMS check
    assert started.index("brakes.vacuum_build") < started.index("bms.thermal_warning")


def test_an_abort_while_checks_overlap_ends_each_of_them(tmp_path):
    stop = threading.Event()

    def on_started(info):
        if info.check_id == "bms.precharge":  # the leak hold is waiting meanwhile
            stop.set()

    result, _ = _run(
        tmp_path,
        on_check_started=on_started,
        should_abort=lambda: "cancelled by the trainer" if stop.is_set() else None,
    )
    assert result.outcome is RunOutcome.ABORTED
    assert result.abort_reason == "cancelled by the trainer"
    outcomes = {c.check_id: c.outcome for c in result.checks}
    assert outcomes["bms.contactors_open"] is Outcome.PASS
    running = {c.check_id for c in result.checks if c.outcome is Outcome.ERROR}
    assert running and running <= {"brakes.vacuum_hold", "brakes.vacuum_build", "bms.precharge"}
    assert any(check.startswith("brakes.") for check in running)
    assert "bms.precharge_ratio" not in outcomes  # never started
    assert result.trace.frames > 0
