"""The semantic catalogue: every name the EOL engine and the simulator understand (values, states,\nflags, counters, messages), with its unit and meaning; a kit's eol.toml maps these names to its own\nCAN signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# --------------------------------------------------------------------------------------------
# The semantic catalogue: every name the engine and the simulator understand.
# --------------------------------------------------------------------------------------------

Kind = Literal["value", "state", "flag", "counter", "message"]


@dataclass(frozen=True)
class Semantic:
    """One semantic name: who sends it, what it is, the unit the engine works in."""

    name: str
    sender: Literal["vehicle", "tester"]
    kind: Kind
    unit: str = ""
    description: str = ""
    indexed: bool = False
    states: tuple[str, ...] = ()
    optional_states: tuple[str, ...] = ()


def _v(name, unit, description, **kw) -> Semantic:
    return Semantic(name, "vehicle", kw.pop("kind", "value"), unit, description, **kw)


def _t(name, unit, description, **kw) -> Semantic:
    return Semantic(name, "tester", kw.pop("kind", "value"), unit, description, **kw)


CATALOGUE = [
    # EV ECU
    _v("ecu_heartbeat", "", "the ECU's periodic alive message", kind="message"),
    _v("alive_counter", "", "rolling counter in the heartbeat", kind="counter"),
    _v(
        "vehicle_state",
        "",
        "vehicle power state",
        kind="state",
        states=("off", "ready"),
        # A vendor ECU may go from off to ready without reporting a precharge state.
        optional_states=("precharge", "standby", "fault"),
    ),
    _v(
        "drive_mode",
        "",
        "drive mode acknowledged by the ECU",
        kind="state",
        # A two-mode drive maps commute and power (e.g. ECO and SPORT) and no city mode.
        states=("commute", "power"),
        optional_states=("city",),
    ),
    _v("hvil", "", "high-voltage interlock loop", kind="state", states=("closed", "open")),
    _v("fault_count", "", "number of active fault codes (DTCs)"),
    _v("fault_code", "", "first active fault code"),
    _v("vehicle_speed", "km/h", "vehicle speed seen by the ECU"),
    _v("torque_request", "Nm", "torque the ECU requests from the inverter"),
    _v("torque_feedback", "Nm", "torque the inverter reports"),
    _v("regen_torque", "Nm", "regenerative braking torque the ECU requests"),
    _v("charge_plug", "", "charge plug detected by the ECU (proximity pilot)", kind="flag"),
    _v("dcdc_voltage", "V", "12 V DC-DC converter output voltage"),
    _v("dcdc_current", "A", "12 V DC-DC converter output current"),
    _v("vacuum_warning", "", "driver warning: low brake vacuum", kind="flag"),
    _v("thermal_warning", "", "driver warning: thermal event in the battery", kind="flag"),
    # BMS
    _v("pack_voltage", "V", "pack voltage"),
    _v("pack_current", "A", "pack current, positive = discharge"),
    _v("soc", "%", "state of charge"),
    _v("cell_voltage", "V", "cell voltage", indexed=True),
    # A BMS that broadcasts only its lowest and highest cell instead of every cell.
    _v("cell_voltage_min", "V", "lowest cell voltage, as the BMS reports it"),
    _v("cell_voltage_max", "V", "highest cell voltage, as the BMS reports it"),
    _v("cell_temperature", "°C", "temperature sensor", indexed=True),
    _v("isolation_resistance", "Ω", "HV isolation resistance"),
    _v(
        "ac_isolation_resistance",
        "Ω",
        "isolation resistance of the AC circuits galvanically connected to the HV bus (charger)",
    ),
    _v("dc_link_voltage", "V", "DC-link (inverter side) voltage"),
    _v("contactor_state", "", "main contactor", kind="state", states=("open", "closed")),
    _v(
        "precharge_state",
        "",
        "precharge sequence",
        kind="state",
        states=("done",),
        optional_states=("idle", "active", "failed"),
    ),
    _v("balancing_active", "", "cell balancing in progress", kind="flag"),
    _v("balancing_cells", "", "number of cells being balanced"),
    _v("charge_current_limit", "A", "charge current the BMS allows the charger"),
    _v("alarm_cell_overvoltage", "", "BMS alarm: cell over-voltage", kind="flag"),
    _v("alarm_cell_undervoltage", "", "BMS alarm: cell under-voltage", kind="flag"),
    _v("alarm_over_temperature", "", "BMS alarm: over-temperature", kind="flag"),
    _v("alarm_over_current", "", "BMS alarm: over-current", kind="flag"),
    # Brakes
    _v("brake_vacuum", "kPa", "booster vacuum below atmospheric"),
    _v("pump_running", "", "vacuum pump motor running", kind="flag"),
    _v("brake_switch", "", "brake pedal switch", kind="flag"),
    # Tester stimuli
    _t("eol_session", "", "EOL test session active", kind="flag"),
    _t("key_switch", "", "simulated ignition key", kind="state", states=("off", "on")),
    _t(
        "drive_mode_request",
        "",
        "drive mode request",
        kind="state",
        states=("commute", "power"),
        optional_states=("none", "city"),
    ),
    _t("torque_command", "Nm", "torque the ECU shall request (accelerator substitute)"),
    _t("speed_simulation", "km/h", "simulated / roller vehicle speed"),
    _t(
        "contactor_request",
        "",
        "contactor override request to the BMS",
        kind="state",
        states=("open", "close"),
        optional_states=("none",),
    ),
    _t(
        "alarm_test",
        "",
        "BMS alarm self-test request",
        kind="state",
        states=("none",),
        optional_states=(
            "cell_overvoltage",
            "cell_undervoltage",
            "over_temperature",
            "over_current",
        ),
    ),
    _t("alarm_test_cell", "", "cell the alarm self-test simulates"),
    _t("pump_mode", "", "vacuum pump control", kind="state", states=("auto", "off")),
    _t("hvil_break", "", "the tester's relay that opens the HVIL loop", kind="flag"),
    _t("charge_plug_simulation", "", "simulated charge plug (proximity pilot)", kind="flag"),
    _t("lv_load", "", "switch on the 12 V load bank (lights, blower, fans)", kind="flag"),
    _t("thermal_event_test", "", "BMS self-test: report a thermal event", kind="flag"),
    _t("brake_pedal", "%", "pedal robot stroke"),
]

SEMANTICS: dict[str, Semantic] = {s.name: s for s in CATALOGUE}

# DBC unit strings the loader understands, per engine unit, as the factor to the engine unit.
# A signal whose DBC unit is not listed needs an explicit `scale` in eol.toml, so a wrong guess
# (kV read as V) can never slip through.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "V": {"V": 1, "v": 1, "volt": 1, "Volt": 1, "mV": 1e-3, "kV": 1e3},
    "A": {"A": 1, "a": 1, "amp": 1, "Amp": 1, "mA": 1e-3},
    "Ω": {
        "Ω": 1,
        "ohm": 1,
        "Ohm": 1,
        "ohms": 1,
        "kΩ": 1e3,
        "kohm": 1e3,
        "kOhm": 1e3,
        "KOhm": 1e3,
        "kohms": 1e3,
        "MΩ": 1e6,
        "MOhm": 1e6,
        "Mohm": 1e6,
    },
    "°C": {"°C": 1, "degC": 1, "deg C": 1, "C": 1, "DegC": 1, "celsius": 1},
    "kPa": {"kPa": 1, "kpa": 1, "Pa": 1e-3, "hPa": 0.1, "mbar": 0.1, "bar": 100},
    "Nm": {"Nm": 1, "N.m": 1, "N m": 1, "Nm ": 1},
    "%": {"%": 1, "pct": 1},
    "km/h": {"km/h": 1, "kph": 1, "kmh": 1, "km/hr": 1},
}


# Every tester command at rest: out of test mode, key off, no request, pedal up, pump on auto,
# no simulated plug, load or fault. The runner starts (in test mode) and ends a run from here;
# the simulated car starts here.
SAFE_COMMANDS: dict[str, object] = {
    "eol_session": False,
    "key_switch": "off",
    "drive_mode_request": "none",
    "torque_command": 0.0,
    "speed_simulation": 0.0,
    "contactor_request": "none",
    "alarm_test": "none",
    "pump_mode": "auto",
    "brake_pedal": 0.0,
    "hvil_break": False,
    "charge_plug_simulation": False,
    "lv_load": False,
    "thermal_event_test": False,
}
