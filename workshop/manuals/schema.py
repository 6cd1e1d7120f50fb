"""Typed, frozen schema of a conversion manual (``checklists/manuals/<id>.toml``).

A manual is data, not code: sections of steps, each step with bilingual instructions, hazard flags, the
qualification it needs and the inputs a technician must record. Every model forbids unknown fields, so a
typo in a data file is an error instead of a silently ignored key.

Checks that need the outside world run only when the caller passes a validation context:
``{"qualification_codes": set[str], "file_stem": str}``. The loader always does; a job rebuilding its
pinned JSON snapshot with ``Manual.model_validate(data)`` does not, because the snapshot must stay
readable even after the qualification list or the file on disk has changed.

Errors found across fields are raised as ``PydanticCustomError("manual", ...)`` whose context holds
``where``: the path below the failing model (e.g. ``inputs[2].key``), so the loader can name the exact key.
"""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# --- vocabularies --------------------------------------------------------------------------------

Unit = Literal[
    "V", "mV", "A", "ohm", "kohm", "Mohm", "ohm_per_V", "kg", "km", "mm", "kPa", "degC", "percent", "s",
    "bar", "L",
]  # fmt: skip
# How a unit is written for people (the file's codes stay ASCII).
UNIT_SYMBOLS = {
    "ohm": "Ω", "kohm": "kΩ", "Mohm": "MΩ", "ohm_per_V": "Ω/V", "degC": "°C", "percent": "%",
}  # fmt: skip


def unit_symbol(unit: str) -> str:
    """The unit as printed: ``ohm_per_V`` → ``Ω/V``; other units as they are."""
    return UNIT_SYMBOLS.get(unit, unit)


Quantity = Literal[
    "voltage", "current", "resistance", "isolation_resistance", "mass", "distance", "length",
    "pressure", "temperature", "fraction", "duration", "volume",
]  # fmt: skip

# A quantity limits the units it may use, so "kg" on a voltage is caught when the file loads,
# not when a technician types a value on the tablet.
QUANTITY_UNITS: dict[str, frozenset[str]] = {
    "voltage": frozenset({"V", "mV"}),
    "current": frozenset({"A"}),
    "resistance": frozenset({"ohm", "kohm", "Mohm"}),
    # Isolation is judged per volt of maximum pack voltage (UNECE R100), but raw tester readings are
    # recorded too.
    "isolation_resistance": frozenset({"ohm_per_V", "ohm", "kohm", "Mohm"}),
    "mass": frozenset({"kg"}),
    "distance": frozenset({"km"}),
    "length": frozenset({"mm"}),
    "pressure": frozenset({"kPa", "bar"}),
    "temperature": frozenset({"degC"}),
    "fraction": frozenset({"percent"}),
    "duration": frozenset({"s"}),
    "volume": frozenset({"L"}),
}

Hazard = Literal["high_voltage", "lifting", "coolant", "sharp_edges"]
BodyClass = Literal["eco_car", "mid_size", "pickup"]
Transmission = Literal["MT", "AT"]
SerialCategory = Literal[
    "battery", "motor", "inverter", "bms", "ev_ecu", "charger", "dcdc", "brake_vacuum_pump", "cooling",
    "ac", "harness", "mechanical", "consumable",
]  # fmt: skip
InputType = Literal["measurement", "torque", "confirmation", "choice", "text", "photo", "serial"]
INPUT_TYPES: tuple[str, ...] = InputType.__args__

# Measurements that are safety evidence wherever they are taken (besides every measurement of a
# high-voltage step): their limits must name a source.
SAFETY_KEY_PREFIXES = ("isolation", "bonding")

# Work on a high-voltage step needs one of these, on top of the manual's model qualification.
HV_QUALIFICATIONS: frozenset[str] = frozenset({"hv_qualified", "hv_live"})

LOCALES = ("th", "en")

