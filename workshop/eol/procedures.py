"""The real procedures, kept as code: precharge, the BMS alarm self-test, vacuum build-up
and the vacuum hold (leak) test. Each declares its measurements like the other checks."""

from __future__ import annotations

import logging
import statistics
from typing import Any

from workshop.eol.checkaids import _latest
from workshop.eol.messages import message as say
from workshop.eol.records import (
    BRAKE_VACUUM,
    Report,
    _check,
    _Precondition,
    _Skip,
)
from workshop.eol.tester import Tester

log = logging.getLogger(__name__)


@_check(
    "bms.precharge",
    "Precharge completes; contactor closes below 1 A",
    "พรีชาร์จเสร็จตามเวลา คอนแทคเตอร์ต่อเมื่อกระแสต่ำ",
    needs=("contactor_request", "contactor_state", "pack_current"),
    depends_on=("bms.contactors_open",),
)
def check_precharge(ctx: Tester, r: Report) -> None:
    """From open, precharge finishes in time and the main contactor closes with low current."""
    lim = ctx.limits.bms
    contactor = ctx.kit.binding("contactor_state")
    precharge = ctx.kit.binding("precharge_state") if ctx.kit.has("precharge_state") else None
    if ctx.kit.has("dc_link_voltage"):
        # Time the precharge from a discharged DC link, or it proves nothing.
        safe = lim.precharge_start_link_max_v
        start = ctx.now()
        hit = ctx.wait_for("dc_link_voltage", lambda v: v <= safe, lim.link_discharge_within_s)
        if hit is None:
            raise _Precondition(
                "link_not_discharged",
                value=f"{_latest(ctx, 'dc_link_voltage'):.0f}",
                limit=f"{lim.link_discharge_within_s:g}",
                safe=f"{safe:g}",
            )
        r.measure(
            "link_discharge_time", max(0.0, hit.t - start), "s", high=lim.link_discharge_within_s
        )
    t0 = ctx.command(contactor_request="close")
    state: dict[str, Any] = {
        "current": _latest(ctx, "pack_current"),
        "closed": None,
        "done": None,
        "failed": None,
    }
    curve: list = []

    def watch(updates):
        frame_keys = {k: (t, v) for k, t, v in updates if t >= t0}
        if not frame_keys:
            return False
        if "contactor_state" in frame_keys and state["closed"] is None:
            t, v = frame_keys["contactor_state"]
            if contactor.is_state(v, "closed"):
                # the current in *earlier* frames is what flowed when the contactor closed
                state["closed"] = (t, state["current"])
        if "pack_current" in frame_keys and state["closed"] is None:
            state["current"] = frame_keys["pack_current"][1]
        if "dc_link_voltage" in frame_keys:
            t, v = frame_keys["dc_link_voltage"]
            curve.append((round(t - t0, 3), round(v, 1)))
        if precharge is not None and "precharge_state" in frame_keys:
            t, v = frame_keys["precharge_state"]
            if precharge.is_state(v, "done") and state["done"] is None:
                state["done"] = t
            if precharge.has_state("failed") and precharge.is_state(v, "failed"):
                state["failed"] = t
                return True
        return state["closed"] is not None and (precharge is None or state["done"] is not None)

    ctx.pump(t0 + lim.precharge_within_s, watch)
    r.series["dc_link_voltage"] = curve
    finished = (
        state["done"]
        if state["done"] is not None
        else (state["closed"][0] if state["closed"] else None)
    )
    link = _latest(ctx, "dc_link_voltage") if ctx.kit.has("dc_link_voltage") else None
    pack = _latest(ctx, "pack_voltage") if ctx.kit.has("pack_voltage") else None
    link_text = (
        say("link_of_pack", link=f"{link:.0f}", pack=f"{pack:.0f}")
        if link is not None and pack
        else say("empty")
    )
    if state["failed"] is not None and finished is None:
        r.measure(
            "precharge_time",
            None,
            "s",
            high=lim.precharge_within_s,
            fail=say("precharge_failed", seconds=f"{state['failed'] - t0:.1f}", link=link_text),
        )
    elif finished is None:
        r.measure(
            "precharge_time",
            None,
            "s",
            high=lim.precharge_within_s,
            fail=say("precharge_timeout", limit=f"{lim.precharge_within_s:g}", link=link_text),
        )
    else:
        r.measure(
            "precharge_time",
            finished - t0,
            "s",
            high=lim.precharge_within_s,
            fail=say(
                "precharge_slow",
                seconds=f"{finished - t0:.1f}",
                limit=f"{lim.precharge_within_s:g}",
            ),
        )
    if state["closed"] is not None:
        current = state["closed"][1]
        limit = lim.contactor_close_current_max_a
        if current is None:
            r.fail("closed_without_current")
        else:
            r.measure(
                "current_at_close",
                abs(current),
                "A",
                high=limit,
                digits=2,
                fail=say("closed_under_current", current=f"{abs(current):.2f}", limit=f"{limit:g}"),
            )
    ctx.command(
        contactor_request="none"
        if ctx.kit.binding("contactor_request").has_state("none")
        else "open"
    )


