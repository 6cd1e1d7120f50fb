"""The ratings of a kit printed on the certificate (motor, battery, charger, DC-DC), with the
cross-field rules an assessor checks; engineering values are float, not money.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    Field,
    model_validator,
)

from workshop.kits.fields import KitModel, Positive, PositiveInt, Text, kit_problem

# --- ratings (printed on the certificate) ----------------------------------------------------------


def _require_order(
    model: BaseModel, low: str, high: str, unit: str, low_label: str = "", *, equal_ok: bool = False
) -> None:
    """Raise at ``high`` unless ``model.high`` is above ``model.low`` (or equal, if ``equal_ok``)."""
    low_value, high_value = getattr(model, low), getattr(model, high)
    if high_value > low_value or (equal_ok and high_value == low_value):
        return
    relation = "is below" if equal_ok else "is not above"
    raise kit_problem(
        high, f"{high_value:g} {unit} {relation} {low_label or low} {low_value:g} {unit}"
    )


def _require_close(
    field: str, stated: float, computed: float, unit: str, tolerance: float, how: str
) -> None:
    """Raise at ``field`` when ``stated`` is more than ``tolerance`` (a fraction) from ``computed``."""
    if abs(stated - computed) / computed > tolerance:
        raise kit_problem(
            field,
            f"{how}, but {field} is {stated:g} {unit} (more than {tolerance * 100:g} % apart)",
        )


class MotorRating(KitModel):
    """Traction motor ratings (UNECE R85 terms: rated and maximum 30-minute power)."""

    type: Text
    manufacturer: Text
    model: Text
    rated_power_kw: Positive
    max_30min_power_kw: Positive
    peak_power_kw: Positive
    voltage_v: Positive
    rated_speed_rpm: Positive
    max_speed_rpm: Positive
    peak_torque_nm: Positive

    @model_validator(mode="after")
    def _check_powers(self) -> MotorRating:
        _require_order(
            self, "rated_power_kw", "max_30min_power_kw", "kW", "the rated power", equal_ok=True
        )
        _require_order(
            self,
            "max_30min_power_kw",
            "peak_power_kw",
            "kW",
            "the maximum 30-minute power",
            equal_ok=True,
        )
        _require_order(
            self, "rated_speed_rpm", "max_speed_rpm", "rpm", "the rated speed", equal_ok=True
        )
        return self


class BatteryRating(KitModel):
    """Traction battery ratings; pack figures must agree with the cell figures."""

    chemistry: Text
    cell_manufacturer: Text
    cell_model: Text
    cells_series: PositiveInt
    cells_parallel: PositiveInt
    cell_capacity_ah: Positive
    cell_nominal_voltage_v: Positive
    cell_max_voltage_v: Positive
    nominal_voltage_v: Positive
    max_voltage_v: Positive
    energy_kwh: Positive
    # What the BMS lets the car use (its state-of-charge window): the range the owner is told.
    usable_energy_kwh: Positive

    @model_validator(mode="after")
    def _check_pack(self) -> BatteryRating:
        # Tolerances leave room for datasheet rounding (19.8 kWh quoted for 100 × 3.3 V × 60 Ah) but catch
        # a wrong cell count or a kWh/Wh slip.
        for field, per_cell in (
            ("nominal_voltage_v", self.cell_nominal_voltage_v),
            ("max_voltage_v", self.cell_max_voltage_v),
        ):
            pack = self.cells_series * per_cell
            how = f"{self.cells_series} cells × {per_cell:g} V = {pack:g} V"
            _require_close(field, getattr(self, field), pack, "V", 0.02, how)
        _require_order(self, "nominal_voltage_v", "max_voltage_v", "V", "the nominal voltage")
        capacity = self.cells_parallel * self.cell_capacity_ah
        energy = self.nominal_voltage_v * capacity / 1000
        how = f"{self.nominal_voltage_v:g} V × {capacity:g} Ah = {energy:.2f} kWh"
        _require_close("energy_kwh", self.energy_kwh, energy, "kWh", 0.03, how)
        _require_order(
            self, "usable_energy_kwh", "energy_kwh", "kWh", "the usable energy", equal_ok=True
        )
        return self


class DcRange(KitModel):
    """One DC output range of the on-board charger."""

    min_v: Positive
    max_v: Positive
    max_current_a: Positive

    @model_validator(mode="after")
    def _check_order(self) -> DcRange:
        _require_order(self, "min_v", "max_v", "V")
        return self

    def covers(self, voltage: float) -> bool:
        """True when ``voltage`` lies within this range (inclusive)."""
        return self.min_v <= voltage <= self.max_v


class ChargerRating(KitModel):
    """On-board charger: AC input window, output power and DC output ranges."""

    power_kw: Positive
    ac_voltage_min_v: Positive
    ac_voltage_max_v: Positive
    ac_frequency_min_hz: Positive
    ac_frequency_max_hz: Positive
    ac_current_settings_a: Annotated[tuple[Positive, ...], Field(min_length=1)]
    dc_ranges: Annotated[tuple[DcRange, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_windows(self) -> ChargerRating:
        _require_order(self, "ac_voltage_min_v", "ac_voltage_max_v", "V")
        _require_order(self, "ac_frequency_min_hz", "ac_frequency_max_hz", "Hz")
        return self


class DcdcRating(KitModel):
    """DC-DC converter feeding the 12 V system from the traction battery."""

    manufacturer: Text
    input_min_v: Positive
    input_max_v: Positive
    output_v: Positive
    power_kw: Positive

    @model_validator(mode="after")
    def _check_input(self) -> DcdcRating:
        _require_order(self, "input_min_v", "input_max_v", "V")
        return self


class Ratings(KitModel):
    """The ratings a certificate prints, checked against each other."""

    motor: MotorRating
    battery: BatteryRating
    charger: ChargerRating
    dcdc: DcdcRating

    @model_validator(mode="after")
    def _check_compatible(self) -> Ratings:
        # A charger that cannot reach the pack's full voltage never finishes a charge; a DC-DC that
        # drops out at nominal voltage leaves the car without 12 V on the road.
        pack = self.battery
        for label, voltage in (
            ("nominal", pack.nominal_voltage_v),
            ("maximum", pack.max_voltage_v),
        ):
            if not any(dc_range.covers(voltage) for dc_range in self.charger.dc_ranges):
                raise kit_problem(
                    "charger.dc_ranges",
                    f"no output range covers the pack's {label} voltage {voltage:g} V",
                )
        if not self.dcdc.input_min_v <= pack.nominal_voltage_v <= self.dcdc.input_max_v:
            raise kit_problem(
                "dcdc.input_min_v",
                f"input {self.dcdc.input_min_v:g}–{self.dcdc.input_max_v:g} V does not include the"
                f" pack's nominal voltage {pack.nominal_voltage_v:g} V",
            )
        return self