# --- scalar types ----------------------------------------------------------------------------------
# Scalars are strict: TOML has real types, so "30" where an integer belongs is a mistake, not a value.

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+(?:\.[0-9]+)?$"
PART_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
FINGERPRINT_PATTERN = r"^[0-9a-f]{64}$"


def _require_thai(value: str) -> str:
    """Reject a *_th text with no Thai letter: usually English pasted into the wrong field."""
    if not any("\u0e00" <= char <= "\u0e7f" for char in value):
        raise ValueError("Thai text expected, but it contains no Thai characters")
    return value


Slug = Annotated[str, Strict(), StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
Key = Annotated[str, Strict(), StringConstraints(pattern=KEY_PATTERN, max_length=64)]
QualificationCode = Annotated[str, Strict(), StringConstraints(pattern=KEY_PATTERN, max_length=64)]
Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]
ThaiText = Annotated[Text, AfterValidator(_require_thai)]
StrictInt = Annotated[int, Strict()]
StrictFloat = Annotated[float, Strict()]
StrictBool = Annotated[bool, Strict()]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]


def manual_problem(where: str, problem: str) -> PydanticCustomError:
    """A validation error located at ``where`` below the model that raises it."""
    return PydanticCustomError("manual", "{problem}", {"problem": problem, "where": where})


def _normalise_locale(locale: object) -> str:
    # Accepts "th", "en", "en_US" or a Babel Locale; anything not English falls back to Thai,
    # the language of the bay.
    return "en" if str(locale or "th").lower().startswith("en") else "th"


def display(obj: object, field: str, locale: object = "th") -> str:
    """Text of ``obj.<field>_th`` or ``obj.<field>_en`` for ``locale``, falling back to the other one."""
    lang = _normalise_locale(locale)
    other = "en" if lang == "th" else "th"
    value = getattr(obj, f"{field}_{lang}", None) or getattr(obj, f"{field}_{other}", None)
    if value is None:
        raise AttributeError(f"{type(obj).__name__} has no {field}_th / {field}_en text")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- inputs ------------------------------------------------------------------------------------------


class _Input(_Model):
    key: Key
    label_th: ThaiText
    label_en: Text

    def label(self, locale: object = "th") -> str:
        """The input's label in ``locale``."""
        return display(self, "label", locale)


class _CalibratedInput(_Input):
    # The kind of calibrated instrument (checklists/instruments.toml) the reading must be taken
    # with: the technician picks one of the centre's, not overdue, and the record keeps which.
    calibrated: Key | None = None

    @field_validator("calibrated")
    @classmethod
    def _known_kind(cls, kind: str | None, info: ValidationInfo) -> str | None:
        kinds = (info.context or {}).get("instrument_kinds")
        if kind is not None and kinds is not None and kind not in kinds:
            raise ValueError(f"unknown instrument kind {kind!r}; kinds: {', '.join(sorted(kinds))}")
        return kind


class MeasurementInput(_CalibratedInput):
    """A measured value with a unit and limits; ``evaluate`` turns a reading into pass/fail."""

    type: Literal["measurement"]
    quantity: Quantity
    unit: Unit
    min: StrictFloat | None = None
    max: StrictFloat | None = None
    instrument_th: ThaiText | None = None
    instrument_en: Text | None = None
    # Where the limits come from (standard and clause, datasheet, programme document); a safety
    # measurement without one is a warning of `workshop manuals check`.
    source: Text | None = None

    @model_validator(mode="after")
    def _check_limits(self) -> MeasurementInput:
        if self.unit not in QUANTITY_UNITS[self.quantity]:
            allowed = ", ".join(sorted(QUANTITY_UNITS[self.quantity]))
            raise manual_problem(
                "unit",
                f"unit {self.unit!r} does not fit quantity {self.quantity!r} (use {allowed})",
            )
        if self.min is None and self.max is None:
            raise manual_problem("", "a measurement needs min, max or both")
        for name in ("min", "max"):
            if not math.isfinite(getattr(self, name) or 0.0):
                raise manual_problem(name, f"{name} must be a finite number")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise manual_problem("max", f"min {self.min:g} is greater than max {self.max:g}")
        return self

    def evaluate(self, value: float) -> bool:
        """True when ``value`` lies within [min, max] (limits inclusive); NaN and infinities fail."""
        if isinstance(value, bool) or not math.isfinite(value):
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