# (self-test, alarm flag, message code of the alarm's name)
_ALARMS = (
    ("cell_overvoltage", "alarm_cell_overvoltage", "alarm.cell_overvoltage"),
    ("cell_undervoltage", "alarm_cell_undervoltage", "alarm.cell_undervoltage"),
    ("over_temperature", "alarm_over_temperature", "alarm.over_temperature"),
    ("over_current", "alarm_over_current", "alarm.over_current"),
)


@_check(
    "bms.alarm_reporting",
    "BMS raises its CAN alarms",
    "BMS ส่งสัญญาณเตือนทาง CAN",
    needs=("alarm_test",),
)
def check_alarm_reporting(ctx: Tester, r: Report) -> None:
    """For each alarm self-test the kit supports: the alarm is raised in time, then cleared."""
    lim = ctx.limits.bms
    test = ctx.kit.binding("alarm_test")
    testable = [a for a in _ALARMS if ctx.kit.has(a[1]) and test.has_state(a[0])]
    if not testable:
        raise _Skip("no_alarm_test")
    if ctx.kit.has("alarm_test_cell"):
        ctx.command(alarm_test_cell=lim.alarm_test_cell)
    silent: list[tuple[str, str]] = []
    for kind, flag, name in testable:
        text = say(name)
        b = ctx.kit.binding(flag)
        before = ctx.fresh(flag)
        if before is None:
            r.measure(
                f"{kind}_alarm_time",
                None,
                "s",
                high=lim.alarm_within_s,
                fail=say("no_alarm_status", source=b.label),
            )
            continue
        if before.value:
            # A genuine condition already raised it: the BMS is reporting, which is the point.
            r.measure(f"{kind}_alarm_time", 0.0, "s", high=lim.alarm_within_s)
            r.note("alarm_already", alarm=text)
            continue
        t = ctx.command(alarm_test=kind)
        hit = ctx.wait_for(flag, bool, lim.alarm_within_s, since=t)
        t_end = ctx.command(alarm_test="none")
        if hit is None:
            r.measure(f"{kind}_alarm_time", None, "s", high=lim.alarm_within_s, quiet=True)
            silent.append((name, b.label))
            continue
        r.measure(
            f"{kind}_alarm_time",
            hit.t - t,
            "s",
            high=lim.alarm_within_s,
            fail=say(
                "alarm_late",
                alarm=text,
                seconds=f"{hit.t - t:.2f}",
                limit=f"{lim.alarm_within_s:g}",
            ),
        )
        if ctx.wait_for(flag, lambda v: not v, lim.alarm_clear_within_s, since=t_end) is None:
            r.fail("alarm_stays", alarm=text, limit=f"{lim.alarm_clear_within_s:g}")
    if silent:
        where = ", ".join(dict.fromkeys(label for _, label in silent))
        r.failures.insert(
            0,
            say(
                "alarms_silent",
                alarms=say("names", items=[say(name) for name, _ in silent]),
                limit=f"{lim.alarm_within_s:g}",
                sources=where,
            ),
        )


