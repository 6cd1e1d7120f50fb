"""The vocabulary and field types of kit files: categories, name patterns, money (Decimal THB,
2 places, never float), engineering numbers, Thai text; and the strict base model.

Shared by the kit schema (spec.py) and the ratings (ratings.py); see spec.py for the file format.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
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


def locale_suffix(locale: object) -> str:
    # "en", "en_US" or a Babel Locale mean English; anything else falls back to Thai, the bay's language.
    return "en" if str(locale or "th").lower().startswith("en") else "th"


class KitModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
