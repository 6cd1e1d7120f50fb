"""EOL records: outcomes, measurements, check and run results, the check registry, and
the Report a check fills in. Plain data and formatters; no bus, no clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from workshop.eol.messages import message as say
from workshop.eol.messages import render
from workshop.eol.texts import MESSAGES
from workshop.eol.traces import TraceInfo

log = logging.getLogger(__name__)

SEQUENCES = ("ecu", "bms", "brakes")


class Outcome(StrEnum):
    """Outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


class RunOutcome(StrEnum):
    """Outcome of a whole run."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    ABORTED = "aborted"


@dataclass
class Measurement:
    """One measured value with its limits (None = no limit on that side) and verdict."""

    name: str
    value: float | int | str | None
    unit: str = ""
    low: float | None = None
    high: float | None = None
    expected: str | None = None
    outcome: Outcome = Outcome.PASS

    @property
    def limits_text(self) -> str:
        """The limits as a technician reads them: '2.50 – 3.65 V', '≤ 1 A', '= CLOSED'."""
        unit = f" {self.unit}" if self.unit else ""
        if self.expected is not None:
            return f"= {self.expected}"
        if self.low is not None and self.high is not None:
            return f"{_g(self.low)} – {_g(self.high)}{unit}"
        if self.high is not None:
            return f"≤ {_g(self.high)}{unit}"
        if self.low is not None:
            return f"≥ {_g(self.low)}{unit}"
        return ""

    @property
    def value_text(self) -> str:
        """The value with its unit ('3.71 V'), or '—' when nothing was measured."""
        if self.value is None:
            return "—"
        if isinstance(self.value, str):
            return self.value
        unit = f" {self.unit}" if self.unit else ""
        return f"{_g(self.value)}{unit}"

    def to_dict(self) -> dict:
        """Plain-data form for JSON / the database."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "low": self.low,
            "high": self.high,
            "expected": self.expected,
            "outcome": self.outcome.value,
            "limits_text": self.limits_text,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Measurement:
        """The measurement back from :meth:`to_dict`."""
        return cls(
            data["name"],
            data["value"],
            data.get("unit", ""),
            data.get("low"),
            data.get("high"),
            data.get("expected"),
            Outcome(data["outcome"]),
        )


@dataclass
class CheckResult:
    """The record of one check: what was measured, against what, and what it means."""

    check_id: str
    sequence: str
    title_en: str
    title_th: str
    outcome: Outcome
    # What the result means for the technician, as a catalogue code and its parameters
    # (rendered in the reader's language by workshop.eol.messages), never a sentence.
    message_code: str
    message_params: dict = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    series: dict[str, list] = field(default_factory=dict)
    started_at: datetime | None = None
    duration_s: float = 0.0
    vehicle_duration_s: float = 0.0

    def message_in(self, lang: str = "th") -> str:
        """The message rendered in ``lang`` ('th' or 'en')."""
        return render(self.message_code, self.message_params, lang)

    @property
    def message(self) -> str:
        """The message in English (logs, tests)."""
        return self.message_in("en")

    def to_dict(self, lang: str = "en") -> dict:
        """Plain-data form for JSON / the database; ``message`` is rendered in ``lang``."""
        return {
            "check_id": self.check_id,
            "sequence": self.sequence,
            "title_en": self.title_en,
            "title_th": self.title_th,
            "outcome": self.outcome.value,
            "message_code": self.message_code,
            "message_params": self.message_params,
            "message": self.message_in(lang),
            "measurements": [m.to_dict() for m in self.measurements],
            "series": self.series,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "duration_s": round(self.duration_s, 3),
            "vehicle_duration_s": round(self.vehicle_duration_s, 3),
        }

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        """The check back from :meth:`to_dict` (e.g. from the sandboxed trace checker)."""
        started = data.get("started_at")
        return cls(
            check_id=data["check_id"],
            sequence=data["sequence"],
            title_en=data["title_en"],
            title_th=data["title_th"],
            outcome=Outcome(data["outcome"]),
            message_code=data["message_code"],
            message_params=data.get("message_params") or {},
            measurements=[Measurement.from_dict(m) for m in data.get("measurements", [])],
            series=data.get("series") or {},
            started_at=datetime.fromisoformat(started) if started else None,
            duration_s=data.get("duration_s", 0.0),
            vehicle_duration_s=data.get("vehicle_duration_s", 0.0),
        )


