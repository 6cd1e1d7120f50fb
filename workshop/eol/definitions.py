"""Kit EOL definitions: load a kit's ``eol.toml`` and ``vehicle.dbc`` into validated, typed objects.

The engine and the simulator talk in *semantic names* (``pack_voltage``, ``cell_voltage[37]``,
``key_switch``...). A kit's ``eol.toml`` binds each name to a message and signal of that kit's
DBC, says how to convert the DBC value into the engine's unit, names the enumeration values the
engine needs (``ready``, ``closed``...), and sets the limits. Nothing kit-specific lives in code,
so a kit with a third-party BMS (other names, scaling, byte order, multiplexed cell frames) is
added by writing data only.

A definition either loads completely or raises :class:`EolDefinitionError` listing every problem
with the file, the place inside it and what is wrong; it never half-loads.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cantools.database.can import Database, Message, Signal
from pydantic import (
    ValidationError,
)

from workshop.datafiles import (
    DataFileError,
    common_problem,
    parse_toml,
    read_data_bytes,
    validation_error,
)
from workshop.eol.dbcfiles import DbcFilesError, load_dbc_files
from workshop.eol.eolfile import SETTING_NAMES, EolFile, Limits, RunSettings, SignalMap
from workshop.eol.profiles import (  # noqa: F401 (kit_specs_root: part of this module's API)
    EOL_FILE,
    PROFILES_FOLDER,
    kit_specs_root,
    with_profile,
)
from workshop.eol.semantics import CATALOGUE, SEMANTICS, UNIT_FACTORS, Semantic
from workshop.eol.udsmap import UdsPoint, frame_ids, request_points


class EolDefinitionError(Exception):
    """A kit's EOL definition is unusable; ``problems`` holds one line per problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------------------------
# Bound definition
# --------------------------------------------------------------------------------------------


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


@dataclass(eq=False)
class KitDefinition:
    """A kit's validated EOL definition: DBC, bindings, limits and the files' hashes."""

    kit_id: str
    directory: Path
    eol_path: Path
    dbc_path: Path
    database: Database
    spec: EolFile
    bindings: dict[str, Binding | tuple[Binding, ...]]
    eol_sha256: str
    dbc_sha256: str
    # (file, SHA-256) of the DBC and each overlay; overlaps a non-strict load tolerated
    dbc_files: tuple[tuple[str, str], ...] = ()
    tolerated: tuple[str, ...] = ()

    @property
    def limits(self) -> Limits:
        """The kit's limits."""
        return self.spec.limits

    @property
    def run(self) -> RunSettings:
        """The kit's bus-level run settings."""
        return self.spec.run

    @property
    def tester_node(self) -> str:
        """The DBC node that is the EOL tester."""
        return self.spec.tester_node

    def has(self, semantic: str) -> bool:
        """Whether the kit binds this semantic name."""
        return semantic in self.bindings

    def maps(self, need: str) -> bool:
        """Whether the kit provides what a check or fault needs: ``pack_voltage``,
        ``cell_voltage[37]`` (at least 37 cells), ``drive_mode=city`` (that state is mapped),
        alternatives joined by ``|`` and names needed together by ``+``
        (``cell_voltage|cell_voltage_min+cell_voltage_max``)."""
        return any(
            all(self._maps_one(name) for name in alternative.split("+"))
            for alternative in need.split("|")
        )

    def _maps_one(self, name: str) -> bool:
        name, _, state = name.partition("=")
        if state:
            return self.has(name) and self.binding(name).has_state(state)
        base, _, index = name.partition("[")
        if not self.has(base):
            return False
        return not index or len(self.indexed(base)) >= int(index.rstrip("]"))

    def binding(self, semantic: str) -> Binding:
        """The binding of a scalar semantic name (KeyError when the kit does not bind it)."""
        found = self.bindings[semantic]
        if isinstance(found, tuple):
            raise TypeError(f"{semantic} is indexed; use indexed()")
        return found

    def indexed(self, semantic: str) -> tuple[Binding, ...]:
        """The bindings of an indexed semantic name, element 1 first."""
        found = self.bindings[semantic]
        if not isinstance(found, tuple):
            raise TypeError(f"{semantic} is not indexed; use binding()")
        return found

    def all_bindings(self) -> list[Binding]:
        """Every binding, indexed ones flattened."""
        out: list[Binding] = []
        for found in self.bindings.values():
            out.extend(found if isinstance(found, tuple) else (found,))
        return out

    def is_tester_message(self, message: Message) -> bool:
        """Whether the DBC says the EOL tester sends this message."""
        return self.tester_node in (message.senders or [])


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def list_kits(root: Path | str | None = None) -> list[str]:
    """Ids of the kits under ``root`` (default :func:`kit_specs_root`) that have an eol.toml."""
    base = Path(root) if root is not None else kit_specs_root()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / EOL_FILE).is_file())


