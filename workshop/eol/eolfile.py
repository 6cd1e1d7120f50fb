"""The schema of a kit's eol.toml: signal maps, run settings, the ECU, BMS and brake limits, and\nthe certificate policy (mandatory checks and waivers); validated with pydantic, all fields strict."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    model_validator,
)

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


# A diagnostic server's name in [uds.<name>] and a value's ``server``.
ServerName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# 11-bit identifiers unless the server says ``extended_id = true``.
MAX_STANDARD_ID = 0x7FF
MAX_EXTENDED_ID = 0x1FFFFFFF


class UdsServer(BaseModel):
    """A diagnostic server (a BMS, an inverter) asked by UDS over ISO-TP: one [uds.<name>] table.

    ``normal`` addressing gives the tester's request ID and the server's response ID;
    ``normal_fixed`` (29-bit, J1939 style 0x18DA<target><source>) gives the two addresses.
    """

    model_config = ConfigDict(extra="forbid")

    addressing: Literal["normal", "normal_fixed"] = "normal"
    request_id: int | None = Field(default=None, ge=0, le=MAX_EXTENDED_ID)
    response_id: int | None = Field(default=None, ge=0, le=MAX_EXTENDED_ID)
    extended_id: bool = False
    target_address: int | None = Field(default=None, ge=0, le=0xFF)
    source_address: int | None = Field(default=None, ge=0, le=0xFF)
    padding: int | None = Field(default=None, ge=0, le=0xFF)

    @model_validator(mode="after")
    def _addresses_complete(self):
        if self.addressing == "normal":
            if self.request_id is None or self.response_id is None:
                raise ValueError("normal addressing needs request_id and response_id")
            if self.request_id == self.response_id:
                raise ValueError("request_id and response_id must differ")
            highest = MAX_EXTENDED_ID if self.extended_id else MAX_STANDARD_ID
            for name in ("request_id", "response_id"):
                if getattr(self, name) > highest:
                    raise ValueError(
                        f"{name} 0x{getattr(self, name):X} does not fit an 11-bit identifier "
                        "(set extended_id = true for a 29-bit one)"
                    )
        else:
            if self.request_id is not None or self.response_id is not None:
                raise ValueError(
                    "normal_fixed addressing derives the IDs: drop request_id/response_id"
                )
            if self.target_address is None or self.source_address is None:
                raise ValueError("normal_fixed addressing needs target_address and source_address")
            if self.target_address == self.source_address:
                raise ValueError("target_address and source_address must differ")
        return self


ValueType = Literal["uint8", "int8", "uint16", "int16", "uint32", "int32"]


class RequestedValue(BaseModel):
    """A value read by UDS ReadDataByIdentifier (0x22): one entry under [requests].

    The DID's record holds ``per_did`` values of ``type`` after ``start_byte`` bytes; an indexed
    name (``count`` cells) reads ``count / per_did`` consecutive DIDs from ``did`` (one DID for
    every cell when ``per_did = count``, a DID per cell when ``per_did = 1``). Engine value =
    raw x ``scale`` + ``offset``. Each DID is asked every ``period_s`` and must answer within
    ``timeout_s`` (vehicle seconds).
    """

    model_config = ConfigDict(extra="forbid")

    server: ServerName
    did: int = Field(ge=0, le=0xFFFF)
    count: int | None = Field(default=None, ge=1, le=1000)
    per_did: int | None = Field(default=None, ge=1, le=1000)
    start_byte: int = Field(default=0, ge=0, le=4000)
    type: ValueType = "uint16"
    byte_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    offset: float = 0.0
    period_s: PositiveFloat = 1.0
    timeout_s: PositiveFloat = 0.5

    @model_validator(mode="after")
    def _sane(self):
        if self.scale == 0 or not math.isfinite(self.scale) or not math.isfinite(self.offset):
            raise ValueError("scale must be a finite number other than 0, offset finite")
        if self.timeout_s >= self.period_s:
            raise ValueError(
                f"timeout_s {self.timeout_s:g} must be shorter than period_s {self.period_s:g} "
                "(one request at a time per server)"
            )
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

    command_period_s: float = Field(ge=0)
    startup_timeout_s: PositiveFloat
    no_traffic_timeout_s: PositiveFloat
    # Independent checks run side by side (the brakes' vacuum chain beside the ECU and BMS).
    # false: one after another, for a car whose vacuum pump is switched by the key.
    side_by_side: bool = True


class EcuLimits(_Strict):
    """Limits of the ECU sequence (vehicle seconds)."""

    heartbeat_window_s: PositiveFloat
    heartbeat_period_tolerance: float = Field(gt=0, lt=1)
    heartbeat_max_gap_factor: float = Field(gt=1)
    alive_counter_window_s: PositiveFloat
    ready_within_s: PositiveFloat
    key_off_within_s: PositiveFloat
    drive_mode_ack_within_s: PositiveFloat
    torque_test_nm: PositiveFloat
    torque_tolerance_nm: PositiveFloat
    torque_feedback_within_s: PositiveFloat
    max_active_faults: int = Field(ge=0)
    # drive inhibited while the charge plug is in: the ECU requests no torque
    charge_plug_within_s: PositiveFloat
    charge_inhibit_window_s: PositiveFloat
    charge_inhibit_max_nm: PositiveFloat
    # 12 V DC-DC converter under the load bank
    dcdc_voltage_v: Range
    dcdc_load_min_a: PositiveFloat
    dcdc_settle_s: PositiveFloat
    dcdc_window_s: PositiveFloat


class BmsLimits(_Strict):
    """Limits of the BMS sequence (every value from the kit's profile unless eol.toml overrides it)."""

    observe_s: PositiveFloat
    cell_broadcast_timeout_s: PositiveFloat
    pack_voltage_v: Range
    pack_vs_cells_tolerance_v: PositiveFloat
    cell_voltage_v: Range
    cell_spread_max_v: PositiveFloat
    rest_current_max_a: PositiveFloat
    temperature_c: Range
    temperature_max_deviation_c: PositiveFloat
    soc_ocv_table: list[tuple[float, float]]
    soc_tolerance_pct: PositiveFloat
    isolation_min_ohm_per_v: PositiveFloat
    isolation_reference_voltage_v: PositiveFloat | None = None
    # AC circuits galvanically connected to the HV bus (a non-isolated on-board charger)
    ac_isolation_min_ohm_per_v: PositiveFloat
    contactor_open_within_s: PositiveFloat
    precharge_start_link_max_v: PositiveFloat
    link_discharge_within_s: PositiveFloat
    precharge_within_s: PositiveFloat
    contactor_close_current_max_a: PositiveFloat
    precharge_min_link_ratio_pct: float = Field(gt=0, le=100)
    hvil_shutdown_within_s: PositiveFloat
    thermal_warning_within_s: PositiveFloat
    charge_current_limit_a: Range
    alarm_within_s: PositiveFloat
    alarm_clear_within_s: PositiveFloat
    alarm_test_cell: int = Field(ge=1)

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
    def isolation_reference_v(self) -> float:
        """The working voltage isolation is judged against: the maximum pack voltage unless the
        kit names another."""
        return self.isolation_reference_voltage_v or self.pack_voltage_v[1]

    @property
    def isolation_min_ohm(self) -> float:
        """Minimum isolation: ohm per volt times the maximum pack voltage."""
        return self.isolation_min_ohm_per_v * self.isolation_reference_v

    @property
    def ac_isolation_min_ohm(self) -> float:
        """Minimum isolation of the AC side: its ohm per volt times the same working voltage."""
        return self.ac_isolation_min_ohm_per_v * self.isolation_reference_v


class BrakeLimits(_Strict):
    """Limits of the brake sequence (vehicle seconds, kPa of vacuum below atmospheric)."""

    atmospheric_max_kpa: PositiveFloat
    vent_strokes_max: int = Field(ge=1)
    vent_stroke_s: PositiveFloat
    vacuum_min_kpa: PositiveFloat
    vacuum_build_within_s: PositiveFloat
    pump_settle_within_s: PositiveFloat
    leak_window_s: PositiveFloat
    leak_rate_max_kpa_per_s: PositiveFloat
    recovery_within_s: PositiveFloat
    full_press_s: PositiveFloat
    brake_switch_within_s: PositiveFloat
    pedal_test_pct: float = Field(gt=5, le=100)
    regen_speed_kph: PositiveFloat
    regen_min_nm: PositiveFloat
    regen_within_s: PositiveFloat
    regen_cut_max_nm: PositiveFloat
    regen_cut_within_s: PositiveFloat
    # the driver's low-vacuum warning: the booster is vented below this, the lamp must light
    vacuum_warning_kpa: PositiveFloat
    vacuum_warning_within_s: PositiveFloat

    @model_validator(mode="after")
    def _warning_below_minimum(self):
        if self.vacuum_warning_kpa >= self.vacuum_min_kpa:
            raise ValueError("vacuum_warning_kpa must be below vacuum_min_kpa")
        return self


class Limits(_Strict):
    """All limits of a kit, grouped by sequence."""

    ecu: EcuLimits
    bms: BmsLimits
    brakes: BrakeLimits


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


# The limits that keep people and the car safe: each needs a ``source`` (a standard and clause, a
# datasheet, a programme document) in ``[sources]`` of the kit or of its profile; `workshop kits
# check` warns about one without.
SAFETY_LIMITS = (
    "bms.isolation_min_ohm_per_v",
    "bms.precharge_start_link_max_v",
    "bms.precharge_within_s",
    "bms.contactor_close_current_max_a",
    "bms.contactor_open_within_s",
    "bms.link_discharge_within_s",
    "bms.cell_voltage_v",
    "bms.pack_voltage_v",
    "bms.temperature_c",
    "bms.alarm_within_s",
    "brakes.vacuum_min_kpa",
    "brakes.leak_rate_max_kpa_per_s",
    "brakes.recovery_within_s",
    "brakes.brake_switch_within_s",
    "brakes.regen_cut_within_s",
    "brakes.vacuum_warning_kpa",
    "brakes.vacuum_warning_within_s",
    "bms.ac_isolation_min_ohm_per_v",
    "bms.precharge_min_link_ratio_pct",
    "bms.hvil_shutdown_within_s",
    "bms.thermal_warning_within_s",
    "ecu.charge_inhibit_max_nm",
    "ecu.dcdc_voltage_v",
)


def _check_sources(sources: dict[str, str]) -> dict[str, str]:
    """Each key names a limit as ``<sequence>.<limit>`` (bms.precharge_within_s)."""
    for key in sources:
        group, _, name = key.partition(".")
        model = Limits.model_fields.get(group)
        if model is None or name not in model.annotation.model_fields:
            raise ValueError(
                f"sources: {key!r} names no limit (write <sequence>.<limit>, e.g. "
                "bms.precharge_within_s)"
            )
    return sources


class EolFile(_Strict):
    """The parsed eol.toml, before it is bound to the DBC."""

    format: Literal[1] = 1
    kit: str = Field(min_length=1)
    dbc: str = "vehicle.dbc"
    # The kit's own DBC files added to ``dbc`` (a vendor's file kept untouched): EOL command
    # frames, add-on sensors.
    overlays: list[str] = Field(default_factory=list)
    # Files loaded leniently: overlapping signals (common in vendor multiplexed frames) are
    # tolerated and each one is reported by `workshop kits check`.
    non_strict: list[str] = Field(default_factory=list)
    # Cycle times (ms) for messages whose DBC has none, by message name.
    cycle_times_ms: dict[str, Annotated[int, Field(gt=0, le=60_000)]] = Field(default_factory=dict)
    tester_node: str = "EOL_Tester"
    description: str = ""
    profile: str = Field(default="lfp", pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    run: RunSettings
    signals: dict[str, SignalMap] = Field(default_factory=dict)
    commands: dict[str, SignalMap] = Field(default_factory=dict)
    # Diagnostic servers and the values read from them on request (UDS over ISO-TP).
    uds: dict[ServerName, UdsServer] = Field(default_factory=dict)
    requests: dict[str, RequestedValue] = Field(default_factory=dict)
    limits: Limits
    # Where each limit comes from, by "<sequence>.<limit>": the kit's own, and the profile's for
    # the values the kit does not override.
    sources: Annotated[
        dict[str, Annotated[str, Field(min_length=5)]], AfterValidator(_check_sources)
    ] = Field(default_factory=dict)
    certificate: CertificatePolicy = Field(default_factory=CertificatePolicy)

    def missing_sources(self) -> list[str]:
        """The safety limits that have no source."""
        return [key for key in SAFETY_LIMITS if key not in self.sources]


# Every setting name the file may use, for "did you mean ...?" on a misspelt one.
SETTING_NAMES = tuple(
    sorted(
        {
            name
            for model in list(globals().values())
            if isinstance(model, type) and issubclass(model, BaseModel)
            for name in model.model_fields
        }
    )
)
