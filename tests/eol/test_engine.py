"""The EOL engine against the simulator: healthy kits pass, each fault fails exactly its check,
bus failures abort with the results so far."""

import json
import shutil
import threading
import time
import uuid

import can
import pytest

from workshop.eol.definitions import kit_specs_root, load_kit
from workshop.eol.engine import (
    CHECKS,
    SEQUENCES,
    Measurement,
    Outcome,
    RunOutcome,
    plan_checks,
    run_eol,
)
from workshop.eol.faults import FAULTS, fault_position, pack_size
from workshop.eol.simbus import SimulatedBus, VehicleSimulator

# Only the tests of real-bus safeguards use the wall-clock simulator on a virtual bus, at this
# many vehicle seconds per wall second; everything else runs on the simulated clock.
SCALE = 30.0
KITS = ["jazz-ev1", "vios-ev1", "dmax-ev2", "dmax-ev2-vendor"]

# What the technician must read for each fault (a fragment of the failing check's message).
FAULT_MESSAGES = {
    "lost_heartbeat": "frame received in 2 s (expected one every",
    "alive_counter_gap": "alive counter jumped from",
    "hvil_open": "HVIL is OPEN",
    "active_fault_code": "1 active fault code(s) (first: P0C73)",
    "ignored_drive_mode": "drive mode City requested, ECU still reports POWER after 1 s",
    "inverter_no_response": "inverter torque feedback 0.0 Nm 0.5 s after a",
    # the same place of any pack: cell 37, 63, 12 and sensor 7 of 100 cells and 20 sensors
    "cell_overvoltage": "cell {cell} at 3.72 V is above 3.65 V",
    "cell_undervoltage": "cell {cell} at 2.41 V is below 2.50 V",
    "cell_imbalance": "exceeds 50 mV (cell {cell} at",
    "over_temperature": "sensor {sensor} at 58.0 °C is above 45 °C",
    "soc_implausible": "SOC 5 % is implausible",
    "isolation_fault": "isolation resistance 20.0 kΩ is below 36.5 kΩ",
    "no_balancing_status": "no balancing status",
    "charge_limit_out_of_range": "charge current limit 40.0 A is above the charger's 13.5 A",
    "stuck_contactor": "1 s after the open request: welded contactor?",
    # the limit is the kit's (eol.toml over its profile): 5 s, or 3 s on the Vios
    "precharge_failure": "precharge did not complete within {precharge_within_s:g} s; DC link 0 V of "
    "330 V",
    "premature_contactor_close": "main contactor closed while",
    "silent_bms_alarm": "BMS did not raise its cell over-voltage, cell under-voltage, "
    "over-temperature, over-current alarms within 1 s",
    "dead_pump": "vacuum reached only",
    "vacuum_leak": "kPa in 30 s",
    "pump_threshold_low": "s after a full pedal press (needs 54 kPa)",
    "brake_switch_stuck": "brake switch still RELEASED 0.2 s after the pedal was pressed",
    "regen_disabled": "no regenerative torque requested while braking at 30 km/h",
    "regen_not_cut": "0.3 s after the brake pedal was released",
    "ac_isolation_fault": "AC-side isolation 100.0 kΩ is below 182.5 kΩ (500 Ω/V × 365 V)",
    "early_contactor_close": "main contactor closed with the DC link at 8",
    "hvil_no_shutdown": "0.5 s after the HVIL loop opened: the ECU does not shut down high voltage",
    "drive_while_plugged": "Nm asked, at most 1 Nm allowed): the car could drive off while charging",
    "dcdc_undervoltage": "DC-DC output fell to 12.40 V under a 35 A load (needs 13.2-14.8 V)",
    "no_vacuum_warning": "no low-vacuum warning for the driver within 3 s at",
    "no_thermal_warning": "no thermal-event warning for the driver within 2 s",
}


@pytest.fixture
def run_vehicle(tmp_path):
    """Return a callable running the engine against a simulated vehicle (simulated clock)."""

    def run(kit, faults=(), sequences=None, seed=1, speed=0.0, **kwargs):
        kit = load_kit(kit) if isinstance(kit, str) else kit
        kwargs.setdefault("trace_path", tmp_path / f"eng-{uuid.uuid4().hex}.blf")
        with SimulatedBus(kit, faults=list(faults), seed=seed, speed=speed) as bus:
            return run_eol(kit, bus, sequences, **kwargs)

    return run


