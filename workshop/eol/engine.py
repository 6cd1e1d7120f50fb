"""EOL test engine: the ECU, BMS and brake sequences, run on a CAN bus or over a recorded trace.

OpenHTF-style: a sequence is a list of checks (phases); each check records measurements whose
limits come from the kit's data, and ends with an :class:`Outcome`. The bus is injected (a real
adapter, or the simulator on a ``virtual`` channel), so the same checks run everywhere.

The engine is the active side: it sends the stimuli defined in the kit's DBC (key-on, drive-mode
requests, torque request, pedal robot, BMS alarm self-test, contactor override) and judges the
vehicle's answers by the frames' own timestamps, not by when this process got round to reading
them. Every time limit is in *vehicle seconds*. On a ``SimulatedBus`` every wait is in the
simulator's discrete-event clock (no wall-clock wait at all); on a real bus it is the host clock
(``time_scale`` > 1 only for a wall-clock simulator running faster than real time).

Entry points: :func:`run_eol` (live), :func:`plan_checks`, and ``traces.evaluate_trace``
(offline, passive checks only).
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import can

from workshop.eol.definitions import Binding, KitDefinition
from workshop.eol.messages import MESSAGES, render
from workshop.eol.messages import message as say
from workshop.eol.traces import TraceInfo, TraceRecorder

log = logging.getLogger(__name__)

SEQUENCES = ("ecu", "bms", "brakes")

# Waits end when the bus itself has passed the deadline (a frame stamped later arrives), so a
# slow host delays a verdict but never changes it. This wall-clock margin is only the fallback
# for a bus that is alive yet has nothing newer to say.
GRACE_REAL_S = 2.0
MIN_CYCLIC_REAL_S = 0.02
# Frames stamped this long before they reach us mean the host cannot keep up with the bus
# (or with a simulator's time scale): no verdict from such a run can be trusted.
MAX_LAG_REAL_S = 30.0
# A frame timestamp this far from the host clock comes from an adapter with its own time base;
# such a bus is timed by arrival instead.
CLOCK_MISMATCH_S = 5.0
# Silence longer than this (wall-clock, whatever the time scale) means the bus is gone.
MIN_SILENCE_REAL_S = 1.0
BUS_OFF_FLAG = 0x40  # SocketCAN CAN_ERR_BUSOFF in an error frame's id
MAX_ERROR_FRAMES = 100


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


def _check(check_id, title_en, title_th, *, needs=(), depends_on=(), passive=False):
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
        )
        return func

    return register


def plan_checks(
    kit: KitDefinition | None = None,
    sequences: Iterable[str] | None = None,
    *,
    passive_only: bool = False,
    check_ids: Iterable[str] | None = None,
) -> list[CheckInfo]:
    """The checks a run will execute, in order (all kits share the list; a kit that lacks a
    signal gets that check SKIPPED, not removed)."""
    wanted = list(sequences) if sequences else list(SEQUENCES)
    unknown = [s for s in wanted if s not in SEQUENCES]
    if unknown:
        raise ValueError(f"unknown sequence(s) {', '.join(unknown)}; use {', '.join(SEQUENCES)}")
    only = set(check_ids) if check_ids else None
    if only:
        missing = only - set(CHECKS)
        if missing:
            raise ValueError(f"unknown check(s) {', '.join(sorted(missing))}")
    return [
        info
        for seq in SEQUENCES
        if seq in wanted
        for info in CHECKS.values()
        if info.sequence == seq
        and (not passive_only or info.passive)
        and (only is None or info.check_id in only)
    ]


# --------------------------------------------------------------------------------------------
# The tester: frames in, semantic values out; stimuli out; waits in vehicle time
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """A frame that satisfied a wait: its vehicle time and the value."""

    t: float
    value: Any


@dataclass
class Observation:
    """Samples collected over a window of vehicle time."""

    start: float
    end: float
    samples: dict[str, list[tuple[float, Any]]]

    def values(self, key: str) -> list[Any]:
        """The values of one key in arrival order."""
        return [v for _, v in self.samples.get(key, [])]


class Tester:
    """Decodes frames into semantic values, sends stimuli and waits, live or over a trace."""

    def __init__(
        self,
        kit: KitDefinition,
        *,
        bus: can.BusABC | None = None,
        frames: Sequence[can.Message] | None = None,
        time_scale: float = 1.0,
        recorder: TraceRecorder | None = None,
        should_abort: Callable[[], Any] | None = None,
        grace_s: float = GRACE_REAL_S,
    ):
        if (bus is None) == (frames is None):
            raise ValueError("give the tester either a bus or recorded frames")
        self.kit = kit
        self.limits = kit.limits
        self.live = bus is not None
        self.bus = bus
        # A simulated bus brings its own clock, shared with the vehicle: every wait below is in
        # simulated seconds and the verdict cannot depend on the host. A real bus keeps the
        # host's clock and the safeguards that go with it (silence, bus-off, lag).
        sim_clock = getattr(bus, "clock", None)
        self.simulated = sim_clock is not None
        self._clock: Callable[[], float] = sim_clock.now if self.simulated else time.time
        self.time_scale = 1.0 if self.simulated else float(time_scale)
        self.recorder = recorder
        self.should_abort = should_abort
        self.grace_s = grace_s
        self.latest: dict[str, tuple[float, Any]] = {}
        self._collectors: list[tuple[set[str] | None, dict[str, list]]] = []
        # frame id -> (message, {signal name: [(key, converter)]}, [keys of whole-message names])
        self._index: dict[tuple[int, bool], tuple[Any, dict[str, list], list[str]]] = {}
        for binding in kit.all_bindings():
            if binding.semantic.sender != "vehicle":
                continue
            key = (binding.message.frame_id, binding.message.is_extended_frame)
            entry = self._index.setdefault(key, (binding.message, {}, []))
            if binding.signal is None:
                entry[2].append(binding.key)
            else:
                entry[1].setdefault(binding.signal.name, []).append(
                    (binding.key, binding.to_engine)
                )
        # message name -> [(signal, binding or None)] for building tester frames
        self._command_layout: dict[str, list[tuple[Any, Binding | None]]] = {}
        self._tester_ids = {
            (m.frame_id, m.is_extended_frame)
            for m in kit.database.messages
            if kit.is_tester_message(m)
        }
        self._commands: dict[str, Any] = {}
        self._command_messages: dict[str, Any] = {}
        self.t0 = self._clock()
        self._last_rx_real = self.t0
        self._next_cyclic_real = math.inf
        self._last_abort_poll = 0.0
        self._error_frames = 0
        self._host_clock = False
        self.lag_s = 0.0
        self.max_lag_s = 0.0
        self.frames_seen = 0
        self.decode_errors = 0
        if frames is not None:
            self._frames = sorted(frames, key=lambda m: m.timestamp)
            self._frame_t0 = self._frames[0].timestamp if self._frames else 0.0
            self._pos = 0
            self._offline_now = 0.0

    # -- clock ------------------------------------------------------------------------------
    def now(self) -> float:
        """Vehicle time now (live: the bus clock, scaled; offline: time of the last frame read)."""
        if self.live:
            return (self._clock() - self.t0) * self.time_scale
        return self._offline_now

    def vtime(self, timestamp: float) -> float:
        """Vehicle time of a frame timestamp."""
        if self.live:
            return (timestamp - self.t0) * self.time_scale
        return (timestamp - self._frame_t0) * self.time_scale

    def rewind(self) -> None:
        """Offline only: start reading the trace from its beginning again, forgetting values."""
        self._pos = 0
        self._offline_now = 0.0
        self.latest.clear()

    # -- stimuli ----------------------------------------------------------------------------
    def start_session(self, initial: dict[str, Any]) -> None:
        """Set the initial command values and start the cyclic tester frames."""
        for name, value in initial.items():
            if self.kit.has(name):
                binding = self.kit.binding(name)
                if binding.semantic.kind == "state" and not binding.has_state(str(value)):
                    continue
                self._commands[name] = value
                self._command_messages[binding.message.name] = binding.message
        for message in self._command_messages.values():
            self._send_message(message)
        period = self.kit.run.command_period_s
        if period > 0:
            self._next_cyclic_real = self._clock() + self._cyclic_period()

    def _cyclic_period(self) -> float:
        # Cyclic frames only keep a real ECU's EOL session alive; faster than every 20 ms of
        # wall time would just load a time-scaled simulator.
        return max(self.kit.run.command_period_s / self.time_scale, MIN_CYCLIC_REAL_S)

    def command(self, **values: Any) -> float:
        """Send stimuli by semantic name (``key_switch="on"``); returns the vehicle send time."""
        if not self.live:
            raise RuntimeError("a recorded trace cannot be stimulated")
        messages = {}
        for name, value in values.items():
            binding = self.kit.binding(name)
            self._commands[name] = value
            messages[binding.message.name] = binding.message
            self._command_messages[binding.message.name] = binding.message
        sent_at = None
        for message in messages.values():
            stamp = self._send_message(message)
            sent_at = stamp if sent_at is None else sent_at
        return self.vtime(sent_at)

    def _send_message(self, message) -> float:
        layout = self._command_layout.get(message.name)
        if layout is None:
            by_signal = {
                b.signal.name: b
                for b in self.kit.all_bindings()
                if b.semantic.sender == "tester" and b.message is message
            }
            layout = [(signal, by_signal.get(signal.name)) for signal in message.signals]
            self._command_layout[message.name] = layout
        data = {}
        for signal, binding in layout:
            value = None
            if binding is not None and binding.semantic.name in self._commands:
                value = binding.to_dbc(self._commands[binding.semantic.name])
            if value is None:
                value = signal.initial if signal.initial is not None else 0
            if signal.minimum is not None:
                value = max(value, signal.minimum)
            if signal.maximum is not None:
                value = min(value, signal.maximum)
            data[signal.name] = value
        payload = message.encode(data, scaling=True, strict=False)
        frame = can.Message(
            arbitration_id=message.frame_id,
            is_extended_id=message.is_extended_frame,
            data=payload,
            timestamp=self._clock(),
            is_rx=False,
        )
        try:
            self.bus.send(frame)
        except can.CanError as exc:
            raise BusFailure("adapter_error_sending", frame=message.name, error=str(exc)) from exc
        # Reactions are timed from *after* the frame was handed over: anything stamped later
        # was produced by a vehicle that could already have seen it.
        sent = self._clock()
        if self.recorder is not None:
            self.recorder.record(frame)
        return sent

    # -- receiving --------------------------------------------------------------------------
    def process(self, msg: can.Message) -> list[tuple[str, float, Any]]:
        """Decode one frame into (key, vehicle time, value) updates and remember them."""
        entry = self._index.get((msg.arbitration_id, msg.is_extended_id))
        if entry is None:
            return []
        message, by_signal, whole = entry
        t = self.vtime(msg.timestamp)
        try:
            decoded = message.decode(msg.data, decode_choices=False)
        except Exception:  # a frame that does not match the DBC is counted, not fatal
            self.decode_errors += 1
            return []
        updates = [(key, t, None) for key in whole]
        for name, raw in decoded.items():
            for key, convert in by_signal.get(name, ()):
                updates.append((key, t, convert(raw)))
        for key, ts, value in updates:
            self.latest[key] = (ts, value)
        for keys, sink in self._collectors:
            for key, ts, value in updates:
                if keys is None or key in keys:
                    sink.setdefault(key, []).append((ts, value))
        return updates

    def _next(self, real_deadline: float) -> can.Message | None:
        """Live: the next vehicle frame before ``real_deadline`` (None if none)."""
        while True:
            # The operator's cancel is polled on the wall clock, whatever the bus's clock.
            if time.monotonic() - self._last_abort_poll > 0.05:
                self.poll_abort()
            now = self._clock()
            if now >= self._next_cyclic_real:
                for message in self._command_messages.values():
                    self._send_message(message)
                # From now, not catching up: a busy host must not answer lag with more frames.
                self._next_cyclic_real = now + self._cyclic_period()
            silence = max(self.kit.run.no_traffic_timeout_s / self.time_scale, MIN_SILENCE_REAL_S)
            timeout = min(real_deadline, self._next_cyclic_real, self._last_rx_real + silence) - now
            try:
                msg = self.bus.recv(timeout=max(timeout, 0.0))
            except can.CanError as exc:
                raise BusFailure("adapter_error", error=str(exc)) from exc
            now = self._clock()
            if msg is None:
                if now - self._last_rx_real > silence and not self.simulated:
                    # One more short listen: after this process was descheduled the queue can
                    # look empty for a moment although the bus is fine.
                    try:
                        msg = self.bus.recv(timeout=0.2)
                    except can.CanError as exc:
                        raise BusFailure("adapter_error", error=str(exc)) from exc
                    now = self._clock()
                if msg is None and now - self._last_rx_real > silence:
                    raise BusFailure("no_traffic", seconds=f"{now - self._last_rx_real:.1f}")
                if msg is None:
                    if now >= real_deadline:
                        return None
                    continue
            if msg.is_error_frame:
                self._error_frames += 1
                if msg.arbitration_id & BUS_OFF_FLAG:
                    raise BusFailure("bus_off")
                if self._error_frames > MAX_ERROR_FRAMES:
                    raise BusFailure("error_frames", count=self._error_frames)
                continue
            if (msg.arbitration_id, msg.is_extended_id) in self._tester_ids:
                continue  # our own frames echoed back are not vehicle traffic
            self._last_rx_real = now
            self._error_frames = 0
            if self.frames_seen == 0 and abs(msg.timestamp - now) > CLOCK_MISMATCH_S:
                self._host_clock = True
                log.info("adapter timestamps are not on the host clock; timing by arrival")
            if self._host_clock:
                msg.timestamp = now
            self.lag_s = max(0.0, now - msg.timestamp)
            self.max_lag_s = max(self.max_lag_s, self.lag_s)
            if self.lag_s > MAX_LAG_REAL_S:
                raise BusFailure("lagging", seconds=f"{self.lag_s:.0f}")
            self.frames_seen += 1
            if self.recorder is not None:
                self.recorder.record(msg)
            return msg

    def poll_abort(self) -> None:
        """Raise RunStopped if ``should_abort()`` asks to stop (a reason string, or True)."""
        self._last_abort_poll = time.monotonic()
        if self.should_abort is None:
            return
        reason = self.should_abort()
        if reason:
            raise RunStopped(reason)

    def wait_for_traffic(self, timeout: float) -> None:
        """Live: raise BusFailure unless a vehicle frame arrives within ``timeout`` vehicle
        seconds (never less than a second of wall time)."""
        real = max(timeout / self.time_scale, MIN_SILENCE_REAL_S)
        msg = self._next(self._clock() + real)
        if msg is None:
            raise BusFailure("no_traffic_at_start", seconds=f"{real:.1f}")
        self.process(msg)

    def pump(self, until: float, stop: Callable[[list], bool] | None = None) -> bool:
        """Read frames until vehicle time ``until`` (or ``stop(updates)`` is true: returns True).

        Returns when a frame stamped after ``until`` arrives, or (live) when the wall clock has
        passed ``until`` plus the grace for delivery delay.
        """
        if not self.live:
            while self._pos < len(self._frames):
                msg = self._frames[self._pos]
                t = self.vtime(msg.timestamp)
                if t > until:
                    self._offline_now = until
                    return False
                self._pos += 1
                self._offline_now = t
                if msg.is_error_frame:
                    continue
                updates = self.process(msg)
                if stop is not None and updates and stop(updates):
                    return True
            self._offline_now = max(self._offline_now, until)
            return False
        while True:
            # The fallback deadline moves with the delivery lag: a slow host delays a verdict,
            # it never cuts a window short.
            msg = self._next(self.t0 + until / self.time_scale + self.grace_s + self.lag_s)
            if msg is None:
                return False
            updates = self.process(msg)
            if stop is not None and updates and stop(updates):
                return True
            if self.vtime(msg.timestamp) > until:
                return False

    def sleep(self, duration: float) -> None:
        """Keep the bus serviced for ``duration`` vehicle seconds."""
        target = self.now() + duration
        if self.live:
            real_deadline = self.t0 + target / self.time_scale
            while self._clock() < real_deadline:
                msg = self._next(real_deadline)
                if msg is not None:
                    self.process(msg)
        else:
            self.pump(target)

    def observe(self, duration: float, keys: Iterable[str] | None = None) -> Observation:
        """Collect every sample of ``keys`` stamped within the next ``duration`` seconds."""
        start = self.now()
        end = start + duration
        sink: dict[str, list] = {}
        entry = (set(keys) if keys is not None else None, sink)
        self._collectors.append(entry)
        try:
            self.pump(end)
        finally:
            self._collectors.remove(entry)
        inside = {k: [(t, v) for t, v in s if start <= t <= end] for k, s in sink.items()}
        return Observation(start, end, inside)

    def wait_for(
        self,
        key: str,
        predicate: Callable[[Any], bool],
        timeout: float,
        since: float | None = None,
        record: dict[str, list] | None = None,
    ) -> Hit | None:
        """The first sample of ``key`` stamped at or after ``since`` that satisfies
        ``predicate``, within ``timeout`` vehicle seconds; None if none."""
        hits = self.wait_all({key: predicate}, timeout, since, record)
        return hits.get(key)

    def wait_all(
        self,
        conditions: dict[str, Callable[[Any], bool]],
        timeout: float,
        since: float | None = None,
        record: dict[str, list] | None = None,
    ) -> dict[str, Hit]:
        """First hit of each condition (key → predicate); returns when all hit or on timeout."""
        start = self.now() if since is None else since
        hits: dict[str, Hit] = {}

        def stop(updates):
            for key, t, value in updates:
                if t < start:
                    continue
                if record is not None and key in record:
                    record[key].append((round(t - start, 3), value))
                if key in conditions and key not in hits and conditions[key](value):
                    hits[key] = Hit(t, value)
            return len(hits) == len(conditions)

        self.pump(start + timeout, stop)
        return hits

    def fresh(self, key: str, timeout: float | None = None) -> Hit | None:
        """The next sample of ``key`` (waits up to ``timeout``, default three message periods)."""
        if timeout is None:
            timeout = self.default_timeout(key)
        return self.wait_for(key, lambda _v: True, timeout)

    def default_timeout(self, key: str) -> float:
        """Three periods of the message carrying ``key`` (at least one second)."""
        base = key.split("[", 1)[0]
        found = self.kit.bindings.get(base)
        binding = found[0] if isinstance(found, tuple) else found
        cycle = (binding.message.cycle_time or 100) / 1000.0 if binding is not None else 0.1
        return max(1.0, 3 * cycle)

    def collect_indexed(self, semantic: str, timeout: float, max_age: float | None = None):
        """Latest value of every element of an indexed name: a list (element 1 first) with
        None where nothing arrived. Samples older than ``max_age`` are refreshed; with no
        ``max_age`` every element is read anew."""
        bindings = self.kit.indexed(semantic)
        start = self.now()
        values: dict[str, Any] = {}
        if max_age is not None:
            for b in bindings:
                sample = self.latest.get(b.key)
                if sample is not None and sample[0] >= start - max_age:
                    values[b.key] = sample[1]
        wanted = {b.key for b in bindings}

        def stop(updates):
            for key, t, value in updates:
                if key in wanted and t >= start:
                    values[key] = value
            return len(values) == len(wanted)

        if len(values) < len(wanted):
            self.pump(start + timeout, stop)
        return [values.get(b.key) for b in bindings]


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


# --------------------------------------------------------------------------------------------
# Helpers shared by checks
# --------------------------------------------------------------------------------------------


def _ensure_ready(ctx: Tester) -> None:
    """Bring the vehicle to READY (key on) or stop the check as not performable."""
    b = ctx.kit.binding("vehicle_state")
    limit = ctx.limits.ecu.ready_within_s
    current = ctx.fresh("vehicle_state")
    if current is not None and b.is_state(current.value, "ready"):
        return
    t = ctx.command(key_switch="on")
    if ctx.wait_for("vehicle_state", lambda v: b.is_state(v, "ready"), limit, since=t) is None:
        state = b.describe(ctx.latest.get("vehicle_state", (0, None))[1])
        raise _Precondition("not_ready", limit=f"{limit:g}", state=state)


def _latest(ctx: Tester, key: str) -> Any:
    return ctx.latest.get(key, (0.0, None))[1]


def _at_rest(ctx: Tester) -> float | None:
    """Pack current if the kit reports it; raises _Skip when the pack is not at rest."""
    if not ctx.kit.has("pack_current"):
        return None
    hit = ctx.fresh("pack_current")
    if hit is None:
        raise _Precondition("no_pack_current", source=ctx.kit.binding("pack_current").label)
    limit = ctx.limits.bms.rest_current_max_a
    if abs(hit.value) > limit:
        raise _Skip("not_at_rest", current=f"{hit.value:.1f}", limit=f"{limit:g}")
    return hit.value


def _interp(table: list[tuple[float, float]], x: float) -> float:
    if x <= table[0][0]:
        return table[0][1]
    for (x1, y1), (x2, y2) in zip(table, table[1:], strict=False):
        if x <= x2:
            return y1 + (y2 - y1) * (x - x1) / (x2 - x1)
    return table[-1][1]


def _missing_cells(ctx: Tester, r: Report, semantic: str, values: list, timeout: float) -> None:
    bindings = ctx.kit.indexed(semantic)
    missing = [i + 1 for i, v in enumerate(values) if v is None]
    messages = sorted({bindings[i - 1].message.name for i in missing})
    where = ", ".join(messages[:3]) + (", ..." if len(messages) > 3 else "")
    code = "missing_cells" if semantic == "cell_voltage" else "missing_sensors"
    r.fail(code, which=_ranges(missing), frames=where, timeout=f"{timeout:g}")


# --------------------------------------------------------------------------------------------
# ECU sequence
# --------------------------------------------------------------------------------------------


@_check(
    "ecu.heartbeat",
    "ECU heartbeat present and on time",
    "สัญญาณชีพ ECU มีและตรงรอบเวลา",
    needs=("ecu_heartbeat",),
    passive=True,
)
def check_heartbeat(ctx: Tester, r: Report) -> None:
    """The heartbeat arrives, its mean period is within tolerance and it never pauses."""
    lim = ctx.limits.ecu
    b = ctx.kit.binding("ecu_heartbeat")
    nominal = b.period_s
    obs = ctx.observe(lim.heartbeat_window_s, ["ecu_heartbeat"])
    times = [t for t, _ in obs.samples.get("ecu_heartbeat", [])]
    window = f"{lim.heartbeat_window_s:g}"
    if not times:
        missing = say(
            "heartbeat_none", frame=b.message.name, window=window, period=f"{nominal * 1000:.0f}"
        )
    else:
        missing = say("heartbeat_one", frame=b.message.name, window=window)
    r.measure("frames", len(times), "", digits=0, ok=len(times) >= 2, fail=missing)
    if len(times) < 2:
        return
    low, high = (
        nominal * (1 - lim.heartbeat_period_tolerance),
        nominal * (1 + lim.heartbeat_period_tolerance),
    )
    mean = (times[-1] - times[0]) / (len(times) - 1)
    r.measure(
        "heartbeat_period",
        mean * 1000,
        "ms",
        low * 1000,
        high * 1000,
        digits=1,
        fail=say(
            "heartbeat_period",
            period=f"{mean * 1000:.0f}",
            low=f"{low * 1000:.0f}",
            high=f"{high * 1000:.0f}",
        ),
    )
    gaps = [b2 - a for a, b2 in zip(times, times[1:], strict=False)]
    gaps += [times[0] - obs.start, obs.end - times[-1]]
    longest = max(gaps)
    allowed = nominal * lim.heartbeat_max_gap_factor
    r.measure(
        "longest_gap",
        longest * 1000,
        "ms",
        high=allowed * 1000,
        digits=0,
        fail=say("heartbeat_gap", gap=f"{longest * 1000:.0f}", allowed=f"{allowed * 1000:.0f}"),
    )
    r.note("heartbeat_ok", frames=len(times), period=f"{mean * 1000:.0f}")


@_check(
    "ecu.alive_counter",
    "Alive counter increments without gaps",
    "ตัวนับ alive เพิ่มทีละหนึ่งไม่ขาดช่วง",
    needs=("alive_counter",),
    depends_on=("ecu.heartbeat",),
    passive=True,
)
def check_alive_counter(ctx: Tester, r: Report) -> None:
    """Each heartbeat's counter is the previous one plus one (modulo its range)."""
    b = ctx.kit.binding("alive_counter")
    window = ctx.limits.ecu.alive_counter_window_s
    values = ctx.observe(window, ["alive_counter"]).values("alive_counter")
    if len(values) < 3:
        r.fail("counter_few", count=len(values), window=f"{window:g}")
        return
    errors = []
    for a, c in zip(values, values[1:], strict=False):
        if (c - a) % b.modulo != 1:
            errors.append((a, c))
    first = errors[0] if errors else None
    what = None
    if first is not None:
        counts = {"errors": len(errors), "frames": len(values)}
        if first[0] == first[1]:
            what = say("counter_stuck", value=first[0], **counts)
        else:
            what = say("counter_jump", start=first[0], end=first[1], **counts)
    r.measure("counter_errors", len(errors), "", high=0, digits=0, fail=what)
    r.note("counter_ok", frames=len(values), modulo=b.modulo)


