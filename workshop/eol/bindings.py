"""Bindings: a kit's semantic names bound to its CAN database (a DBC signal, or a value read on
request over UDS), and how ``eol.toml``'s mappings become them, each problem reported with the
file, the place and what is wrong (the caller, :func:`workshop.eol.definitions.load_kit`,
collects them).
"""

from __future__ import annotations

import difflib
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cantools.database.can import Database, Message, Signal

from workshop.eol.eolfile import EolFile, SignalMap
from workshop.eol.semantics import CATALOGUE, SEMANTICS, UNIT_FACTORS, Semantic
from workshop.eol.udsmap import UdsPoint, frame_ids


class EolDefinitionError(Exception):
    """A kit's EOL definition is unusable; ``problems`` holds one line per problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, eq=False)
class Binding:
    """One semantic name (or one element of an indexed one) bound to a DBC message/signal."""

    semantic: Semantic
    index: int | None
    message: Message
    signal: Signal | None
    factor: float = 1.0
    offset: float = 0.0
    states: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    bit: int | None = None
    modulo: int | None = None
    period_s: float | None = None

    @cached_property
    def key(self) -> str:
        """``pack_voltage`` or ``cell_voltage[37]``: the name checks use."""
        name = self.semantic.name
        return name if self.index is None else f"{name}[{self.index}]"

    @property
    def label(self) -> str:
        """Where it lives in the DBC, for messages: ``BMS_PackStatus.BMS_PackVoltage``."""
        if self.signal is None:
            return self.message.name
        return f"{self.message.name}.{self.signal.name}"

    @property
    def unit(self) -> str:
        """The engine's unit for this name."""
        return self.semantic.unit

    @property
    def source(self) -> str:
        """The frame a value arrives in (or the diagnostic request that reads it)."""
        return self.message.name

    @property
    def refresh_s(self) -> float:
        """How often a fresh value arrives, in vehicle seconds."""
        return (self.message.cycle_time or 100) / 1000.0

    def to_engine(self, dbc_value: float) -> float | int | bool:
        """Convert a decoded (physical) DBC value into the engine's value."""
        kind = self.semantic.kind
        if kind == "flag":
            raw = int(dbc_value)
            if self.bit is not None:
                return bool((raw >> self.bit) & 1)
            if "active" in self.states:
                return raw in self.states["active"]
            return raw != 0
        if kind in ("state", "counter"):
            return int(round(dbc_value))
        return dbc_value * self.factor + self.offset

    def to_dbc(self, value: float | int | bool | str) -> float | int:
        """Convert an engine value (or a state name) into the physical DBC value to encode."""
        kind = self.semantic.kind
        if isinstance(value, str):
            return self.state_value(value)
        if kind == "flag":
            if self.bit is not None:
                return (1 << self.bit) if value else 0
            if "active" in self.states:
                return self.states["active"][0] if value else self.states.get("inactive", (0,))[0]
            return 1 if value else 0
        if kind in ("state", "counter"):
            return int(value)
        return (float(value) - self.offset) / self.factor

    def state_value(self, name: str) -> int:
        """The DBC value of a state name (the first one when several are listed)."""
        return self.states[name][0]

    def has_state(self, name: str) -> bool:
        """Whether this binding names that state."""
        return name in self.states

    def is_state(self, value: Any, name: str) -> bool:
        """Whether a decoded value means the named state."""
        return value is not None and name in self.states and int(value) in self.states[name]

    def describe(self, value: Any) -> str:
        """A value as a technician reads it: the DBC's value name, else the state name."""
        if value is None:
            return "no value"
        if self.semantic.kind in ("state", "counter") and self.signal is not None:
            choices = self.signal.choices or {}
            if int(value) in choices:
                return str(choices[int(value)])
            for name, raws in self.states.items():
                if int(value) in raws:
                    return name.upper()
            return str(int(value))
        if self.semantic.kind == "flag":
            return "ON" if value else "OFF"
        return f"{value:g} {self.unit}".strip()