def outcomes(result):
    return {c.check_id: c.outcome for c in result.checks}


@pytest.mark.parametrize("kit_id", KITS)
def test_healthy_vehicle_passes_every_check(run_vehicle, kit_id):
    result = run_vehicle(kit_id)
    failing = {c.check_id: c.message for c in result.checks if c.outcome is not Outcome.PASS}
    assert failing == {}
    assert result.outcome is RunOutcome.PASS and result.passed
    assert [c.check_id for c in result.checks] == list(CHECKS)
    assert result.trace is not None and result.trace.frames > 1000
    precharge = result.result("bms.precharge")
    assert {m.name for m in precharge.measurements} == {
        "link_discharge_time",
        "precharge_time",
        "current_at_close",
    }
    assert all(m.outcome is Outcome.PASS for c in result.checks for m in c.measurements)


# Every fault on every kit, in a full run: on the simulated clock a run costs a fraction of a
# second of CPU, so there is no need to pick.
FAULT_CASES = [(kit, name) for kit in KITS for name in sorted(FAULTS)]
# A check that cannot judge when another one's fault takes away what it needs ends as ERROR
# ("could not be performed"), never FAIL: the ECU rightly waits in PRECHARGE without HV.
CONSEQUENCES = {"precharge_failure": {"ecu.ready"}}


@pytest.mark.parametrize(("kit_id", "fault"), FAULT_CASES)
def test_each_fault_fails_exactly_its_check(run_vehicle, kit_id, fault):
    expected = FAULTS[fault]
    result = run_vehicle(kit_id, faults=[fault])
    failed = [c for c in result.checks if c.outcome is Outcome.FAIL]
    errors = {c.check_id for c in result.checks if c.outcome is Outcome.ERROR}
    assert [c.check_id for c in failed] == [expected.check_id], [
        (c.check_id, c.outcome.value, c.message) for c in result.checks
    ]
    assert errors == CONSEQUENCES.get(fault, set())
    (check,) = failed
    kit = load_kit(kit_id)
    cells, sensors = pack_size(kit)
    assert (
        FAULT_MESSAGES[fault].format(
            precharge_within_s=kit.limits.bms.precharge_within_s,
            cell=fault_position(fault, cells),
            sensor=fault_position(fault, sensors),
        )
        in check.message
    )
    assert "Traceback" not in check.message
    assert any(m.outcome is Outcome.FAIL for m in check.measurements) or check.measurements == []
    for other in result.checks:
        if other.outcome is Outcome.SKIPPED:
            assert other.message.startswith("skipped because '")
    assert result.outcome is RunOutcome.FAIL


def test_a_kit_added_as_data_only_runs(run_vehicle, tmp_path):
    """A new third-party BMS: other names and scaling, yet no code change."""
    kit_dir = tmp_path / "ranger-ev2"
    shutil.copytree(kit_specs_root() / "dmax-ev2", kit_dir)
    dbc = (kit_dir / "vehicle.dbc").read_text(encoding="cp1252")
    dbc = dbc.replace("BMU_U_Cell", "Batt_CellVolt_").replace(
        '(0.0001,0) [0|6.5535] "V"', '(0.1,0) [0|6553.5] "mV"'
    )
    (kit_dir / "vehicle.dbc").write_text(dbc, encoding="cp1252")
    eol = (kit_dir / "eol.toml").read_text()
    eol = eol.replace('kit = "dmax-ev2"', 'kit = "ranger-ev2"').replace(
        "BMU_U_Cell{index:03d}", "Batt_CellVolt_{index:03d}"
    )
    (kit_dir / "eol.toml").write_text(eol)
    kit = load_kit(kit_dir)
    assert kit.indexed("cell_voltage")[0].factor == pytest.approx(0.001)
    result = run_vehicle(kit, sequences=["bms"], check_ids=["bms.cell_voltage", "bms.cell_spread"])
    assert outcomes(result) == {"bms.cell_voltage": Outcome.PASS, "bms.cell_spread": Outcome.PASS}
    faulty = run_vehicle(kit, faults=["cell_overvoltage"], check_ids=["bms.cell_voltage"])
    assert "cell 37 at 3.72 V is above 3.65 V" in faulty.result("bms.cell_voltage").message


