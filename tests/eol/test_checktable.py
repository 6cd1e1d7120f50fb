"""The declared check table: the loader refuses a malformed row naming the row and the field,
and each evaluator kind passes what is right and fails what is wrong, on synthetic frames
(passive kinds, evaluated offline) or on the simulator (latency: it needs a stimulus)."""

import can
import pytest

from workshop.eol.checktable import (
    TABLE_PATH,
    CheckTableError,
    load_check_table,
    register_table,
)
from workshop.eol.definitions import load_kit
from workshop.eol.evaluators import KINDS
from workshop.eol.records import CHECKS, Outcome
from workshop.eol.runner import evaluate_frames, run_eol
from workshop.eol.simbus import SimulatedBus

ROW = """
[[check]]
id = "ecu.hvil_again"
title_en = "HVIL closed"
title_th = "HVIL ปิด"
evaluator = "equals"
observe = "hvil"
needs = ["hvil"]
passive = true
state = "closed"
messages = { missing = "no_hvil", fail = "hvil_open" }
measure.value = { name = "hvil" }
"""

RANGE_ROW = """
[[check]]
id = "bms.isolation_again"
title_en = "Isolation"
title_th = "ฉนวน"
evaluator = "range"
observe = "isolation_resistance"
sample = "min"
limits = { window = "bms.observe_s", low = "bms.isolation_min_ohm" }
messages = { missing = "no_isolation" }
measure.value = { name = "isolation_resistance", unit = "Ω" }
"""


@pytest.fixture
def table(tmp_path):
    """Return a callable writing a check table and loading it."""

    def load(text):
        path = tmp_path / "checks.toml"
        path.write_text(text, encoding="utf-8")
        return load_check_table(path)

    return load


def test_the_shipped_table_is_registered_with_its_kinds():
    rows = load_check_table(TABLE_PATH)
    assert len(rows) >= 9
    for row in rows:
        info = CHECKS[row.id]
        assert info.func.func is KINDS[row.evaluator].judge
        assert (info.title_en, info.needs, info.passive) == (row.title_en, row.needs, row.passive)


def test_a_valid_row_loads(table):
    (row,) = table(ROW)
    assert (row.id, row.evaluator, row.state, row.resources) == (
        "ecu.hvil_again",
        "equals",
        "closed",
        ("vehicle",),
    )
    assert table(RANGE_ROW)[0].limits["low"] == "bms.isolation_min_ohm"


@pytest.mark.parametrize(
    "text, location, problem",
    [
        (
            ROW.replace('evaluator = "equals"', 'evaluator = "equal"'),
            "check[0]",
            "evaluator: unknown evaluator 'equal' (did you mean 'equals'?)",
        ),
        (
            RANGE_ROW.replace("bms.isolation_min_ohm", "bms.isolation_min_ohms"),
            "check[0].limits.low",
            "unknown limit 'bms.isolation_min_ohms' (did you mean 'isolation_min_ohm'?)",
        ),
        (
            RANGE_ROW.replace("bms.observe_s", "observe_s"),
            "check[0].limits.window",
            "'observe_s' is not a limit name",
        ),
        (
            ROW.replace('fail = "hvil_open"', 'fail = "hvil_opened"'),
            "check[0].messages.fail",
            "unknown message code 'hvil_opened' (did you mean 'hvil_open'?)",
        ),
        (
            ROW.replace('title_th = "HVIL ปิด"\n', ""),
            "check[0].title_th",
            "required field is missing",
        ),
        (
            ROW.replace("messages = { missing", "mesages = { missing"),
            "check[0].mesages",
            "unknown field 'mesages' (did you mean 'messages'?)",
        ),
        (
            ROW.replace('fail = "hvil_open"', 'fail = "isolation_low"'),
            "check[0]",
            "messages.fail: 'isolation_low' needs limit, per_volt, reference, value, which this "
            "row cannot give",
        ),
        (
            ROW.replace('messages = { missing = "no_hvil", ', "messages = { "),
            "check[0]",
            "messages: missing missing",
        ),
        (
            ROW.replace('name = "hvil"', 'name = "hvil_state"'),
            "check[0].measure.value.name",
            "measurement 'hvil_state' has no label in the catalogue",
        ),
        (
            ROW.replace('state = "closed"', 'sample = "min"'),
            "check[0]",
            "sample: not read by the equals evaluator",
        ),
        (
            RANGE_ROW.replace('sample = "min"\n', ""),
            "check[0]",
            "limits: window is needed for a min, max or mean sample, and only then",
        ),
        (
            ROW.replace('id = "ecu.hvil_again"', 'id = "hvil_again"'),
            "check[0]",
            "id: 'hvil_again' is not '<sequence>.<name>'",
        ),
        (
            RANGE_ROW.replace(
                'missing = "no_isolation"',
                'missing = "no_isolation", high_detail = "fault_codes_first"',
            ),
            "check[0]",
            "messages.high_detail: needs the detail read with the value (detail)",
        ),
        (ROW + ROW, "check[1].id", "duplicate check id 'ecu.hvil_again' (also check[0])"),
    ],
)
def test_a_malformed_row_is_refused_naming_the_row_and_field(table, text, location, problem):
    with pytest.raises(CheckTableError) as caught:
        table(text)
    error = caught.value
    assert error.location == location
    assert problem in error.problem
    if location.startswith("check[0]"):  # the row is named (by its id, as far as it has one)
        assert "_again'" in error.problem


