"""The simulated car's physics: ECU states, a pack of cells with a seeded spread, an RC precharge,
a vacuum pump with hysteresis and a leaking booster, driver warnings, DC-DC and BMS alarms.

Everything is in vehicle seconds; :class:`workshop.eol.simulator.VehicleModel` turns this state
into the kit's frames and the tester's frames into commands.
"""

from __future__ import annotations

import math
import random
from typing import Any

from workshop.eol.faults import fault_position
from workshop.eol.semantics import SAFE_COMMANDS

# Physics constants (vehicle units). Chosen so a healthy car passes the default limits with
# margin and each fault crosses exactly one limit.
# The cells rest at the open-circuit voltage of SOC_PCT on the kit's chemistry profile (3.30 V
# for LiFePO4); a cell fault sits just outside the kit's cell window.
CELL_FAULT_ABOVE_V = 0.07
CELL_FAULT_BELOW_V = 0.09
CELL_SPREAD_V = 0.020  # seeded spread is clipped to +-20 mV, so the healthy spread stays < 50 mV
TEMP_NOMINAL_C = 30.0
PRECHARGE_R_OHM = 100.0
PRECHARGE_RC_S = 0.6
PRECHARGE_CLOSE_FRACTION = 0.98  # above the 95 % the EOL asks, with margin for frame timing
EARLY_CLOSE_FRACTION = 0.85  # fault: the current is small yet, but the link is not charged
PRECHARGE_TIMEOUT_S = 6.0
IDLE_LOAD_A = 0.4
SOC_PCT = 60.0
ISOLATION_OHM = 2_500_000.0
AC_ISOLATION_OHM = 2_200_000.0
AC_ISOLATION_FAULT_OHM = 100_000.0  # above the DC limit, far below 500 ohm/V
DCDC_VOLTAGE_V = 14.2
DCDC_DROOP_OHM = 0.004
DCDC_FAULT_V = 12.4
LV_IDLE_A = 6.0
LV_LOAD_BANK_A = 35.0
LV_BATTERY_V = 12.6
VACUUM_WARN_ON_KPA = 25.0
VACUUM_WARN_OFF_KPA = 30.0
VACUUM_WARN_DELAY_S = 1.0
THERMAL_WARN_DELAY_S = 0.5
CHARGE_LIMIT_A = 12.0
ALARM_DEBOUNCE_S = 0.2
# The BMS's own alarm thresholds (its cell limits are the kit's cell window).
BMS_ALARM_LIMITS = {"cell_ov": 3.65, "cell_uv": 2.50, "over_temp": 55.0, "over_current": 200.0}
VACUUM_MAX_KPA = 85.0
PUMP_TAU_S = 5.0
PUMP_ON_KPA = 60.0
PUMP_OFF_KPA = 75.0
LEAK_KPA_S = 0.02
PEDAL_CONSUMPTION = 0.45  # fraction of vacuum a full stroke lets in
BRAKE_SWITCH_PCT = 5.0
REGEN_NM = 30.0
REGEN_MIN_SPEED_KPH = 5.0
INVERTER_TAU_S = 0.06
STEP_S = 0.02  # integration step; the fastest dynamics (inverter, debounce) are >= 15 ms