def test_cell_faults_act_on_the_same_place_of_any_pack(run_vehicle, tmp_path):
    """Faults name semantic values, not cell 37 of a 100-cell pack: a 24-cell pack shows them."""
    kit_dir = tmp_path / "small-ev1"
    shutil.copytree(kit_specs_root() / "dmax-ev2", kit_dir)
    eol = (kit_dir / "eol.toml").read_text()
    eol = eol.replace('kit = "dmax-ev2"', 'kit = "small-ev1"').replace("count = 100", "count = 24")
    eol = eol.replace("alarm_test_cell = 50", "alarm_test_cell = 10")
    (kit_dir / "eol.toml").write_text(eol)
    kit = load_kit(kit_dir)
    assert len(kit.indexed("cell_voltage")) == 24
    assert FAULTS["cell_undervoltage"].description("en", kit) == "Cell 16 sits at 2.41 V."
    assert FAULTS["cell_undervoltage"].description("th") == "เซลล์ที่ 63 มีแรงดัน 2.41 V"
    expected = {"cell_overvoltage": "cell 9 at 3.72 V", "cell_undervoltage": "cell 16 at 2.41 V"}
    for fault, text in expected.items():
        result = run_vehicle(kit, faults=[fault], check_ids=["bms.cell_voltage"])
        assert text in result.checks[0].message
    spread = run_vehicle(kit, faults=["cell_imbalance"], check_ids=["bms.cell_spread"])
    assert "(cell 3 at" in spread.checks[0].message


def test_the_simulated_pack_follows_the_kits_chemistry(run_vehicle, tmp_path):
    """Cells rest at the profile's open-circuit voltage and cell faults sit just outside the
    kit's own cell window: an NMC pack (3.0-4.2 V) is simulated as NMC, not as LiFePO4."""
    kit_dir = tmp_path / "nmc-ev1"
    shutil.copytree(kit_specs_root() / "dmax-ev2", kit_dir)
    eol = (kit_dir / "eol.toml").read_text()
    eol = eol.replace('kit = "dmax-ev2"', 'kit = "nmc-ev1"').replace(
        "cell_voltage_v = [2.50, 3.65]",
        "cell_voltage_v = [3.00, 4.20]\n"
        "soc_ocv_table = [[3.0, 0.0], [3.6, 20.0], [3.8, 60.0], [4.2, 100.0]]",
    )
    (kit_dir / "eol.toml").write_text(eol)
    kit = load_kit(kit_dir)
    checks = ["bms.cell_voltage", "bms.cell_spread", "bms.soc"]
    healthy = run_vehicle(kit, check_ids=checks)
    assert outcomes(healthy) == dict.fromkeys(checks, Outcome.PASS)
    cells = healthy.result("bms.cell_voltage").measurements
    assert {m.name: round(m.value, 1) for m in cells if m.name.startswith("cell_voltage_m")} == {
        "cell_voltage_min": 3.8,
        "cell_voltage_max": 3.8,
    }
    high = run_vehicle(kit, faults=["cell_overvoltage"], check_ids=["bms.cell_voltage"])
    assert "cell 37 at 4.27 V is above 4.20 V" in high.result("bms.cell_voltage").message


def test_unmapped_name_skips_its_check_without_blocking_others(run_vehicle, tmp_path):
    kit_dir = tmp_path / "jazz-ev1"
    shutil.copytree(kit_specs_root() / "jazz-ev1", kit_dir)
    lines = (kit_dir / "eol.toml").read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith(("balancing_active =", "hvil ="))]
    (kit_dir / "eol.toml").write_text("".join(kept))
    result = run_vehicle(
        load_kit(kit_dir), check_ids=["ecu.hvil", "ecu.ready", "bms.balancing", "bms.soc"]
    )
    assert outcomes(result) == {
        "ecu.hvil": Outcome.SKIPPED,
        "ecu.ready": Outcome.PASS,  # its dependency does not apply, so it still runs
        "bms.balancing": Outcome.SKIPPED,
        "bms.soc": Outcome.PASS,
    }
    balancing = result.result("bms.balancing")
    assert balancing.message == "this kit does not map balancing_active in its eol.toml"
    assert result.outcome is RunOutcome.PASS