@_check(
    "ecu.hvil",
    "High-voltage interlock (HVIL) closed",
    "วงจรอินเตอร์ล็อกแรงสูง (HVIL) ปิดครบ",
    needs=("hvil",),
    passive=True,
)
def check_hvil(ctx: Tester, r: Report) -> None:
    """The HVIL loop reports closed."""
    b = ctx.kit.binding("hvil")
    hit = ctx.fresh("hvil")
    if hit is None:
        r.fail("no_hvil", source=b.label)
        return
    closed = b.is_state(hit.value, "closed")
    r.measure(
        "hvil",
        b.describe(hit.value),
        expected=b.describe(b.state_value("closed")),
        ok=closed,
        fail=say("hvil_open", state=b.describe(hit.value)),
    )


@_check(
    "ecu.no_faults",
    "No active fault codes",
    "ไม่มีรหัสข้อผิดพลาดค้าง",
    needs=("fault_count",),
    passive=True,
)
def check_no_faults(ctx: Tester, r: Report) -> None:
    """The ECU reports no active DTC."""
    b = ctx.kit.binding("fault_count")
    hit = ctx.fresh("fault_count")
    if hit is None:
        r.fail("no_fault_status", source=b.label)
        return
    count = int(hit.value)
    first = None
    if count and ctx.kit.has("fault_code"):
        code = _latest(ctx, "fault_code")
        if code:
            first = _dtc(int(code))
    r.measure(
        "active_fault_codes",
        count,
        "",
        high=ctx.limits.ecu.max_active_faults,
        digits=0,
        fail=say("fault_codes_first", count=count, first=first)
        if first
        else say("fault_codes", count=count),
    )