class Vehicle:
    """The physical state of the simulated car; advanced in vehicle seconds."""

    def __init__(
        self,
        cells: int,
        sensors: int,
        faults: set[str],
        seed: int,
        cell_window: tuple[float, float] = (2.50, 3.65),
        rest_v: float = 3.30,
    ):
        rng = random.Random(seed)
        self.cell_window = cell_window
        self.alarm_limits = {
            **BMS_ALARM_LIMITS,
            "cell_uv": cell_window[0],
            "cell_ov": cell_window[1],
        }
        self.t = 0.0
        # tester inputs (semantic values)
        self.cmd: dict[str, Any] = {**SAFE_COMMANDS, "alarm_test_cell": 1}
        # ECU
        self.vehicle_state = "off"
        self.drive_mode = "commute"
        self.mode_request_at: float | None = None
        self.alive = 0
        self.torque_request = 0.0
        self.torque_feedback = 0.0
        self.regen = 0.0
        # BMS
        offsets = [
            max(-CELL_SPREAD_V, min(CELL_SPREAD_V, rng.gauss(0, 0.006))) for _ in range(cells)
        ]
        self.base_cells = [round(rest_v + o, 4) for o in offsets]
        self.base_temps = [
            round(TEMP_NOMINAL_C + rng.uniform(-1.5, 1.5), 1) for _ in range(sensors)
        ]
        self.cells: list[float] = []
        self.temps: list[float] = []
        self.faults: set[str] = set()
        self.set_faults(faults)
        self.main_closed = "stuck_contactor" in faults
        self.precharge = "idle"
        self.precharge_started = 0.0
        self.link_v = self.pack_ocv if self.main_closed else 0.0
        self.current = 0.0
        self.alarm_since: dict[str, float | None] = dict.fromkeys(BMS_ALARM_LIMITS)
        self.alarms: dict[str, bool] = dict.fromkeys(BMS_ALARM_LIMITS, False)
        # brakes
        self.vacuum = 0.0
        self.pump_on = False
        self.pedal = 0.0
        self.pedal_changed = 0.0
        self.brake_switch = False
        self.vacuum_low_since: float | None = None
        self.vacuum_warning = False
        self.thermal_since: float | None = None
        self.thermal_warning = False
        self.dcdc_voltage = LV_BATTERY_V
        self.dcdc_current = 0.0

    def set_faults(self, faults: set[str]) -> None:
        """Apply the injected faults; measurement faults change the cells and sensors."""
        if faults == self.faults and self.cells:
            return
        self.faults = set(faults)
        cells, temps = list(self.base_cells), list(self.base_temps)
        # Each acts on the same place of any pack (cell 37 of 100, 36 of 96...).
        if "cell_overvoltage" in faults and cells:
            at = fault_position("cell_overvoltage", len(cells)) - 1
            cells[at] = round(self.cell_window[1] + CELL_FAULT_ABOVE_V, 4)
        if "cell_undervoltage" in faults and cells:
            at = fault_position("cell_undervoltage", len(cells)) - 1
            cells[at] = round(self.cell_window[0] - CELL_FAULT_BELOW_V, 4)
        if "cell_imbalance" in faults and cells:
            at = fault_position("cell_imbalance", len(cells)) - 1
            cells[at] = round(max(self.base_cells) + 0.080, 4)
        if "over_temperature" in faults and temps:
            temps[fault_position("over_temperature", len(temps)) - 1] = 58.0
        self.cells, self.temps = cells, temps
        self._max_cell, self._min_cell = max(cells, default=0.0), min(cells, default=0.0)
        self._max_temp = max(temps, default=0.0)
        self._pack_ocv = sum(cells)

    @property
    def pack_ocv(self) -> float:
        """Open-circuit pack voltage: the sum of the cells."""
        return self._pack_ocv

    @property
    def pack_voltage(self) -> float:
        """Terminal pack voltage under the present current."""
        return self.pack_ocv - 0.05 * self.current

    # -- inputs -----------------------------------------------------------------------------
    def command(self, name: str, value: Any) -> None:
        """Apply one tester command at the current vehicle time."""
        if name == "brake_pedal":
            value = max(0.0, min(100.0, float(value)))
            if value > self.pedal:
                # Each extra bit of stroke lets atmosphere into the booster.
                self.vacuum -= self.vacuum * PEDAL_CONSUMPTION * (value - self.pedal) / 100.0
            if value != self.pedal:
                self.pedal_changed = self.t
            self.pedal = value
        if name == "drive_mode_request" and value != self.cmd.get(name):
            self.mode_request_at = self.t
        self.cmd[name] = value

    # -- physics ----------------------------------------------------------------------------
    def advance(self, to_t: float) -> None:
        """Integrate all nodes up to vehicle time ``to_t``."""
        while self.t < to_t - 1e-9:
            dt = min(STEP_S, to_t - self.t)
            self.t += dt
            self._step(dt)

    def _step(self, dt: float) -> None:
        faults, cmd = self.faults, self.cmd
        key_on = cmd["key_switch"] == "on"
        hvil_ok = "hvil_open" not in faults and not cmd["hvil_break"]
        # The ECU opens the contactors on an open interlock, unless the fault makes it ignore it.
        hvil_allows = hvil_ok or "hvil_no_shutdown" in faults
        speed = float(cmd["speed_simulation"])

        # BMS contactors: the tester's override wins over the ECU's request.
        override = cmd["contactor_request"]
        want_closed = override == "close" or (override in ("none", None) and key_on and hvil_allows)
        welded = "stuck_contactor" in faults
        pack = self.pack_ocv
        if welded:
            self.main_closed = True
            self.link_v = pack
        if want_closed and not self.main_closed:
            if self.precharge not in ("active", "failed"):
                self.precharge, self.precharge_started = "active", self.t
            if self.precharge == "active":
                if "precharge_failure" not in faults:
                    self.link_v += (pack - self.link_v) * (1 - math.exp(-dt / PRECHARGE_RC_S))
                if "premature_contactor_close" in faults:
                    fraction = 0.5
                elif "early_contactor_close" in faults:
                    fraction = EARLY_CLOSE_FRACTION
                else:
                    fraction = PRECHARGE_CLOSE_FRACTION
                if self.link_v >= fraction * pack:
                    self.main_closed, self.precharge = True, "done"
                elif self.t - self.precharge_started > PRECHARGE_TIMEOUT_S:
                    self.precharge = "failed"
        elif not want_closed:
            if not welded:
                self.main_closed = False
                self.link_v *= math.exp(-dt / 2.0)  # bleed resistor
            self.precharge = "idle"
        if self.main_closed and not welded:
            self.link_v = pack
        if self.precharge == "active" and not self.main_closed:
            self.current = (pack - self.link_v) / PRECHARGE_R_OHM
        elif self.main_closed:
            self.current = IDLE_LOAD_A
        else:
            self.current = 0.0

        # ECU state machine
        if not key_on:
            self.vehicle_state = "off"
        elif not hvil_ok:
            self.vehicle_state = "standby"
        elif self.main_closed and self.precharge != "failed":
            self.vehicle_state = "ready"
        elif self.precharge == "failed":
            self.vehicle_state = "fault"
        else:
            self.vehicle_state = "precharge"
        request = cmd["drive_mode_request"]
        if (
            request in ("commute", "power", "city")
            and request != self.drive_mode
            and self.mode_request_at is not None
            and self.t - self.mode_request_at >= 0.05
            and not (request == "city" and "ignored_drive_mode" in faults)
        ):
            self.drive_mode = request
        ready = self.vehicle_state == "ready"
        inhibited = bool(cmd["charge_plug_simulation"]) and "drive_while_plugged" not in faults
        self.torque_request = float(cmd["torque_command"]) if ready and not inhibited else 0.0
        target = 0.0 if "inverter_no_response" in faults else self.torque_request
        self.torque_feedback += (target - self.torque_feedback) * (
            1 - math.exp(-dt / INVERTER_TAU_S)
        )

        # 12 V DC-DC: runs while the HV bus is live, and carries the load bank when asked.
        if self.main_closed and key_on:
            self.dcdc_current = LV_LOAD_BANK_A if cmd["lv_load"] else LV_IDLE_A
            self.dcdc_voltage = DCDC_VOLTAGE_V - DCDC_DROOP_OHM * self.dcdc_current
            if cmd["lv_load"] and "dcdc_undervoltage" in faults:
                self.dcdc_voltage = DCDC_FAULT_V
        else:
            self.dcdc_current, self.dcdc_voltage = 0.0, LV_BATTERY_V

        # Driver warnings on the cluster: low vacuum (debounced, with hysteresis), thermal event.
        if self.vacuum < VACUUM_WARN_ON_KPA:
            if self.vacuum_low_since is None:
                self.vacuum_low_since = self.t
            elif self.t - self.vacuum_low_since >= VACUUM_WARN_DELAY_S:
                self.vacuum_warning = "no_vacuum_warning" not in faults
        elif self.vacuum > VACUUM_WARN_OFF_KPA:
            self.vacuum_low_since, self.vacuum_warning = None, False
        if cmd["thermal_event_test"]:
            if self.thermal_since is None:
                self.thermal_since = self.t
            elif self.t - self.thermal_since >= THERMAL_WARN_DELAY_S:
                self.thermal_warning = "no_thermal_warning" not in faults
        else:
            self.thermal_since, self.thermal_warning = None, False

        # Brakes: the switch follows the pedal after a short debounce.
        if self.t - self.pedal_changed >= 0.015:
            self.brake_switch = self.pedal > BRAKE_SWITCH_PCT and "brake_switch_stuck" not in faults
        moving = speed > REGEN_MIN_SPEED_KPH
        if "regen_disabled" in faults or not ready or not moving:
            self.regen = 0.0
        elif self.brake_switch:
            self.regen = REGEN_NM
        elif "regen_not_cut" not in faults:
            self.regen = 0.0

        # Vacuum pump with hysteresis; the tester may inhibit it.
        on_below = 35.0 if "pump_threshold_low" in faults else PUMP_ON_KPA
        if cmd["pump_mode"] == "off" or "dead_pump" in faults:
            self.pump_on = False
        elif self.vacuum < on_below:
            self.pump_on = True
        elif self.vacuum >= PUMP_OFF_KPA:
            self.pump_on = False
        if self.pump_on:
            self.vacuum += (VACUUM_MAX_KPA - self.vacuum) * (1 - math.exp(-dt / PUMP_TAU_S))
        leak = 0.8 if "vacuum_leak" in faults else LEAK_KPA_S
        self.vacuum = max(0.0, self.vacuum - leak * dt * min(1.0, self.vacuum / 40.0))

        # BMS alarms: a genuine condition or the tester's self-test, debounced.
        test = cmd["alarm_test"]
        conditions = {
            "cell_ov": self._max_cell > self.alarm_limits["cell_ov"] or test == "cell_overvoltage",
            "cell_uv": self._min_cell < self.alarm_limits["cell_uv"] or test == "cell_undervoltage",
            "over_temp": self._max_temp > self.alarm_limits["over_temp"]
            or test == "over_temperature",
            "over_current": abs(self.current) > self.alarm_limits["over_current"]
            or test == "over_current",
        }
        for name, active in conditions.items():
            if active:
                since = self.alarm_since[name]
                if since is None:
                    self.alarm_since[name] = self.t
                elif self.t - since >= ALARM_DEBOUNCE_S:
                    self.alarms[name] = "silent_bms_alarm" not in faults
            else:
                self.alarm_since[name] = None
                self.alarms[name] = False

    # -- outputs ----------------------------------------------------------------------------
    def semantic_value(self, key: str, index: int | None) -> Any:
        """The value of a vehicle-side semantic name right now (engine units / state names)."""
        f = self.faults
        match key:
            case "alive_counter":
                return self.alive
            case "vehicle_state":
                return self.vehicle_state
            case "drive_mode":
                return self.drive_mode
            case "hvil":
                return "open" if "hvil_open" in f or self.cmd["hvil_break"] else "closed"
            case "fault_count":
                return 1 if "active_fault_code" in f else 0
            case "fault_code":
                return 0x0C73 if "active_fault_code" in f else 0
            case "vehicle_speed":
                return float(self.cmd["speed_simulation"])
            case "torque_request":
                return self.torque_request
            case "torque_feedback":
                return self.torque_feedback
            case "regen_torque":
                return self.regen
            case "charge_plug":
                return bool(self.cmd["charge_plug_simulation"])
            case "dcdc_voltage":
                return self.dcdc_voltage
            case "dcdc_current":
                return self.dcdc_current
            case "vacuum_warning":
                return self.vacuum_warning
            case "thermal_warning":
                return self.thermal_warning
            case "ac_isolation_resistance":
                return AC_ISOLATION_FAULT_OHM if "ac_isolation_fault" in f else AC_ISOLATION_OHM
            case "pack_voltage":
                return self.pack_voltage
            case "pack_current":
                return self.current
            case "soc":
                return 5.0 if "soc_implausible" in f else SOC_PCT
            case "cell_voltage":
                return self.cells[index - 1]
            case "cell_voltage_min":
                return self._min_cell
            case "cell_voltage_max":
                return self._max_cell
            case "cell_temperature":
                return self.temps[index - 1]
            case "isolation_resistance":
                return 20_000.0 if "isolation_fault" in f else ISOLATION_OHM
            case "dc_link_voltage":
                return self.link_v
            case "contactor_state":
                return "closed" if self.main_closed else "open"
            case "precharge_state":
                return self.precharge
            case "balancing_active":
                return False
            case "balancing_cells":
                return 0
            case "charge_current_limit":
                return 40.0 if "charge_limit_out_of_range" in f else CHARGE_LIMIT_A
            case "alarm_cell_overvoltage":
                return self.alarms["cell_ov"]
            case "alarm_cell_undervoltage":
                return self.alarms["cell_uv"]
            case "alarm_over_temperature":
                return self.alarms["over_temp"]
            case "alarm_over_current":
                return self.alarms["over_current"]
            case "brake_vacuum":
                return self.vacuum
            case "pump_running":
                return self.pump_on
            case "brake_switch":
                return self.brake_switch
        return None


def ocv_at(table: list[tuple[float, float]], soc_pct: float) -> float:
    """The open-circuit cell voltage of ``soc_pct`` on a rising [volts, percent] table."""
    for (v0, s0), (v1, s1) in zip(table, table[1:], strict=False):
        if s0 <= soc_pct <= s1:
            return round(v0 + (v1 - v0) * (soc_pct - s0) / (s1 - s0), 4)
    return table[-1][0] if soc_pct > table[-1][1] else table[0][0]
