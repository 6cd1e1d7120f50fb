"""Small aids the checks share: bring the car to READY, make sure the pack is at rest, read
the latest value, interpolate a table, and say which cells or sensors gave no reading."""

from __future__ import annotations

from typing import Any

from workshop.eol.records import Report, _Precondition, _ranges, _Skip
from workshop.eol.tester import Tester


def _ensure_ready(ctx: Tester) -> None:
    """Bring the vehicle to READY (key on) or stop the check as not performable."""
    b = ctx.kit.binding("vehicle_state")
    limit = ctx.limits.ecu.ready_within_s
    current = ctx.fresh("vehicle_state")
    if current is not None and b.is_state(current.value, "ready"):
        return
    t = ctx.command(key_switch="on")
    if ctx.wait_for("vehicle_state", lambda v: b.is_state(v, "ready"), limit, since=t) is None:
        state = b.describe(ctx.latest.get("vehicle_state", (0, None))[1])
        raise _Precondition("not_ready", limit=f"{limit:g}", state=state)


def _latest(ctx: Tester, key: str) -> Any:
    return ctx.latest.get(key, (0.0, None))[1]


def _at_rest(ctx: Tester) -> float | None:
    """Pack current if the kit reports it; raises _Skip when the pack is not at rest."""
    if not ctx.kit.has("pack_current"):
        return None
    hit = ctx.fresh("pack_current")
    if hit is None:
        raise _Precondition("no_pack_current", source=ctx.kit.binding("pack_current").label)
    limit = ctx.limits.bms.rest_current_max_a
    if abs(hit.value) > limit:
        raise _Skip("not_at_rest", current=f"{hit.value:.1f}", limit=f"{limit:g}")
    return hit.value


def _interp(table: list[tuple[float, float]], x: float) -> float:
    if x <= table[0][0]:
        return table[0][1]
    for (x1, y1), (x2, y2) in zip(table, table[1:], strict=False):
        if x <= x2:
            return y1 + (y2 - y1) * (x - x1) / (x2 - x1)
    return table[-1][1]


def _missing_cells(ctx: Tester, r: Report, semantic: str, values: list, timeout: float) -> None:
    bindings = ctx.kit.indexed(semantic)
    missing = [i + 1 for i, v in enumerate(values) if v is None]
    reasons = [ctx.uds_problem(bindings[i - 1]) for i in missing]
    if any(reasons):  # read on request: say what the server did (silence, refusal, garbage)
        reason = next(r for r in reasons if r)
        code = "missing_cells_uds" if semantic == "cell_voltage" else "missing_sensors_uds"
        r.fail(code, which=_ranges(missing), reason=reason)
        return
    messages = sorted({bindings[i - 1].source for i in missing})
    where = ", ".join(messages[:3]) + (", ..." if len(messages) > 3 else "")
    code = "missing_cells" if semantic == "cell_voltage" else "missing_sensors"
    r.fail(code, which=_ranges(missing), frames=where, timeout=f"{timeout:g}")
