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

from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import (
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from workshop.kits.fields import (
    CATEGORIES,
    CENT,
    TARGET_EXCLUDING_BATTERY,
    Category,
    FileName,
    KitModel,
    Money,
    PartNumber,
    Quantity,
    Slug,
    StrictBool,
    Text,
    ThaiText,
    Version,
    kit_problem,
    locale_suffix,
)
from workshop.kits.ratings import Ratings

# --- bill of material ------------------------------------------------------------------------------


class BomLine(KitModel):
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
        return self.name_en if locale_suffix(locale) == "en" else self.name_th

    def supplier_name(self, locale: object = "th") -> str:
        """Who supplies the part, in ``locale`` (English when no Thai is given)."""
        if locale_suffix(locale) == "en" or not self.supplier_th:
            return self.supplier
        return self.supplier_th


# --- the kit -------------------------------------------------------------------------------------


class KitFile(KitModel):
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
        return self.name_en if locale_suffix(locale) == "en" else self.name_th


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
    from its DBC, and ``fingerprint`` the SHA-256 of kit.toml, the DBC, the EOL file and the overlay DBCs and
    limit profile it names, together, so a job that pinned ``version`` can tell when the files
    changed under the same version number.
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