@_check(
    "ecu.ready",
    "Vehicle reaches READY after key-on",
    "รถเข้าสถานะ READY หลังเปิดกุญแจ",
    needs=("vehicle_state", "key_switch"),
    depends_on=("ecu.hvil",),
)
def check_ready(ctx: Tester, r: Report) -> None:
    """Key off, then key on: the vehicle state reaches READY within the limit."""
    lim = ctx.limits.ecu
    b = ctx.kit.binding("vehicle_state")
    t_off = ctx.command(key_switch="off")
    if (
        ctx.wait_for(
            "vehicle_state", lambda v: not b.is_state(v, "ready"), lim.key_off_within_s, since=t_off
        )
        is None
    ):
        raise _Precondition(
            "not_off",
            state=b.describe(_latest(ctx, "vehicle_state")),
            limit=f"{lim.key_off_within_s:g}",
        )
    trail: dict[str, list] = {"vehicle_state": []}
    t_on = ctx.command(key_switch="on")
    hit = ctx.wait_for(
        "vehicle_state",
        lambda v: b.is_state(v, "ready"),
        lim.ready_within_s,
        since=t_on,
        record=trail,
    )
    r.series["vehicle_state"] = [(t, b.describe(v)) for t, v in trail["vehicle_state"]]
    if hit is None and b.is_state(_latest(ctx, "vehicle_state"), "precharge"):
        # The ECU is rightly waiting for high voltage: the BMS precharge check judges that.
        raise _Precondition("stuck_in_precharge", limit=f"{lim.ready_within_s:g}")
    if hit is None:
        r.measure(
            "time_to_ready",
            None,
            "s",
            high=lim.ready_within_s,
            digits=2,
            fail=say(
                "ready_never",
                state=b.describe(_latest(ctx, "vehicle_state")),
                limit=f"{lim.ready_within_s:g}",
            ),
        )
        return
    elapsed = hit.t - t_on
    r.measure(
        "time_to_ready",
        elapsed,
        "s",
        high=lim.ready_within_s,
        digits=2,
        fail=say("ready_late", seconds=f"{elapsed:.1f}", limit=f"{lim.ready_within_s:g}"),
    )


