"""The BMS checks still written as code: pack and cell voltages, temperatures, SOC, balancing
(isolation, the charge limit and contactor opening are rows of ``checks.toml``)."""

from __future__ import annotations

import logging
import statistics

from workshop.eol.checkaids import _at_rest, _interp, _latest, _missing_cells
from workshop.eol.messages import message as say
from workshop.eol.records import (
    Report,
    _check,
    _Precondition,
    _several,
    _Skip,
    _unique,
    _v2,
)
from workshop.eol.tester import Tester

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# BMS sequence
# --------------------------------------------------------------------------------------------


# A check needs every cell, or the BMS's own lowest and highest cell.
CELLS = "cell_voltage|cell_voltage_min+cell_voltage_max"


def _cell_extremes(ctx: Tester) -> tuple[float, float]:
    """The lowest and highest cell voltage a min/max BMS reports over the observation window."""
    lim = ctx.limits.bms
    keys = ["cell_voltage_min", "cell_voltage_max"]
    obs = ctx.observe(lim.observe_s, keys)
    lows, highs = obs.values("cell_voltage_min"), obs.values("cell_voltage_max")
    if not lows or not highs:
        raise _Precondition(
            "no_cell_extremes",
            source=ctx.kit.binding("cell_voltage_max").label,
            window=f"{lim.observe_s:g}",
        )
    return min(lows), max(highs)


@_check(
    "bms.cell_voltage",
    "Every cell within its voltage window",
    "แรงดันทุกเซลล์อยู่ในช่วงที่กำหนด",
    needs=(CELLS,),
    passive=True,
)
def check_cell_voltage(ctx: Tester, r: Report) -> None:
    """Every cell reports, and every cell is inside the cell window (or, for a BMS that sends
    only its lowest and highest cell, those two are)."""
    lim = ctx.limits.bms
    timeout = lim.cell_broadcast_timeout_s
    if not ctx.kit.has("cell_voltage"):
        vmin, vmax = _cell_extremes(ctx)
        low, high = lim.cell_voltage_v
        r.measure(
            "cell_voltage_min",
            vmin,
            "V",
            low,
            high,
            digits=3,
            fail=say("cell_min_low", value=_v2(vmin, low), limit=f"{low:.2f}")
            if vmin < low
            else say("cell_max_high", value=_v2(vmin, high), limit=f"{high:.2f}"),
        )
        r.measure(
            "cell_voltage_max",
            vmax,
            "V",
            low,
            high,
            digits=3,
            fail=say("cell_max_high", value=_v2(vmax, high), limit=f"{high:.2f}")
            if vmax > high
            else say("cell_min_low", value=_v2(vmax, low), limit=f"{low:.2f}"),
        )
        return
    values = ctx.collect_indexed("cell_voltage", timeout)
    r.series["cell_voltage"] = [round(v, 4) if v is not None else None for v in values]
    if any(v is None for v in values):
        _missing_cells(ctx, r, "cell_voltage", values, timeout)
        return
    low, high = lim.cell_voltage_v
    vmin, vmax = min(values), max(values)
    bad = sorted(
        ((i + 1, v) for i, v in enumerate(values) if v < low or v > high),
        key=lambda item: -max(item[1] - high, low - item[1]),
    )
    messages = [
        say("cell_high", cell=i, value=_v2(v, high), limit=f"{high:.2f}")
        if v > high
        else say("cell_low", cell=i, value=_v2(v, low), limit=f"{low:.2f}")
        for i, v in bad
    ]
    summary = _several(messages) if messages else None
    r.measure("cell_voltage_min", vmin, "V", low, high, digits=3, fail=summary)
    r.measure("cell_voltage_max", vmax, "V", low, high, digits=3, fail=summary)
    r.failures = _unique(r.failures)
    r.note("cells_ok", count=len(values), low=f"{vmin:.3f}", high=f"{vmax:.3f}")


@_check(
    "bms.cell_spread",
    "Cell spread at rest",
    "ความต่างแรงดันเซลล์ขณะพัก",
    needs=(CELLS,),
    depends_on=("bms.cell_voltage",),
    passive=True,
)
def check_cell_spread(ctx: Tester, r: Report) -> None:
    """Highest minus lowest cell at rest stays within the limit."""
    lim = ctx.limits.bms
    _at_rest(ctx)
    limit = lim.cell_spread_max_v * 1000
    if ctx.kit.has("cell_voltage"):
        values = ctx.collect_indexed(
            "cell_voltage", lim.cell_broadcast_timeout_s, max_age=lim.cell_broadcast_timeout_s
        )
        if any(v is None for v in values):
            _missing_cells(ctx, r, "cell_voltage", values, lim.cell_broadcast_timeout_s)
            return
        imax = max(range(len(values)), key=values.__getitem__)
        imin = min(range(len(values)), key=values.__getitem__)
        vmax, vmin = values[imax], values[imin]
        code, cells = "spread", {"high_cell": imax + 1, "low_cell": imin + 1}
    else:  # a BMS that sends only its lowest and highest cell
        vmin, vmax = _cell_extremes(ctx)
        code, cells = "spread_extremes", {}
    spread = (vmax - vmin) * 1000
    r.measure(
        "cell_spread",
        spread,
        "mV",
        high=limit,
        digits=0,
        fail=say(
            code,
            spread=f"{spread:.0f}",
            limit=f"{limit:g}",
            high=f"{vmax:.3f}",
            low=f"{vmin:.3f}",
            **cells,
        ),
    )


