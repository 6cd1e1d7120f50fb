"""The safety checks an assessor expects beyond the basic sequences (issue 11) that are still
code: the precharge voltage ratio, contactors opening on an open HVIL loop, no drive while the
charge plug is in, the 12 V DC-DC converter under load and the driver's low-vacuum warning (the
AC-side isolation and the thermal-event warning are rows of ``checks.toml``). Each limit and its
source live in the kit's eol.toml or its profile."""

from __future__ import annotations

import logging
import statistics
from typing import Any

from workshop.eol.checkaids import _ensure_ready, _latest
from workshop.eol.messages import message as say
from workshop.eol.records import BRAKE_VACUUM, Report, _check, _Precondition
from workshop.eol.tester import Tester

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# ECU
# --------------------------------------------------------------------------------------------


@_check(
    "ecu.charge_inhibit",
    "No drive while the charge plug is in",
    "ขับเคลื่อนไม่ได้ขณะเสียบสายชาร์จ",
    needs=("charge_plug_simulation", "charge_plug", "torque_command", "torque_request"),
    depends_on=("ecu.ready",),
)
def check_charge_inhibit(ctx: Tester, r: Report) -> None:
    """Plug in (simulated proximity pilot), ask for torque: the ECU must request none."""
    lim = ctx.limits.ecu
    _ensure_ready(ctx)
    t = ctx.command(charge_plug_simulation=True, torque_command=0.0)
    try:
        if ctx.wait_for("charge_plug", bool, lim.charge_plug_within_s, since=t) is None:
            raise _Precondition(
                "plug_not_detected",
                source=ctx.kit.binding("charge_plug").label,
                limit=f"{lim.charge_plug_within_s:g}",
            )
        ctx.command(torque_command=ctx.limits.ecu.torque_test_nm)
        obs = ctx.observe(lim.charge_inhibit_window_s, ["torque_request"])
        requested = [abs(v) for v in obs.values("torque_request")]
        if not requested:
            raise _Precondition(
                "no_torque_request_frames",
                source=ctx.kit.binding("torque_request").label,
                window=f"{lim.charge_inhibit_window_s:g}",
            )
        highest = max(requested)
        r.measure(
            "torque_while_plugged",
            highest,
            "Nm",
            high=lim.charge_inhibit_max_nm,
            digits=1,
            fail=say(
                "drive_while_plugged",
                value=f"{highest:.1f}",
                asked=f"{lim.torque_test_nm:g}",
                limit=f"{lim.charge_inhibit_max_nm:g}",
            ),
        )
    finally:
        ctx.command(torque_command=0.0, charge_plug_simulation=False)
    if ctx.wait_for("charge_plug", lambda v: not v, lim.charge_plug_within_s) is None:
        r.fail("plug_stays", limit=f"{lim.charge_plug_within_s:g}")


@_check(
    "ecu.dcdc_output",
    "12 V DC-DC output under load",
    "แรงดันขาออก DC-DC 12 V ขณะมีโหลด",
    needs=("lv_load", "dcdc_voltage", "dcdc_current"),
    depends_on=("ecu.ready",),
)
def check_dcdc_output(ctx: Tester, r: Report) -> None:
    """With HV on and the 12 V load bank switched on, the converter holds its voltage band."""
    lim = ctx.limits.ecu
    low, high = lim.dcdc_voltage_v
    _ensure_ready(ctx)
    ctx.command(lv_load=True)
    try:
        ctx.sleep(lim.dcdc_settle_s)
        obs = ctx.observe(lim.dcdc_window_s, ["dcdc_voltage", "dcdc_current"])
    finally:
        ctx.command(lv_load=False)
    volts, amps = obs.values("dcdc_voltage"), obs.values("dcdc_current")
    if not volts or not amps:
        raise _Precondition(
            "no_dcdc_status",
            source=ctx.kit.binding("dcdc_voltage").label,
            window=f"{lim.dcdc_window_s:g}",
        )
    load = statistics.fmean(amps)
    if load < lim.dcdc_load_min_a:
        # Without the load there is nothing to judge: the bench, not the converter, is at fault.
        raise _Precondition(
            "dcdc_no_load", current=f"{load:.1f}", needed=f"{lim.dcdc_load_min_a:g}"
        )
    r.measure("dcdc_load_current", load, "A", low=lim.dcdc_load_min_a, digits=1)
    lowest, highest = min(volts), max(volts)
    r.measure(
        "dcdc_voltage_min",
        lowest,
        "V",
        low,
        high,
        fail=say(
            "dcdc_low", value=f"{lowest:.2f}", low=f"{low:g}", high=f"{high:g}", load=f"{load:.0f}"
        ),
    )
    r.measure(
        "dcdc_voltage_max",
        highest,
        "V",
        low,
        high,
        fail=say("dcdc_high", value=f"{highest:.2f}", low=f"{low:g}", high=f"{high:g}"),
    )