@_check(
    "ecu.drive_modes",
    "Drive modes Commute, Power, City acknowledged",
    "เปลี่ยนโหมดขับขี่ Commute, Power, City และได้รับการตอบรับ",
    needs=("drive_mode", "drive_mode_request", "vehicle_state", "key_switch"),
    depends_on=("ecu.ready",),
)
def check_drive_modes(ctx: Tester, r: Report) -> None:
    """Each drive mode request is acknowledged in the ECU status within the limit."""
    _ensure_ready(ctx)
    limit = ctx.limits.ecu.drive_mode_ack_within_s
    b = ctx.kit.binding("drive_mode")
    # Power first: Commute is the usual default, so asking for it first would prove nothing.
    for mode in ("power", "city", "commute"):
        t = ctx.command(drive_mode_request=mode)
        hit = ctx.wait_for("drive_mode", lambda v, m=mode: b.is_state(v, m), limit, since=t)
        label = mode.capitalize()
        if hit is None:
            r.measure(
                f"{mode}_ack_time",
                None,
                "s",
                high=limit,
                fail=say(
                    "mode_ignored",
                    mode=label,
                    state=b.describe(_latest(ctx, "drive_mode")),
                    limit=f"{limit:g}",
                ),
            )
        else:
            r.measure(
                f"{mode}_ack_time",
                hit.t - t,
                "s",
                high=limit,
                fail=say("mode_late", mode=label, seconds=f"{hit.t - t:.2f}", limit=f"{limit:g}"),
            )
    if ctx.kit.binding("drive_mode_request").has_state("none"):
        ctx.command(drive_mode_request="none")


@_check(
    "ecu.torque_response",
    "Inverter answers a torque request",
    "อินเวอร์เตอร์ตอบสนองคำสั่งแรงบิด",
    needs=("torque_command", "torque_feedback", "vehicle_state", "key_switch"),
    depends_on=("ecu.ready",),
)
def check_torque_response(ctx: Tester, r: Report) -> None:
    """A torque request is followed by matching inverter feedback within the limit."""
    lim = ctx.limits.ecu
    _ensure_ready(ctx)
    target, tol, limit = lim.torque_test_nm, lim.torque_tolerance_nm, lim.torque_feedback_within_s
    conditions = {"torque_feedback": lambda v: abs(v - target) <= tol}
    if ctx.kit.has("torque_request"):
        conditions["torque_request"] = lambda v: abs(v - target) <= tol
    trail: dict[str, list] = {"torque_feedback": []}
    t = ctx.command(torque_command=target)
    hits = ctx.wait_all(conditions, limit, since=t, record=trail)
    r.series["torque_feedback"] = trail["torque_feedback"]
    feedback = hits.get("torque_feedback")
    if feedback is None:
        if "torque_request" in conditions and "torque_request" not in hits:
            b = ctx.kit.binding("torque_request")
            said = say(
                "torque_not_passed",
                target=f"{target:g}",
                source=b.label,
                value=f"{_latest(ctx, 'torque_request') or 0:.1f}",
                limit=f"{limit:g}",
            )
        else:
            said = say(
                "torque_no_feedback",
                value=f"{_latest(ctx, 'torque_feedback') or 0:.1f}",
                limit=f"{limit:g}",
                target=f"{target:g}",
                tolerance=f"{tol:g}",
            )
        r.measure("torque_response_time", None, "s", high=limit, fail=said)
    else:
        r.measure("torque_response_time", feedback.t - t, "s", high=limit)
        r.measure("torque_feedback", feedback.value, "Nm", target - tol, target + tol, digits=1)
    t = ctx.command(torque_command=0.0)
    back = ctx.wait_for("torque_feedback", lambda v: abs(v) <= tol, 2 * limit, since=t)
    if back is None and feedback is not None:
        r.fail(
            "torque_stays",
            value=f"{_latest(ctx, 'torque_feedback'):.1f}",
            limit=f"{2 * limit:g}",
        )


# --------------------------------------------------------------------------------------------
# BMS sequence
# --------------------------------------------------------------------------------------------


@_check(
    "bms.pack_voltage",
    "Pack voltage within the pack window",
    "แรงดันแพ็กอยู่ในช่วงที่กำหนด",
    needs=("pack_voltage",),
    passive=True,
)
def check_pack_voltage(ctx: Tester, r: Report) -> None:
    """Pack voltage within the window and consistent with the sum of the cells."""
    lim = ctx.limits.bms
    b = ctx.kit.binding("pack_voltage")
    keys = ["pack_voltage"]
    if ctx.kit.has("cell_voltage"):
        keys += [c.key for c in ctx.kit.indexed("cell_voltage")]
    obs = ctx.observe(lim.observe_s, keys)
    values = obs.values("pack_voltage")
    if not values:
        r.fail("no_pack_voltage", source=b.label, window=f"{lim.observe_s:g}")
        return
    mean = statistics.fmean(values)
    low, high = lim.pack_voltage_v
    r.measure(
        "pack_voltage",
        mean,
        "V",
        low,
        high,
        digits=1,
        fail=say("pack_low", value=f"{mean:.1f}", limit=f"{low:g}")
        if mean < low
        else say("pack_high", value=f"{mean:.1f}", limit=f"{high:g}"),
    )
    if ctx.kit.has("cell_voltage"):
        cells = [obs.samples.get(c.key) for c in ctx.kit.indexed("cell_voltage")]
        if all(cells):
            total = sum(s[-1][1] for s in cells)
            r.measure(
                "pack_minus_cell_sum",
                mean - total,
                "V",
                -lim.pack_vs_cells_tolerance_v,
                lim.pack_vs_cells_tolerance_v,
                digits=1,
                fail=say("pack_vs_cells", value=f"{mean:.1f}", total=f"{total:.1f}"),
            )


@_check(
    "bms.cell_voltage",
    "Every cell within its voltage window",
    "แรงดันทุกเซลล์อยู่ในช่วงที่กำหนด",
    needs=("cell_voltage",),
    passive=True,
)
def check_cell_voltage(ctx: Tester, r: Report) -> None:
    """Every cell reports, and every cell is inside the cell window."""
    lim = ctx.limits.bms
    timeout = lim.cell_broadcast_timeout_s
    values = ctx.collect_indexed("cell_voltage", timeout)
    r.series["cell_voltage"] = [round(v, 4) if v is not None else None for v in values]
    if any(v is None for v in values):
        _missing_cells(ctx, r, "cell_voltage", values, timeout)
        return
    low, high = lim.cell_voltage_v
    vmin, vmax = min(values), max(values)
    bad = sorted(
        ((i + 1, v) for i, v in enumerate(values) if v < low or v > high),
        key=lambda item: -max(item[1] - high, low - item[1]),
    )
    messages = [
        say("cell_high", cell=i, value=_v2(v, high), limit=f"{high:.2f}")
        if v > high
        else say("cell_low", cell=i, value=_v2(v, low), limit=f"{low:.2f}")
        for i, v in bad
    ]
    summary = _several(messages) if messages else None
    r.measure("cell_voltage_min", vmin, "V", low, high, digits=3, fail=summary)
    r.measure("cell_voltage_max", vmax, "V", low, high, digits=3, fail=summary)
    r.failures = _unique(r.failures)
    r.note("cells_ok", count=len(values), low=f"{vmin:.3f}", high=f"{vmax:.3f}")