LATENCY_ROW = """
[[check]]
id = "brakes.regen_again"
title_en = "Regeneration"
title_th = "คืนพลังงาน"
evaluator = "latency"
observe = "regen_torque"
params = { speed = "brakes.regen_speed_kph" }

[[check.steps]]
stimulus = { brake_pedal = 50.0 }
until = { at_least = "brakes.regen_min_nm" }
within = "brakes.regen_within_s"
measure = { name = "regen_delay", unit = "s" }
measure_value = { name = "regen_torque", unit = "Nm" }
messages = { timeout = "no_regen" }
"""


@pytest.mark.parametrize(
    "old, new, location, problem",
    [
        (
            "measure_value =",
            "measure_values =",
            "check[0].steps[0].measure_values",
            "unknown field 'measure_values' (did you mean 'measure_value'?)",
        ),
        (
            'until = { at_least = "brakes.regen_min_nm" }',
            "until = true",
            "check[0]",
            "steps[0].messages.timeout: 'no_regen' needs needed, which this row cannot give",
        ),
        (
            'at_least = "brakes.regen_min_nm"',
            'at_least = "brakes.regen_min_nm", at_most = 3.0',
            "check[0].steps[0].until",
            "give one of at_least, at_most or other_than",
        ),
        ('params = { speed = "brakes.regen_speed_kph" }\n', "", "check[0]", "needs speed"),
        ('messages = { timeout = "no_regen" }', "messages = {}", "check[0]", "missing timeout"),
        (
            'measure = { name = "regen_delay", unit = "s" }\n',
            "",
            "check[0]",
            "steps[0].measure: a step is timed (measure) or required (error)",
        ),
        (
            'measure = { name = "regen_delay", unit = "s" }\n',
            'error = "not_off"\n',
            "check[0]",
            "steps[0].messages: a step without a measure has no messages",
        ),
        (
            'messages = { timeout = "no_regen" }',
            'messages = { timeout = "no_regen" }\nwaiting = { state = "precharge", error = "no_regen" }',
            "check[0]",
            "steps[0].waiting.error: 'no_regen' needs needed, speed, value",
        ),
        (
            'name = "regen_delay"',
            'name = "{state}_delay"',
            "check[0]",
            "steps[0].measure.name: {state} needs each_state",
        ),
        (
            'measure = { name = "regen_delay", unit = "s" }',
            'measure = { name = "{state}_delay", unit = "s" }\neach_state = ["power"]',
            "check[0]",
            "steps[0].measure.name: measurement 'power_delay' has no label in the catalogue",
        ),
    ],
)
def test_a_malformed_latency_step_is_refused(table, old, new, location, problem):
    assert table(LATENCY_ROW)[0].steps[0].measure_value.name == "regen_torque"
    with pytest.raises(CheckTableError) as caught:
        table(LATENCY_ROW.replace(old, new))
    assert caught.value.location.startswith(location)
    assert problem in caught.value.problem


def test_registering_refuses_a_taken_id_or_an_unknown_dependency(table):
    (row,) = table(ROW.replace('id = "ecu.hvil_again"', 'id = "ecu.hvil"'))
    registry = dict(CHECKS)
    with pytest.raises(CheckTableError, match="'ecu.hvil' is already a check"):
        register_table((row,), registry)
    (row,) = table(ROW.replace("needs =", 'depends_on = ["ecu.heartbeet"]\nneeds ='))
    with pytest.raises(CheckTableError, match="unknown check 'ecu.heartbeet'") as caught:
        register_table((row,), registry)
    assert caught.value.location == "check[0].depends_on"
    assert "ecu.hvil_again" not in registry
    (row,) = table(ROW)
    register_table((row,), registry)
    assert registry["ecu.hvil_again"].passive and "ecu.hvil_again" not in CHECKS