class TorqueInput(_CalibratedInput):
    """A tightening torque in Nm: spec ± tolerance (applied with a calibrated torque wrench when
    the manual says ``calibrated = "torque_wrench"``, as the shipped manuals do)."""

    type: Literal["torque"]
    spec_nm: Annotated[StrictFloat, Field(gt=0)]
    tolerance_nm: Annotated[StrictFloat, Field(ge=0)]

    @model_validator(mode="after")
    def _check_tolerance(self) -> TorqueInput:
        if self.tolerance_nm >= self.spec_nm:
            raise manual_problem(
                "tolerance_nm",
                f"tolerance {self.tolerance_nm:g} Nm must be smaller than the spec {self.spec_nm:g} Nm",
            )
        return self

    @property
    def min_nm(self) -> float:
        """Lowest torque that passes."""
        return self.spec_nm - self.tolerance_nm

    @property
    def max_nm(self) -> float:
        """Highest torque that passes."""
        return self.spec_nm + self.tolerance_nm

    def evaluate(self, value: float) -> bool:
        """True when the applied torque is within spec ± tolerance."""
        if isinstance(value, bool) or not math.isfinite(value):
            return False
        return self.min_nm <= value <= self.max_nm


class ConfirmationInput(_Input):
    """A statement the technician confirms by signing."""

    type: Literal["confirmation"]
    statement_th: ThaiText
    statement_en: Text
    # A safety confirmation the certificate prints in its annex (touch protection, IPXXD/IPXXB),
    # with the rule it confirms.
    annex: bool = False
    source: Text | None = None

    @model_validator(mode="after")
    def _annex_has_source(self) -> ConfirmationInput:
        if self.annex and not self.source:
            raise manual_problem("source", "a confirmation printed in the annex needs its source")
        return self

    def statement(self, locale: object = "th") -> str:
        """The statement in ``locale``."""
        return display(self, "statement", locale)


class ChoiceOption(_Model):
    """One option of a choice input."""

    value: Key
    label_th: ThaiText
    label_en: Text

    def label(self, locale: object = "th") -> str:
        """The option's label in ``locale``."""
        return display(self, "label", locale)


class ChoiceInput(_Input):
    """One of a fixed list of options."""

    type: Literal["choice"]
    options: Annotated[tuple[ChoiceOption, ...], Field(min_length=2)]

    @model_validator(mode="after")
    def _check_unique(self) -> ChoiceInput:
        seen: dict[str, int] = {}
        for index, option in enumerate(self.options):
            if option.value in seen:
                raise manual_problem(
                    f"options[{index}].value",
                    f"duplicate option value {option.value!r} (also options[{seen[option.value]}])",
                )
            seen[option.value] = index
        return self


# The identifiers a technician copies off a part or a label (an engine number, a test certificate
# number): letters, digits and . / - only, upper case.
IDENTIFIER_PATTERN = r"^[A-Z0-9][A-Z0-9./-]{2,31}$"


class TextInput(_Input):
    """Text: free (a note, a reading that is not a number), a ``date`` (ISO, not in the future,
    at most ``max_age_days`` old: a glove test) or an ``identifier`` copied off a part."""

    type: Literal["text"]
    required: StrictBool = True
    format: Literal["free", "date", "identifier"] = "free"
    max_age_days: PositiveInt | None = None

    @model_validator(mode="after")
    def _age_only_for_dates(self) -> TextInput:
        if self.max_age_days is not None and self.format != "date":
            raise manual_problem("max_age_days", 'only a text of format = "date" has an age')
        return self


