"""The tester: frames in, semantic values out; stimuli out; waits in vehicle time.

On a simulated bus every wait is in the simulator's discrete-event clock; on a real bus it is
the host clock with the safeguards of a real adapter (silence, bus-off, lag).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import can

from workshop.eol.bindings import Binding, UdsBinding
from workshop.eol.definitions import KitDefinition
from workshop.eol.records import BusFailure, RunStopped
from workshop.eol.traces import TraceRecorder
from workshop.eol.uds import UdsPoller

log = logging.getLogger(__name__)

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
            if binding.semantic.sender != "vehicle" or binding.message is None:
                continue  # a value read on request comes through self.uds
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
        # Values on request (UDS): asked from this loop, on this clock; offline only listened to.
        self.uds: UdsPoller | None = None
        if any(isinstance(b, UdsBinding) for b in kit.all_bindings()):
            self.uds = UdsPoller(
                kit, self.now, self._send_raw if self.live else None, not self.live
            )
            self._tester_ids |= self.uds.request_ids
        self._last_rx_real = self.t0
        self._next_cyclic_real = math.inf
        self._last_abort_poll = 0.0
        self._error_frames = 0
        self._host_clock = False
        self.lag_s = 0.0
        self.max_lag_s = 0.0
        self.frames_seen = 0
        self.decode_errors = 0
        # Set while checks run side by side (workshop.eol.overlap): their waits go through it.
        self.lanes = None
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

    def _send_raw(self, frame: can.Message) -> None:
        """Send a diagnostic frame (a UDS request, ISO-TP flow control) and record it."""
        frame.timestamp = self._clock()
        frame.is_rx = False
        try:
            self.bus.send(frame)
        except can.CanError as exc:
            raise BusFailure("adapter_error_sending", frame="UDS", error=str(exc)) from exc
        if self.recorder is not None:
            self.recorder.record(frame)

    def uds_problem(self, binding: Binding) -> dict | None:
        """Why a value read on request has none: the coded message of its last failed request."""
        if self.uds is None or not isinstance(binding, UdsBinding):
            return None
        return self.uds.problem(binding)

    # -- receiving --------------------------------------------------------------------------
    def process(self, msg: can.Message) -> list[tuple[str, float, Any]]:
        """Decode one frame into (key, vehicle time, value) updates and remember them."""
        entry = self._index.get((msg.arbitration_id, msg.is_extended_id))
        if entry is None:
            link = self.uds.owner(msg) if self.uds is not None else None
            if link is None:
                return []
            return self._remember(self.uds.receive(link, msg, self.vtime(msg.timestamp)))
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
        return self._remember(updates)

    def _remember(self, updates: list[tuple[str, float, Any]]) -> list[tuple[str, float, Any]]:
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
            next_uds_real = math.inf
            if self.uds is not None:
                self.uds.poll(self.vtime(now))
                next_uds_real = self.t0 + self.uds.next_due() / self.time_scale
            silence = max(self.kit.run.no_traffic_timeout_s / self.time_scale, MIN_SILENCE_REAL_S)
            timeout = (
                min(
                    real_deadline,
                    self._next_cyclic_real,
                    next_uds_real,
                    self._last_rx_real + silence,
                )
                - now
            )
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
        if self.lanes is not None and self.lanes.current() is not None:
            return self.lanes.wait(until, stop)
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
        if self.live and (self.lanes is None or self.lanes.current() is None):
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
        cycle = binding.refresh_s if binding is not None else 0.1
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