@_check(
    "bms.cell_spread",
    "Cell spread at rest",
    "ความต่างแรงดันเซลล์ขณะพัก",
    needs=("cell_voltage",),
    depends_on=("bms.cell_voltage",),
    passive=True,
)
def check_cell_spread(ctx: Tester, r: Report) -> None:
    """Highest minus lowest cell at rest stays within the limit."""
    lim = ctx.limits.bms
    _at_rest(ctx)
    values = ctx.collect_indexed(
        "cell_voltage", lim.cell_broadcast_timeout_s, max_age=lim.cell_broadcast_timeout_s
    )
    if any(v is None for v in values):
        _missing_cells(ctx, r, "cell_voltage", values, lim.cell_broadcast_timeout_s)
        return
    imax = max(range(len(values)), key=values.__getitem__)
    imin = min(range(len(values)), key=values.__getitem__)
    spread = (values[imax] - values[imin]) * 1000
    limit = lim.cell_spread_max_v * 1000
    r.measure(
        "cell_spread",
        spread,
        "mV",
        high=limit,
        digits=0,
        fail=say(
            "spread",
            spread=f"{spread:.0f}",
            limit=f"{limit:g}",
            high_cell=imax + 1,
            high=f"{values[imax]:.3f}",
            low_cell=imin + 1,
            low=f"{values[imin]:.3f}",
        ),
    )


@_check(
    "bms.temperatures",
    "Temperature sensors in range and plausible",
    "เซ็นเซอร์อุณหภูมิอยู่ในช่วงและสมเหตุสมผล",
    needs=("cell_temperature",),
    passive=True,
)
def check_temperatures(ctx: Tester, r: Report) -> None:
    """Every sensor inside the window and close to the others (a broken sensor stands out)."""
    lim = ctx.limits.bms
    timeout = lim.cell_broadcast_timeout_s
    values = ctx.collect_indexed("cell_temperature", timeout)
    r.series["cell_temperature"] = values
    if any(v is None for v in values):
        _missing_cells(ctx, r, "cell_temperature", values, timeout)
        return
    low, high = lim.temperature_c
    median = statistics.median(values)
    messages, out = [], set()
    for i, v in enumerate(values, start=1):
        if v > high or v < low:
            out.add(i)
            code, limit = ("temp_high", high) if v > high else ("temp_low", low)
            messages.append(say(code, sensor=i, value=f"{v:.1f}", limit=f"{limit:g}"))
    deviations = [abs(v - median) for v in values]
    for i, d in enumerate(deviations, start=1):
        if d > lim.temperature_max_deviation_c and i not in out:
            messages.append(
                say(
                    "temp_outlier",
                    sensor=i,
                    value=f"{values[i - 1]:.1f}",
                    deviation=f"{d:.1f}",
                    median=f"{median:.1f}",
                )
            )
    summary = _several(messages) if messages else None
    r.measure("temperature_min", min(values), "°C", low, high, digits=1, fail=summary)
    r.measure("temperature_max", max(values), "°C", low, high, digits=1, fail=summary)
    r.measure(
        "temperature_deviation",
        max(deviations),
        "°C",
        high=lim.temperature_max_deviation_c,
        digits=1,
        fail=summary,
    )
    r.failures = _unique(r.failures)
    r.note("temps_ok", count=len(values), low=f"{min(values):.1f}", high=f"{max(values):.1f}")


@_check(
    "bms.soc",
    "State of charge plausible against cell voltage",
    "ค่า SOC สอดคล้องกับแรงดันเซลล์",
    needs=("soc", "cell_voltage"),
    passive=True,
)
def check_soc(ctx: Tester, r: Report) -> None:
    """Reported SOC within tolerance of the SOC the resting cell voltage implies."""
    lim = ctx.limits.bms
    _at_rest(ctx)
    hit = ctx.fresh("soc")
    if hit is None:
        r.fail("no_soc", source=ctx.kit.binding("soc").label)
        return
    values = ctx.collect_indexed(
        "cell_voltage", lim.cell_broadcast_timeout_s, max_age=lim.cell_broadcast_timeout_s
    )
    known = [v for v in values if v is not None]
    if not known:
        raise _Precondition("soc_no_cells")
    median = statistics.median(known)
    expected = _interp(lim.soc_ocv_table, median)
    tol = lim.soc_tolerance_pct
    r.measure(
        "soc",
        hit.value,
        "%",
        max(0.0, expected - tol),
        min(100.0, expected + tol),
        digits=1,
        fail=say(
            "soc_implausible",
            soc=f"{hit.value:.0f}",
            cell=f"{median:.3f}",
            expected=f"{expected:.0f}",
            tolerance=f"{tol:g}",
        ),
    )


@_check(
    "bms.isolation",
    "Isolation resistance",
    "ความต้านทานฉนวน",
    needs=("isolation_resistance",),
    passive=True,
)
def check_isolation(ctx: Tester, r: Report) -> None:
    """Isolation at least the kit's ohm-per-volt times the maximum pack voltage."""
    lim = ctx.limits.bms
    b = ctx.kit.binding("isolation_resistance")
    values = ctx.observe(lim.observe_s, ["isolation_resistance"]).values("isolation_resistance")
    if not values:
        r.fail("no_isolation", source=b.label, window=f"{lim.observe_s:g}")
        return
    lowest = min(values) / 1000
    limit = lim.isolation_min_ohm / 1000
    reference = lim.isolation_reference_voltage_v or lim.pack_voltage_v[1]
    r.measure(
        "isolation_resistance",
        lowest,
        "kΩ",
        low=limit,
        digits=1,
        fail=say(
            "isolation_low",
            value=f"{lowest:.1f}",
            limit=f"{limit:g}",
            per_volt=f"{lim.isolation_min_ohm_per_v:g}",
            reference=f"{reference:g}",
        ),
    )


@_check(
    "bms.balancing",
    "Balancing status reported",
    "รายงานสถานะการบาลานซ์เซลล์",
    needs=("balancing_active",),
    passive=True,
)
def check_balancing(ctx: Tester, r: Report) -> None:
    """The BMS reports whether it is balancing."""
    b = ctx.kit.binding("balancing_active")
    timeout = ctx.default_timeout("balancing_active")
    hit = ctx.fresh("balancing_active", timeout)
    if hit is None:
        r.measure(
            "balancing_active",
            None,
            fail=say("no_balancing", frame=b.message.name, timeout=f"{timeout:g}"),
        )
        return
    r.measure("balancing_active", "ACTIVE" if hit.value else "IDLE", expected="reported", ok=True)
    if ctx.kit.has("balancing_cells"):
        cells = _latest(ctx, "balancing_cells")
        if cells is not None:
            r.measure("balancing_cells", int(cells), "cells", digits=0)


@_check(
    "bms.charge_current_limit",
    "Charge current limit within the charger's range",
    "ขีดจำกัดกระแสชาร์จอยู่ในช่วงของเครื่องชาร์จ",
    needs=("charge_current_limit",),
    passive=True,
)
def check_charge_current_limit(ctx: Tester, r: Report) -> None:
    """The charge current limit message is present and inside the charger's range."""
    b = ctx.kit.binding("charge_current_limit")
    low, high = ctx.limits.bms.charge_current_limit_a
    timeout = ctx.default_timeout("charge_current_limit")
    hit = ctx.fresh("charge_current_limit", timeout)
    if hit is None:
        r.measure(
            "charge_current_limit",
            None,
            "A",
            low,
            high,
            fail=say("no_charge_limit", frame=b.message.name, timeout=f"{timeout:g}"),
        )
        return
    value = hit.value
    r.measure(
        "charge_current_limit",
        value,
        "A",
        low,
        high,
        digits=1,
        fail=say("charge_limit_high", value=f"{value:.1f}", limit=f"{high:g}")
        if value > high
        else say("charge_limit_low", value=f"{value:.1f}", limit=f"{low:g}"),
    )


@_check(
    "bms.contactors_open",
    "Main contactor opens on request",
    "คอนแทคเตอร์หลักเปิดตามคำสั่ง",
    needs=("contactor_request", "contactor_state"),
)
def check_contactors_open(ctx: Tester, r: Report) -> None:
    """Asked to open, the main contactor reports open (a welded one does not)."""
    limit = ctx.limits.bms.contactor_open_within_s
    b = ctx.kit.binding("contactor_state")
    t = ctx.command(contactor_request="open")
    hit = ctx.wait_for("contactor_state", lambda v: b.is_state(v, "open"), limit, since=t)
    if hit is None:
        r.measure(
            "contactor_open_time",
            None,
            "s",
            high=limit,
            fail=say(
                "contactor_stuck",
                state=b.describe(_latest(ctx, "contactor_state")),
                limit=f"{limit:g}",
            ),
        )
        return
    r.measure("contactor_open_time", hit.t - t, "s", high=limit)