def test_no_traffic_aborts_with_the_reason(tmp_path):
    kit = load_kit("jazz-ev1")
    seen = []
    with can.Bus(interface="virtual", channel=f"dead-{uuid.uuid4().hex}") as bus:
        result = run_eol(
            kit,
            bus,
            ["ecu"],
            time_scale=SCALE,
            on_check=seen.append,
            trace_path=tmp_path / "dead.blf",
        )
    assert result.outcome is RunOutcome.ABORTED
    assert "no CAN traffic" in result.abort_reason
    assert result.checks == [] and seen == []
    assert result.trace.path.exists() and len(result.trace.sha256) == 64


class FlakyBus:
    """A bus whose adapter can be unplugged mid-run."""

    def __init__(self, bus):
        self.bus = bus
        self.unplugged = False

    def send(self, msg, timeout=None):
        if self.unplugged:
            raise can.CanOperationError("device not found")
        self.bus.send(msg, timeout)

    def recv(self, timeout=None):
        if self.unplugged:
            raise can.CanOperationError("device not found")
        return self.bus.recv(timeout)


def test_adapter_gone_mid_run_keeps_results_so_far(tmp_path):
    kit = load_kit("jazz-ev1")
    channel = f"flaky-{uuid.uuid4().hex}"
    with (
        can.Bus(interface="virtual", channel=channel) as real,
        VehicleSimulator(kit, channel=channel, time_scale=SCALE),
    ):
        bus = FlakyBus(real)

        def unplug_after_second(result):
            if result.check_id == "ecu.alive_counter":
                bus.unplugged = True

        result = run_eol(
            kit,
            bus,
            ["ecu"],
            time_scale=SCALE,
            on_check=unplug_after_second,
            trace_path=tmp_path / "flaky.blf",
        )
    assert result.outcome is RunOutcome.ABORTED
    # the next receive or the next cyclic tester frame finds the adapter gone, whichever is first
    assert result.abort_reason.startswith("CAN adapter error")
    assert result.abort_reason.endswith("device not found")
    assert [c.outcome for c in result.checks] == [Outcome.PASS, Outcome.PASS, Outcome.ERROR]
    assert result.checks[-1].message == f"run aborted: {result.abort_reason}"
    assert result.trace.frames > 0


def test_bus_off_aborts(tmp_path):
    kit = load_kit("jazz-ev1")
    channel = f"busoff-{uuid.uuid4().hex}"
    with (
        can.Bus(interface="virtual", channel=channel) as bus,
        can.Bus(interface="virtual", channel=channel) as controller,
        VehicleSimulator(kit, channel=channel, time_scale=SCALE),
    ):

        def bus_off(result):
            controller.send(can.Message(arbitration_id=0x40, is_error_frame=True, dlc=8))

        result = run_eol(
            kit,
            bus,
            ["ecu"],
            time_scale=SCALE,
            on_check=bus_off,
            trace_path=tmp_path / "busoff.blf",
        )
    assert result.outcome is RunOutcome.ABORTED
    assert "bus-off" in result.abort_reason
    assert result.checks[0].outcome is Outcome.PASS


def test_should_abort_stops_the_run(run_vehicle):
    stop = threading.Event()
    result = run_vehicle(
        "jazz-ev1",
        sequences=["ecu"],
        on_check=lambda r: stop.set(),
        should_abort=lambda: "cancelled by the trainer" if stop.is_set() else None,
    )
    assert result.outcome is RunOutcome.ABORTED
    assert result.abort_reason == "cancelled by the trainer"
    assert result.checks[0].outcome is Outcome.PASS
    assert len(result.checks) < len(plan_checks(sequences=["ecu"]))


def test_progress_callbacks_see_every_check_in_order_and_cannot_break_the_run(run_vehicle):
    started, finished = [], []

    def broken(result):
        finished.append(result.check_id)
        raise RuntimeError("database is down")

    result = run_vehicle(
        "dmax-ev2",
        sequences=["ecu"],
        on_check=broken,
        on_check_started=lambda info: started.append(info.check_id),
    )
    ids = [c.check_id for c in result.checks]
    assert started == finished == ids == [c.check_id for c in plan_checks(sequences=["ecu"])]
    assert result.outcome is RunOutcome.PASS