# --------------------------------------------------------------------------------------------
# BMS
# --------------------------------------------------------------------------------------------


@_check(
    "bms.precharge_ratio",
    "DC link at 95 % of the pack before the main contactor closes",
    "แรงดัน DC link ถึง 95 % ของแพ็กก่อนคอนแทคเตอร์หลักต่อ",
    needs=("contactor_request", "contactor_state", "dc_link_voltage", "pack_voltage"),
    depends_on=("bms.precharge",),
)
def check_precharge_ratio(ctx: Tester, r: Report) -> None:
    """From a discharged link, close: the last link voltage seen while the contactor was still
    reported open, as a share of the pack voltage, must reach the limit."""
    lim = ctx.limits.bms
    contactor = ctx.kit.binding("contactor_state")
    t_open = ctx.command(contactor_request="open")
    if (
        ctx.wait_for(
            "contactor_state",
            lambda v: contactor.is_state(v, "open"),
            lim.contactor_open_within_s,
            since=t_open,
        )
        is None
    ):
        raise _Precondition("ratio_not_open", limit=f"{lim.contactor_open_within_s:g}")
    safe = lim.precharge_start_link_max_v
    if ctx.wait_for("dc_link_voltage", lambda v: v <= safe, lim.link_discharge_within_s) is None:
        raise _Precondition(
            "link_not_discharged",
            value=f"{_latest(ctx, 'dc_link_voltage'):.0f}",
            limit=f"{lim.link_discharge_within_s:g}",
            safe=f"{safe:g}",
        )
    t0 = ctx.command(contactor_request="close")
    seen: dict[str, Any] = {"link": [], "pack": [], "last_open": None, "closed": None}

    def watch(updates):
        for key, t, value in updates:
            if t < t0:
                continue
            if key == "dc_link_voltage":
                seen["link"].append((t, value))
            elif key == "pack_voltage":
                seen["pack"].append((t, value))
            elif key == "contactor_state" and seen["closed"] is None:
                if contactor.is_state(value, "closed"):
                    seen["closed"] = t
                else:
                    seen["last_open"] = t
        return seen["closed"] is not None

    try:
        ctx.pump(t0 + lim.precharge_within_s, watch)
    finally:
        ctx.command(
            contactor_request="none"
            if ctx.kit.binding("contactor_request").has_state("none")
            else "open"
        )
    closed, last_open = seen["closed"], seen["last_open"]
    if closed is None:
        raise _Precondition("ratio_not_closed", limit=f"{lim.precharge_within_s:g}")
    # The link as last seen while the contactor was reported open: a sample from after the
    # close would show the pack voltage itself and prove nothing.
    before = [v for t, v in seen["link"] if last_open is not None and t <= last_open]
    packs = [v for t, v in seen["pack"] if t <= closed] or [_latest(ctx, "pack_voltage")]
    pack = packs[-1]
    if not before or not pack:
        raise _Precondition("ratio_no_samples", source=ctx.kit.binding("dc_link_voltage").label)
    link = before[-1]
    ratio = 100.0 * link / pack
    limit = lim.precharge_min_link_ratio_pct
    r.measure(
        "link_ratio_at_close",
        ratio,
        "%",
        low=limit,
        digits=1,
        fail=say(
            "precharge_ratio_low",
            ratio=f"{ratio:.0f}",
            link=f"{link:.0f}",
            pack=f"{pack:.0f}",
            limit=f"{limit:g}",
        ),
    )


