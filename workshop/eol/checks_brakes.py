"""The brake checks still written as code: vacuum recovery, regeneration (the brake switch is a
row of ``checks.toml``)."""

from __future__ import annotations

import logging

from workshop.eol.checkaids import _ensure_ready, _latest
from workshop.eol.messages import message as say
from workshop.eol.records import (
    BRAKE_VACUUM,
    VEHICLE,
    Report,
    _check,
    _Precondition,
)
from workshop.eol.tester import Hit, Tester

log = logging.getLogger(__name__)


@_check(
    "brakes.vacuum_recovery",
    "Vacuum recovers after a full pedal press",
    "แรงดูดกลับคืนหลังเหยียบเบรกสุด",
    needs=("brake_vacuum", "brake_pedal"),
    depends_on=("brakes.vacuum_build",),
    resources=BRAKE_VACUUM,
)
def check_vacuum_recovery(ctx: Tester, r: Report) -> None:
    """After a full press and release the pump restores the minimum vacuum in time."""
    lim = ctx.limits.brakes
    ctx.command(pump_mode="auto", brake_pedal=0.0)
    if (
        ctx.wait_for("brake_vacuum", lambda v: v >= lim.vacuum_min_kpa, lim.vacuum_build_within_s)
        is None
    ):
        raise _Precondition("vacuum_not_ready", needed=f"{lim.vacuum_min_kpa:g}")
    ctx.command(brake_pedal=100.0)
    ctx.sleep(lim.full_press_s)
    trail: dict[str, list] = {"brake_vacuum": []}
    t = ctx.command(brake_pedal=0.0)
    after = ctx.fresh("brake_vacuum")
    if after is None:
        raise _Precondition("no_vacuum_after_press")
    r.measure("vacuum_after_press", after.value, "kPa", digits=1)
    if after.value >= lim.vacuum_min_kpa:
        r.measure("recovery_time", 0.0, "s", high=lim.recovery_within_s)
        return
    hit = ctx.wait_for(
        "brake_vacuum",
        lambda v: v >= lim.vacuum_min_kpa,
        lim.recovery_within_s,
        since=t,
        record=trail,
    )
    r.series["brake_vacuum"] = [(t_, round(v, 1)) for t_, v in trail["brake_vacuum"]]
    reached = hit.value if hit is not None else (_latest(ctx, "brake_vacuum") or 0.0)
    r.measure(
        "vacuum_recovered", reached, "kPa", low=lim.vacuum_min_kpa, digits=1, quiet=hit is None
    )
    if hit is None:
        r.measure(
            "recovery_time",
            None,
            "s",
            high=lim.recovery_within_s,
            fail=say(
                "vacuum_not_recovered",
                value=f"{_latest(ctx, 'brake_vacuum'):.1f}",
                limit=f"{lim.recovery_within_s:g}",
                needed=f"{lim.vacuum_min_kpa:g}",
            ),
        )
        return
    r.measure("recovery_time", hit.t - t, "s", high=lim.recovery_within_s, digits=1)


def _start_regen(ctx: Tester) -> Hit | None:
    lim = ctx.limits.brakes
    _ensure_ready(ctx)
    ctx.command(speed_simulation=lim.regen_speed_kph)
    ctx.sleep(0.1)
    t = ctx.command(brake_pedal=lim.pedal_test_pct)
    hit = ctx.wait_for("regen_torque", lambda v: v >= lim.regen_min_nm, lim.regen_within_s, since=t)
    return None if hit is None else Hit(hit.t - t, hit.value)


@_check(
    "brakes.regen_cut",
    "Regenerative torque cut on release and at standstill",
    "ตัดแรงบิดคืนพลังงานเมื่อปล่อยเบรกและเมื่อรถหยุด",
    needs=("regen_torque", "brake_pedal", "speed_simulation", "vehicle_state", "key_switch"),
    depends_on=("brakes.regen_request",),
    resources=VEHICLE | {"brake_pedal"},
)
def check_regen_cut(ctx: Tester, r: Report) -> None:
    """Regen must stop when the pedal is released and when the vehicle stops."""
    lim = ctx.limits.brakes
    limit, ceiling = lim.regen_cut_within_s, lim.regen_cut_max_nm
    try:
        if _start_regen(ctx) is None:
            raise _Precondition("regen_not_started")
        t = ctx.command(brake_pedal=0.0)
        hit = ctx.wait_for("regen_torque", lambda v: v <= ceiling, limit, since=t)
        r.measure(
            "cut_after_release",
            None if hit is None else hit.t - t,
            "s",
            high=limit,
            digits=3,
            fail=say(
                "regen_after_release",
                value=f"{_latest(ctx, 'regen_torque'):.1f}",
                limit=f"{limit:g}",
            ),
        )
        ctx.command(brake_pedal=lim.pedal_test_pct)
        if (
            ctx.wait_for("regen_torque", lambda v: v >= lim.regen_min_nm, lim.regen_within_s)
            is None
        ):
            r.note("regeneration did not restart for the standstill test")
            return
        t = ctx.command(speed_simulation=0.0)
        hit = ctx.wait_for("regen_torque", lambda v: v <= ceiling, limit, since=t)
        r.measure(
            "cut_at_standstill",
            None if hit is None else hit.t - t,
            "s",
            high=limit,
            digits=3,
            fail=say(
                "regen_after_stop",
                value=f"{_latest(ctx, 'regen_torque'):.1f}",
                limit=f"{limit:g}",
            ),
        )
    finally:
        ctx.command(brake_pedal=0.0, speed_simulation=0.0)