@_check(
    "bms.temperatures",
    "Temperature sensors in range and plausible",
    "เซ็นเซอร์อุณหภูมิอยู่ในช่วงและสมเหตุสมผล",
    needs=("cell_temperature",),
    passive=True,
)
def check_temperatures(ctx: Tester, r: Report) -> None:
    """Every sensor inside the window and close to the others (a broken sensor stands out)."""
    lim = ctx.limits.bms
    timeout = lim.cell_broadcast_timeout_s
    values = ctx.collect_indexed("cell_temperature", timeout)
    r.series["cell_temperature"] = values
    if any(v is None for v in values):
        _missing_cells(ctx, r, "cell_temperature", values, timeout)
        return
    low, high = lim.temperature_c
    median = statistics.median(values)
    messages, out = [], set()
    for i, v in enumerate(values, start=1):
        if v > high or v < low:
            out.add(i)
            code, limit = ("temp_high", high) if v > high else ("temp_low", low)
            messages.append(say(code, sensor=i, value=f"{v:.1f}", limit=f"{limit:g}"))
    deviations = [abs(v - median) for v in values]
    for i, d in enumerate(deviations, start=1):
        if d > lim.temperature_max_deviation_c and i not in out:
            messages.append(
                say(
                    "temp_outlier",
                    sensor=i,
                    value=f"{values[i - 1]:.1f}",
                    deviation=f"{d:.1f}",
                    median=f"{median:.1f}",
                )
            )
    summary = _several(messages) if messages else None
    r.measure("temperature_min", min(values), "°C", low, high, digits=1, fail=summary)
    r.measure("temperature_max", max(values), "°C", low, high, digits=1, fail=summary)
    r.measure(
        "temperature_deviation",
        max(deviations),
        "°C",
        high=lim.temperature_max_deviation_c,
        digits=1,
        fail=summary,
    )
    r.failures = _unique(r.failures)
    r.note("temps_ok", count=len(values), low=f"{min(values):.1f}", high=f"{max(values):.1f}")


@_check(
    "bms.soc",
    "State of charge plausible against cell voltage",
    "ค่า SOC สอดคล้องกับแรงดันเซลล์",
    needs=("soc", CELLS),
    passive=True,
)
def check_soc(ctx: Tester, r: Report) -> None:
    """Reported SOC within tolerance of the SOC the resting cell voltage implies."""
    lim = ctx.limits.bms
    _at_rest(ctx)
    hit = ctx.fresh("soc")
    if hit is None:
        r.fail("no_soc", source=ctx.kit.binding("soc").label)
        return
    if ctx.kit.has("cell_voltage"):
        values = ctx.collect_indexed(
            "cell_voltage", lim.cell_broadcast_timeout_s, max_age=lim.cell_broadcast_timeout_s
        )
        known = [v for v in values if v is not None]
    else:  # the middle of the BMS's own lowest and highest cell, if they are close enough
        vmin, vmax = _cell_extremes(ctx)
        if vmax - vmin > lim.cell_spread_max_v:
            raise _Skip("soc_extremes_apart", spread=f"{(vmax - vmin) * 1000:.0f}")
        known = [(vmin + vmax) / 2]
    if not known:
        raise _Precondition("soc_no_cells")
    median = statistics.median(known)
    expected = _interp(lim.soc_ocv_table, median)
    tol = lim.soc_tolerance_pct
    r.measure(
        "soc",
        hit.value,
        "%",
        max(0.0, expected - tol),
        min(100.0, expected + tol),
        digits=1,
        fail=say(
            "soc_implausible",
            soc=f"{hit.value:.0f}",
            cell=f"{median:.3f}",
            expected=f"{expected:.0f}",
            tolerance=f"{tol:g}",
        ),
    )


@_check(
    "bms.balancing",
    "Balancing status reported",
    "รายงานสถานะการบาลานซ์เซลล์",
    needs=("balancing_active",),
    passive=True,
)
def check_balancing(ctx: Tester, r: Report) -> None:
    """The BMS reports whether it is balancing."""
    b = ctx.kit.binding("balancing_active")
    timeout = ctx.default_timeout("balancing_active")
    hit = ctx.fresh("balancing_active", timeout)
    if hit is None:
        r.measure(
            "balancing_active",
            None,
            fail=say("no_balancing", frame=b.source, timeout=f"{timeout:g}"),
        )
        return
    r.measure("balancing_active", "ACTIVE" if hit.value else "IDLE", ok=True)
    if ctx.kit.has("balancing_cells"):
        cells = _latest(ctx, "balancing_cells")
        if cells is not None:
            r.measure("balancing_cells", int(cells), digits=0)
