"""The declared check table (``checks.toml``): most EOL checks as rows of data, judged by the
evaluator kinds of :mod:`workshop.eol.evaluators` and registered into the same ``CHECKS``
registry as the procedures written in Python, so the runner, faults, reports and drills see no
difference.

The table is loaded and validated when this module is imported: a row naming an unknown
evaluator, limit, message code or measurement, a missing field, or a message whose text needs
a parameter its evaluator cannot give is refused with the row and the field named.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from workshop.datafiles import (
    DataFileError,
    check_unique,
    common_problem,
    place,
    read_data_file,
    validation_error,
)
from workshop.eol import (  # noqa: F401 (the checks written as code register first)
    checks_bms,
    checks_brakes,
    checks_ecu,
    checks_safety,
    procedures,
)
from workshop.eol.eolfile import Limits
from workshop.eol.evaluators import (
    KINDS,
    LATENCY_CLEAR_MESSAGES,
    LATENCY_REST_MESSAGES,
    LATENCY_STEP_MESSAGES,
    placeholders,
)
from workshop.eol.records import CHECKS, SEQUENCES, CheckInfo
from workshop.eol.texts import LABELS, MESSAGES

TABLE_PATH = Path(__file__).with_name("checks.toml")
_OWN = "check_table"
_LIMIT_REF = re.compile(r"([a-z]+)\.([a-z0-9_]+)(?:\[([01])\])?")
_CHECK_ID = re.compile(rf"({'|'.join(SEQUENCES)})\.[a-z0-9_]+")


class CheckTableError(DataFileError):
    """The check table cannot be used (names the file, the row and the field)."""


def _refuse(problem: str) -> PydanticCustomError:
    return PydanticCustomError(_OWN, "{problem}", {"problem": problem})


def _close(word: str, options) -> str:
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {found[0]!r}?)" if found else ""


def _limit_name(ref: str | float) -> str | float:
    if not isinstance(ref, str):
        return ref
    match = _LIMIT_REF.fullmatch(ref)
    if match is None:
        raise _refuse(f"{ref!r} is not a limit name (write 'group.name', e.g. 'bms.observe_s')")
    group, name = match[1], match[2]
    if group not in Limits.model_fields:
        raise _refuse(
            f"unknown limit group {group!r} in {ref!r}{_close(group, Limits.model_fields)}"
        )
    model = Limits.model_fields[group].annotation
    known = {
        *model.model_fields,
        *(n for n in dir(model) if isinstance(getattr(model, n), property)),
    }
    if name not in known:
        raise _refuse(f"unknown limit {ref!r}{_close(name, known)}")
    return ref


def _code(code: str) -> str:
    if code not in MESSAGES:
        raise _refuse(f"unknown message code {code!r}{_close(code, MESSAGES)}")
    return code


def _label(name: str) -> str:
    if "{state}" in name:  # a step repeated for each state: checked with its states
        return name
    if name not in LABELS:
        raise _refuse(f"measurement {name!r} has no label in the catalogue{_close(name, LABELS)}")
    return name


LimitRef = Annotated[str | float, AfterValidator(_limit_name)]
Code = Annotated[str, AfterValidator(_code)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitOf(_Strict):
    """A stimulus value taken from the kit's limits (``{ limit = "brakes.pedal_test_pct" }``)."""

    limit: LimitRef


Stimulus = dict[str, bool | float | str | LimitOf]


class Measure(_Strict):
    """A declared measurement: its name (which has a label in the catalogue), unit and digits."""

    name: Annotated[str, AfterValidator(_label)]
    unit: str = ""
    digits: int = 2


class Condition(_Strict):
    """A condition other than a flag or a state: the value at least, or at most, a limit; or any
    state other than the one named."""

    at_least: LimitRef | None = None
    at_most: LimitRef | None = None
    other_than: str | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Condition:
        if sum(v is not None for v in (self.at_least, self.at_most, self.other_than)) != 1:
            raise _refuse("give one of at_least, at_most or other_than")
        return self

    @property
    def threshold(self) -> bool:
        """Whether the condition compares the value with a limit."""
        return self.other_than is None