@dataclass(frozen=True, eq=False)
class UdsBinding(Binding):
    """A value read on request (UDS ReadDataByIdentifier over ISO-TP) instead of from a frame:
    ``message`` and ``signal`` are None, ``point`` says which DID and where in its record."""

    point: UdsPoint | None = None

    @property
    def label(self) -> str:
        """``UDS 0x7E3 DID 0x4A01``: the request, for messages."""
        (request_id, _), _ = frame_ids(self.point.server)
        return f"UDS 0x{request_id:X} DID 0x{self.point.did:04X}"

    @property
    def source(self) -> str:
        """The request that reads it."""
        return self.label

    @property
    def refresh_s(self) -> float:
        """A new value every poll, at the latest when the answer is due."""
        return self.point.period_s + self.point.timeout_s


def unknown_semantic(name: str, sender: str) -> str:
    same_side = [s.name for s in CATALOGUE if s.sender == sender]
    other = SEMANTICS.get(name)
    if other is not None:
        right = "commands" if other.sender == "tester" else "signals"
        return f"'{name}' belongs under [{right}]"
    hint = difflib.get_close_matches(name, same_side, n=1)
    tip = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"unknown name '{name}'{tip}; known names: {', '.join(same_side)}"


def _nearest(word: str, options: list[str], limit: int = 12) -> str:
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.5)
    shown = close or options[:limit]
    more = "" if close or len(options) <= limit else ", ..."
    return ", ".join(shown) + more


_TEMPLATE_FIELDS = {"index", "group", "slot"}


