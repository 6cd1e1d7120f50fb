"""The owner's handover sheet: charging guidance and energy cost per 100 km against fuel.

Tariffs and fuel assumptions are data (``checklists/energy.toml``); money is Decimal.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from workshop.datafiles import DataFileError, load_model

ENERGY_FILE = Path(__file__).resolve().parents[2] / "checklists" / "energy.toml"
CENT = Decimal("0.01")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tariffs(_Strict):
    home_off_peak_thb_per_kwh: Decimal = Field(gt=0)
    home_peak_thb_per_kwh: Decimal = Field(gt=0)
    public_low_priority_thb_per_kwh: Decimal = Field(gt=0)
    public_service_thb_per_kwh: Decimal = Field(ge=0)


class Charging(_Strict):
    charger_efficiency: Decimal = Field(gt=0, le=1)
    home_charging_after: str = Field(pattern=r"^\d{2}:\d{2}$")


class Fuel(_Strict):
    petrol_thb_per_litre: Decimal = Field(gt=0)
    diesel_thb_per_litre: Decimal = Field(gt=0)


class BodyClass(_Strict):
    kwh_per_100km: Decimal = Field(gt=0)
    fuel: str = Field(pattern=r"^(petrol|diesel)$")
    litres_per_100km: Decimal = Field(gt=0)


class EnergyFile(_Strict):
    tariffs: Tariffs
    charging: Charging
    fuel: Fuel
    body_class: dict[str, BodyClass]


class EnergyFileError(DataFileError):
    """``checklists/energy.toml`` cannot be used: the file, the place and the problem."""


def load_energy(path: Path = ENERGY_FILE) -> EnergyFile:
    """Read and validate the tariffs and fuel assumptions."""
    return load_model(path, EnergyFile, EnergyFileError, parse_float=Decimal)


@dataclass(frozen=True)
class EnergyCosts:
    """Cost of driving 100 km, charged at home off-peak, at a public charger, and on fuel."""

    kwh_per_100km_at_wall: Decimal
    home_off_peak: Decimal
    home_peak: Decimal
    public_charger: Decimal
    fuel: Decimal
    fuel_kind: str
    litres_per_100km: Decimal
    saving_at_home: Decimal
    full_charge_hours: Decimal
    range_km: Decimal


def energy_costs(
    body_class: str,
    battery_kwh: Decimal,
    charger_kw: Decimal,
    energy: EnergyFile | None = None,
    *,
    usable_kwh: Decimal,
) -> EnergyCosts:
    """Energy cost per 100 km for a car of ``body_class`` with this battery and charger. The
    range is what the usable energy (the BMS's state-of-charge window) drives, never the whole
    pack."""
    energy = energy or load_energy()
    if body_class not in energy.body_class:
        raise EnergyFileError(ENERGY_FILE, f"body_class.{body_class}", "missing")
    car, t = energy.body_class[body_class], energy.tariffs
    at_wall = car.kwh_per_100km / energy.charging.charger_efficiency
    price = (
        energy.fuel.petrol_thb_per_litre
        if car.fuel == "petrol"
        else energy.fuel.diesel_thb_per_litre
    )

    def money(x: Decimal) -> Decimal:
        return x.quantize(CENT, rounding=ROUND_HALF_UP)

    home = money(at_wall * t.home_off_peak_thb_per_kwh)
    fuel = money(car.litres_per_100km * price)
    return EnergyCosts(
        kwh_per_100km_at_wall=at_wall.quantize(Decimal("0.1")),
        home_off_peak=home,
        home_peak=money(at_wall * t.home_peak_thb_per_kwh),
        public_charger=money(
            at_wall * (t.public_low_priority_thb_per_kwh + t.public_service_thb_per_kwh)
        ),
        fuel=fuel,
        fuel_kind=car.fuel,
        litres_per_100km=car.litres_per_100km,
        saving_at_home=fuel - home,
        full_charge_hours=(
            Decimal(battery_kwh) / energy.charging.charger_efficiency / Decimal(charger_kw)
        ).quantize(Decimal("0.1")),
        range_km=(Decimal(usable_kwh) * 100 / car.kwh_per_100km).quantize(Decimal("1")),
    )