class Waiting(_Strict):
    """A state in which a step not answered means "cannot be performed" (``error``)."""

    state: str
    error: Code


def _until(value):
    """A comparing condition read on its own, so a mistake in it is reported as one problem."""
    if not isinstance(value, dict):
        return value
    try:
        return Condition.model_validate(value)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        fields = list(Condition.model_fields)
        raise _refuse(common_problem(error, fields, _OWN) or error["msg"]) from None


Until = Annotated[bool | str | Condition, BeforeValidator(_until)]


class Rest(_Strict):
    """A latency row's condition before any stimulus: waited for (``within``) or read once."""

    stimulus: Stimulus = {}
    until: Until
    within: LimitRef | None = None
    missing: Code | None = None
    fail: Code


class Clear(_Strict):
    """After a latency step's restore: the value goes back within ``within``."""

    until: Until
    within: LimitRef
    fail: Code


class LatencyStep(_Strict):
    """One stimulus of a latency row and the answer it waits for."""

    each_state: tuple[str, ...] = ()  # repeated for each of these states the kit has
    prepare: Stimulus = {}  # sent first, then ``settle_s`` waited, then the stimulus
    settle_s: float | None = None
    stimulus: Stimulus
    restore: Stimulus = {}
    until: Until
    within: LimitRef
    measure: Measure | None = None  # timed; or, with ``error``, only required to happen
    measure_value: Measure | None = None  # the value that answered, against its threshold
    messages: dict[str, Code] = {}
    seconds_format: str = ".2f"
    error: Code | None = None  # not answered: the check cannot be performed
    waiting: Waiting | None = None
    series: bool = False  # the observed states, as a chart
    clear: Clear | None = None


class SumCheck(_Strict):
    """A range row's second measurement: its value minus the sum of an indexed name's latest
    samples in the same window (``of``), within plus or minus ``tolerance``."""

    of: str
    tolerance: LimitRef
    measure: Measure
    fail: Code


# The fields only some kinds read: a row of another kind that sets one is refused.
_KIND_FIELDS = {
    "sample": {"range"},
    "value_format": {"range"},
    "divide_by": {"range"},
    "missing_is_measured": {"range"},
    "integer": {"range"},
    "detail": {"range"},
    "against_sum": {"range"},
    "params": {"range", "latency"},
    "state": {"equals"},
    "ready": {"latency"},
    "rest": {"latency"},
    "steps": {"latency"},
    "restore": {"latency"},
    "then": {"latency"},
}


class CheckRow(_Strict):
    """One declared check."""

    id: str
    title_en: str
    title_th: str
    needs: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    passive: bool = False
    resources: tuple[str, ...] = ("vehicle",)
    evaluator: str
    observe: str
    limits: dict[str, LimitRef] = {}
    messages: dict[str, Code] = {}
    measure: dict[str, Measure] = {}
    # range: the value judged, its message formatting and extra message parameters
    sample: Literal["next", "min", "max", "mean"] = "next"
    value_format: str = ".1f"
    divide_by: float = 1
    missing_is_measured: bool = False
    integer: bool = False  # judged as a whole number, given to messages as ``count``
    detail: str | None = None  # a semantic name read with a failing value (``first``)
    against_sum: SumCheck | None = None
    params: dict[str, LimitRef] = {}
    # equals
    state: str | None = None
    # latency
    ready: bool = False  # bring the vehicle to READY first
    rest: Rest | None = None
    steps: tuple[LatencyStep, ...] = ()
    restore: Stimulus = {}  # sent at the end, whatever happened
    then: Stimulus = {}  # sent after the last step (a state the kit lacks is left out)

    @model_validator(mode="after")
    def _fits_its_evaluator(self) -> CheckRow:
        if not _CHECK_ID.fullmatch(self.id):
            raise _refuse(f"id: {self.id!r} is not '<sequence>.<name>' ({', '.join(SEQUENCES)})")
        kind = KINDS.get(self.evaluator)
        if kind is None:
            raise _refuse(
                f"evaluator: unknown evaluator {self.evaluator!r}{_close(self.evaluator, KINDS)}"
                f" (known: {', '.join(KINDS)})"
            )
        for name in sorted(self.model_fields_set & set(_KIND_FIELDS)):
            if self.evaluator not in _KIND_FIELDS[name]:
                raise _refuse(f"{name}: not read by the {self.evaluator} evaluator")
        _roles("limits", self.limits, kind.limits, kind.optional_limits)
        _roles("measure", self.measure, kind.measures, frozenset())
        required = frozenset(kind.messages) - kind.optional_messages
        _roles("messages", self.messages, required, kind.optional_messages)
        for role, code in self.messages.items():
            extra = set(self.params) if role in kind.extra_params_for else set()
            _gives(f"messages.{role}", code, kind.messages[role] | extra)
        if self.evaluator == "range":
            _range_row(self)
        if self.evaluator == "equals" and self.state is None:
            raise _refuse("state: the equals evaluator needs the state expected")
        if self.evaluator == "latency":
            _latency_row(self)
        return self


