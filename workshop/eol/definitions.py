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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from cantools.database.can import Database, Message, Signal
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    ValidationError,
    model_validator,
)

from workshop.candb import DbcError, load_dbc

EOL_FILE = "eol.toml"


def kit_specs_root() -> Path:
    """The repository's ``kit_specs/`` folder (found relative to this package, not the cwd)."""
    return Path(__file__).resolve().parents[2] / "kit_specs"


class EolDefinitionError(Exception):
    """A kit's EOL definition is unusable; ``problems`` holds one line per problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------------------------
# The semantic catalogue: every name the engine and the simulator understand.
# --------------------------------------------------------------------------------------------

Kind = Literal["value", "state", "flag", "counter", "message"]


@dataclass(frozen=True)
class Semantic:
    """One semantic name: who sends it, what it is, the unit the engine works in."""

    name: str
    sender: Literal["vehicle", "tester"]
    kind: Kind
    unit: str = ""
    description: str = ""
    indexed: bool = False
    states: tuple[str, ...] = ()
    optional_states: tuple[str, ...] = ()


def _v(name, unit, description, **kw) -> Semantic:
    return Semantic(name, "vehicle", kw.pop("kind", "value"), unit, description, **kw)


def _t(name, unit, description, **kw) -> Semantic:
    return Semantic(name, "tester", kw.pop("kind", "value"), unit, description, **kw)


_CATALOGUE = [
    # EV ECU
    _v("ecu_heartbeat", "", "the ECU's periodic alive message", kind="message"),
    _v("alive_counter", "", "rolling counter in the heartbeat", kind="counter"),
    _v(
        "vehicle_state",
        "",
        "vehicle power state",
        kind="state",
        states=("off", "precharge", "ready"),
        optional_states=("standby", "fault"),
    ),
    _v(
        "drive_mode",
        "",
        "drive mode acknowledged by the ECU",
        kind="state",
        states=("commute", "power", "city"),
    ),
    _v("hvil", "", "high-voltage interlock loop", kind="state", states=("closed", "open")),
    _v("fault_count", "", "number of active fault codes (DTCs)"),
    _v("fault_code", "", "first active fault code"),
    _v("vehicle_speed", "km/h", "vehicle speed seen by the ECU"),
    _v("torque_request", "Nm", "torque the ECU requests from the inverter"),
    _v("torque_feedback", "Nm", "torque the inverter reports"),
    _v("regen_torque", "Nm", "regenerative braking torque the ECU requests"),
    # BMS
    _v("pack_voltage", "V", "pack voltage"),
    _v("pack_current", "A", "pack current, positive = discharge"),
    _v("soc", "%", "state of charge"),
    _v("cell_voltage", "V", "cell voltage", indexed=True),
    _v("cell_temperature", "°C", "temperature sensor", indexed=True),
    _v("isolation_resistance", "Ω", "HV isolation resistance"),
    _v("dc_link_voltage", "V", "DC-link (inverter side) voltage"),
    _v("contactor_state", "", "main contactor", kind="state", states=("open", "closed")),
    _v(
        "precharge_state",
        "",
        "precharge sequence",
        kind="state",
        states=("done",),
        optional_states=("idle", "active", "failed"),
    ),
    _v("balancing_active", "", "cell balancing in progress", kind="flag"),
    _v("balancing_cells", "", "number of cells being balanced"),
    _v("charge_current_limit", "A", "charge current the BMS allows the charger"),
    _v("alarm_cell_overvoltage", "", "BMS alarm: cell over-voltage", kind="flag"),
    _v("alarm_cell_undervoltage", "", "BMS alarm: cell under-voltage", kind="flag"),
    _v("alarm_over_temperature", "", "BMS alarm: over-temperature", kind="flag"),
    _v("alarm_over_current", "", "BMS alarm: over-current", kind="flag"),
    # Brakes
    _v("brake_vacuum", "kPa", "booster vacuum below atmospheric"),
    _v("pump_running", "", "vacuum pump motor running", kind="flag"),
    _v("brake_switch", "", "brake pedal switch", kind="flag"),
    # Tester stimuli
    _t("eol_session", "", "EOL test session active", kind="flag"),
    _t("key_switch", "", "simulated ignition key", kind="state", states=("off", "on")),
    _t(
        "drive_mode_request",
        "",
        "drive mode request",
        kind="state",
        states=("commute", "power", "city"),
        optional_states=("none",),
    ),
    _t("torque_command", "Nm", "torque the ECU shall request (accelerator substitute)"),
    _t("speed_simulation", "km/h", "simulated / roller vehicle speed"),
    _t(
        "contactor_request",
        "",
        "contactor override request to the BMS",
        kind="state",
        states=("open", "close"),
        optional_states=("none",),
    ),
    _t(
        "alarm_test",
        "",
        "BMS alarm self-test request",
        kind="state",
        states=("none",),
        optional_states=(
            "cell_overvoltage",
            "cell_undervoltage",
            "over_temperature",
            "over_current",
        ),
    ),
    _t("alarm_test_cell", "", "cell the alarm self-test simulates"),
    _t("pump_mode", "", "vacuum pump control", kind="state", states=("auto", "off")),
    _t("brake_pedal", "%", "pedal robot stroke"),
]

SEMANTICS: dict[str, Semantic] = {s.name: s for s in _CATALOGUE}

# DBC unit strings the loader understands, per engine unit, as the factor to the engine unit.
# A signal whose DBC unit is not listed needs an explicit `scale` in eol.toml, so a wrong guess
# (kV read as V) can never slip through.
_UNIT_FACTORS: dict[str, dict[str, float]] = {
    "V": {"V": 1, "v": 1, "volt": 1, "Volt": 1, "mV": 1e-3, "kV": 1e3},
    "A": {"A": 1, "a": 1, "amp": 1, "Amp": 1, "mA": 1e-3},
    "Ω": {
        "Ω": 1,
        "ohm": 1,
        "Ohm": 1,
        "ohms": 1,
        "kΩ": 1e3,
        "kohm": 1e3,
        "kOhm": 1e3,
        "KOhm": 1e3,
        "kohms": 1e3,
        "MΩ": 1e6,
        "MOhm": 1e6,
        "Mohm": 1e6,
    },
    "°C": {"°C": 1, "degC": 1, "deg C": 1, "C": 1, "DegC": 1, "celsius": 1},
    "kPa": {"kPa": 1, "kpa": 1, "Pa": 1e-3, "hPa": 0.1, "mbar": 0.1, "bar": 100},
    "Nm": {"Nm": 1, "N.m": 1, "N m": 1, "Nm ": 1},
    "%": {"%": 1, "pct": 1},
    "km/h": {"km/h": 1, "kph": 1, "kmh": 1, "km/hr": 1},
}


# --------------------------------------------------------------------------------------------
# eol.toml schema
# --------------------------------------------------------------------------------------------

StateValue = int | str | list[int | str]


class SignalMap(BaseModel):
    """How one semantic name maps to the DBC (one entry under [signals] or [commands])."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1)
    signal: str | None = None
    count: int | None = Field(default=None, ge=1, le=1000)
    per_message: int | None = Field(default=None, ge=1)
    scale: float | None = None
    offset: float | None = None
    states: dict[str, StateValue] = Field(default_factory=dict)
    bit: int | None = Field(default=None, ge=0, le=63)
    modulo: int | None = Field(default=None, ge=2)
    period_s: PositiveFloat | None = None

    @model_validator(mode="after")
    def _scale_not_zero(self):
        if self.scale is not None and self.scale == 0:
            raise ValueError("scale must not be 0")
        return self