class PhotoInput(_Input):
    """One or more photographs of something named in ``of_th`` / ``of_en``."""

    type: Literal["photo"]
    count: PositiveInt = 1
    of_th: ThaiText
    of_en: Text
    # Also accept a PDF document (a purchase invoice as the seller sent it).
    documents: bool = False


class SerialInput(_Input):
    """Serial number(s) of an installed component, named by part number or by kit category."""

    type: Literal["serial"]
    part_number: Annotated[str, Strict(), StringConstraints(pattern=PART_NUMBER_PATTERN)] | None = (
        None
    )
    category: SerialCategory | None = None
    count: PositiveInt = 1

    @model_validator(mode="after")
    def _check_component(self) -> SerialInput:
        if self.part_number is not None and self.category is not None:
            raise manual_problem("category", "give part_number or category, not both")
        if self.part_number is None and self.category is None:
            raise manual_problem("", "a serial input needs part_number or category")
        return self


StepInput = Annotated[
    MeasurementInput
    | TorqueInput
    | ConfirmationInput
    | ChoiceInput
    | TextInput
    | PhotoInput
    | SerialInput,
    Field(discriminator="type"),
]


def _check_qualification(code: str | None, info: ValidationInfo) -> str | None:
    codes = (info.context or {}).get("qualification_codes")
    if code is not None and codes is not None and code not in codes:
        known = ", ".join(sorted(codes))
        raise ValueError(f"unknown qualification {code!r}; known codes: {known}")
    return code


# --- steps, sections, manual -----------------------------------------------------------------------


class Step(_Model):
    """One signed unit of work; ``id`` is stable across manual versions so records can refer to it."""

    id: Slug
    title_th: ThaiText
    title_en: Text
    instructions_th: ThaiText
    instructions_en: Text
    hazards: tuple[Hazard, ...] = ()
    qualification: QualificationCode | None = None
    estimated_minutes: PositiveInt
    depends_on: tuple[Slug, ...] = ()
    countersign: StrictBool = False
    inputs: tuple[StepInput, ...] = ()

    _qualification_known = field_validator("qualification")(_check_qualification)

    @model_validator(mode="after")
    def _check_step(self) -> Step:
        for index, hazard in enumerate(self.hazards):
            if hazard in self.hazards[:index]:
                raise manual_problem(f"hazards[{index}]", f"hazard {hazard!r} is listed twice")
        for index, dependency in enumerate(self.depends_on):
            if dependency == self.id:
                raise manual_problem(
                    f"depends_on[{index}]", f"step {self.id!r} cannot depend on itself"
                )
            if dependency in self.depends_on[:index]:
                raise manual_problem(f"depends_on[{index}]", f"{dependency!r} is listed twice")
        keys: dict[str, int] = {}
        for index, step_input in enumerate(self.inputs):
            if step_input.key in keys:
                raise manual_problem(
                    f"inputs[{index}].key",
                    f"duplicate input key {step_input.key!r} (also inputs[{keys[step_input.key]}])",
                )
            keys[step_input.key] = index
        # DESIGN: high-voltage work needs a qualified person and a second person's countersignature.
        if "high_voltage" in self.hazards:
            if not self.countersign:
                raise manual_problem(
                    "countersign", "a high_voltage step must have countersign = true"
                )
            if self.qualification not in HV_QUALIFICATIONS:
                wanted = " or ".join(sorted(HV_QUALIFICATIONS))
                raise manual_problem(
                    "qualification", f"a high_voltage step needs qualification {wanted}"
                )
        return self

    def title(self, locale: object = "th") -> str:
        """The step title in ``locale``."""
        return display(self, "title", locale)

    def instructions(self, locale: object = "th") -> str:
        """The step instructions in ``locale``."""
        return display(self, "instructions", locale)

    def input(self, key: str) -> StepInput:
        """The input with ``key``; KeyError if the step has none."""
        for step_input in self.inputs:
            if step_input.key == key:
                return step_input
        raise KeyError(f"step {self.id!r} has no input {key!r}")