@dataclass
class RunResult:
    """A whole run: every check result so far, the outcome, and the trace kept as evidence."""

    kit_id: str
    sequences: list[str]
    outcome: RunOutcome
    checks: list[CheckResult]
    started_at: datetime
    finished_at: datetime
    time_scale: float = 1.0
    abort_reason: str | None = None  # in English; abort_message is the code and parameters
    abort_message: dict | None = None
    trace: TraceInfo | None = None
    eol_sha256: str = ""
    dbc_sha256: str = ""
    source: str = "bus"
    max_lag_s: float = 0.0
    # Simulated runs: the simulator's seed and faults; the same kit, faults and seed give the
    # same result.
    seed: int | None = None
    faults: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the run passed."""
        return self.outcome is RunOutcome.PASS

    def result(self, check_id: str) -> CheckResult:
        """The result of one check (KeyError if it did not run)."""
        for check in self.checks:
            if check.check_id == check_id:
                return check
        raise KeyError(check_id)

    def to_dict(self, lang: str = "en") -> dict:
        """Plain-data form for JSON / the database (messages rendered in ``lang``)."""
        return {
            "kit_id": self.kit_id,
            "sequences": self.sequences,
            "outcome": self.outcome.value,
            "abort_reason": (
                render(self.abort_message["code"], self.abort_message["params"], lang)
                if self.abort_message
                else self.abort_reason
            ),
            "abort_message": self.abort_message,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "time_scale": self.time_scale,
            "source": self.source,
            "max_lag_s": round(self.max_lag_s, 3),
            "seed": self.seed,
            "faults": self.faults,
            "eol_sha256": self.eol_sha256,
            "dbc_sha256": self.dbc_sha256,
            "trace": self.trace.to_dict() if self.trace else None,
            "checks": [c.to_dict(lang) for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict) -> RunResult:
        """The run back from :meth:`to_dict` (the trace's path is kept as given)."""
        trace = data.get("trace")
        return cls(
            kit_id=data["kit_id"],
            sequences=list(data["sequences"]),
            outcome=RunOutcome(data["outcome"]),
            checks=[CheckResult.from_dict(c) for c in data["checks"]],
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            time_scale=data.get("time_scale", 1.0),
            abort_reason=data.get("abort_reason"),
            abort_message=data.get("abort_message"),
            trace=TraceInfo(**{**trace, "path": Path(trace["path"])}) if trace else None,
            eol_sha256=data.get("eol_sha256", ""),
            dbc_sha256=data.get("dbc_sha256", ""),
            source=data.get("source", "bus"),
            max_lag_s=data.get("max_lag_s", 0.0),
            seed=data.get("seed"),
            faults=list(data.get("faults") or []),
        )


class BusFailure(Exception):
    """The bus is unusable (no traffic, bus-off, adapter gone): the run is aborted.

    Raised with a message code and its parameters, like every reason the engine gives."""

    def __init__(self, code: str, **params: Any):
        self.message = say(code, **params)
        super().__init__(render(code, params))


class RunStopped(BusFailure):
    """``should_abort`` asked the run to stop (its reason: a message code or the text given)."""

    def __init__(self, reason: Any):
        if isinstance(reason, str) and reason in MESSAGES:
            super().__init__(reason)
        elif isinstance(reason, str):
            super().__init__("stopped", reason=reason)
        else:
            super().__init__("stopped_by_operator")


class _Precondition(Exception):
    """The check could not be performed (ERROR), as opposed to failed (FAIL).

    Raised with a message code and its parameters: ``_Precondition("no_vacuum", sensor=...)``.
    """

    def __init__(self, code: str, **params: Any):
        self.message = say(code, **params)
        super().__init__(render(code, params))


class _Skip(_Precondition):
    """The check does not apply right now (SKIPPED)."""


# --------------------------------------------------------------------------------------------
# Check registry
# --------------------------------------------------------------------------------------------


# The car as a whole (key, contactors, drive): what most checks hold. The brakes' vacuum
# checks hold only the pump and the pedal.
VEHICLE = frozenset({"vehicle"})
BRAKE_VACUUM = frozenset({"brake_pump", "brake_pedal"})


@dataclass(frozen=True)
class CheckInfo:
    """A check as declared: id, titles, what it needs from the kit, what it depends on."""

    check_id: str
    sequence: str
    title_en: str
    title_th: str
    needs: tuple[str, ...]
    depends_on: tuple[str, ...]
    passive: bool
    func: Callable = field(repr=False, compare=False)
    # What on the car the check holds while it runs: two checks that share nothing may run
    # side by side (the brakes' vacuum chain waits for physics while the ECU and BMS are tested).
    resources: frozenset[str] = VEHICLE

    def to_dict(self) -> dict:
        """Plain-data form (for a progress list before the run starts)."""
        return {
            "check_id": self.check_id,
            "sequence": self.sequence,
            "title_en": self.title_en,
            "title_th": self.title_th,
            "passive": self.passive,
        }


CHECKS: dict[str, CheckInfo] = {}


def _check(
    check_id, title_en, title_th, *, needs=(), depends_on=(), passive=False, resources=VEHICLE
):
    def register(func):
        CHECKS[check_id] = CheckInfo(
            check_id,
            check_id.split(".")[0],
            title_en,
            title_th,
            tuple(needs),
            tuple(depends_on),
            passive,
            func,
            frozenset(resources),
        )
        return func

    return register


# --------------------------------------------------------------------------------------------
# Recording one check
# --------------------------------------------------------------------------------------------


class Report:
    """What a check found: measurements, failure messages, notes, chart series."""

    def __init__(self):
        self.measurements: list[Measurement] = []
        self.failures: list[dict] = []
        self.notes: list[dict] = []
        self.series: dict[str, list] = {}

    def measure(
        self,
        name: str,
        value: Any,
        unit: str = "",
        low: float | None = None,
        high: float | None = None,
        *,
        expected: str | None = None,
        ok: bool | None = None,
        fail: dict | None = None,
        digits: int = 2,
        quiet: bool = False,
    ) -> Measurement:
        """Record a measurement; its outcome comes from ``ok`` or else from the limits.

        ``fail`` is the technician's message when it fails (``say(code, **params)``);
        ``quiet`` leaves the message to the caller (who words several failures as one)."""
        shown = round(value, digits) if isinstance(value, float) else value
        if ok is None:
            if value is None:
                ok = False
            elif isinstance(value, (int, float)):
                ok = (low is None or value >= low) and (high is None or value <= high)
            else:
                ok = True
        m = Measurement(
            name, shown, unit, low, high, expected, Outcome.PASS if ok else Outcome.FAIL
        )
        self.measurements.append(m)
        if not ok and not quiet:
            self.failures.append(
                fail or say("outside_limits", label=name, value=m.value_text, limits=m.limits_text)
            )
        return m

    def fail(self, code: str, **params: Any) -> None:
        """Record a failure that is not tied to one measurement."""
        self.failures.append(say(code, **params))

    def note(self, code: str, **params: Any) -> None:
        """Add a line to the pass message."""
        self.notes.append(say(code, **params))


def _g(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:.0f}"
    if magnitude >= 100:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    if magnitude >= 1:
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _v2(value: float, limit: float) -> str:
    """Two decimals, or three when two would make the value look equal to its limit."""
    text = f"{value:.2f}"
    return f"{value:.3f}" if text == f"{limit:.2f}" else text


def _ranges(numbers: list[int]) -> str:
    parts, start, prev = [], None, None
    for n in sorted(numbers):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = prev = n
    if start is not None:
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
    return ", ".join(parts)


def _dtc(code: int) -> str:
    """SAE J2012 text of a 16-bit DTC (0x0C73 → P0C73)."""
    letter = "PCBU"[(code >> 14) & 0x3]
    return f"{letter}{(code >> 12) & 0x3}{code & 0xFFF:03X}"


def _unique(messages: list[dict]) -> list[dict]:
    seen, out = set(), []
    for m in messages:
        key = repr(m)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


def _several(messages: list[dict]) -> dict:
    """One message for several: the first three joined, then how many more."""
    if len(messages) == 1:
        return messages[0]
    if len(messages) <= 3:
        return say("list", items=messages)
    return say("several", first=messages[:3], more=len(messages) - 3)
