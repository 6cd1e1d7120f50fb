"""Typed, frozen schema of a conversion kit (``kit_specs/<id>/kit.toml``).

A kit is data: a bill of material with standard costs, the ratings printed on the certificate, and the names
of the kit's CAN database and EOL limits files. Every model forbids unknown fields, so a typo in a data file
is an error instead of a silently ignored key.

Money is ``Decimal`` THB with exactly 2 places, never float. In ``kit.toml`` a cost is written as a TOML
number with at most 2 decimals (``unit_cost = 12500`` or ``unit_cost = 1850.50``) or as a string of the same
form (``"1850.50"``, which is how a JSON snapshot stores it). The loader parses TOML floats straight into
``Decimal``, so a cost is never rounded through binary floating point; a third decimal is an error, not a
silent rounding. Ratings are engineering values, not money, and stay ``float``.

:class:`KitFile` is what the file holds; :class:`KitSpec` adds what the loader learns from the folder
(directory, DBC message count, fingerprint). ``KitSpec.model_dump(mode="json")`` and
``KitSpec.model_validate`` round-trip, so a job can snapshot the kit it was built with; the snapshot is
re-validated by the same rules but does not touch the disk.

Errors found across fields are raised as ``PydanticCustomError("kit", ...)`` whose context holds ``where``:
the path below the failing model (e.g. ``bom[3].part_number``), so the loader can name the exact key.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

# --- vocabularies ----------------------------------------------------------------------------------

Category = Literal[
    "battery", "motor", "inverter", "bms", "ev_ecu", "charger", "dcdc", "brake_vacuum_pump", "cooling",
    "ac", "harness", "mechanical", "consumable",
]  # fmt: skip
CATEGORIES: tuple[str, ...] = Category.__args__

# The programme's commercial promise: a conversion under 200,000 THB for the customer, battery excluded.
TARGET_EXCLUDING_BATTERY = Decimal("200000.00")

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+(?:\.[0-9]+)?$"
# <family>-<category code>-<number>, e.g. EVC-CHG-0001 (common part) or VS1-MOT-0001 (Vios EV1 only).
PART_NUMBER_PATTERN = r"^[A-Z0-9]{2,4}-[A-Z]{3}-[0-9]{4}$"
# A plain file name inside the kit folder: no directories, so a kit cannot point outside itself.
FILE_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"

CENT = Decimal("0.01")
# The largest amount the database's money columns (NUMERIC(12, 2)) hold.
MAX_MONEY = Decimal("9999999999.99")


# --- scalar types ----------------------------------------------------------------------------------


def kit_problem(where: str, problem: str) -> PydanticCustomError:
    """A validation error located at ``where`` below the model that raises it."""
    return PydanticCustomError("kit", "{problem}", {"problem": problem, "where": where})


def _require_thai(value: str) -> str:
    # English pasted into the Thai field is the usual mistake; the tablet would then show no Thai.
    if not any("\u0e00" <= char <= "\u0e7f" for char in value):
        raise ValueError("Thai text expected, but it contains no Thai characters")
    return value


def toml_type(value: object) -> str:
    """The TOML name of a parsed value's type (TOML floats arrive as Decimal), for error messages."""
    names = {bool: "boolean", int: "integer", float: "float", Decimal: "float", str: "string"}
    names.update({list: "array", tuple: "array", dict: "table"})
    return names.get(type(value), type(value).__name__)


def _parse_money(value: object) -> Decimal:
    """THB with at most 2 decimals, from an integer, an exact decimal or a string like ``"1850.50"``."""
    # float is refused because 0.1 + 0.2 style errors are exactly what money must never carry; the loader
    # hands TOML floats over as Decimal, so only Python callers can get here with a float.
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError(f"expected an amount in THB, got {toml_type(value)} {value!r}")
    if isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected an amount in THB like '1850.50', got {value!r}") from None
    else:
        amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"expected a finite amount, got {value!r}")
    if abs(amount) > MAX_MONEY:
        # Also keeps quantize() within Decimal's precision (1e26 would raise, not refuse).
        raise ValueError(f"at most {MAX_MONEY:,} THB, got {value}")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(f"at most 2 decimal places (satang), got {value}")
    return amount.quantize(CENT)


def _parse_number(value: object) -> float:
    # Strings are refused: "45" in a data file is a mistake, and JSON snapshots keep ratings as numbers.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"expected a number, got {toml_type(value)} {value!r}")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


Slug = Annotated[str, Strict(), StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
Version = Annotated[str, Strict(), StringConstraints(pattern=VERSION_PATTERN)]
PartNumber = Annotated[str, Strict(), StringConstraints(pattern=PART_NUMBER_PATTERN)]
FileName = Annotated[str, Strict(), StringConstraints(pattern=FILE_NAME_PATTERN, max_length=128)]
Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]
ThaiText = Annotated[Text, AfterValidator(_require_thai)]
StrictBool = Annotated[bool, Strict()]
Money = Annotated[Decimal, BeforeValidator(_parse_money), Field(ge=0)]
Quantity = Annotated[int, Strict(), Field(gt=0)]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
Positive = Annotated[float, BeforeValidator(_parse_number), Field(gt=0)]


def _locale_suffix(locale: object) -> str:
    # "en", "en_US" or a Babel Locale mean English; anything else falls back to Thai, the bay's language.
    return "en" if str(locale or "th").lower().startswith("en") else "th"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- bill of material ------------------------------------------------------------------------------