@_check(
    "brakes.vacuum_build",
    "Vacuum pump builds vacuum from atmospheric",
    "ปั๊มสุญญากาศสร้างแรงดูดจากความดันบรรยากาศ",
    needs=("brake_vacuum", "pump_mode", "brake_pedal"),
    resources=BRAKE_VACUUM,
)
def check_vacuum_build(ctx: Tester, r: Report) -> None:
    """Deplete the booster (pump off, pedal strokes), then time the pump to the minimum."""
    lim = ctx.limits.brakes
    ctx.command(pump_mode="off", brake_pedal=0.0)
    hit = ctx.fresh("brake_vacuum")
    if hit is None:
        raise _Precondition("no_vacuum", source=ctx.kit.binding("brake_vacuum").label)
    vacuum, strokes = hit.value, 0
    while vacuum > lim.atmospheric_max_kpa and strokes < lim.vent_strokes_max:
        ctx.command(brake_pedal=100.0)
        ctx.sleep(lim.vent_stroke_s)
        ctx.command(brake_pedal=0.0)
        ctx.sleep(lim.vent_stroke_s)
        strokes += 1
        hit = ctx.fresh("brake_vacuum")
        vacuum = hit.value if hit is not None else vacuum
    if vacuum > lim.atmospheric_max_kpa:
        ctx.command(pump_mode="auto")
        raise _Precondition("cannot_vent", vacuum=f"{vacuum:.1f}", strokes=strokes)
    r.measure("vent_strokes", strokes, "", digits=0)
    r.measure("start_vacuum", vacuum, "kPa", high=lim.atmospheric_max_kpa, digits=1)
    trail: dict[str, list] = {"brake_vacuum": [], "pump_running": []}
    t = ctx.command(pump_mode="auto")
    hit = ctx.wait_for(
        "brake_vacuum",
        lambda v: v >= lim.vacuum_min_kpa,
        lim.vacuum_build_within_s,
        since=t,
        record=trail,
    )
    r.series["brake_vacuum"] = [(t_, round(v, 1)) for t_, v in trail["brake_vacuum"]]
    if hit is None:
        reached = _latest(ctx, "brake_vacuum") or 0.0
        never_ran = ctx.kit.has("pump_running") and not any(v for _, v in trail["pump_running"])
        r.measure("vacuum_reached", reached, "kPa", low=lim.vacuum_min_kpa, digits=1, quiet=True)
        r.measure(
            "build_time",
            None,
            "s",
            high=lim.vacuum_build_within_s,
            fail=say(
                "vacuum_short_pump_off" if never_ran else "vacuum_short",
                reached=f"{reached:.1f}",
                limit=f"{lim.vacuum_build_within_s:g}",
                needed=f"{lim.vacuum_min_kpa:g}",
            ),
        )
        return
    r.measure("vacuum_reached", hit.value, "kPa", low=lim.vacuum_min_kpa, digits=1)
    r.measure(
        "build_time",
        hit.t - t,
        "s",
        high=lim.vacuum_build_within_s,
        digits=1,
        fail=say(
            "vacuum_slow",
            seconds=f"{hit.t - t:.1f}",
            needed=f"{lim.vacuum_min_kpa:g}",
            limit=f"{lim.vacuum_build_within_s:g}",
        ),
    )


@_check(
    "brakes.vacuum_hold",
    "Booster holds vacuum (leak test)",
    "หม้อลมเบรกคงแรงดูด (ทดสอบการรั่ว)",
    needs=("brake_vacuum", "pump_mode"),
    depends_on=("brakes.vacuum_build",),
    resources=BRAKE_VACUUM,
)
def check_vacuum_hold(ctx: Tester, r: Report) -> None:
    """With the pump stopped after its cycle, the vacuum falls no faster than the limit."""
    lim = ctx.limits.brakes
    ctx.command(pump_mode="auto")
    if ctx.kit.has("pump_running"):
        start = ctx.now()
        stopped = ctx.wait_for("pump_running", lambda v: not v, lim.pump_settle_within_s)
        if stopped is None:
            raise _Precondition("pump_keeps_running", limit=f"{lim.pump_settle_within_s:g}")
        r.measure("pump_run_on", max(0.0, stopped.t - start), "s", digits=1)
    else:
        ctx.sleep(lim.pump_settle_within_s / 4)
    ctx.command(pump_mode="off")
    samples = ctx.observe(lim.leak_window_s, ["brake_vacuum"]).samples.get("brake_vacuum", [])
    ctx.command(pump_mode="auto")
    r.series["brake_vacuum"] = [(round(t - samples[0][0], 2), round(v, 1)) for t, v in samples]
    if len(samples) < 3:
        r.fail("vacuum_few", count=len(samples), window=f"{lim.leak_window_s:g}")
        return
    ts = [t for t, _ in samples]
    vs = [v for _, v in samples]
    slope = statistics.linear_regression(ts, vs).slope
    rate = max(0.0, -slope)
    drop = vs[0] - vs[-1]
    r.measure(
        "leak_rate",
        rate,
        "kPa/s",
        high=lim.leak_rate_max_kpa_per_s,
        digits=3,
        fail=say(
            "vacuum_leak",
            drop=f"{drop:.1f}",
            window=f"{lim.leak_window_s:g}",
            rate=f"{rate:.2f}",
            limit=f"{lim.leak_rate_max_kpa_per_s:g}",
        ),
    )
    r.measure("vacuum_drop", drop, "kPa", digits=1)