class Section(_Model):
    """An ordered group of steps (intake, HV safety, battery, ...)."""

    id: Slug
    title_th: ThaiText
    title_en: Text
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]

    def title(self, locale: object = "th") -> str:
        """The section title in ``locale``."""
        return display(self, "title", locale)


class VehicleModel(_Model):
    """The car model a manual converts."""

    make: Text
    model: Text
    generation: Text
    year_from: Annotated[int, Strict(), Field(ge=1950, le=2100)]
    year_to: Annotated[int, Strict(), Field(ge=1950, le=2100)]
    body_class: BodyClass
    transmission: Transmission

    @model_validator(mode="after")
    def _check_years(self) -> VehicleModel:
        if self.year_from > self.year_to:
            raise manual_problem(
                "year_to", f"year_from {self.year_from} is later than year_to {self.year_to}"
            )
        return self


Mass = Annotated[int, Strict(), Field(ge=100, le=10_000)]


class Registration(_Model):
    """What the Department of Land Transport registers for this model after the conversion, and the
    limits its weights are held to (the certificate prints both; the issuing rule enforces the limits).

    Gross weight, seats and the permitted axle loads are the model's, from its registration book
    and the maker's plate; ``source`` names where the limits come from.
    """

    category: Literal["M1", "N1"]
    category_th: ThaiText
    category_en: Text
    seats: Annotated[int, Strict(), Field(ge=1, le=15)]
    gross_weight_kg: Mass
    permitted_front_axle_kg: Mass
    permitted_rear_axle_kg: Mass
    max_curb_weight_increase_percent: Annotated[StrictFloat, Field(gt=0, le=100)]
    source: Text
    structural_change_th: ThaiText
    structural_change_en: Text

    @model_validator(mode="after")
    def _check_masses(self) -> Registration:
        axles = self.permitted_front_axle_kg + self.permitted_rear_axle_kg
        if axles < self.gross_weight_kg:
            raise manual_problem(
                "permitted_rear_axle_kg",
                f"the permitted axle loads add up to {axles} kg, less than the gross weight "
                f"{self.gross_weight_kg} kg: one of them is mistyped",
            )
        return self

    def category_name(self, locale: object = "th") -> str:
        """The vehicle category in ``locale``."""
        return display(self, "category", locale)

    def structural_change(self, locale: object = "th") -> str:
        """What the conversion changes in the structure, in ``locale``."""
        return display(self, "structural_change", locale)