def _roles(name: str, given: dict, required: frozenset, optional: frozenset) -> None:
    missing = sorted(required - set(given))
    if missing:
        raise _refuse(f"{name}: missing {', '.join(missing)}")
    unknown = sorted(set(given) - required - optional)
    if unknown:
        known = sorted(required | optional)
        raise _refuse(f"{name}: unknown {unknown[0]!r} (expected: {', '.join(known) or 'none'})")


def _gives(where: str, code: str | None, given: frozenset | set) -> None:
    if code is None:
        return
    needed = sorted(placeholders(code) - set(given))
    if needed:
        raise _refuse(f"{where}: {code!r} needs {', '.join(needed)}, which this row cannot give")


def _range_row(row: CheckRow) -> None:
    if not {"low", "high", "range"} & set(row.limits):
        raise _refuse("limits: the range evaluator needs low, high or range")
    if "range" in row.limits and {"low", "high"} & set(row.limits):
        raise _refuse("limits: give either range or low/high")
    if (row.sample == "next") == ("window" in row.limits):
        raise _refuse("limits: window is needed for a min, max or mean sample, and only then")
    for role in ("low_detail", "high_detail"):
        if role in row.messages and row.detail is None:
            raise _refuse(f"messages.{role}: needs the detail read with the value (detail)")
    if row.against_sum is not None:
        if row.sample == "next":
            raise _refuse("against_sum: needs a window (a min, max or mean sample)")
        _gives("against_sum.fail", row.against_sum.fail, {"value", "total"})
    if row.divide_by <= 0:
        raise _refuse("divide_by: must be positive")
    try:
        format(1.0, row.value_format)
    except ValueError:
        raise _refuse(f"value_format: {row.value_format!r} is not a number format") from None


