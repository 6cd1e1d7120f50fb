"""The schema of a kit's eol.toml: signal maps, run settings, the ECU, BMS and brake limits, and\nthe certificate policy (mandatory checks and waivers); validated with pydantic, all fields strict."""

from __future__ import annotations

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
