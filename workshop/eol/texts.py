"""The EOL engine's texts: each message code's English text (the gettext msgid, with named
parameters) and each measurement's label. The Thai texts live in the translation catalogues;
:mod:`workshop.eol.messages` renders them."""

from __future__ import annotations


def _l(msgid: str) -> str:
    """Mark a catalogue text for extraction (pybabel's ``_l`` keyword); returns it unchanged."""
    return msgid


MESSAGES: dict[str, str] = {
    # -- the run and its checks --------------------------------------------------------------
    "passed": _l("passed"),
    "several": _l("%(first)s (and %(more)s more)"),
    "not_live": _l("needs a live vehicle (the test sends stimuli)"),
    "unmapped": _l("this kit does not map %(names)s in its eol.toml"),
    "skipped_failed": _l("skipped because '%(check)s' failed"),
    "skipped_error": _l("skipped because '%(check)s' could not be performed"),
    "skipped_skipped": _l("skipped because '%(check)s' was skipped"),
    "aborted": _l("run aborted: %(reason)s"),
    "internal_error": _l("internal error in this check (%(error)s)"),
    "measured": _l("%(label)s %(value)s"),
    "outside_limits": _l("%(label)s %(value)s is outside %(limits)s"),
    "list": _l("%(items)s"),
    "names": _l("%(items)s"),
    "empty": "",
    "stopped": _l("%(reason)s"),
    "stopped_by_operator": _l("stopped by the operator"),
    "cancelled_by_operator": _l("cancelled by the operator"),
    # -- the command line (workshop eol run / check-trace) -------------------------------------
    "cli_run_simulator": _l("EOL run: kit %(kit)s on the simulator (seed %(seed)s)"),
    "cli_run_simulator_faults": _l(
        "EOL run: kit %(kit)s on the simulator (seed %(seed)s) with faults %(faults)s"
    ),
    "cli_run_bus": _l("EOL run: kit %(kit)s on %(interface)s channel %(channel)s"),
    "cli_trace_check": _l("Trace %(file)s, kit %(kit)s"),
    "cli_col_check": _l("CHECK"),
    "cli_col_result": _l("RESULT"),
    "cli_col_measured": _l("MEASURED"),
    "cli_col_limits": _l("LIMITS"),
    "cli_col_message": _l("MESSAGE"),
    "cli_check_pass": _l("PASS"),
    "cli_check_fail": _l("FAIL"),
    "cli_check_error": _l("ERROR"),
    "cli_check_skipped": _l("SKIP"),
    "cli_run_aborted": _l("ABORTED"),
    "cli_run_incomplete": _l("INCOMPLETE"),
    "cli_mandatory_not_passed": _l(
        "Mandatory for a certificate but not passed (skipped, not performed or not mapped): "
        "%(checks)s"
    ),
    "cli_summary": _l(
        "%(verdict)s: %(passed)s passed, %(failed)s failed, %(errors)s error, %(skipped)s skipped"
    ),
    "cli_aborted": _l("Run aborted: %(reason)s"),
    "cli_trace": _l("Trace: %(path)s (%(frames)s frames, sha256 %(sha256)s)"),
    # -- uploaded traces ---------------------------------------------------------------------
    "trace_unknown_format": _l(
        "unknown trace format '%(format)s': use blf, asc, log (candump) or trc"
    ),
    "trace_unsupported_type": _l(
        "unsupported trace file type %(suffix)s: upload a .blf, .asc, .log (candump) or .trc file"
    ),
    "trace_not_found": _l("trace file %(name)s not found"),
    "trace_empty": _l("the trace file is empty (0 bytes)"),
    "trace_binary_not_text": _l(
        "this is a binary file, not a %(format)s text trace: check the file type"
    ),
    "trace_no_frames": _l(
        "no CAN frames found in this %(format)s file: is it really a %(format)s trace?"
    ),
    "trace_bad_timestamp": _l("frame %(index)s has no usable timestamp (%(value)s)"),
    "trace_time_backwards": _l(
        "frame %(index)s is %(seconds)s s earlier than the frame before it: the trace is not in "
        "time order"
    ),
    "trace_not_blf": _l(
        "not a BLF file: it does not start with the BLF signature (was it renamed from another "
        "format?)"
    ),
    "trace_blf_truncated": _l(
        "the BLF file is truncated: its header says %(declared)s bytes but only %(size)s "
        "arrived; upload it again"
    ),
    "trace_blf_corrupt": _l("the BLF file is corrupt (%(detail)s)"),
    "trace_bad_object": _l(
        "the trace file is corrupt near byte %(offset)s: it holds an object of %(size)s bytes, "
        "too small for its own header (a crafted or damaged file)"
    ),
    "trace_stuck": _l(
        "the trace file is corrupt near byte %(offset)s: reading it makes no progress (a "
        "crafted or damaged object)"
    ),
    "trace_not_text": _l("this is not a %(format)s text trace (not readable as text)"),
    "trace_text_unreadable": _l(
        "cannot read this %(format)s file: %(detail)s (truncated or not a %(format)s trace?)"
    ),
    "trace_too_many_frames": _l(
        "the trace has more than %(limit)s frames; cut it to the test and upload again"
    ),
    "trace_foreign": _l(
        "no frame of this kit's CAN database is in the trace (it holds IDs %(ids)s): is it from "
        "another vehicle, or was the wrong kit chosen?"
    ),
    "trace_over_limits": _l(
        "checking this trace needed more than %(seconds)s s of computing or %(megabytes)s MB of "
        "memory, so it was stopped: cut the trace to the test, or check it on a workstation "
        "with 'workshop eol check-trace'"
    ),
    "trace_checker_failed": _l("the trace checker stopped unexpectedly (%(detail)s)"),
    # -- the bus -----------------------------------------------------------------------------
    "adapter_error": _l("CAN adapter error: %(error)s"),
    "adapter_error_sending": _l("CAN adapter error while sending %(frame)s: %(error)s"),
    "no_traffic": _l(
        "no CAN traffic for %(seconds)s s: vehicle off, wrong bitrate or adapter unplugged"
    ),
    "no_traffic_at_start": _l(
        "no CAN traffic within %(seconds)s s of starting: vehicle off, wrong bitrate or "
        "adapter unplugged"
    ),
    "bus_off": _l("CAN controller is bus-off: check wiring, termination, bitrate"),
    "error_frames": _l("%(count)s CAN error frames: the bus is unusable"),
    "lagging": _l(
        "CAN frames arrive %(seconds)s s after their timestamps: this computer cannot keep up"
    ),
    # -- shared by several checks ------------------------------------------------------------
    "not_ready": _l(
        "vehicle did not reach READY within %(limit)s s of key-on (state %(state)s); cannot "
        "run this check"
    ),
    "no_pack_current": _l("no pack current (%(source)s) received"),
    "not_at_rest": _l("pack not at rest (%(current)s A flowing; judged below %(limit)s A)"),
    "missing_cells": _l(
        "no reading for cells %(which)s (%(frames)s not received in %(timeout)s s)"
    ),
    "missing_sensors": _l(
        "no reading for sensors %(which)s (%(frames)s not received in %(timeout)s s)"
    ),
    # values read on request (UDS ReadDataByIdentifier over ISO-TP)
    "missing_cells_uds": _l("no reading for cells %(which)s: %(reason)s"),
    "missing_sensors_uds": _l("no reading for sensors %(which)s: %(reason)s"),
    "uds_no_answer": _l(
        "no answer to the diagnostic request for DID %(did)s (request ID %(request)s) within "
        "%(timeout)s s"
    ),
    "uds_negative": _l(
        "the diagnostic request for DID %(did)s (request ID %(request)s) was refused: negative "
        "response %(nrc)s (%(name)s)"
    ),
    "uds_malformed": _l(
        "the answer for DID %(did)s (request ID %(request)s) holds %(got)s bytes where the kit's "
        "eol.toml expects %(expected)s"
    ),
    "uds_garbled": _l(
        "the answer for DID %(did)s (request ID %(request)s) is not a UDS response (bytes "
        "%(bytes)s)"
    ),
    # -- ECU ---------------------------------------------------------------------------------
    "heartbeat_none": _l(
        "no %(frame)s frame received in %(window)s s (expected one every %(period)s ms)"
    ),
    "heartbeat_one": _l("only one %(frame)s frame in %(window)s s"),
    "heartbeat_period": _l("heartbeat period %(period)s ms is outside %(low)s–%(high)s ms"),
    "heartbeat_gap": _l("heartbeat missing for %(gap)s ms (longest allowed gap %(allowed)s ms)"),
    "heartbeat_ok": _l("%(frames)s frames, period %(period)s ms"),
    "counter_few": _l(
        "only %(count)s alive-counter values in %(window)s s; cannot judge the counter"
    ),
    "counter_stuck": _l(
        "alive counter stuck at %(value)s (%(errors)s error(s) in %(frames)s frames)"
    ),
    "counter_jump": _l(
        "alive counter jumped from %(start)s to %(end)s (%(errors)s error(s) in %(frames)s frames)"
    ),
    "counter_ok": _l("%(frames)s frames, counter wraps at %(modulo)s"),
    "no_hvil": _l("no HVIL status (%(source)s) received"),
    "hvil_open": _l(
        "HVIL is %(state)s: a high-voltage connector or the service plug is not seated"
    ),
    "no_fault_status": _l("no fault-code status (%(source)s) received"),
    "fault_codes": _l(
        "ECU reports %(count)s active fault code(s): read them with the diagnostic tool and "
        "repair before the EOL test"
    ),
    "fault_codes_first": _l(
        "ECU reports %(count)s active fault code(s) (first: %(first)s): read them with the "
        "diagnostic tool and repair before the EOL test"
    ),
    "not_off": _l("vehicle still %(state)s %(limit)s s after key-off; cannot time key-on"),
    "stuck_in_precharge": _l(
        "vehicle state still PRECHARGE %(limit)s s after key-on: high voltage did not come up "
        "(see the BMS precharge check)"
    ),
    "ready_never": _l("vehicle state still %(state)s %(limit)s s after key-on (needs READY)"),
    "ready_late": _l("vehicle reached READY only after %(seconds)s s (limit %(limit)s s)"),
    "mode_ignored": _l(
        "drive mode %(mode)s requested, ECU still reports %(state)s after %(limit)s s"
    ),
    "mode_late": _l(
        "drive mode %(mode)s acknowledged only after %(seconds)s s (limit %(limit)s s)"
    ),
    "torque_not_passed": _l(
        "ECU did not pass the %(target)s Nm request on (%(source)s %(value)s Nm after %(limit)s s)"
    ),
    "torque_no_feedback": _l(
        "inverter torque feedback %(value)s Nm %(limit)s s after a %(target)s Nm request "
        "(needs %(target)s ± %(tolerance)s Nm)"
    ),
    "torque_stays": _l(
        "torque feedback still %(value)s Nm %(limit)s s after the request returned to 0"
    ),
    # -- BMS ---------------------------------------------------------------------------------
    "no_pack_voltage": _l("no pack voltage (%(source)s) received in %(window)s s"),
    "pack_low": _l("pack voltage %(value)s V is below %(limit)s V"),
    "pack_high": _l("pack voltage %(value)s V is above %(limit)s V"),
    "pack_vs_cells": _l(
        "pack voltage %(value)s V disagrees with the sum of the cells %(total)s V: check the "
        "voltage sense wiring"
    ),
    "cell_high": _l("cell %(cell)s at %(value)s V is above %(limit)s V"),
    "cell_low": _l("cell %(cell)s at %(value)s V is below %(limit)s V"),
    "cells_ok": _l("all %(count)s cells %(low)s–%(high)s V"),
    "cell_max_high": _l("highest cell at %(value)s V is above %(limit)s V"),
    "cell_min_low": _l("lowest cell at %(value)s V is below %(limit)s V"),
    "no_cell_extremes": _l(
        "no lowest / highest cell voltage (%(source)s) received in %(window)s s"
    ),
    "spread_extremes": _l(
        "cell spread %(spread)s mV exceeds %(limit)s mV (highest cell %(high)s V, lowest "
        "%(low)s V): balance the pack"
    ),
    "spread": _l(
        "cell spread %(spread)s mV exceeds %(limit)s mV (cell %(high_cell)s at %(high)s V, "
        "cell %(low_cell)s at %(low)s V): balance the pack"
    ),
    "temp_high": _l("sensor %(sensor)s at %(value)s °C is above %(limit)s °C"),
    "temp_low": _l("sensor %(sensor)s at %(value)s °C is below %(limit)s °C"),
    "temp_outlier": _l(
        "sensor %(sensor)s reads %(value)s °C, %(deviation)s °C away from the others (median "
        "%(median)s °C): check the sensor"
    ),
    "temps_ok": _l("%(count)s sensors %(low)s–%(high)s °C"),
    "no_soc": _l("no SOC (%(source)s) received"),
    "soc_no_cells": _l("no cell voltages received; cannot judge the SOC"),
    "soc_extremes_apart": _l(
        "the lowest and highest cell are %(spread)s mV apart: the SOC cannot be judged from them"
    ),
    "soc_implausible": _l(
        "SOC %(soc)s %% is implausible: the cells rest at %(cell)s V, which means about "
        "%(expected)s %% (± %(tolerance)s %%)"
    ),
    "no_isolation": _l("no isolation resistance (%(source)s) received in %(window)s s"),
    "isolation_low": _l(
        "isolation resistance %(value)s kΩ is below %(limit)s kΩ (%(per_volt)s Ω/V × "
        "%(reference)s V): find the HV leak to chassis before driving"
    ),
    "no_balancing": _l("no balancing status: %(frame)s not received in %(timeout)s s"),
    "no_charge_limit": _l("no charge current limit: %(frame)s not received in %(timeout)s s"),
    "charge_limit_high": _l("charge current limit %(value)s A is above the charger's %(limit)s A"),
    "charge_limit_low": _l("charge current limit %(value)s A is below %(limit)s A"),
    "contactor_stuck": _l(
        "main contactor still %(state)s %(limit)s s after the open request: welded contactor? "
        "Do not drive"
    ),
    "link_not_discharged": _l(
        "DC link still %(value)s V %(limit)s s after opening (must fall below %(safe)s V): "
        "check the discharge circuit"
    ),
    "link_of_pack": _l("; DC link %(link)s V of %(pack)s V"),
    "precharge_failed": _l(
        "precharge FAILED after %(seconds)s s%(link)s: check the precharge resistor and relay"
    ),
    "precharge_timeout": _l(
        "precharge did not complete within %(limit)s s%(link)s: check the precharge resistor "
        "and relay"
    ),
    "precharge_slow": _l("precharge took %(seconds)s s (limit %(limit)s s)"),
    "closed_without_current": _l("main contactor closed before any pack current was reported"),
    "closed_under_current": _l(
        "main contactor closed while %(current)s A was flowing (must be below %(limit)s A): "
        "precharge ended too early"
    ),
    "no_alarm_test": _l("this kit maps no BMS alarm self-test"),
    "alarm.cell_overvoltage": _l("cell over-voltage"),
    "alarm.cell_undervoltage": _l("cell under-voltage"),
    "alarm.over_temperature": _l("over-temperature"),
    "alarm.over_current": _l("over-current"),
    "no_alarm_status": _l("no alarm status (%(source)s) received"),
    "alarm_already": _l("%(alarm)s alarm already active (a genuine condition)"),
    "alarm_late": _l("BMS raised the %(alarm)s alarm only after %(seconds)s s (limit %(limit)s s)"),
    "alarm_stays": _l("%(alarm)s alarm stayed active %(limit)s s after the self-test ended"),
    "alarms_silent": _l(
        "BMS did not raise its %(alarms)s alarms within %(limit)s s of the self-test request "
        "(%(sources)s)"
    ),
    # -- brakes ------------------------------------------------------------------------------
    "no_vacuum": _l("no vacuum reading (%(source)s)"),
    "cannot_vent": _l(
        "could not bring the booster to atmospheric pressure: still %(vacuum)s kPa after "
        "%(strokes)s pedal strokes with the pump off"
    ),
    "vacuum_short": _l(
        "vacuum reached only %(reached)s kPa after %(limit)s s (needs %(needed)s kPa)"
    ),
    "vacuum_short_pump_off": _l(
        "vacuum reached only %(reached)s kPa after %(limit)s s (needs %(needed)s kPa); the "
        "pump never ran"
    ),
    "vacuum_slow": _l("vacuum took %(seconds)s s to reach %(needed)s kPa (limit %(limit)s s)"),
    "pump_keeps_running": _l("the pump kept running for %(limit)s s; cannot start the leak test"),
    "vacuum_few": _l("only %(count)s vacuum readings in %(window)s s"),
    "vacuum_leak": _l(
        "vacuum fell %(drop)s kPa in %(window)s s (%(rate)s kPa/s, limit %(limit)s kPa/s): leak "
        "in the booster, check valve or hose"
    ),
    "vacuum_not_ready": _l("vacuum not at %(needed)s kPa before the pedal press"),
    "no_vacuum_after_press": _l("no vacuum reading after the pedal press"),
    "vacuum_not_recovered": _l(
        "vacuum still %(value)s kPa %(limit)s s after a full pedal press (needs %(needed)s kPa): "
        "the pump did not restore it"
    ),
    "switch_pressed_at_rest": _l("brake switch reports PRESSED with the pedal released"),
    "switch_not_closed": _l(
        "brake switch still RELEASED %(limit)s s after the pedal was pressed: check the switch "
        "and its adjustment"
    ),
    "switch_closed_late": _l("brake switch closed only %(seconds)s s after the pedal was pressed"),
    "switch_not_opened": _l("brake switch still PRESSED %(limit)s s after the pedal was released"),
    "switch_opened_late": _l("brake switch opened only %(seconds)s s after the pedal was released"),
    "regen_not_started": _l("could not start regeneration to test the cut"),
    "no_regen": _l(
        "no regenerative torque requested while braking at %(speed)s km/h (%(value)s Nm after "
        "%(limit)s s, needs at least %(needed)s Nm)"
    ),
    "regen_after_release": _l(
        "regenerative torque still %(value)s Nm %(limit)s s after the brake pedal was released"
    ),
    "regen_after_stop": _l(
        "regenerative torque still %(value)s Nm %(limit)s s after the vehicle stopped"
    ),
    # -- safety checks (checks_safety) ----------------------------------------------------------
    "plug_not_detected": _l(
        "the ECU did not report the charge plug (%(source)s) within %(limit)s s of the simulated "
        "plug-in"
    ),
    "no_torque_request_frames": _l("no torque request (%(source)s) received in %(window)s s"),
    "drive_while_plugged": _l(
        "the ECU requested %(value)s Nm with the charge plug in (%(asked)s Nm asked, at most "
        "%(limit)s Nm allowed): the car could drive off while charging"
    ),
    "plug_stays": _l("the ECU still reports the charge plug %(limit)s s after it was removed"),
    "no_dcdc_status": _l("no DC-DC output status (%(source)s) received in %(window)s s"),
    "dcdc_no_load": _l(
        "the 12 V load bank drew only %(current)s A (needs %(needed)s A): check the load request "
        "and the load bank"
    ),
    "dcdc_low": _l(
        "DC-DC output fell to %(value)s V under a %(load)s A load (needs %(low)s-%(high)s V): "
        "the 12 V battery will run down while driving"
    ),
    "dcdc_high": _l("DC-DC output rose to %(value)s V under load (needs %(low)s-%(high)s V)"),
    "no_ac_isolation": _l("no AC-side isolation reading (%(source)s) in %(window)s s"),
    "ac_isolation_low": _l(
        "AC-side isolation %(value)s kΩ is below %(limit)s kΩ (%(per_volt)s Ω/V × %(reference)s "
        "V): check the on-board charger and its AC wiring"
    ),
    "ratio_not_open": _l("the main contactor did not open within %(limit)s s of the request"),
    "ratio_not_closed": _l(
        "the main contactor did not close within %(limit)s s (see the precharge check)"
    ),
    "ratio_no_samples": _l(
        "no DC-link voltage (%(source)s) received while the contactor was still open"
    ),
    "precharge_ratio_low": _l(
        "main contactor closed with the DC link at %(ratio)s %% of the pack (%(link)s V of "
        "%(pack)s V; needs at least %(limit)s %%): check the BMS precharge threshold"
    ),
    "hvil_contactor_not_closed": _l("the main contactor is not closed in READY"),
    "hvil_break_not_seen": _l(
        "the ECU did not report the interlock open (%(source)s) when the tester opened the loop: "
        "check the HVIL wiring to the tester"
    ),
    "hvil_contactors_stay": _l(
        "contactors still %(state)s %(limit)s s after the HVIL loop opened: the ECU does not "
        "shut down high voltage on an open interlock"
    ),
    "hvil_stays_open": _l("the ECU still reports the interlock open after the loop was closed"),
    "no_warning_status": _l("no warning status (%(source)s) received"),
    "thermal_warning_at_rest": _l(
        "the thermal-event warning is on before any test: read the BMS fault log"
    ),
    "thermal_warning_missing": _l(
        "no thermal-event warning for the driver within %(limit)s s of the BMS self-test"
    ),
    "thermal_warning_stays": _l(
        "the thermal-event warning stays on %(limit)s s after the self-test ended"
    ),
    "vacuum_warning_at_rest": _l(
        "the low-vacuum warning is on with %(vacuum)s kPa of vacuum in the booster"
    ),
    "cannot_reach_warning": _l(
        "could not bring the vacuum under %(level)s kPa: still %(vacuum)s kPa after %(strokes)s "
        "pedal strokes with the pump off"
    ),
    "vacuum_warning_missing": _l(
        "no low-vacuum warning for the driver within %(limit)s s at %(vacuum)s kPa: check the "
        "vacuum sensor and the cluster lamp"
    ),
    "vacuum_warning_stays": _l(
        "the low-vacuum warning stays on after the vacuum was restored to %(needed)s kPa"
    ),
}