def _latency_row(row: CheckRow) -> None:
    if row.limits or row.messages or row.measure:
        raise _refuse("limits: a latency row declares its limits, messages and measures per step")
    if not row.steps:
        raise _refuse("steps: the latency evaluator needs at least one step")
    if row.rest is not None:
        _gives("rest.fail", row.rest.fail, LATENCY_REST_MESSAGES["fail"])
        _gives("rest.missing", row.rest.missing, LATENCY_REST_MESSAGES["missing"])
        if row.rest.within is None and row.rest.missing is None:
            raise _refuse("rest.missing: a rest read once needs the message when nothing arrives")
    for i, step in enumerate(row.steps):
        where = f"steps[{i}]"
        for name, code in (
            ("error", step.error),
            ("waiting.error", getattr(step.waiting, "error", None)),
        ):
            _gives(f"{where}.{name}", code, {"state", "limit"})
        if step.measure is None:
            if step.error is None:
                raise _refuse(f"{where}.measure: a step is timed (measure) or required (error)")
            if step.messages or step.measure_value or step.clear:
                raise _refuse(f"{where}.messages: a step without a measure has no messages")
            continue
        try:
            format(1.0, step.seconds_format)
        except ValueError:
            raise _refuse(f"{where}.seconds_format: not a number format") from None
        _roles(f"{where}.messages", step.messages, frozenset({"timeout"}), frozenset({"late"}))
        threshold = isinstance(step.until, Condition) and step.until.threshold
        for role, code in step.messages.items():
            given = set(LATENCY_STEP_MESSAGES[role]) | set(row.params)
            if not threshold:
                given.discard("needed")
            if not step.each_state:
                given.discard("mode")
            _gives(f"{where}.messages.{role}", code, given)
        if step.measure_value is not None and not threshold:
            raise _refuse(f"{where}.measure_value: only for an at_least / at_most condition")
        for state in step.each_state:
            try:
                _label(step.measure.name.replace("{state}", state))
            except PydanticCustomError as exc:
                raise _refuse(f"{where}.measure.name: {exc.context['problem']}") from None
        if "{state}" in step.measure.name and not step.each_state:
            raise _refuse(f"{where}.measure.name: {{state}} needs each_state")
        if step.settle_s is not None and not step.prepare:
            raise _refuse(f"{where}.settle_s: waits after a prepare, which this step lacks")
        if step.clear is not None:
            if not step.restore:
                raise _refuse(f"{where}.clear: needs a restore to time the clearing from")
            _gives(f"{where}.clear.fail", step.clear.fail, LATENCY_CLEAR_MESSAGES["fail"])


class CheckTable(_Strict):
    """The whole file: ``[[check]]`` rows."""

    check: tuple[CheckRow, ...]


def load_check_table(path: str | Path = TABLE_PATH) -> tuple[CheckRow, ...]:
    """The validated rows of the check table at ``path``; any problem raises CheckTableError."""
    path = Path(path)
    data = read_data_file(path, CheckTableError)
    rows = data.get("check") if isinstance(data.get("check"), list) else []

    def hint(where: str) -> str:
        match = re.match(r"check\[(\d+)\]", where)
        if match and int(match[1]) < len(rows) and isinstance(rows[int(match[1])], dict):
            return f"check {rows[int(match[1])].get('id', '?')!r}"
        return ""

    try:
        table = CheckTable.model_validate(data)
    except ValidationError as exc:
        models = (
            CheckRow,
            LatencyStep,
            Rest,
            Clear,
            Measure,
            Condition,
            Waiting,
            SumCheck,
            LimitOf,
        )
        fields = sorted({name for model in models for name in model.model_fields})
        raise validation_error(
            path,
            exc,
            CheckTableError,
            location=lambda e: place(e["loc"]),
            problem=lambda e: common_problem(e, fields, _OWN) or e["msg"],
            hint=hint,
        ) from None
    check_unique(path, CheckTableError, [r.id for r in table.check], "check", "id", "check id")
    return table.check


def register_table(
    rows: tuple[CheckRow, ...], registry: dict[str, CheckInfo] = CHECKS, path: Path = TABLE_PATH
) -> None:
    """Register each row as a check (its evaluator as the check's function); a row whose id is
    already a check, or that depends on an unknown check, is refused."""
    known = set(registry) | {r.id for r in rows}
    for i, row in enumerate(rows):
        if row.id in registry:
            raise CheckTableError(path, f"check[{i}].id", f"{row.id!r} is already a check")
        for dep in row.depends_on:
            if dep not in known:
                raise CheckTableError(
                    path, f"check[{i}].depends_on", f"unknown check {dep!r}{_close(dep, known)}"
                )
    for row in rows:
        registry[row.id] = CheckInfo(
            row.id,
            row.id.split(".")[0],
            row.title_en,
            row.title_th,
            row.needs,
            row.depends_on,
            row.passive,
            functools.partial(KINDS[row.evaluator].judge, row),
            frozenset(row.resources),
        )


register_table(load_check_table())