@_check(
    "bms.hvil_shutdown",
    "Contactors open when the HVIL loop opens",
    "คอนแทคเตอร์เปิดเมื่อวงจร HVIL เปิด",
    needs=("hvil_break", "hvil", "contactor_state", "key_switch", "vehicle_state"),
    depends_on=("ecu.hvil", "bms.contactors_open", "bms.precharge"),
)
def check_hvil_shutdown(ctx: Tester, r: Report) -> None:
    """READY with the contactors closed, open the interlock loop: the contactors must open in
    time; then close it again."""
    lim = ctx.limits.bms
    contactor = ctx.kit.binding("contactor_state")
    hvil = ctx.kit.binding("hvil")
    _ensure_ready(ctx)
    if ctx.wait_for("contactor_state", lambda v: contactor.is_state(v, "closed"), 1.0) is None:
        raise _Precondition("hvil_contactor_not_closed")
    t = ctx.command(hvil_break=True)
    try:
        if ctx.wait_for("hvil", lambda v: hvil.is_state(v, "open"), 1.0, since=t) is None:
            raise _Precondition("hvil_break_not_seen", source=hvil.label)
        hit = ctx.wait_for(
            "contactor_state",
            lambda v: contactor.is_state(v, "open"),
            lim.hvil_shutdown_within_s,
            since=t,
        )
    finally:
        t_close = ctx.command(hvil_break=False)
    r.measure(
        "hvil_shutdown_time",
        None if hit is None else hit.t - t,
        "s",
        high=lim.hvil_shutdown_within_s,
        digits=2,
        fail=say(
            "hvil_contactors_stay",
            limit=f"{lim.hvil_shutdown_within_s:g}",
            state=contactor.describe(_latest(ctx, "contactor_state")),
        ),
    )
    if ctx.wait_for("hvil", lambda v: hvil.is_state(v, "closed"), 1.0, since=t_close) is None:
        r.fail("hvil_stays_open")


# --------------------------------------------------------------------------------------------
# Brakes
# --------------------------------------------------------------------------------------------


@_check(
    "brakes.low_vacuum_warning",
    "Driver warned of low brake vacuum",
    "แจ้งเตือนผู้ขับเมื่อแรงดูดหม้อลมเบรกต่ำ",
    needs=("vacuum_warning", "brake_vacuum", "pump_mode", "brake_pedal"),
    depends_on=("brakes.vacuum_build",),
    resources=BRAKE_VACUUM,
)
def check_low_vacuum_warning(ctx: Tester, r: Report) -> None:
    """Pump off, pedal strokes until the vacuum is under the warning level: the lamp must light
    in time; pump back on: it must go out once the vacuum is restored."""
    lim = ctx.limits.brakes
    b = ctx.kit.binding("vacuum_warning")
    ctx.command(pump_mode="auto", brake_pedal=0.0)
    if (
        ctx.wait_for("brake_vacuum", lambda v: v >= lim.vacuum_min_kpa, lim.vacuum_build_within_s)
        is None
    ):
        raise _Precondition("vacuum_not_ready", needed=f"{lim.vacuum_min_kpa:g}")
    at_rest = ctx.fresh("vacuum_warning")
    if at_rest is None:
        raise _Precondition("no_warning_status", source=b.label)
    if at_rest.value:
        r.fail("vacuum_warning_at_rest", vacuum=f"{_latest(ctx, 'brake_vacuum'):.1f}")
        return
    ctx.command(pump_mode="off")
    try:
        vacuum, strokes, below_at = _latest(ctx, "brake_vacuum"), 0, None
        while strokes < lim.vent_strokes_max:
            ctx.command(brake_pedal=100.0)
            ctx.sleep(lim.vent_stroke_s)
            ctx.command(brake_pedal=0.0)
            strokes += 1
            hit = ctx.fresh("brake_vacuum")
            vacuum = hit.value if hit is not None else vacuum
            if vacuum < lim.vacuum_warning_kpa:
                below_at = hit.t if hit is not None else ctx.now()
                break
            ctx.sleep(lim.vent_stroke_s)
        if below_at is None:
            raise _Precondition(
                "cannot_reach_warning",
                vacuum=f"{vacuum:.1f}",
                level=f"{lim.vacuum_warning_kpa:g}",
                strokes=strokes,
            )
        r.measure("vacuum_at_test", vacuum, "kPa", high=lim.vacuum_warning_kpa, digits=1)
        hit = ctx.wait_for("vacuum_warning", bool, lim.vacuum_warning_within_s, since=below_at)
    finally:
        t_pump = ctx.command(pump_mode="auto")
    r.measure(
        "vacuum_warning_time",
        None if hit is None else max(0.0, hit.t - below_at),
        "s",
        high=lim.vacuum_warning_within_s,
        digits=1,
        fail=say(
            "vacuum_warning_missing",
            vacuum=f"{vacuum:.1f}",
            limit=f"{lim.vacuum_warning_within_s:g}",
        ),
    )
    if hit is None:
        return
    restored = ctx.wait_for(
        "brake_vacuum", lambda v: v >= lim.vacuum_min_kpa, lim.vacuum_build_within_s, since=t_pump
    )
    if restored is None:
        raise _Precondition("vacuum_not_ready", needed=f"{lim.vacuum_min_kpa:g}")
    if (
        ctx.wait_for(
            "vacuum_warning", lambda v: not v, lim.vacuum_warning_within_s, since=restored.t
        )
        is None
    ):
        r.fail("vacuum_warning_stays", needed=f"{lim.vacuum_min_kpa:g}")