def test_result_is_plain_data(run_vehicle):
    result = run_vehicle("jazz-ev1", check_ids=["bms.cell_voltage", "ecu.heartbeat"])
    data = json.loads(json.dumps(result.to_dict()))
    assert data["outcome"] == "pass" and data["kit_id"] == "jazz-ev1"
    cells = next(c for c in data["checks"] if c["check_id"] == "bms.cell_voltage")
    assert len(cells["series"]["cell_voltage"]) == 100
    assert cells["title_th"] and cells["measurements"][0]["limits_text"] == "2.5 – 3.65 V"
    assert data["trace"]["sha256"] == result.trace.sha256


def test_plan_checks():
    assert [c.sequence for c in plan_checks()] == sorted(
        (c.sequence for c in CHECKS.values()), key=SEQUENCES.index
    )
    assert {c.check_id for c in plan_checks(passive_only=True)} >= {
        "ecu.heartbeat",
        "bms.isolation",
    }
    assert all(c.passive for c in plan_checks(passive_only=True))
    with pytest.raises(ValueError, match="unknown sequence"):
        plan_checks(sequences=["gearbox"])
    with pytest.raises(ValueError, match="unknown check"):
        plan_checks(check_ids=["bms.nonsense"])


def test_measurement_texts():
    assert Measurement("v", 3.71, "V", 2.5, 3.65).limits_text == "2.5 – 3.65 V"
    assert Measurement("i", 0.2, "A", high=1.0).limits_text == "≤ 1 A"
    assert Measurement("r", 2500.0, "kΩ", low=36.5).limits_text == "≥ 36.5 kΩ"
    assert Measurement("h", "CLOSED", expected="CLOSED").limits_text == "= CLOSED"
    assert Measurement("t", None, "s", high=5.0).value_text == "—"


def _without_wall_clock(data: dict) -> dict:
    """A run's JSON minus what the wall clock and the file system decide."""
    data = {k: v for k, v in data.items() if k not in ("started_at", "finished_at")}
    data["trace"] = {k: v for k, v in data["trace"].items() if k != "path"}
    data["checks"] = [
        {k: v for k, v in c.items() if k not in ("started_at", "duration_s")}
        for c in data["checks"]
    ]
    return data


def test_same_kit_faults_and_seed_give_the_same_result(run_vehicle):
    first = run_vehicle("dmax-ev2", faults=["vacuum_leak"], seed=42).to_dict()
    again = run_vehicle("dmax-ev2", faults=["vacuum_leak"], seed=42).to_dict()
    other = run_vehicle("dmax-ev2", faults=["vacuum_leak"], seed=43).to_dict()
    assert first["seed"] == 42 and first["faults"] == ["vacuum_leak"]
    assert _without_wall_clock(first) == _without_wall_clock(again)
    assert first["trace"]["sha256"] == again["trace"]["sha256"] != other["trace"]["sha256"]
    cells = [c for c in first["checks"] if c["check_id"] == "bms.cell_voltage"]
    other_cells = [c for c in other["checks"] if c["check_id"] == "bms.cell_voltage"]
    assert cells[0]["series"] != other_cells[0]["series"]  # the seed is the cells' spread


def test_simulated_run_waits_for_no_wall_clock(run_vehicle, monkeypatch):
    """A whole three-sequence run covers over a minute of vehicle time in the simulated clock,
    and nothing in it sleeps on the wall clock. Proved by watching time.sleep (still the real
    one), not by timing the run: a busy host may take any time to run it."""
    sleeps = []
    real_sleep = time.sleep

    def watched_sleep(seconds):
        sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", watched_sleep)
    result = run_vehicle("jazz-ev1")
    vehicle_s = sum(c.vehicle_duration_s for c in result.checks)
    assert result.passed and vehicle_s > 60
    assert [s for s in sleeps if s > 0] == []
    assert result.max_lag_s == 0