def _expand(template: str, index: int | None, per_message: int | None) -> str:
    if index is None:
        return template
    per = per_message or 1
    return template.format(index=index, group=(index - 1) // per + 1, slot=(index - 1) % per + 1)


def _template_problem(template: str, indexed: bool) -> str | None:
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        return f"bad template '{template}': {exc}"
    if not indexed and names:
        return f"'{template}' has {{...}} fields but this name is not indexed"
    unknown = names - _TEMPLATE_FIELDS
    if unknown:
        return f"template '{template}' uses unknown field(s) {sorted(unknown)} (use index, group, slot)"
    try:
        _expand(template, 1, 1)
    except (ValueError, KeyError, IndexError) as exc:
        return f"bad template '{template}': {exc}"
    return None


def bind(
    semantic: Semantic,
    mapping: SignalMap,
    database: Database,
    tester_node: str,
    where: str,
    problems: list[str],
) -> Binding | tuple[Binding, ...] | None:
    """Resolve one mapping against the DBC, appending every problem found."""
    before = len(problems)
    if semantic.indexed and mapping.count is None:
        problems.append(f"{where}: count: required for an indexed name (e.g. count = 100)")
        return None
    if not semantic.indexed and mapping.count is not None:
        problems.append(f"{where}: count: only indexed names take a count")
        return None
    if semantic.kind == "message":
        if mapping.signal is not None:
            problems.append(f"{where}: signal: {semantic.name} is a whole message; drop 'signal'")
            return None
    elif mapping.signal is None:
        problems.append(f"{where}: signal: required")
        return None
    for text in (mapping.message, mapping.signal):
        if text is not None and (issue := _template_problem(text, semantic.indexed)):
            problems.append(f"{where}: {issue}")
    if len(problems) > before:
        return None

    indices: list[int | None] = (
        list(range(1, mapping.count + 1)) if semantic.indexed else [None]  # type: ignore[operator]
    )
    names = [m.name for m in database.messages]
    bound: list[Binding] = []
    for index in indices:
        msg_name = _expand(mapping.message, index, mapping.per_message)
        label = f"{where}" if index is None else f"{where}[{index}]"
        try:
            message = database.get_message_by_name(msg_name)
        except KeyError:
            close = difflib.get_close_matches(msg_name, names, n=3, cutoff=0.5)
            hint = (
                f"nearest: {', '.join(close)}"
                if close
                else f"none alike among its {len(names)} messages"
            )
            problems.append(f"{label}: no message '{msg_name}' in the DBC ({hint})")
            if len(problems) - before >= 5:
                break
            continue
        sender_ok = _check_sender(semantic, message, tester_node, label, problems)
        signal = None
        if mapping.signal is not None:
            sig_name = _expand(mapping.signal, index, mapping.per_message)
            try:
                signal = message.get_signal_by_name(sig_name)
            except KeyError:
                have = [s.name for s in message.signals]
                problems.append(
                    f"{label}: message '{msg_name}' has no signal '{sig_name}' "
                    f"(it has: {_nearest(sig_name, have)})"
                )
                if len(problems) - before >= 5:
                    break
                continue
        if not sender_ok:
            continue
        binding = _make_binding(semantic, index, message, signal, mapping, label, problems)
        if binding is not None:
            bound.append(binding)
    if len(problems) > before:
        return None
    return tuple(bound) if semantic.indexed else bound[0]


def _check_sender(semantic, message, tester_node, label, problems) -> bool:
    senders = message.senders or []
    if not senders:
        return True  # an undeclared sender is legal DBC; nothing to cross-check
    if semantic.sender == "tester" and tester_node not in senders:
        problems.append(
            f"{label}: message '{message.name}' is sent by {', '.join(senders)}, "
            f"not by the tester node '{tester_node}'"
        )
        return False
    if semantic.sender == "vehicle" and tester_node in senders:
        problems.append(
            f"{label}: message '{message.name}' is sent by the tester; "
            f"a vehicle signal must come from a vehicle node"
        )
        return False
    return True


def _make_binding(semantic, index, message, signal, mapping, label, problems) -> Binding | None:
    factor, offset = 1.0, 0.0
    if semantic.kind == "value":
        if mapping.scale is not None or mapping.offset is not None:
            factor = mapping.scale if mapping.scale is not None else 1.0
            offset = mapping.offset or 0.0
        elif semantic.unit and signal.unit:
            known = UNIT_FACTORS.get(semantic.unit, {})
            unit = signal.unit.strip()
            if unit not in known:
                problems.append(
                    f"{label}: signal '{signal.name}' has unit '{signal.unit}', which "
                    f"cannot be converted to {semantic.unit}; set scale (and offset)"
                )
                return None
            factor = known[unit]
    elif mapping.scale is not None or mapping.offset is not None:
        problems.append(
            f"{label}: scale/offset only apply to measured values, not {semantic.kind}s"
        )
        return None

    if signal is not None and signal.multiplexer_ids is None and signal.is_multiplexer:
        problems.append(f"{label}: '{signal.name}' is a multiplexer selector, not a value")
        return None
    if (
        semantic.sender == "tester"
        and signal is not None
        and (signal.multiplexer_ids is not None or message.is_multiplexed())
    ):
        problems.append(f"{label}: tester commands cannot use multiplexed messages")
        return None

    states: dict[str, tuple[int, ...]] = {}
    allowed = set(semantic.states) | set(semantic.optional_states)
    if semantic.kind == "flag":
        allowed |= {"active", "inactive"}
    for state, raw_value in mapping.states.items():
        if state not in allowed:
            problems.append(
                f"{label}: states.{state}: unknown state for {semantic.name} "
                f"(use: {', '.join(sorted(allowed)) or 'none'})"
            )
            continue
        values = raw_value if isinstance(raw_value, list) else [raw_value]
        resolved: list[int] = []
        for item in values:
            number = _resolve_state(item, signal, f"{label}: states.{state}", problems)
            if number is not None:
                resolved.append(number)
        if resolved:
            states[state] = tuple(resolved)
    if semantic.kind == "state":
        missing = [s for s in semantic.states if s not in mapping.states]
        if missing:
            problems.append(
                f"{label}: states: missing {', '.join(missing)} "
                f'(e.g. states = {{ {missing[0]} = "<DBC value name>" }})'
            )
            return None
    elif mapping.states and semantic.kind != "flag":
        problems.append(f"{label}: states only apply to state and flag names")
        return None

    if mapping.bit is not None:
        if semantic.kind != "flag":
            problems.append(f"{label}: bit only applies to flags")
            return None
        if mapping.bit >= signal.length:
            problems.append(
                f"{label}: bit {mapping.bit} is outside the {signal.length}-bit "
                f"signal '{signal.name}'"
            )
            return None

    modulo = mapping.modulo
    if semantic.kind == "counter":
        if modulo is None:
            if signal.is_signed or signal.scale != 1 or signal.offset != 0:
                problems.append(f"{label}: set modulo: '{signal.name}' is not a plain counter")
                return None
            modulo = 2**signal.length
    elif modulo is not None:
        problems.append(f"{label}: modulo only applies to counters")
        return None

    period = mapping.period_s
    if semantic.kind == "message" and period is None:
        if not message.cycle_time:
            problems.append(
                f"{label}: message '{message.name}' has no GenMsgCycleTime in the DBC; set period_s"
            )
            return None
        period = message.cycle_time / 1000.0
    elif semantic.kind != "message" and period is not None:
        problems.append(f"{label}: period_s only applies to whole messages")
        return None

    return Binding(
        semantic, index, message, signal, factor, offset, states, mapping.bit, modulo, period
    )


def _raw_range(signal: Signal) -> tuple[int, int]:
    """The raw values a signal of its length and signedness can carry."""
    if signal.is_signed:
        return -(1 << (signal.length - 1)), (1 << (signal.length - 1)) - 1
    return 0, (1 << signal.length) - 1


def _resolve_state(item: int | str, signal: Signal | None, where: str, problems) -> int | None:
    number = item if isinstance(item, int) else None
    choices = (signal.choices or {}) if signal is not None else {}
    if number is None:
        number = next((int(n) for n, name in choices.items() if str(name) == item), None)
    if number is None:
        have = ", ".join(f"{n}={v}" for n, v in choices.items()) or "no value names"
        problems.append(
            f"{where}: signal '{signal.name if signal else '?'}' has no value named "
            f"'{item}' (it has: {have})"
        )
        return None
    if signal is not None:
        low, high = _raw_range(signal)
        if not low <= number <= high:
            named = "" if isinstance(item, int) else f" ('{item}')"
            problems.append(
                f"{where}: state value {number}{named} does not fit signal '{signal.name}' "
                f"({signal.length} bits: {low}..{high})"
            )
            return None
    return number


def cross_checks(spec: EolFile, bindings: dict, shown: str, problems: list[str]) -> None:
    """Limits the engine will send must fit the DBC signal they are sent in."""
    sends = {
        "torque_command": ("limits.ecu.torque_test_nm", spec.limits.ecu.torque_test_nm),
        "speed_simulation": ("limits.brakes.regen_speed_kph", spec.limits.brakes.regen_speed_kph),
        "brake_pedal": ("limits.brakes.pedal_test_pct", 100.0),
        "alarm_test_cell": ("limits.bms.alarm_test_cell", spec.limits.bms.alarm_test_cell),
    }
    for name, (where, value) in sends.items():
        binding = bindings.get(name)
        if not isinstance(binding, Binding) or binding.signal is None:
            continue
        physical = binding.to_dbc(value)
        low, high = binding.signal.minimum, binding.signal.maximum
        if (low is not None and physical < low - 1e-9) or (
            high is not None and physical > high + 1e-9
        ):
            problems.append(
                f"{shown}: {where}: {value:g} does not fit {binding.label} "
                f"(range {low:g}..{high:g})"
            )
    modes, requests = bindings.get("drive_mode"), bindings.get("drive_mode_request")
    if isinstance(modes, Binding) and isinstance(requests, Binding):
        for mode in sorted(set(modes.states) ^ (set(requests.states) - {"none"})):
            where, other = (
                ("signals.drive_mode", "commands.drive_mode_request")
                if mode in modes.states
                else ("commands.drive_mode_request", "signals.drive_mode")
            )
            problems.append(
                f"{shown}: {where}: states.{mode}: the drive mode is not in {other} "
                "(the modes the ECU reports and the modes the tester requests must be the same)"
            )
    cells = bindings.get("cell_voltage")
    if isinstance(cells, tuple) and spec.limits.bms.alarm_test_cell > len(cells):
        problems.append(f"{shown}: limits.bms.alarm_test_cell: there are only {len(cells)} cells")
    if not math.isfinite(spec.limits.bms.isolation_min_ohm):
        problems.append(f"{shown}: limits.bms: isolation limit is not a number")