class BomLine(_Model):
    """One line of the bill of material: a part, how many the kit needs and what one costs."""

    part_number: PartNumber
    name_th: ThaiText
    name_en: Text
    category: Category
    quantity: Quantity
    unit_cost: Money
    supplier: Text
    supplier_th: ThaiText | None = None
    serialised: StrictBool = False
    counts_as_battery: StrictBool = False

    @model_validator(mode="after")
    def _check_battery_flag(self) -> BomLine:
        if self.counts_as_battery and self.category != "battery":
            raise kit_problem(
                "counts_as_battery",
                f"only a 'battery' line can count as battery; this line is {self.category!r}",
            )
        return self

    @property
    def line_cost(self) -> Decimal:
        """Quantity × unit cost, THB."""
        return (self.unit_cost * self.quantity).quantize(CENT)

    def name(self, locale: object = "th") -> str:
        """The part's name in ``locale``."""
        return self.name_en if _locale_suffix(locale) == "en" else self.name_th

    def supplier_name(self, locale: object = "th") -> str:
        """Who supplies the part, in ``locale`` (English when no Thai is given)."""
        if _locale_suffix(locale) == "en" or not self.supplier_th:
            return self.supplier
        return self.supplier_th


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


class MotorRating(_Model):
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


class BatteryRating(_Model):
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
        return self


class DcRange(_Model):
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


class ChargerRating(_Model):
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


class DcdcRating(_Model):
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


class Ratings(_Model):
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


# --- the kit -------------------------------------------------------------------------------------


class KitFile(_Model):
    """Exactly what ``kit.toml`` holds."""

    id: Slug
    version: Version
    name_th: ThaiText
    name_en: Text
    # Manual ids (file stems in checklists/manuals/) of the car models this kit converts.
    manuals: Annotated[tuple[Slug, ...], Field(min_length=1)]
    dbc: FileName
    eol: FileName
    ratings: Ratings
    bom: Annotated[tuple[BomLine, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_kit(self) -> KitFile:
        if not self.dbc.lower().endswith(".dbc"):
            raise kit_problem("dbc", f"{self.dbc!r} must be a .dbc file (the kit's CAN database)")
        if not self.eol.lower().endswith(".toml"):
            raise kit_problem("eol", f"{self.eol!r} must be a .toml file (the EOL limits)")
        _first_duplicate(self.manuals, "manuals", "manual id")
        _first_duplicate(
            [line.part_number for line in self.bom], "bom", "part number", "part_number"
        )
        return self

    # --- costs ---

    @property
    def cost_total(self) -> Decimal:
        """Standard cost of the whole kit, THB."""
        return sum((line.line_cost for line in self.bom), Decimal("0.00"))

    @property
    def battery_cost(self) -> Decimal:
        """Standard cost of the lines that count as battery, THB."""
        return sum((line.line_cost for line in self.bom if line.counts_as_battery), Decimal("0.00"))

    @property
    def cost_excluding_battery(self) -> Decimal:
        """What the programme's 200,000 THB target is measured against, THB."""
        return self.cost_total - self.battery_cost

    @property
    def within_target(self) -> bool:
        """True when the kit alone stays under the programme target (labour still comes on top)."""
        return self.cost_excluding_battery < TARGET_EXCLUDING_BATTERY

    def cost_by_category(self) -> dict[str, Decimal]:
        """Standard cost per category, in the order of :data:`CATEGORIES`; absent categories left out."""
        totals: dict[str, Decimal] = {}
        for category in CATEGORIES:
            lines = [line.line_cost for line in self.bom if line.category == category]
            if lines:
                totals[category] = sum(lines, Decimal("0.00"))
        return totals

    # --- parts ---

    @property
    def serialised_parts(self) -> tuple[BomLine, ...]:
        """The lines whose every unit carries a serial number that a job must record."""
        return tuple(line for line in self.bom if line.serialised)

    def part(self, part_number: str) -> BomLine:
        """The BOM line for ``part_number``; ``KeyError`` when the kit has no such part."""
        for line in self.bom:
            if line.part_number == part_number:
                return line
        raise KeyError(f"kit {self.id!r} has no part {part_number!r}")

    def fits(self, manual_id: str) -> bool:
        """True when this kit converts the car model of manual ``manual_id``."""
        return manual_id in self.manuals

    def name(self, locale: object = "th") -> str:
        """The kit's name in ``locale``."""
        return self.name_en if _locale_suffix(locale) == "en" else self.name_th


def _first_duplicate(
    values: list[str] | tuple[str, ...], array: str, what: str, key: str = ""
) -> None:
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in seen:
            where = f"{array}[{index}]" + (f".{key}" if key else "")
            raise kit_problem(where, f"duplicate {what} {value!r} (also {array}[{seen[value]}])")
        seen[value] = index


class KitSpec(KitFile):
    """A validated kit as loaded from its folder: the file's content plus what the loader found there.

    ``directory`` is where the kit was loaded from, ``dbc_message_count`` how many messages cantools read
    from its DBC, and ``fingerprint`` the SHA-256 of kit.toml, the DBC and the EOL file together, so a job
    that pinned ``version`` can tell when the files changed under the same version number.
    """

    directory: Path
    dbc_message_count: Annotated[int, Strict(), Field(ge=0)]
    fingerprint: Annotated[str, Strict(), StringConstraints(pattern=r"^[0-9a-f]{64}$")]

    @property
    def dbc_path(self) -> Path:
        """The kit's CAN database file."""
        return self.directory / self.dbc

    @property
    def eol_path(self) -> Path:
        """The kit's EOL limits file (validated by the EOL engine)."""
        return self.directory / self.eol