# --------------------------------------------------------------------------------------------
# The evaluator kinds on synthetic frames (offline, like a recorded trace)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kit():
    return load_kit("jazz-ev1")


def _frame(kit, t, **values):
    """One vehicle frame at time ``t`` carrying these semantic values (other signals at their
    initial value, inside the DBC range)."""
    bindings = {name: kit.binding(name) for name in values}
    (message,) = {b.message for b in bindings.values()}
    data = {}
    for signal in message.signals:
        value = signal.initial if signal.initial is not None else 0
        if signal.minimum is not None:
            value = max(value, signal.minimum)
        if signal.maximum is not None:
            value = min(value, signal.maximum)
        data[signal.name] = value
    for name, value in values.items():
        data[bindings[name].signal.name] = bindings[name].to_dbc(value)
    payload = message.encode(data, scaling=True, strict=False)
    return can.Message(
        arbitration_id=message.frame_id,
        is_extended_id=message.is_extended_frame,
        data=payload,
        timestamp=1000.0 + t,
    )


def _judge(kit, check_id, frames):
    return evaluate_frames(kit, frames).result(check_id)


def test_period_passes_a_steady_heartbeat_and_fails_a_slow_one(kit):
    steady = [_frame(kit, i * 0.1, alive_counter=i % 16) for i in range(30)]
    result = _judge(kit, "ecu.heartbeat", steady)
    assert result.outcome is Outcome.PASS, result.message
    assert result.measurements[1].name == "heartbeat_period"
    assert result.measurements[1].value == pytest.approx(100.0, abs=0.5)
    slow = [_frame(kit, i * 0.15, alive_counter=i % 16) for i in range(20)]
    result = _judge(kit, "ecu.heartbeat", slow)
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "heartbeat_period"
    assert result.message_params == {"period": "150", "low": "90", "high": "110"}


def test_counter_passes_steps_of_one_and_fails_a_jump(kit):
    steady = [_frame(kit, i * 0.1, alive_counter=i % 16) for i in range(30)]
    assert _judge(kit, "ecu.alive_counter", steady).outcome is Outcome.PASS
    jumping = [_frame(kit, i * 0.1, alive_counter=(i + (i >= 10)) % 16) for i in range(30)]
    result = _judge(kit, "ecu.alive_counter", jumping)
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "counter_jump"
    assert (result.message_params["start"], result.message_params["end"]) == (9, 11)


def test_equals_passes_the_expected_state_and_fails_another(kit):
    def status(state):
        return [_frame(kit, i * 0.1, hvil=state) for i in range(30)]

    assert _judge(kit, "ecu.hvil", status("closed")).outcome is Outcome.PASS
    result = _judge(kit, "ecu.hvil", status("open"))
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "hvil_open"
    assert result.measurements[0].expected == "CLOSED"


def test_range_judges_the_lowest_sample_of_its_window(kit):
    good = [_frame(kit, i * 0.1, isolation_resistance=500_000.0) for i in range(30)]
    result = _judge(kit, "bms.isolation", good)
    assert result.outcome is Outcome.PASS, result.message
    assert result.measurements[0].value == pytest.approx(500.0)
    dip = [
        _frame(kit, i * 0.1, isolation_resistance=20_000.0 if i == 5 else 500_000.0)
        for i in range(30)
    ]
    result = _judge(kit, "bms.isolation", dip)
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "isolation_low"
    assert result.message_params["value"] == "20.0"


def test_range_on_the_next_sample_names_the_side_it_left(kit):
    def limit(amps):
        return [_frame(kit, i * 0.1, charge_current_limit=amps) for i in range(30)]

    assert _judge(kit, "bms.charge_current_limit", limit(10.0)).outcome is Outcome.PASS
    result = _judge(kit, "bms.charge_current_limit", limit(40.0))
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "charge_limit_high"
    assert result.message_params == {"value": "40.0", "limit": "13.5"}
    result = _judge(kit, "bms.charge_current_limit", [])
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "no_charge_limit"
    assert result.measurements[0].value is None