@_check(
    "bms.precharge",
    "Precharge completes; contactor closes below 1 A",
    "พรีชาร์จเสร็จตามเวลา คอนแทคเตอร์ต่อเมื่อกระแสต่ำ",
    needs=("contactor_request", "contactor_state", "pack_current"),
    depends_on=("bms.contactors_open",),
)
def check_precharge(ctx: Tester, r: Report) -> None:
    """From open, precharge finishes in time and the main contactor closes with low current."""
    lim = ctx.limits.bms
    contactor = ctx.kit.binding("contactor_state")
    precharge = ctx.kit.binding("precharge_state") if ctx.kit.has("precharge_state") else None
    if ctx.kit.has("dc_link_voltage"):
        # Time the precharge from a discharged DC link, or it proves nothing.
        safe = lim.precharge_start_link_max_v
        start = ctx.now()
        hit = ctx.wait_for("dc_link_voltage", lambda v: v <= safe, lim.link_discharge_within_s)
        if hit is None:
            raise _Precondition(
                "link_not_discharged",
                value=f"{_latest(ctx, 'dc_link_voltage'):.0f}",
                limit=f"{lim.link_discharge_within_s:g}",
                safe=f"{safe:g}",
            )
        r.measure(
            "link_discharge_time", max(0.0, hit.t - start), "s", high=lim.link_discharge_within_s
        )
    t0 = ctx.command(contactor_request="close")
    state: dict[str, Any] = {
        "current": _latest(ctx, "pack_current"),
        "closed": None,
        "done": None,
        "failed": None,
    }
    curve: list = []

    def watch(updates):
        frame_keys = {k: (t, v) for k, t, v in updates if t >= t0}
        if not frame_keys:
            return False
        if "contactor_state" in frame_keys and state["closed"] is None:
            t, v = frame_keys["contactor_state"]
            if contactor.is_state(v, "closed"):
                # the current in *earlier* frames is what flowed when the contactor closed
                state["closed"] = (t, state["current"])
        if "pack_current" in frame_keys and state["closed"] is None:
            state["current"] = frame_keys["pack_current"][1]
        if "dc_link_voltage" in frame_keys:
            t, v = frame_keys["dc_link_voltage"]
            curve.append((round(t - t0, 3), round(v, 1)))
        if precharge is not None and "precharge_state" in frame_keys:
            t, v = frame_keys["precharge_state"]
            if precharge.is_state(v, "done") and state["done"] is None:
                state["done"] = t
            if precharge.has_state("failed") and precharge.is_state(v, "failed"):
                state["failed"] = t
                return True
        return state["closed"] is not None and (precharge is None or state["done"] is not None)

    ctx.pump(t0 + lim.precharge_within_s, watch)
    r.series["dc_link_voltage"] = curve
    finished = (
        state["done"]
        if state["done"] is not None
        else (state["closed"][0] if state["closed"] else None)
    )
    link = _latest(ctx, "dc_link_voltage") if ctx.kit.has("dc_link_voltage") else None
    pack = _latest(ctx, "pack_voltage") if ctx.kit.has("pack_voltage") else None
    link_text = (
        say("link_of_pack", link=f"{link:.0f}", pack=f"{pack:.0f}")
        if link is not None and pack
        else say("empty")
    )
    if state["failed"] is not None and finished is None:
        r.measure(
            "precharge_time",
            None,
            "s",
            high=lim.precharge_within_s,
            fail=say("precharge_failed", seconds=f"{state['failed'] - t0:.1f}", link=link_text),
        )
    elif finished is None:
        r.measure(
            "precharge_time",
            None,
            "s",
            high=lim.precharge_within_s,
            fail=say("precharge_timeout", limit=f"{lim.precharge_within_s:g}", link=link_text),
        )
    else:
        r.measure(
            "precharge_time",
            finished - t0,
            "s",
            high=lim.precharge_within_s,
            fail=say(
                "precharge_slow",
                seconds=f"{finished - t0:.1f}",
                limit=f"{lim.precharge_within_s:g}",
            ),
        )
    if state["closed"] is not None:
        current = state["closed"][1]
        limit = lim.contactor_close_current_max_a
        if current is None:
            r.fail("closed_without_current")
        else:
            r.measure(
                "current_at_close",
                abs(current),
                "A",
                high=limit,
                digits=2,
                fail=say("closed_under_current", current=f"{abs(current):.2f}", limit=f"{limit:g}"),
            )
    ctx.command(
        contactor_request="none"
        if ctx.kit.binding("contactor_request").has_state("none")
        else "open"
    )


# (self-test, alarm flag, message code of the alarm's name)
_ALARMS = (
    ("cell_overvoltage", "alarm_cell_overvoltage", "alarm.cell_overvoltage"),
    ("cell_undervoltage", "alarm_cell_undervoltage", "alarm.cell_undervoltage"),
    ("over_temperature", "alarm_over_temperature", "alarm.over_temperature"),
    ("over_current", "alarm_over_current", "alarm.over_current"),
)


@_check(
    "bms.alarm_reporting",
    "BMS raises its CAN alarms",
    "BMS ส่งสัญญาณเตือนทาง CAN",
    needs=("alarm_test",),
)
def check_alarm_reporting(ctx: Tester, r: Report) -> None:
    """For each alarm self-test the kit supports: the alarm is raised in time, then cleared."""
    lim = ctx.limits.bms
    test = ctx.kit.binding("alarm_test")
    testable = [a for a in _ALARMS if ctx.kit.has(a[1]) and test.has_state(a[0])]
    if not testable:
        raise _Skip("no_alarm_test")
    if ctx.kit.has("alarm_test_cell"):
        ctx.command(alarm_test_cell=lim.alarm_test_cell)
    silent: list[tuple[str, str]] = []
    for kind, flag, name in testable:
        text = say(name)
        b = ctx.kit.binding(flag)
        before = ctx.fresh(flag)
        if before is None:
            r.measure(
                f"{kind}_alarm_time",
                None,
                "s",
                high=lim.alarm_within_s,
                fail=say("no_alarm_status", source=b.label),
            )
            continue
        if before.value:
            # A genuine condition already raised it: the BMS is reporting, which is the point.
            r.measure(f"{kind}_alarm_time", 0.0, "s", high=lim.alarm_within_s)
            r.note("alarm_already", alarm=text)
            continue
        t = ctx.command(alarm_test=kind)
        hit = ctx.wait_for(flag, bool, lim.alarm_within_s, since=t)
        t_end = ctx.command(alarm_test="none")
        if hit is None:
            r.measure(f"{kind}_alarm_time", None, "s", high=lim.alarm_within_s, quiet=True)
            silent.append((name, b.label))
            continue
        r.measure(
            f"{kind}_alarm_time",
            hit.t - t,
            "s",
            high=lim.alarm_within_s,
            fail=say(
                "alarm_late",
                alarm=text,
                seconds=f"{hit.t - t:.2f}",
                limit=f"{lim.alarm_within_s:g}",
            ),
        )
        if ctx.wait_for(flag, lambda v: not v, lim.alarm_clear_within_s, since=t_end) is None:
            r.fail("alarm_stays", alarm=text, limit=f"{lim.alarm_clear_within_s:g}")
    if silent:
        where = ", ".join(dict.fromkeys(label for _, label in silent))
        r.failures.insert(
            0,
            say(
                "alarms_silent",
                alarms=say("names", items=[say(name) for name, _ in silent]),
                limit=f"{lim.alarm_within_s:g}",
                sources=where,
            ),
        )


# --------------------------------------------------------------------------------------------
# Brake sequence
# --------------------------------------------------------------------------------------------


@_check(
    "brakes.vacuum_build",
    "Vacuum pump builds vacuum from atmospheric",
    "ปั๊มสุญญากาศสร้างแรงดูดจากความดันบรรยากาศ",
    needs=("brake_vacuum", "pump_mode", "brake_pedal"),
)
def check_vacuum_build(ctx: Tester, r: Report) -> None:
    """Deplete the booster (pump off, pedal strokes), then time the pump to the minimum."""
    lim = ctx.limits.brakes
    ctx.command(pump_mode="off", brake_pedal=0.0)
    hit = ctx.fresh("brake_vacuum")
    if hit is None:
        raise _Precondition("no_vacuum", source=ctx.kit.binding("brake_vacuum").label)
    vacuum, strokes = hit.value, 0
    while vacuum > lim.atmospheric_max_kpa and strokes < lim.vent_strokes_max:
        ctx.command(brake_pedal=100.0)
        ctx.sleep(lim.vent_stroke_s)
        ctx.command(brake_pedal=0.0)
        ctx.sleep(lim.vent_stroke_s)
        strokes += 1
        hit = ctx.fresh("brake_vacuum")
        vacuum = hit.value if hit is not None else vacuum
    if vacuum > lim.atmospheric_max_kpa:
        ctx.command(pump_mode="auto")
        raise _Precondition("cannot_vent", vacuum=f"{vacuum:.1f}", strokes=strokes)
    r.measure("vent_strokes", strokes, "", digits=0)
    r.measure("start_vacuum", vacuum, "kPa", high=lim.atmospheric_max_kpa, digits=1)
    trail: dict[str, list] = {"brake_vacuum": [], "pump_running": []}
    t = ctx.command(pump_mode="auto")
    hit = ctx.wait_for(
        "brake_vacuum",
        lambda v: v >= lim.vacuum_min_kpa,
        lim.vacuum_build_within_s,
        since=t,
        record=trail,
    )
    r.series["brake_vacuum"] = [(t_, round(v, 1)) for t_, v in trail["brake_vacuum"]]
    if hit is None:
        reached = _latest(ctx, "brake_vacuum") or 0.0
        never_ran = ctx.kit.has("pump_running") and not any(v for _, v in trail["pump_running"])
        r.measure(
            "build_time",
            None,
            "s",
            high=lim.vacuum_build_within_s,
            fail=say(
                "vacuum_short_pump_off" if never_ran else "vacuum_short",
                reached=f"{reached:.1f}",
                limit=f"{lim.vacuum_build_within_s:g}",
                needed=f"{lim.vacuum_min_kpa:g}",
            ),
        )
        return
    r.measure(
        "build_time",
        hit.t - t,
        "s",
        high=lim.vacuum_build_within_s,
        digits=1,
        fail=say(
            "vacuum_slow",
            seconds=f"{hit.t - t:.1f}",
            needed=f"{lim.vacuum_min_kpa:g}",
            limit=f"{lim.vacuum_build_within_s:g}",
        ),
    )