def test_paced_run_keeps_pace_and_a_stalled_host_only_delays_it(run_vehicle):
    stalls = []

    def stall(result):
        # A host that falls behind (a slow database write): the paced clock waits for it.
        if not stalls:
            stalls.append(result.check_id)
            busy_until = time.monotonic() + 0.3
            while time.monotonic() < busy_until:
                pass

    result = run_vehicle(
        "jazz-ev1", check_ids=["ecu.heartbeat", "ecu.alive_counter"], speed=20, on_check=stall
    )
    assert [c.outcome for c in result.checks] == [Outcome.PASS, Outcome.PASS]
    heartbeat = result.checks[0]
    # paced: never faster than 20 vehicle seconds per wall second
    assert heartbeat.duration_s >= heartbeat.vehicle_duration_s / 20 * 0.95
    assert result.outcome is RunOutcome.PASS


def test_bad_speed_is_refused():
    with pytest.raises(ValueError, match="speed must be 0"):
        SimulatedBus(load_kit("jazz-ev1"), speed=50)
    with pytest.raises(ValueError, match="unknown fault"):
        SimulatedBus(load_kit("jazz-ev1"), faults=["no_such_fault"])


def test_a_two_mode_drive_without_a_precharge_state_runs(run_vehicle, tmp_path):
    """A vendor ECU with ECO/SPORT only and no PRECHARGE state: the checks read the kit's own
    state set instead of assuming three modes and a precharge state."""
    kit_dir = tmp_path / "jazz-ev1"
    shutil.copytree(kit_specs_root() / "jazz-ev1", kit_dir)
    eol = (kit_dir / "eol.toml").read_text()
    for text in ('precharge = "PRECHARGE", ', ', city = "CITY"'):
        assert text in eol
        eol = eol.replace(text, "")
    (kit_dir / "eol.toml").write_text(eol)
    kit = load_kit(kit_dir)
    assert not kit.binding("drive_mode").has_state("city")
    result = run_vehicle(kit, sequences=["ecu", "bms"])
    failing = {c.check_id: c.message for c in result.checks if c.outcome is not Outcome.PASS}
    assert failing == {}
    modes = result.result("ecu.drive_modes")
    assert [m.name for m in modes.measurements] == ["power_ack_time", "commute_ack_time"]
    # the fault that needs a City mode cannot show on this kit
    from workshop.eol.faults import applicable_faults

    assert "ignored_drive_mode" not in applicable_faults(kit)
    assert "ignored_drive_mode" in applicable_faults(load_kit("jazz-ev1"))


def test_drive_modes_reported_and_requested_must_match(tmp_path):
    kit_dir = tmp_path / "jazz-ev1"
    shutil.copytree(kit_specs_root() / "jazz-ev1", kit_dir)
    eol = (kit_dir / "eol.toml").read_text()
    # the ECU reports City, the tester cannot ask for it
    eol = eol.replace(
        'drive_mode_request = { message = "EOL_VehicleCmd", signal = "EOL_DriveModeReq", '
        'states = { none = "NO_REQUEST", commute = "COMMUTE", power = "POWER", city = "CITY" } }',
        'drive_mode_request = { message = "EOL_VehicleCmd", signal = "EOL_DriveModeReq", '
        'states = { none = "NO_REQUEST", commute = "COMMUTE", power = "POWER" } }',
    )
    (kit_dir / "eol.toml").write_text(eol)
    from workshop.eol.definitions import EolDefinitionError

    with pytest.raises(EolDefinitionError) as refused:
        load_kit(kit_dir)
    assert (
        "signals.drive_mode: states.city: the drive mode is not in commands.drive_mode_request"
        in ("\n".join(refused.value.problems))
    )