def load_kit(kit: str | Path, root: Path | str | None = None) -> KitDefinition:
    """Load and validate a kit by id (folder name under ``root``) or by folder path."""
    candidate = Path(kit)
    if candidate.is_dir() and (candidate / EOL_FILE).exists():
        directory = candidate
    else:
        base = Path(root) if root is not None else kit_specs_root()
        directory = base / str(kit)
    directory = directory.resolve()
    shown = f"{directory.name}/{EOL_FILE}"
    if not directory.is_dir():
        known = ", ".join(list_kits(directory.parent)) or "none"
        raise EolDefinitionError([f"{directory.name}: no such kit folder (kits: {known})"])
    eol_path = directory / EOL_FILE
    if not eol_path.is_file():
        raise EolDefinitionError([f"{shown}: file not found"])

    try:
        eol_bytes = read_data_bytes(eol_path)
        raw = parse_toml(eol_path, eol_bytes, DataFileError)
        try:
            spec = EolFile.model_validate(with_profile(raw, directory))
        except ValidationError as exc:
            raise validation_error(
                eol_path, exc, problem=lambda err: common_problem(err, SETTING_NAMES) or err["msg"]
            ) from None
    except DataFileError as exc:
        source = shown if exc.file == eol_path else f"{exc.file.parent.name}/{exc.file.name}"
        raise EolDefinitionError(
            [f"{source}: {where}: {problem}" for where, problem in exc.details]
        ) from None

    problems: list[str] = []
    if spec.kit != directory.name:
        problems.append(f"{shown}: kit: says '{spec.kit}' but the folder is '{directory.name}'")

    dbc_path = directory / spec.dbc
    try:
        dbc = load_dbc_files(spec, directory, shown, problems)
    except DbcFilesError as exc:
        raise EolDefinitionError(problems + exc.problems) from None
    database, overlapping = dbc.database, dbc.overlapping

    if spec.tester_node not in {node.name for node in database.nodes}:
        nodes = ", ".join(n.name for n in database.nodes) or "none"
        problems.append(
            f"{shown}: tester_node: the DBC has no node '{spec.tester_node}' (nodes: {nodes})"
        )

    bindings: dict[str, Binding | tuple[Binding, ...]] = {}
    for section, sender in (("signals", "vehicle"), ("commands", "tester")):
        for name, mapping in getattr(spec, section).items():
            where = f"{shown}: {section}.{name}"
            semantic = SEMANTICS.get(name)
            if semantic is None or semantic.sender != sender:
                problems.append(f"{where}: {_unknown_semantic(name, sender)}")
                continue
            bound = _bind(semantic, mapping, database, spec.tester_node, where, problems)
            if bound is not None:
                bindings[name] = bound

    for name, points in request_points(spec, database, shown, problems).items():
        requested = tuple(
            UdsBinding(SEMANTICS[name], index, None, None, p.scale, p.offset, point=p)
            for index, p in points
        )
        bindings[name] = requested if SEMANTICS[name].indexed else requested[0]

    for found in bindings.values():
        for binding in found if isinstance(found, tuple) else (found,):
            if binding.message is not None and binding.message.name in overlapping:
                problems.append(
                    f"{shown}: {binding.semantic.name}: {binding.message.name} has overlapping "
                    "signals (tolerated by non_strict), which cannot be decoded reliably: map "
                    "the value from another frame or ask the vendor for a corrected file"
                )
                break
    _cross_checks(spec, bindings, shown, problems)
    if problems:
        raise EolDefinitionError(problems)
    return KitDefinition(
        kit_id=directory.name,
        directory=directory,
        eol_path=eol_path,
        dbc_path=dbc_path,
        database=database,
        spec=spec,
        bindings=bindings,
        eol_sha256=hashlib.sha256(eol_bytes).hexdigest(),
        dbc_sha256=dbc.digest,
        dbc_files=dbc.files,
        tolerated=dbc.tolerated,
    )


def _unknown_semantic(name: str, sender: str) -> str:
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


def _bind(
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
            problems.append(
                f"{label}: no message '{msg_name}' in the DBC (nearest: "
                f"{_nearest(msg_name, names)})"
            )
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


def _cross_checks(spec: EolFile, bindings: dict, shown: str, problems: list[str]) -> None:
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