# Measurement labels, by measurement name.
LABELS: dict[str, str] = {
    "frames": _l("Frames"),
    "heartbeat_period": _l("Heartbeat period"),
    "longest_gap": _l("Longest gap"),
    "counter_errors": _l("Counter errors"),
    "hvil": _l("HVIL"),
    "active_fault_codes": _l("Active fault codes"),
    "time_to_ready": _l("Time to READY"),
    "power_ack_time": _l("Power mode acknowledged after"),
    "city_ack_time": _l("City mode acknowledged after"),
    "commute_ack_time": _l("Commute mode acknowledged after"),
    "torque_response_time": _l("Torque response time"),
    "torque_feedback": _l("Torque feedback"),
    "pack_voltage": _l("Pack voltage"),
    "pack_minus_cell_sum": _l("Pack minus sum of cells"),
    "cell_voltage_min": _l("Lowest cell"),
    "cell_voltage_max": _l("Highest cell"),
    "cell_spread": _l("Cell spread"),
    "temperature_min": _l("Lowest temperature"),
    "temperature_max": _l("Highest temperature"),
    "temperature_deviation": _l("Largest deviation from the median"),
    "soc": _l("State of charge"),
    "isolation_resistance": _l("Isolation resistance"),
    "balancing_active": _l("Balancing"),
    "balancing_cells": _l("Cells balancing"),
    "charge_current_limit": _l("Charge current limit"),
    "contactor_open_time": _l("Contactor opening time"),
    "link_discharge_time": _l("DC link discharge time"),
    "precharge_time": _l("Precharge time"),
    "current_at_close": _l("Current when the contactor closed"),
    "cell_overvoltage_alarm_time": _l("Cell over-voltage alarm after"),
    "cell_undervoltage_alarm_time": _l("Cell under-voltage alarm after"),
    "over_temperature_alarm_time": _l("Over-temperature alarm after"),
    "over_current_alarm_time": _l("Over-current alarm after"),
    "vent_strokes": _l("Pedal strokes to vent"),
    "start_vacuum": _l("Starting vacuum"),
    "build_time": _l("Vacuum build time"),
    "vacuum_reached": _l("Vacuum reached"),
    "vacuum_recovered": _l("Vacuum after recovery"),
    "pump_run_on": _l("Pump run-on"),
    "leak_rate": _l("Leak rate"),
    "vacuum_drop": _l("Vacuum drop"),
    "vacuum_after_press": _l("Vacuum after the press"),
    "recovery_time": _l("Recovery time"),
    "switch_on_delay": _l("Switch closing delay"),
    "switch_off_delay": _l("Switch opening delay"),
    "regen_delay": _l("Regeneration delay"),
    "regen_torque": _l("Regenerative torque"),
    "cut_after_release": _l("Regeneration cut after release"),
    "cut_at_standstill": _l("Regeneration cut at standstill"),
    "torque_while_plugged": _l("Torque requested with the plug in"),
    "dcdc_load_current": _l("12 V load current"),
    "dcdc_voltage_min": _l("Lowest DC-DC voltage under load"),
    "dcdc_voltage_max": _l("Highest DC-DC voltage under load"),
    "ac_isolation_resistance": _l("AC-side isolation resistance"),
    "link_ratio_at_close": _l("DC link / pack when the contactor closed"),
    "hvil_shutdown_time": _l("Contactors open after HVIL opened"),
    "thermal_warning_time": _l("Thermal-event warning after"),
    "vacuum_at_test": _l("Vacuum during the warning test"),
    "vacuum_warning_time": _l("Low-vacuum warning after"),
    # chart series and axes
    "brake_vacuum": _l("Brake vacuum"),
    "dc_link_voltage": _l("DC link voltage"),
    "cell_voltage": _l("Cell voltage"),
    "cell_temperature": _l("Cell temperature"),
    "axis_time": _l("Time"),
    "axis_cell": _l("Cell number"),
    "axis_sensor": _l("Temperature sensor"),
}