def _min_max_bms_kit(tmp_path):
    """The Jazz kit with a BMS that broadcasts only its lowest and highest cell."""
    kit_dir = tmp_path / "jazz-ev1"
    shutil.copytree(kit_specs_root() / "jazz-ev1", kit_dir)
    dbc = (kit_dir / "vehicle.dbc").read_text()
    dbc = dbc.replace(
        "BO_ 516 BMS_Balancing: 8 BMS\n",
        "BO_ 517 BMS_CellExtremes: 8 BMS\n"
        ' SG_ BMS_CellVmin : 0|16@1+ (1,0) [0|5000] "mV" EOL_Tester\n'
        ' SG_ BMS_CellVmax : 16|16@1+ (1,0) [0|5000] "mV" EOL_Tester\n\n'
        "BO_ 516 BMS_Balancing: 8 BMS\n",
    )
    (kit_dir / "vehicle.dbc").write_text(dbc)
    eol = "\n".join(
        line
        for line in (kit_dir / "eol.toml").read_text().splitlines()
        if not line.startswith("cell_voltage =")
    )
    eol = eol.replace(
        "\n[commands]\n",
        '\ncell_voltage_min = { message = "BMS_CellExtremes", signal = "BMS_CellVmin" }\n'
        'cell_voltage_max = { message = "BMS_CellExtremes", signal = "BMS_CellVmax" }\n\n'
        "[commands]\n",
        1,
    )
    (kit_dir / "eol.toml").write_text(eol)
    return load_kit(kit_dir)


def test_a_bms_with_only_its_lowest_and_highest_cell(run_vehicle, tmp_path):
    kit = _min_max_bms_kit(tmp_path)
    assert not kit.has("cell_voltage") and kit.maps(
        "cell_voltage|cell_voltage_min+cell_voltage_max"
    )
    checks = ["bms.cell_voltage", "bms.cell_spread", "bms.soc", "bms.pack_voltage"]
    result = run_vehicle(kit, sequences=["bms"], check_ids=checks)
    assert outcomes(result) == dict.fromkeys(checks, Outcome.PASS)
    cells = {m.name: m.value for m in result.result("bms.cell_voltage").measurements}
    assert 3.28 <= cells["cell_voltage_min"] <= cells["cell_voltage_max"] <= 3.32
    # the cell faults show through the extremes, each failing its own check
    from workshop.eol.faults import applicable_faults

    assert {"cell_overvoltage", "cell_undervoltage", "cell_imbalance"} <= set(
        applicable_faults(kit)
    )
    for fault, check, text in (
        ("cell_overvoltage", "bms.cell_voltage", "highest cell at 3.72 V is above 3.65 V"),
        ("cell_undervoltage", "bms.cell_voltage", "lowest cell at 2.41 V is below 2.50 V"),
        ("cell_imbalance", "bms.cell_spread", "exceeds 50 mV (highest cell"),
    ):
        faulty = run_vehicle(kit, faults=[fault], sequences=["bms"], check_ids=checks)
        failed = {c.check_id: c.message for c in faulty.checks if c.outcome is Outcome.FAIL}
        assert list(failed) == [check] and text in failed[check], (fault, failed)
        # an outlier hides the typical cell: the SOC is not judged from the extremes (not passed)
        soc = faulty.result("bms.soc")
        assert soc.outcome is Outcome.SKIPPED and "cannot be judged" in soc.message


def _vendor_kit(tmp_path):
    """The D-Max kit as a kit maker would assemble it from a vendor's database: the vendor file
    as shipped (an overlapping signal in a multiplexed frame, a frame without cycle time), the
    kit's own add-on frame in an overlay, the missing cycle time in eol.toml."""
    import re

    kit_dir = tmp_path / "dmax-ev2"
    shutil.copytree(kit_specs_root() / "dmax-ev2", kit_dir)
    dbc = (kit_dir / "vehicle.dbc").read_text(encoding="cp1252")
    add_on = re.search(r"BO_ 275 VCU2_LvPower: 8 VCU2\n(?: SG_ .*\n)+\n", dbc).group(0)
    vendor = dbc.replace(add_on, "")
    vendor = vendor.replace('BA_ "GenMsgCycleTime" BO_ 275 100;\n', "")
    vendor = vendor.replace('CM_ BO_ 275 "VCU2 low-voltage power: DC-DC output";\n', "")
    vendor = vendor.replace('BA_ "GenMsgCycleTime" BO_ 2566869221 100;\n', "")
    # a vendor diagnostic frame describing the same bits twice (raw and scaled)
    vendor = vendor.replace(
        "BO_ 2566869221 BMU_Summary: 8 BMU\n",
        "BO_ 2566870757 BMU_Diag: 8 BMU\n"
        ' SG_ BMU_DiagRaw : 7|16@0+ (1,0) [0|65535] "" EOL_Tester\n'
        ' SG_ BMU_DiagScaled : 7|16@0+ (0.1,0) [0|6553.5] "V" EOL_Tester\n\n'
        "BO_ 2566869221 BMU_Summary: 8 BMU\n",
    )
    (kit_dir / "vehicle.dbc").unlink()
    (kit_dir / "bmu-vendor.dbc").write_text(vendor, encoding="cp1252")
    overlay = (
        'VERSION ""\n\nNS_ :\n    BA_DEF_\n    BA_\n\nBS_:\n\nBU_: VCU2 EOL_Tester\n\n'
        + add_on
        + 'BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;\nBA_ "GenMsgCycleTime" BO_ 275 100;\n'
    )
    (kit_dir / "eol-overlay.dbc").write_text(overlay)
    kit_toml = (kit_dir / "kit.toml").read_text().replace('"vehicle.dbc"', '"bmu-vendor.dbc"')
    (kit_dir / "kit.toml").write_text(kit_toml)
    eol = (kit_dir / "eol.toml").read_text()
    eol = eol.replace('dbc = "vehicle.dbc"', 'dbc = "bmu-vendor.dbc"')
    return kit_dir, eol