def test_range_counts_and_names_the_first_fault_code(kit):
    def status(count):
        return [_frame(kit, i * 0.1, fault_count=count, fault_code=0x0C73) for i in range(30)]

    assert _judge(kit, "ecu.no_faults", status(0)).outcome is Outcome.PASS
    result = _judge(kit, "ecu.no_faults", status(2))
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "fault_codes_first"
    assert result.message_params == {"count": 2, "first": "P0C73"}
    assert result.measurements[0].value == 2


def _pack_frames(kit, pack_v, cell_v, count=20):
    """Pack status and every cell frame every 100 ms: the pack at ``pack_v``, each cell at
    ``cell_v``."""
    frames = []
    for i in range(count):
        frames.append(_frame(kit, i * 0.1, pack_voltage=pack_v))
        for message, bindings in _cells_by_message(kit).items():
            data = {b.signal.name: b.to_dbc(cell_v) for b in bindings}
            frames.append(_encoded(message, data, i * 0.1 + 0.01))
    return frames


def _cells_by_message(kit):
    grouped = {}
    for b in kit.indexed("cell_voltage"):
        grouped.setdefault(b.message, []).append(b)
    return grouped


def _encoded(message, values, t):
    data = {s.name: values.get(s.name, s.initial or 0) for s in message.signals}
    return can.Message(
        arbitration_id=message.frame_id,
        is_extended_id=message.is_extended_frame,
        data=message.encode(data, scaling=True, strict=False),
        timestamp=1000.0 + t,
    )


def test_range_checks_the_value_against_the_sum_of_its_parts(kit):
    result = _judge(kit, "bms.pack_voltage", _pack_frames(kit, 330.0, 3.30))
    assert result.outcome is Outcome.PASS, result.message
    assert [m.name for m in result.measurements] == ["pack_voltage", "pack_minus_cell_sum"]
    result = _judge(kit, "bms.pack_voltage", _pack_frames(kit, 330.0, 3.20))
    assert result.outcome is Outcome.FAIL
    assert result.message_code == "pack_vs_cells"
    assert result.message_params == {"value": "330.0", "total": "320.0"}
    result = _judge(kit, "bms.pack_voltage", _pack_frames(kit, 380.0, 3.80))
    assert result.message_code == "pack_high"


# --------------------------------------------------------------------------------------------
# Latency needs a stimulus: on the simulator (its own clock, no wall-clock waits)
# --------------------------------------------------------------------------------------------


def test_a_state_sequence_times_the_transition_or_cannot_be_performed(kit, tmp_path):
    def run(faults):
        with SimulatedBus(kit, faults=faults, seed=5) as bus:
            result = run_eol(kit, bus, check_ids=["ecu.ready"], trace_path=tmp_path / "t.blf")
        return result.result("ecu.ready")

    healthy = run([])
    assert healthy.outcome is Outcome.PASS, healthy.message
    assert [m.name for m in healthy.measurements] == ["time_to_ready"]
    assert healthy.series["vehicle_state"][-1][1] in ("READY", "DRIVE")
    # still precharging: the BMS precharge check judges that; this one cannot be performed
    waiting = run(["precharge_failure"])
    assert waiting.outcome is Outcome.ERROR
    assert waiting.message_code == "stuck_in_precharge"
    assert waiting.series["vehicle_state"]


@pytest.mark.parametrize(
    "check_id, fault, code",
    [
        ("bms.contactors_open", "stuck_contactor", "contactor_stuck"),
        ("brakes.brake_switch", "brake_switch_stuck", "switch_not_closed"),
        ("bms.thermal_warning", "no_thermal_warning", "thermal_warning_missing"),
        ("brakes.regen_request", "regen_disabled", "no_regen"),
        ("ecu.drive_modes", "ignored_drive_mode", "mode_ignored"),
    ],
)
def test_latency_times_the_answer_and_fails_a_missing_one(kit, tmp_path, check_id, fault, code):
    def run(faults):
        with SimulatedBus(kit, faults=faults, seed=3) as bus:
            result = run_eol(kit, bus, check_ids=[check_id], trace_path=tmp_path / "t.blf")
        return result.result(check_id)

    healthy = run([])
    assert healthy.outcome is Outcome.PASS, healthy.message
    assert all(m.value is not None and m.outcome is Outcome.PASS for m in healthy.measurements)
    broken = run([fault])
    assert broken.outcome is Outcome.FAIL
    assert broken.message_code == code