def _ordered(pair: tuple[float, float]) -> tuple[float, float]:
    low, high = pair
    if not low < high:
        raise ValueError(f"the lower limit {low} must be below the upper limit {high}")
    return pair


Range = Annotated[tuple[float, float], AfterValidator(_ordered)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunSettings(_Strict):
    """Bus-level settings of a run."""

    command_period_s: float = Field(default=0.2, ge=0)
    startup_timeout_s: PositiveFloat = 2.0
    no_traffic_timeout_s: PositiveFloat = 1.0


class EcuLimits(_Strict):
    """Limits of the ECU sequence (vehicle seconds)."""

    heartbeat_window_s: PositiveFloat = 2.0
    heartbeat_period_tolerance: float = Field(default=0.10, gt=0, lt=1)
    heartbeat_max_gap_factor: float = Field(default=2.0, gt=1)
    alive_counter_window_s: PositiveFloat = 2.0
    ready_within_s: PositiveFloat = 5.0
    key_off_within_s: PositiveFloat = 3.0
    drive_mode_ack_within_s: PositiveFloat = 1.0
    torque_test_nm: PositiveFloat = 20.0
    torque_tolerance_nm: PositiveFloat = 3.0
    torque_feedback_within_s: PositiveFloat = 0.5
    max_active_faults: int = Field(default=0, ge=0)


_LFP_OCV = [
    (2.50, 0.0), (3.00, 5.0), (3.20, 10.0), (3.25, 20.0), (3.28, 40.0),
    (3.30, 60.0), (3.32, 80.0), (3.35, 95.0), (3.45, 100.0),
]  # fmt: skip


class BmsLimits(_Strict):
    """Limits of the BMS sequence; the defaults are for 100 LiFePO4 cells in series."""

    observe_s: PositiveFloat = 1.5
    cell_broadcast_timeout_s: PositiveFloat = 3.0
    pack_voltage_v: Range = (250.0, 365.0)
    pack_vs_cells_tolerance_v: PositiveFloat = 5.0
    cell_voltage_v: Range = (2.50, 3.65)
    cell_spread_max_v: PositiveFloat = 0.050
    rest_current_max_a: PositiveFloat = 2.0
    temperature_c: Range = (0.0, 45.0)
    temperature_max_deviation_c: PositiveFloat = 10.0
    soc_ocv_table: list[tuple[float, float]] = Field(default_factory=lambda: list(_LFP_OCV))
    soc_tolerance_pct: PositiveFloat = 25.0
    isolation_min_ohm_per_v: PositiveFloat = 100.0
    isolation_reference_voltage_v: PositiveFloat | None = None
    contactor_open_within_s: PositiveFloat = 1.0
    precharge_start_link_max_v: PositiveFloat = 60.0
    link_discharge_within_s: PositiveFloat = 10.0
    precharge_within_s: PositiveFloat = 5.0
    contactor_close_current_max_a: PositiveFloat = 1.0
    charge_current_limit_a: Range = (0.0, 13.5)
    alarm_within_s: PositiveFloat = 1.0
    alarm_clear_within_s: PositiveFloat = 3.0
    alarm_test_cell: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _ocv_table_rises(self):
        table = self.soc_ocv_table
        if len(table) < 2:
            raise ValueError("soc_ocv_table needs at least two [volts, percent] points")
        for (v1, s1), (v2, s2) in zip(table, table[1:], strict=False):
            if not (v2 > v1 and s2 >= s1):
                raise ValueError("soc_ocv_table must rise in both voltage and SOC")
        return self

    @property
    def isolation_min_ohm(self) -> float:
        """Minimum isolation: ohm per volt times the maximum pack voltage."""
        reference = self.isolation_reference_voltage_v or self.pack_voltage_v[1]
        return self.isolation_min_ohm_per_v * reference


class BrakeLimits(_Strict):
    """Limits of the brake sequence (vehicle seconds, kPa of vacuum below atmospheric)."""

    atmospheric_max_kpa: PositiveFloat = 5.0
    vent_strokes_max: int = Field(default=15, ge=1)
    vent_stroke_s: PositiveFloat = 0.5
    vacuum_min_kpa: PositiveFloat = 54.0
    vacuum_build_within_s: PositiveFloat = 10.0
    pump_settle_within_s: PositiveFloat = 20.0
    leak_window_s: PositiveFloat = 30.0
    leak_rate_max_kpa_per_s: PositiveFloat = 0.10
    recovery_within_s: PositiveFloat = 5.0
    full_press_s: PositiveFloat = 1.0
    brake_switch_within_s: PositiveFloat = 0.2
    pedal_test_pct: float = Field(default=50.0, gt=5, le=100)
    regen_speed_kph: PositiveFloat = 30.0
    regen_min_nm: PositiveFloat = 10.0
    regen_within_s: PositiveFloat = 0.5
    regen_cut_max_nm: PositiveFloat = 1.0
    regen_cut_within_s: PositiveFloat = 0.3


class Limits(_Strict):
    """All limits of a kit, grouped by sequence."""

    ecu: EcuLimits = Field(default_factory=EcuLimits)
    bms: BmsLimits = Field(default_factory=BmsLimits)
    brakes: BrakeLimits = Field(default_factory=BrakeLimits)


class Waiver(_Strict):
    """A check this kit's certificates may go without: only with a written reason and the
    reference that allows it (a standard clause, an approval letter); printed on the certificate."""

    check: str = Field(min_length=3)
    reason: str = Field(min_length=20)
    reference: str = Field(min_length=3)


class CertificatePolicy(_Strict):
    """Which checks must pass for a certificate: ``mandatory`` lists them (default: every check
    the engine has) and ``waivers`` take checks out, each with its reason."""

    mandatory: list[str] | None = None
    waivers: list[Waiver] = Field(default_factory=list)


class EolFile(_Strict):
    """The parsed eol.toml, before it is bound to the DBC."""

    format: Literal[1] = 1
    kit: str = Field(min_length=1)
    dbc: str = "vehicle.dbc"
    tester_node: str = "EOL_Tester"
    description: str = ""
    run: RunSettings = Field(default_factory=RunSettings)
    signals: dict[str, SignalMap] = Field(default_factory=dict)
    commands: dict[str, SignalMap] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    certificate: CertificatePolicy = Field(default_factory=CertificatePolicy)


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

    eol_bytes = eol_path.read_bytes()
    try:
        raw = tomllib.loads(eol_bytes.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EolDefinitionError([f"{shown}: not UTF-8 text ({exc.reason})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise EolDefinitionError([f"{shown}: not valid TOML: {exc}"]) from None

    try:
        spec = EolFile.model_validate(raw)
    except ValidationError as exc:
        raise EolDefinitionError(
            [f"{shown}: {_loc(err['loc'])}: {_pydantic_msg(err)}" for err in exc.errors()]
        ) from None

    problems: list[str] = []
    if spec.kit != directory.name:
        problems.append(f"{shown}: kit: says '{spec.kit}' but the folder is '{directory.name}'")

    dbc_path = directory / spec.dbc
    dbc_shown = f"{directory.name}/{spec.dbc}"
    if not dbc_path.is_file():
        raise EolDefinitionError(problems + [f"{shown}: dbc: file '{spec.dbc}' not found"])
    dbc_bytes = dbc_path.read_bytes()
    try:
        database = load_dbc(dbc_path)
    except DbcError as exc:
        raise EolDefinitionError(
            problems + [f"{dbc_shown}: not a usable DBC file: {exc}"]
        ) from None
    if not database.messages:
        raise EolDefinitionError(problems + [f"{dbc_shown}: defines no messages"])

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
        dbc_sha256=hashlib.sha256(dbc_bytes).hexdigest(),
    )


def _loc(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _pydantic_msg(err: dict) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown setting (check the spelling)"
    if err["type"] == "missing":
        return "required setting is missing"
    return err["msg"]


def _unknown_semantic(name: str, sender: str) -> str:
    same_side = [s.name for s in _CATALOGUE if s.sender == sender]
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
            known = _UNIT_FACTORS.get(semantic.unit, {})
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


def _resolve_state(item: int | str, signal: Signal | None, where: str, problems) -> int | None:
    if isinstance(item, int):
        return item
    choices = (signal.choices or {}) if signal is not None else {}
    for number, name in choices.items():
        if str(name) == item:
            return int(number)
    have = ", ".join(f"{n}={v}" for n, v in choices.items()) or "no value names"
    problems.append(
        f"{where}: signal '{signal.name if signal else '?'}' has no value named "
        f"'{item}' (it has: {have})"
    )
    return None


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
    cells = bindings.get("cell_voltage")
    if isinstance(cells, tuple) and spec.limits.bms.alarm_test_cell > len(cells):
        problems.append(f"{shown}: limits.bms.alarm_test_cell: there are only {len(cells)} cells")
    if not math.isfinite(spec.limits.bms.isolation_min_ohm):
        problems.append(f"{shown}: limits.bms: isolation limit is not a number")