def test_a_vendor_dbc_untouched_with_an_overlay(run_vehicle, tmp_path):
    import hashlib

    from workshop.eol.definitions import EolDefinitionError

    kit_dir, eol = _vendor_kit(tmp_path)
    vendor_bytes = (kit_dir / "bmu-vendor.dbc").read_bytes()
    # strict, the vendor's file is refused, with the way out named
    (kit_dir / "eol.toml").write_text(eol)
    with pytest.raises(EolDefinitionError) as refused:
        load_kit(kit_dir)
    assert 'non_strict = ["bmu-vendor.dbc"]' in "\n".join(refused.value.problems)
    extra = (
        'overlays = ["eol-overlay.dbc"]\nnon_strict = ["bmu-vendor.dbc"]\n'
        "cycle_times_ms = { BMU_Summary = 100 }\n"
    )
    (kit_dir / "eol.toml").write_text(eol.replace("\n[run]\n", "\n" + extra + "\n[run]\n", 1))
    kit = load_kit(kit_dir)
    (tolerated,) = kit.tolerated
    assert tolerated.startswith("dmax-ev2/bmu-vendor.dbc: tolerated overlap in BMU_Diag,")
    assert kit.database.get_message_by_name("BMU_Summary").cycle_time == 100
    assert kit.has("dcdc_voltage")  # mapped on the overlay's frame
    files = dict(kit.dbc_files)
    assert files["bmu-vendor.dbc"] == hashlib.sha256(vendor_bytes).hexdigest()
    assert set(files) == {"bmu-vendor.dbc", "eol-overlay.dbc"}
    result = run_vehicle(kit)
    assert {c.check_id: c.message for c in result.checks if c.outcome is not Outcome.PASS} == {}
    assert result.dbc_sha256 == kit.dbc_sha256 != files["bmu-vendor.dbc"]
    assert (kit_dir / "bmu-vendor.dbc").read_bytes() == vendor_bytes
    # kits check lists the overlap it tolerated
    from workshop.eol.kitcheck import eol_warnings
    from workshop.kits.loader import load_kit as load_kit_spec

    assert tolerated in eol_warnings(load_kit_spec(kit_dir))
    # a cycle time for a message no file defines is refused
    (kit_dir / "eol.toml").write_text(
        eol.replace("\n[run]\n", "\n" + extra.replace("BMU_Summary", "BMU_Sumary") + "\n[run]\n")
    )
    with pytest.raises(EolDefinitionError, match="cycle_times_ms.BMU_Sumary: no such message"):
        load_kit(kit_dir)
    # a value mapped on a frame with overlapping signals would be decoded wrongly: refused
    (kit_dir / "eol.toml").write_text(
        eol.replace("\n[run]\n", "\n" + extra + "\n[run]\n", 1).replace(
            'pack_voltage = { message = "BMU_Summary", signal = "BMU_U_Pack" }',
            'pack_voltage = { message = "BMU_Diag", signal = "BMU_DiagScaled" }',
        )
    )
    with pytest.raises(EolDefinitionError, match="pack_voltage: BMU_Diag has overlapping signals"):
        load_kit(kit_dir)
