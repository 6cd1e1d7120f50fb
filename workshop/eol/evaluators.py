"""The evaluator kinds that judge the rows of the declared check table (``checks.toml``).

A row says what to observe (a semantic name), which limits and message codes apply and what
each measurement is called; its kind does the rest, the way an OpenHTF phase declares
``Measurement('x').in_range(...)`` and the framework judges it:

- ``range``: one value (the next sample, or the min / max / mean over a window) against limits;
- ``equals``: the next sample is a named state;
- ``period``: a cyclic frame arrives, its mean period within tolerance and no gap too long;
- ``counter``: an alive counter steps by one (modulo its range) over a window;
- ``latency``: a stimulus, then the time until the observed value answers (one or more steps,
  with an optional "at rest" condition first and a "clears again" condition after).

Message parameters are filled by name: each kind supplies what it knows (``value``, ``limit``,
``source``, ``window`` ...) and a message gets the ones its catalogue text names.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workshop.eol.checkaids import _ensure_ready, _latest
from workshop.eol.messages import message as say
from workshop.eol.records import Report, _dtc, _Precondition
from workshop.eol.tester import Tester
from workshop.eol.texts import MESSAGES

if TYPE_CHECKING:  # the row models live with the table's loader
    from workshop.eol.checktable import CheckRow, LatencyStep

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def placeholders(code: str) -> set[str]:
    """The parameter names the catalogue text of ``code`` uses."""
    return set(_PLACEHOLDER.findall(MESSAGES[code]))


def limit_value(ctx: Tester, ref: str | float) -> Any:
    """A limit by its name in the kit's limits (``bms.observe_s``, ``bms.pack_voltage_v[1]``),
    or a number written in the table itself."""
    if not isinstance(ref, str):
        return ref
    group, _, name = ref.partition(".")
    name, _, index = name.partition("[")
    value = getattr(getattr(ctx.limits, group), name)
    return value[int(index.rstrip("]"))] if index else value


def _message(code: str | None, supplied: dict[str, Any]) -> dict | None:
    """The message ``code`` with the parameters its text names; a supplied callable is only
    called when its parameter is needed (a state described, a latest value read)."""
    if code is None:
        return None
    params = {}
    for name in placeholders(code):
        value = supplied[name]
        params[name] = value() if callable(value) else value
    return say(code, **params)


def _condition(ctx: Tester, binding, until: Any) -> Callable[[Any], bool]:
    """``true`` / ``false``, a state name, ``{ other_than = state }``, or ``{ at_least = limit }``
    / ``{ at_most = limit }``."""
    if until is True:
        return bool
    if until is False:
        return lambda v: not v
    if isinstance(until, str):
        return lambda v: binding.is_state(v, until)
    if until.other_than is not None:
        return lambda v: not binding.is_state(v, until.other_than)
    bound = _bound(ctx, until)
    if until.at_least is not None:
        return lambda v: v >= bound
    return lambda v: v <= bound


def _bound(ctx: Tester, until: Any) -> float | None:
    """The threshold of a comparing condition (None for a state or a flag)."""
    if isinstance(until, bool | str) or until.other_than is not None:
        return None
    return limit_value(ctx, until.at_least if until.at_least is not None else until.at_most)


def _stimulus(ctx: Tester, values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: limit_value(ctx, v.limit) if hasattr(v, "limit") else v for name, v in values.items()
    }


def _for_state(value: Any, state: str | None) -> Any:
    """``{state}`` in a step repeated for each state, replaced by the state."""
    if state is None or not isinstance(value, str):
        return value
    return value.replace("{state}", state)


def _expressible(ctx: Tester, values: dict[str, Any]) -> dict[str, Any]:
    """The values the kit can send: a state its command does not name is left out."""
    return {
        name: value
        for name, value in values.items()
        if not isinstance(value, str) or ctx.kit.binding(name).has_state(value)
    }


def _not_performed(code: str, supplied: dict[str, Any]) -> _Precondition:
    said = _message(code, supplied)
    return _Precondition(said["code"], **said["params"])


def _g(value: float) -> str:
    return f"{value:g}"


# --------------------------------------------------------------------------------------------
# The kinds
# --------------------------------------------------------------------------------------------


def judge_range(row: CheckRow, ctx: Tester, r: Report) -> None:
    """One value against its limits: the next sample, or a statistic over a window."""
    key, m = row.observe, row.measure["value"]
    b = ctx.kit.binding(key)
    low = limit_value(ctx, row.limits["low"]) if "low" in row.limits else None
    high = limit_value(ctx, row.limits["high"]) if "high" in row.limits else None
    if "range" in row.limits:
        low, high = limit_value(ctx, row.limits["range"])
    if row.divide_by != 1:
        low = None if low is None else low / row.divide_by
        high = None if high is None else high / row.divide_by
    supplied: dict[str, Any] = {"source": b.label, "frame": b.source}
    supplied.update({name: _g(limit_value(ctx, ref)) for name, ref in row.params.items()})
    summed = row.against_sum
    parts = ctx.kit.indexed(summed.of) if summed is not None and ctx.kit.has(summed.of) else ()
    if row.sample == "next":
        timeout = ctx.default_timeout(key)
        hit = ctx.fresh(key, timeout)
        values = [] if hit is None else [hit.value]
        supplied["timeout"] = _g(timeout)
    else:
        window = limit_value(ctx, row.limits["window"])
        obs = ctx.observe(window, [key, *(p.key for p in parts)])
        values = obs.values(key)
        supplied["window"] = _g(window)
    if not values:
        missing = _message(row.messages["missing"], supplied)
        if row.missing_is_measured:
            r.measure(m.name, None, m.unit, low, high, fail=missing)
        else:
            r.failures.append(missing)
        return
    value = {"next": values[0], "min": min, "max": max, "mean": statistics.fmean}[row.sample]
    value = value if row.sample == "next" else value(values)
    if row.divide_by != 1:
        value = value / row.divide_by
    if row.integer:
        value = supplied["count"] = int(value)
    supplied["value"] = format(value, row.value_format)
    side = "high" if high is not None and value > high else "low"
    bound = high if side == "high" else low
    if bound is not None:
        supplied["limit"] = _g(bound)
    if row.detail is not None and value and ctx.kit.has(row.detail):
        # e.g. the first fault code, read with the count: named when the ECU gives it
        code = _latest(ctx, row.detail)
        if code:
            supplied["first"] = _dtc(int(code))
            side = f"{side}_detail" if f"{side}_detail" in row.messages else side
    fail = _message(row.messages.get(side), supplied)
    r.measure(m.name, value, m.unit, low, high, digits=m.digits, fail=fail)
    samples = [obs.samples.get(p.key) for p in parts] if parts else []
    if samples and all(samples):
        # the value against the sum of its parts seen in the same window (a pack and its cells)
        total = sum(s[-1][1] for s in samples)
        tolerance, ms = limit_value(ctx, summed.tolerance), summed.measure
        said = _message(summed.fail, {"value": supplied["value"], "total": f"{total:.1f}"})
        r.measure(
            ms.name, value - total, ms.unit, -tolerance, tolerance, digits=ms.digits, fail=said
        )


def judge_equals(row: CheckRow, ctx: Tester, r: Report) -> None:
    """The next sample of a state is the named one."""
    key, m = row.observe, row.measure["value"]
    b = ctx.kit.binding(key)
    hit = ctx.fresh(key)
    if hit is None:
        r.failures.append(_message(row.messages["missing"], {"source": b.label}))
        return
    r.measure(
        m.name,
        b.describe(hit.value),
        expected=b.describe(b.state_value(row.state)),
        ok=b.is_state(hit.value, row.state),
        fail=_message(row.messages["fail"], {"state": b.describe(hit.value)}),
    )


def judge_period(row: CheckRow, ctx: Tester, r: Report) -> None:
    """A cyclic frame: present, mean period within tolerance of its DBC period, no long gap."""
    key = row.observe
    b = ctx.kit.binding(key)
    window = limit_value(ctx, row.limits["window"])
    tolerance = limit_value(ctx, row.limits["tolerance"])
    nominal = b.period_s
    obs = ctx.observe(window, [key])
    times = [t for t, _ in obs.samples.get(key, [])]
    supplied = {"frame": b.message.name, "window": _g(window), "period": f"{nominal * 1000:.0f}"}
    missing = _message(row.messages["none" if not times else "one"], supplied)
    count = row.measure["count"]
    r.measure(
        count.name, len(times), count.unit, digits=count.digits, ok=len(times) >= 2, fail=missing
    )
    if len(times) < 2:
        return
    low, high = nominal * (1 - tolerance), nominal * (1 + tolerance)
    mean = (times[-1] - times[0]) / (len(times) - 1)
    m = row.measure["period"]
    supplied = {
        "period": f"{mean * 1000:.0f}",
        "low": f"{low * 1000:.0f}",
        "high": f"{high * 1000:.0f}",
    }
    r.measure(
        m.name,
        mean * 1000,
        m.unit,
        low * 1000,
        high * 1000,
        digits=m.digits,
        fail=_message(row.messages["period"], supplied),
    )
    gaps = [b2 - a for a, b2 in zip(times, times[1:], strict=False)]
    gaps += [times[0] - obs.start, obs.end - times[-1]]
    longest = max(gaps)
    allowed = nominal * limit_value(ctx, row.limits["max_gap_factor"])
    m = row.measure["gap"]
    supplied = {"gap": f"{longest * 1000:.0f}", "allowed": f"{allowed * 1000:.0f}"}
    r.measure(
        m.name,
        longest * 1000,
        m.unit,
        high=allowed * 1000,
        digits=m.digits,
        fail=_message(row.messages["gap"], supplied),
    )
    r.notes.append(
        _message(row.messages["ok"], {"frames": len(times), "period": f"{mean * 1000:.0f}"})
    )


def judge_counter(row: CheckRow, ctx: Tester, r: Report) -> None:
    """Each value of an alive counter is the previous one plus one, modulo its range."""
    key, m = row.observe, row.measure["errors"]
    b = ctx.kit.binding(key)
    window = limit_value(ctx, row.limits["window"])
    values = ctx.observe(window, [key]).values(key)
    if len(values) < 3:
        r.failures.append(
            _message(row.messages["few"], {"count": len(values), "window": _g(window)})
        )
        return
    errors = [(a, c) for a, c in zip(values, values[1:], strict=False) if (c - a) % b.modulo != 1]
    what = None
    if errors:
        (start, end), counts = errors[0], {"errors": len(errors), "frames": len(values)}
        stuck = start == end
        supplied = {"value": start, "start": start, "end": end, **counts}
        what = _message(row.messages["stuck" if stuck else "jump"], supplied)
    r.measure(m.name, len(errors), m.unit, high=0, digits=m.digits, fail=what)
    r.notes.append(_message(row.messages["ok"], {"frames": len(values), "modulo": b.modulo}))


def judge_latency(row: CheckRow, ctx: Tester, r: Report) -> None:
    """Stimulus, then the time until the observed value answers, step by step (the vehicle
    READY first if the row says so; the row's restore sent at the end, whatever happened)."""
    key = row.observe
    b = ctx.kit.binding(key)
    try:
        if row.ready:
            _ensure_ready(ctx)
        if row.rest is not None and not _at_rest(row, ctx, r, key, b):
            return
        for step in row.steps:
            # a step for each state the kit has, in the row's order, or a single step
            for state in [s for s in step.each_state if b.has_state(s)] or [None]:
                _latency_step(row, step, ctx, r, key, b, state)
        if row.then:
            ctx.command(**_expressible(ctx, _stimulus(ctx, row.then)))
    finally:
        if row.restore:
            ctx.command(**_stimulus(ctx, row.restore))


def _at_rest(row: CheckRow, ctx: Tester, r: Report, key: str, b) -> bool:
    rest = row.rest
    if rest.stimulus:
        ctx.command(**_stimulus(ctx, rest.stimulus))
    at_rest = _condition(ctx, b, rest.until)
    if rest.within is not None:
        if ctx.wait_for(key, at_rest, limit_value(ctx, rest.within)) is None:
            r.failures.append(_message(rest.fail, {}))
            return False
        return True
    before = ctx.fresh(key)
    if before is None:
        missing = _message(rest.missing, {"source": b.label})
        raise _Precondition(missing["code"], **missing["params"])
    if not at_rest(before.value):
        r.failures.append(_message(rest.fail, {}))
        return False
    return True


def _latency_step(
    row: CheckRow, step: LatencyStep, ctx: Tester, r: Report, key: str, b, state: str | None
) -> None:
    within = limit_value(ctx, step.within)
    if step.prepare:
        ctx.command(**_stimulus(ctx, step.prepare))
        if step.settle_s is not None:
            ctx.sleep(step.settle_s)
    stimulus = {n: _for_state(v, state) for n, v in _stimulus(ctx, step.stimulus).items()}
    until = _for_state(step.until, state)
    t = ctx.command(**stimulus)
    t_end = None
    bound = _bound(ctx, until)
    trail: dict[str, list] | None = {key: []} if step.series else None
    try:
        hit = ctx.wait_for(key, _condition(ctx, b, until), within, since=t, record=trail)
    finally:
        if step.restore:
            t_end = ctx.command(**_stimulus(ctx, step.restore))
    if trail is not None:
        r.series[key] = [(t_, b.describe(v)) for t_, v in trail[key]]
    elapsed = None if hit is None else hit.t - t
    supplied: dict[str, Any] = {
        "limit": _g(within),
        "state": lambda: b.describe(_latest(ctx, key)),
        "value": lambda: f"{_latest(ctx, key) or 0:.1f}",
        **{name: _g(limit_value(ctx, ref)) for name, ref in row.params.items()},
    }
    if bound is not None:
        supplied["needed"] = _g(bound)
    if elapsed is not None:
        supplied["seconds"] = format(elapsed, step.seconds_format)
    if state is not None:
        supplied["mode"] = state.capitalize()
    waiting = step.waiting
    if hit is None and waiting is not None and b.is_state(_latest(ctx, key), waiting.state):
        # rightly waiting for something another check judges: this one cannot be performed
        raise _not_performed(waiting.error, supplied)
    if hit is None and step.error is not None:
        raise _not_performed(step.error, supplied)
    if step.measure is None:  # a step that only has to happen
        return
    fail = _message(step.messages.get("timeout" if hit is None else "late"), supplied)
    m = step.measure
    name = _for_state(m.name, state)
    r.measure(name, elapsed, m.unit, high=within, digits=m.digits, fail=fail)
    if hit is not None and step.measure_value is not None:
        # the value that answered, against the threshold it crossed
        mv, at_least = step.measure_value, step.until.at_least is not None
        low, high = (bound, None) if at_least else (None, bound)
        r.measure(mv.name, hit.value, mv.unit, low, high, digits=mv.digits)
    clear = step.clear
    if hit is not None and clear is not None:
        clear_within = limit_value(ctx, clear.within)
        if ctx.wait_for(key, _condition(ctx, b, clear.until), clear_within, since=t_end) is None:
            r.failures.append(_message(clear.fail, {"limit": _g(clear_within)}))


# --------------------------------------------------------------------------------------------
# What each kind needs from its row (checked when the table is loaded)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """An evaluator kind: its judge and the limits, messages and measurements a row declares.

    ``messages`` maps each message role to the parameters the kind supplies for it (a row's
    ``params`` add to the roles in ``extra_params_for``)."""

    judge: Callable[[CheckRow, Tester, Report], None]
    limits: frozenset[str] = frozenset()
    optional_limits: frozenset[str] = frozenset()
    messages: dict[str, frozenset[str]] = field(default_factory=dict)
    optional_messages: frozenset[str] = frozenset()
    measures: frozenset[str] = frozenset({"value"})
    extra_params_for: frozenset[str] = frozenset()


_LATENCY_STEP = {
    "timeout": frozenset({"limit", "state", "value", "needed", "mode"}),
    "late": frozenset({"limit", "state", "value", "needed", "mode", "seconds"}),
}
_RANGE_FAIL = frozenset({"value", "limit", "source", "frame", "count"})

KINDS: dict[str, Kind] = {
    "range": Kind(
        judge_range,
        optional_limits=frozenset({"low", "high", "range", "window"}),
        messages={
            "missing": frozenset({"source", "frame", "window", "timeout"}),
            "low": _RANGE_FAIL,
            "high": _RANGE_FAIL,
            "low_detail": _RANGE_FAIL | {"first"},
            "high_detail": _RANGE_FAIL | {"first"},
        },
        optional_messages=frozenset({"low", "high", "low_detail", "high_detail"}),
        extra_params_for=frozenset({"low", "high", "low_detail", "high_detail"}),
    ),
    "equals": Kind(
        judge_equals,
        messages={"missing": frozenset({"source"}), "fail": frozenset({"state"})},
    ),
    "period": Kind(
        judge_period,
        limits=frozenset({"window", "tolerance", "max_gap_factor"}),
        messages={
            "none": frozenset({"frame", "window", "period"}),
            "one": frozenset({"frame", "window", "period"}),
            "period": frozenset({"period", "low", "high"}),
            "gap": frozenset({"gap", "allowed"}),
            "ok": frozenset({"frames", "period"}),
        },
        measures=frozenset({"count", "period", "gap"}),
    ),
    "counter": Kind(
        judge_counter,
        limits=frozenset({"window"}),
        messages={
            "few": frozenset({"count", "window"}),
            "stuck": frozenset({"value", "errors", "frames"}),
            "jump": frozenset({"start", "end", "errors", "frames"}),
            "ok": frozenset({"frames", "modulo"}),
        },
        measures=frozenset({"errors"}),
    ),
    "latency": Kind(judge_latency, measures=frozenset()),
}
# Parameters of the latency kind's own parts (its steps, the rest and clear conditions).
LATENCY_STEP_MESSAGES = _LATENCY_STEP
LATENCY_REST_MESSAGES = {"missing": frozenset({"source"}), "fail": frozenset()}
LATENCY_CLEAR_MESSAGES = {"fail": frozenset({"limit"})}