class Manual(_Model):
    """A whole conversion manual. ``fingerprint`` is the SHA-256 of the source file, set by the loader."""

    id: Slug
    version: Annotated[str, Strict(), StringConstraints(pattern=VERSION_PATTERN)]
    model: VehicleModel
    registration: Registration | None = None
    qualification: QualificationCode | None = None
    sections: Annotated[tuple[Section, ...], Field(min_length=1)]
    fingerprint: Annotated[str, Strict(), StringConstraints(pattern=FINGERPRINT_PATTERN)] | None = (
        None
    )

    _qualification_known = field_validator("qualification")(_check_qualification)

    @field_validator("id")
    @classmethod
    def _id_is_file_stem(cls, value: str, info: ValidationInfo) -> str:
        stem = (info.context or {}).get("file_stem")
        if stem is not None and value != stem:
            raise ValueError(
                f"id {value!r} must equal the file name without .toml ({stem!r}):"
                " rename the file or fix the id"
            )
        return value

    @model_validator(mode="after")
    def _check_manual(self) -> Manual:
        section_index: dict[str, int] = {}
        step_where: dict[str, str] = {}
        for s_index, section in enumerate(self.sections):
            if section.id in section_index:
                raise manual_problem(
                    f"sections[{s_index}].id",
                    f"duplicate section id {section.id!r} (also sections[{section_index[section.id]}])",
                )
            section_index[section.id] = s_index
            for t_index, step in enumerate(section.steps):
                where = f"sections[{s_index}].steps[{t_index}]"
                if step.id in step_where:
                    raise manual_problem(
                        f"{where}.id",
                        f"duplicate step id {step.id!r} (also {step_where[step.id]}.id)",
                    )
                step_where[step.id] = where
        for step_id, where in step_where.items():
            for d_index, dependency in enumerate(self.step(step_id).depends_on):
                if dependency not in step_where:
                    raise manual_problem(
                        f"{where}.depends_on[{d_index}]",
                        f"step {step_id!r} depends on unknown step {dependency!r}",
                    )
        cycle = _find_cycle({s.id: s.depends_on for s in self.steps})
        if cycle:
            # Point at the edge that closes the loop: the last step's dependency on the first.
            last, first = cycle[-2], cycle[-1]
            d_index = self.step(last).depends_on.index(first)
            raise manual_problem(
                f"{step_where[last]}.depends_on[{d_index}]",
                "dependency cycle: " + " -> ".join(cycle) + " (each step depends on the next)",
            )
        return self

    # Indexes are derived data: cached_property keeps them out of model_dump and equality.
    @functools.cached_property
    def steps(self) -> list[Step]:
        """All steps in manual order."""
        return [step for section in self.sections for step in section.steps]

    @functools.cached_property
    def _step_index(self) -> dict[str, tuple[Section, Step]]:
        return {step.id: (section, step) for section in self.sections for step in section.steps}

    def step(self, step_id: str) -> Step:
        """The step with ``step_id``; KeyError if the manual has none."""
        try:
            return self._step_index[step_id][1]
        except KeyError:
            raise KeyError(f"manual {self.id!r} has no step {step_id!r}") from None

    def section_of(self, step_id: str) -> Section:
        """The section holding ``step_id``; KeyError if the manual has no such step."""
        try:
            return self._step_index[step_id][0]
        except KeyError:
            raise KeyError(f"manual {self.id!r} has no step {step_id!r}") from None

    def section(self, section_id: str) -> Section:
        """The section with ``section_id``; KeyError if the manual has none."""
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(f"manual {self.id!r} has no section {section_id!r}")

    def find_input(self, key: str) -> tuple[Step, StepInput]:
        """The first step having an input ``key``, with that input (e.g. ``"odometer_km"``)."""
        for step in self.steps:
            for step_input in step.inputs:
                if step_input.key == key:
                    return step, step_input
        raise KeyError(f"manual {self.id!r} has no input {key!r}")

    def missing_sources(self) -> list[str]:
        """Safety measurements whose limits name no source, as "step-id.input-key": every
        measurement of a high-voltage step, and isolation and bonding wherever they are."""
        return [
            f"{step.id}.{inp.key}"
            for step in self.steps
            for inp in step.inputs
            if inp.type == "measurement"
            and inp.source is None
            and ("high_voltage" in step.hazards or inp.key.startswith(SAFETY_KEY_PREFIXES))
        ]

    @property
    def total_minutes(self) -> int:
        """Sum of the steps' estimated minutes (labour planning)."""
        return sum(step.estimated_minutes for step in self.steps)


def _find_cycle(graph: dict[str, tuple[str, ...]]) -> list[str]:
    """A dependency cycle as [a, b, ..., a] (a depends on b ...), or [] when the graph is a DAG."""
    visiting, done = set(), set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        visiting.add(node)
        path.append(node)
        for dependency in graph.get(node, ()):
            if dependency in visiting:
                return path[path.index(dependency) :] + [dependency]
            if dependency not in done:
                found = visit(dependency)
                if found:
                    return found
        visiting.discard(node)
        done.add(node)
        path.pop()
        return []

    for node in graph:
        if node not in done:
            found = visit(node)
            if found:
                return found
    return []


def json_schema() -> dict[str, Any]:
    """JSON Schema of a manual file, for editors that validate TOML against a schema."""
    return Manual.model_json_schema()