@_check(
    "brakes.vacuum_hold",
    "Booster holds vacuum (leak test)",
    "หม้อลมเบรกคงแรงดูด (ทดสอบการรั่ว)",
    needs=("brake_vacuum", "pump_mode"),
    depends_on=("brakes.vacuum_build",),
)
def check_vacuum_hold(ctx: Tester, r: Report) -> None:
    """With the pump stopped after its cycle, the vacuum falls no faster than the limit."""
    lim = ctx.limits.brakes
    ctx.command(pump_mode="auto")
    if ctx.kit.has("pump_running"):
        start = ctx.now()
        stopped = ctx.wait_for("pump_running", lambda v: not v, lim.pump_settle_within_s)
        if stopped is None:
            raise _Precondition("pump_keeps_running", limit=f"{lim.pump_settle_within_s:g}")
        r.measure("pump_run_on", max(0.0, stopped.t - start), "s", digits=1)
    else:
        ctx.sleep(lim.pump_settle_within_s / 4)
    ctx.command(pump_mode="off")
    samples = ctx.observe(lim.leak_window_s, ["brake_vacuum"]).samples.get("brake_vacuum", [])
    ctx.command(pump_mode="auto")
    r.series["brake_vacuum"] = [(round(t - samples[0][0], 2), round(v, 1)) for t, v in samples]
    if len(samples) < 3:
        r.fail("vacuum_few", count=len(samples), window=f"{lim.leak_window_s:g}")
        return
    ts = [t for t, _ in samples]
    vs = [v for _, v in samples]
    slope = statistics.linear_regression(ts, vs).slope
    rate = max(0.0, -slope)
    drop = vs[0] - vs[-1]
    r.measure(
        "leak_rate",
        rate,
        "kPa/s",
        high=lim.leak_rate_max_kpa_per_s,
        digits=3,
        fail=say(
            "vacuum_leak",
            drop=f"{drop:.1f}",
            window=f"{lim.leak_window_s:g}",
            rate=f"{rate:.2f}",
            limit=f"{lim.leak_rate_max_kpa_per_s:g}",
        ),
    )
    r.measure("vacuum_drop", drop, "kPa", digits=1)


@_check(
    "brakes.vacuum_recovery",
    "Vacuum recovers after a full pedal press",
    "แรงดูดกลับคืนหลังเหยียบเบรกสุด",
    needs=("brake_vacuum", "brake_pedal"),
    depends_on=("brakes.vacuum_build",),
)
def check_vacuum_recovery(ctx: Tester, r: Report) -> None:
    """After a full press and release the pump restores the minimum vacuum in time."""
    lim = ctx.limits.brakes
    ctx.command(pump_mode="auto", brake_pedal=0.0)
    if (
        ctx.wait_for("brake_vacuum", lambda v: v >= lim.vacuum_min_kpa, lim.vacuum_build_within_s)
        is None
    ):
        raise _Precondition("vacuum_not_ready", needed=f"{lim.vacuum_min_kpa:g}")
    ctx.command(brake_pedal=100.0)
    ctx.sleep(lim.full_press_s)
    trail: dict[str, list] = {"brake_vacuum": []}
    t = ctx.command(brake_pedal=0.0)
    after = ctx.fresh("brake_vacuum")
    if after is None:
        raise _Precondition("no_vacuum_after_press")
    r.measure("vacuum_after_press", after.value, "kPa", digits=1)
    if after.value >= lim.vacuum_min_kpa:
        r.measure("recovery_time", 0.0, "s", high=lim.recovery_within_s)
        return
    hit = ctx.wait_for(
        "brake_vacuum",
        lambda v: v >= lim.vacuum_min_kpa,
        lim.recovery_within_s,
        since=t,
        record=trail,
    )
    r.series["brake_vacuum"] = [(t_, round(v, 1)) for t_, v in trail["brake_vacuum"]]
    if hit is None:
        r.measure(
            "recovery_time",
            None,
            "s",
            high=lim.recovery_within_s,
            fail=say(
                "vacuum_not_recovered",
                value=f"{_latest(ctx, 'brake_vacuum'):.1f}",
                limit=f"{lim.recovery_within_s:g}",
                needed=f"{lim.vacuum_min_kpa:g}",
            ),
        )
        return
    r.measure("recovery_time", hit.t - t, "s", high=lim.recovery_within_s, digits=1)


@_check(
    "brakes.brake_switch",
    "Brake switch follows the pedal",
    "สวิตช์เบรกทำงานตามแป้นเบรก",
    needs=("brake_switch", "brake_pedal"),
)
def check_brake_switch(ctx: Tester, r: Report) -> None:
    """Press: the switch turns on in time; release: it turns off in time."""
    lim = ctx.limits.brakes
    limit = lim.brake_switch_within_s
    ctx.command(brake_pedal=0.0)
    if ctx.wait_for("brake_switch", lambda v: not v, 1.0) is None:
        r.fail("switch_pressed_at_rest")
        return
    t = ctx.command(brake_pedal=lim.pedal_test_pct)
    hit = ctx.wait_for("brake_switch", bool, limit, since=t)
    r.measure(
        "switch_on_delay",
        None if hit is None else hit.t - t,
        "s",
        high=limit,
        digits=3,
        fail=say("switch_not_closed", limit=f"{limit:g}")
        if hit is None
        else say("switch_closed_late", seconds=f"{hit.t - t:.2f}"),
    )
    t = ctx.command(brake_pedal=0.0)
    hit = ctx.wait_for("brake_switch", lambda v: not v, limit, since=t)
    r.measure(
        "switch_off_delay",
        None if hit is None else hit.t - t,
        "s",
        high=limit,
        digits=3,
        fail=say("switch_not_opened", limit=f"{limit:g}")
        if hit is None
        else say("switch_opened_late", seconds=f"{hit.t - t:.2f}"),
    )


def _start_regen(ctx: Tester) -> Hit | None:
    lim = ctx.limits.brakes
    _ensure_ready(ctx)
    ctx.command(speed_simulation=lim.regen_speed_kph)
    ctx.sleep(0.1)
    t = ctx.command(brake_pedal=lim.pedal_test_pct)
    hit = ctx.wait_for("regen_torque", lambda v: v >= lim.regen_min_nm, lim.regen_within_s, since=t)
    return None if hit is None else Hit(hit.t - t, hit.value)


@_check(
    "brakes.regen_request",
    "Regenerative torque requested when braking",
    "สั่งแรงบิดคืนพลังงานเมื่อเบรก",
    needs=("regen_torque", "brake_pedal", "speed_simulation", "vehicle_state", "key_switch"),
    depends_on=("brakes.brake_switch", "ecu.ready"),
)
def check_regen_request(ctx: Tester, r: Report) -> None:
    """Braking while moving makes the ECU request regenerative torque in time."""
    lim = ctx.limits.brakes
    try:
        hit = _start_regen(ctx)
        if hit is None:
            r.measure(
                "regen_delay",
                None,
                "s",
                high=lim.regen_within_s,
                fail=say(
                    "no_regen",
                    speed=f"{lim.regen_speed_kph:g}",
                    value=f"{_latest(ctx, 'regen_torque') or 0:.1f}",
                    limit=f"{lim.regen_within_s:g}",
                    needed=f"{lim.regen_min_nm:g}",
                ),
            )
            return
        r.measure("regen_delay", hit.t, "s", high=lim.regen_within_s, digits=3)
        r.measure("regen_torque", hit.value, "Nm", low=lim.regen_min_nm, digits=1)
    finally:
        ctx.command(brake_pedal=0.0, speed_simulation=0.0)


@_check(
    "brakes.regen_cut",
    "Regenerative torque cut on release and at standstill",
    "ตัดแรงบิดคืนพลังงานเมื่อปล่อยเบรกและเมื่อรถหยุด",
    needs=("regen_torque", "brake_pedal", "speed_simulation", "vehicle_state", "key_switch"),
    depends_on=("brakes.regen_request",),
)
def check_regen_cut(ctx: Tester, r: Report) -> None:
    """Regen must stop when the pedal is released and when the vehicle stops."""
    lim = ctx.limits.brakes
    limit, ceiling = lim.regen_cut_within_s, lim.regen_cut_max_nm
    try:
        if _start_regen(ctx) is None:
            raise _Precondition("regen_not_started")
        t = ctx.command(brake_pedal=0.0)
        hit = ctx.wait_for("regen_torque", lambda v: v <= ceiling, limit, since=t)
        r.measure(
            "cut_after_release",
            None if hit is None else hit.t - t,
            "s",
            high=limit,
            digits=3,
            fail=say(
                "regen_after_release",
                value=f"{_latest(ctx, 'regen_torque'):.1f}",
                limit=f"{limit:g}",
            ),
        )
        ctx.command(brake_pedal=lim.pedal_test_pct)
        if (
            ctx.wait_for("regen_torque", lambda v: v >= lim.regen_min_nm, lim.regen_within_s)
            is None
        ):
            r.note("regeneration did not restart for the standstill test")
            return
        t = ctx.command(speed_simulation=0.0)
        hit = ctx.wait_for("regen_torque", lambda v: v <= ceiling, limit, since=t)
        r.measure(
            "cut_at_standstill",
            None if hit is None else hit.t - t,
            "s",
            high=limit,
            digits=3,
            fail=say(
                "regen_after_stop",
                value=f"{_latest(ctx, 'regen_torque'):.1f}",
                limit=f"{limit:g}",
            ),
        )
    finally:
        ctx.command(brake_pedal=0.0, speed_simulation=0.0)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

_INITIAL_COMMANDS = {
    "eol_session": True,
    "key_switch": "off",
    "drive_mode_request": "none",
    "torque_command": 0.0,
    "speed_simulation": 0.0,
    "contactor_request": "none",
    "alarm_test": "none",
    "pump_mode": "auto",
    "brake_pedal": 0.0,
}
_SAFE_COMMANDS = {**_INITIAL_COMMANDS, "eol_session": False}


def run_eol(
    kit: KitDefinition,
    bus: can.BusABC,
    sequences: Iterable[str] | None = None,
    *,
    time_scale: float = 1.0,
    on_check: Callable[[CheckResult], Any] | None = None,
    on_check_started: Callable[[CheckInfo], Any] | None = None,
    should_abort: Callable[[], Any] | None = None,
    trace_path: str | Path | None = None,
    check_ids: Iterable[str] | None = None,
) -> RunResult:
    """Run the kit's EOL sequences on ``bus`` and return every result.

    ``on_check(result)`` is called after each check (progress); ``should_abort()`` is polled
    and a truthy return (a reason string, or True) stops the run as ABORTED. The raw CAN trace
    (every frame seen and sent) is written as BLF to ``trace_path`` (default: a temporary
    file) and returned with its SHA-256 in ``RunResult.trace``.
    """
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    plan = plan_checks(kit, sequences, check_ids=check_ids)
    recorder = TraceRecorder(trace_path)
    tester = Tester(
        kit, bus=bus, time_scale=time_scale, recorder=recorder, should_abort=should_abort
    )
    started = datetime.now(UTC)
    results: list[CheckResult] = []
    abort_reason, abort_message = None, None
    try:
        tester.start_session(_INITIAL_COMMANDS)
        tester.wait_for_traffic(kit.run.startup_timeout_s)
        _execute(tester, plan, results, on_check, on_check_started)
    except (BusFailure, RunStopped) as exc:
        abort_reason, abort_message = str(exc), exc.message
    finally:
        # Whatever happened, leave the vehicle out of test mode: key off, pedal up, no override.
        safe = {
            name: value
            for name, value in _SAFE_COMMANDS.items()
            if kit.has(name)
            and (
                kit.binding(name).semantic.kind != "state"
                or kit.binding(name).has_state(str(value))
            )
        }
        try:
            tester.command(**safe)
        except Exception as exc:  # the adapter may be the thing that failed
            log.warning("could not return the vehicle to its safe state: %s", exc)
        trace = recorder.close()
    outcome = _run_outcome(results, abort_reason)
    return RunResult(
        kit_id=kit.kit_id,
        sequences=sorted({c.sequence for c in plan}, key=SEQUENCES.index),
        outcome=outcome,
        checks=results,
        started_at=started,
        finished_at=datetime.now(UTC),
        time_scale=time_scale,
        abort_reason=abort_reason,
        abort_message=abort_message,
        trace=trace,
        eol_sha256=kit.eol_sha256,
        dbc_sha256=kit.dbc_sha256,
        max_lag_s=tester.max_lag_s,
        seed=getattr(bus, "seed", None) if tester.simulated else None,
        faults=sorted(bus.model.faults) if tester.simulated else [],
    )


def _run_outcome(results: list[CheckResult], abort_reason: str | None) -> RunOutcome:
    if abort_reason is not None:
        return RunOutcome.ABORTED
    outcomes = {c.outcome for c in results}
    if Outcome.FAIL in outcomes:
        return RunOutcome.FAIL
    if Outcome.ERROR in outcomes:
        return RunOutcome.ERROR
    return RunOutcome.PASS


def _notify(callback, payload) -> None:
    if callback is None:
        return
    try:
        callback(payload)
    except Exception:  # a progress writer failing must not leave the car in test mode
        log.exception("EOL progress callback failed")


def _execute(
    tester: Tester,
    plan: list[CheckInfo],
    results: list[CheckResult],
    on_check,
    on_check_started,
    offline: bool = False,
) -> None:
    """Run the planned checks in order, appending results (raises BusFailure / RunStopped)."""
    by_id: dict[str, CheckResult] = {}
    blocking: set[str] = set()
    for info in plan:
        if not offline:
            # A simulated run can finish many checks within one poll interval: ask every time.
            tester.poll_abort()
        _notify(on_check_started, info)
        started, real0, v0 = datetime.now(UTC), time.monotonic(), tester.now()
        missing = [n for n in info.needs if not tester.kit.has(n)]
        # A dependency blocks when it failed, could not run, or was itself blocked; one that
        # merely does not apply to this kit (unmapped, not at rest) does not.
        failed_deps = [d for d in info.depends_on if d in blocking]
        report = Report()
        outcome, said = None, say("passed")
        if offline and not info.passive:
            outcome, said = Outcome.SKIPPED, say("not_live")
        elif missing:
            outcome = Outcome.SKIPPED
            said = say("unmapped", names=", ".join(missing))
        elif failed_deps:
            dep = by_id[failed_deps[0]]
            outcome = Outcome.SKIPPED
            code = {
                Outcome.FAIL: "skipped_failed",
                Outcome.ERROR: "skipped_error",
                Outcome.SKIPPED: "skipped_skipped",
            }[dep.outcome]
            said = say(code, check={"en": dep.title_en, "th": dep.title_th})
            blocking.add(info.check_id)
        else:
            if offline:
                tester.rewind()
            try:
                info.func(tester, report)
            except _Skip as exc:
                outcome, said = Outcome.SKIPPED, exc.message
            except _Precondition as exc:
                outcome, said = Outcome.ERROR, exc.message
            except (BusFailure, RunStopped) as exc:
                said = say("aborted", reason=exc.message)
                result = _result(info, Outcome.ERROR, said, report, started, real0, v0, tester)
                results.append(result)
                _notify(on_check, result)
                raise
            except Exception as exc:  # a bug must not hide the other results; log it in full
                log.exception("EOL check %s crashed", info.check_id)
                outcome = Outcome.ERROR
                said = say("internal_error", error=f"{type(exc).__name__}: {exc}")
        if outcome is None:
            if report.failures:
                outcome = Outcome.FAIL
                said = _several(_unique(report.failures))
            else:
                outcome = Outcome.PASS
                passed = [
                    say("measured", label={"label": m.name}, value=m.value_text)
                    for m in report.measurements
                    if m.value is not None
                ][:3]
                said = _several(report.notes or passed) if (report.notes or passed) else said
        result = _result(info, outcome, said, report, started, real0, v0, tester)
        if outcome in (Outcome.FAIL, Outcome.ERROR):
            blocking.add(info.check_id)
        by_id[info.check_id] = result
        results.append(result)
        _notify(on_check, result)


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


def _result(info, outcome, said, report, started, real0, v0, tester) -> CheckResult:
    return CheckResult(
        check_id=info.check_id,
        sequence=info.sequence,
        title_en=info.title_en,
        title_th=info.title_th,
        outcome=outcome,
        message_code=said["code"],
        message_params=said["params"],
        measurements=report.measurements,
        series=report.series,
        started_at=started,
        duration_s=time.monotonic() - real0,
        vehicle_duration_s=max(0.0, tester.now() - v0),
    )


def evaluate_frames(
    kit: KitDefinition,
    frames: Sequence[can.Message],
    *,
    time_scale: float = 1.0,
    on_check: Callable[[CheckResult], Any] | None = None,
    source: str = "trace",
) -> RunResult:
    """Evaluate the passive checks on recorded frames (active checks are SKIPPED)."""
    started = datetime.now(UTC)
    tester = Tester(kit, frames=frames, time_scale=time_scale)
    plan = plan_checks(kit)
    results: list[CheckResult] = []
    _execute(tester, plan, results, on_check, None, offline=True)
    return RunResult(
        kit_id=kit.kit_id,
        sequences=list(SEQUENCES),
        outcome=_run_outcome(results, None),
        checks=results,
        started_at=started,
        finished_at=datetime.now(UTC),
        time_scale=time_scale,
        eol_sha256=kit.eol_sha256,
        dbc_sha256=kit.dbc_sha256,
        source=source,
    )
