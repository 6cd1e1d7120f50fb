"""Driving the vehicle model: a discrete-event clock and a python-can bus on it (the simulated car\non simulated time, shared with the EOL engine: no wall-clock wait, the same verdict on any\ncomputer), and a wall-clock simulator on a real interface for a tester in another process."""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections import deque
from typing import Any

import can

from workshop.eol.definitions import KitDefinition
from workshop.eol.simuds import UdsResponder
from workshop.eol.simulator import VehicleModel

log = logging.getLogger(__name__)


class SimClock:
    """Simulated time in seconds: it moves only when the simulated bus moves it."""

    def __init__(self, start: float = 0.0):
        self.t = start

    def now(self) -> float:
        """Seconds of simulated time."""
        return self.t


MAX_SPEED = 20.0


class SimulatedBus(can.BusABC):
    """A python-can bus whose other end is the simulated vehicle, on one discrete-event clock.

    ``recv(timeout)`` advances the simulated clock to the next frame the vehicle schedules (or
    by ``timeout`` simulated seconds when none is due sooner); ``send`` hands a frame to the
    vehicle at the current simulated time. Frames carry simulated timestamps (seconds from 0),
    so a run's verdict and its trace are the same on a fast or a saturated computer.

    ``speed=0`` (default) runs as fast as the CPU allows. ``speed`` 1-20 paces the clock for
    people watching: simulated time never runs ahead of ``speed`` x the wall clock, and when
    the host falls behind the simulated clock simply waits for it.
    """

    def __init__(
        self,
        kit: KitDefinition,
        *,
        faults: list[str] | tuple[str, ...] = (),
        seed: int = 1,
        speed: float = 0.0,
        channel: str = "simulated",
        **kwargs: Any,
    ):
        if speed and not 1.0 <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be 0 (unpaced) or between 1 and {MAX_SPEED:g}")
        self.model = VehicleModel(kit, faults, seed)
        self.seed = seed
        self.speed = float(speed)
        self.clock = SimClock()
        self._heap = self.model.schedule()
        self._outbox: deque[can.Message] = deque()
        # Diagnostic answers (UDS over ISO-TP), each due at its own simulated time.
        self.uds = UdsResponder(kit, self.model.vehicle, self.clock.now)
        self._answers: list[tuple[float, int, can.Message]] = []
        self._answered = 0
        self._wall0: float | None = None
        self.channel_info = f"simulated {kit.kit_id}"
        super().__init__(channel=channel, **kwargs)

    def _pace(self, t: float) -> None:
        if not self.speed:
            return
        now = time.monotonic()
        if self._wall0 is None:
            self._wall0 = now - t / self.speed
        wait = self._wall0 + t / self.speed - now
        if wait > 0:
            time.sleep(wait)  # pacing for people watching is the point of a paced bus
        elif wait < 0:
            # The host fell behind: the simulated clock waited for it, and goes on at its pace
            # from here instead of racing to catch up.
            self._wall0 = now - t / self.speed

    def recv(self, timeout: float | None = None) -> can.Message | None:
        """The next vehicle frame within ``timeout`` simulated seconds (None: the next one)."""
        if self._outbox:
            return self._outbox.popleft()
        clock = self.clock
        limit = math.inf if timeout is None else clock.t + max(timeout, 0.0)
        heap, answers = self._heap, self._answers
        while True:
            if (
                answers
                and answers[0][0] <= limit
                and (not heap or answers[0][0] < heap[0][0] / 1e6)
            ):
                due, _, frame = heapq.heappop(answers)
                self._pace(due)
                clock.t = max(clock.t, due)
                return frame
            if not heap or heap[0][0] / 1e6 > limit:
                break
            due_us, order, plan = heapq.heappop(heap)
            heapq.heappush(heap, (due_us + round(plan.period * 1e6), order, plan))
            due = due_us / 1e6
            self._pace(due)
            clock.t = max(clock.t, due)
            frames = self.model.emit(plan, due, due)
            if frames:
                self._outbox.extend(frames[1:])
                return frames[0]
        if math.isfinite(limit):
            self._pace(limit)
            clock.t = limit
        return None

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        return self.recv(timeout), True

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        """Deliver a tester frame to the vehicle at the current simulated time."""
        answers = self.uds.handle(msg, self.clock.t)
        if not answers:
            self.model.handle(msg, self.clock.t)
        for frame in answers:
            self._answered += 1
            heapq.heappush(self._answers, (frame.timestamp, self._answered, frame))


class VehicleSimulator:
    """Runs the simulated vehicle on a real CAN interface in a background thread, in wall time.

    For a tester in another process or on another machine (``workshop eol simulate``); in this
    process use :class:`SimulatedBus`, which needs no thread and no wall clock.
    ``VehicleSimulator(kit, channel="bench1", faults=["vacuum_leak"], time_scale=20)`` opens a
    python-can ``virtual`` bus on that channel; pass ``bus=`` to use an open bus instead (the
    simulator then does not close it), or ``interface=`` for another python-can interface.
    """

    def __init__(
        self,
        kit: KitDefinition,
        bus: can.BusABC | None = None,
        *,
        channel: str | None = None,
        interface: str = "virtual",
        faults: list[str] | tuple[str, ...] = (),
        time_scale: float = 1.0,
        seed: int = 1,
        bus_kwargs: dict | None = None,
    ):
        if bus is None and channel is None:
            raise ValueError("give the simulator a bus or a channel")
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.model = VehicleModel(kit, faults, seed)
        self.kit = kit
        self.time_scale = float(time_scale)
        self.seed = seed
        self._bus = bus
        self._owns_bus = bus is None
        self._channel = channel
        self._interface = interface
        self._bus_kwargs = dict(bus_kwargs or {})
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self.error: BaseException | None = None
        self._vehicle = self.model.vehicle
        self.uds = UdsResponder(kit, self.model.vehicle, self._vnow)

    # -- public API -------------------------------------------------------------------------
    @property
    def faults(self) -> frozenset[str]:
        """The faults currently injected."""
        return self.model.faults

    def inject(self, name: str) -> None:
        """Inject a fault while running (e.g. a trainer's drill)."""
        self.model.inject(name)

    def clear(self, name: str) -> None:
        """Remove an injected fault while running."""
        self.model.clear(name)

    @property
    def frames_sent(self) -> int:
        """Frames sent so far."""
        return self.model.frames_sent

    @property
    def running(self) -> bool:
        """Whether the simulator thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def vehicle_time(self) -> float:
        """Seconds of vehicle time since start."""
        return (time.time() - self._t0) * self.time_scale if self._t0 else 0.0

    def start(self) -> VehicleSimulator:
        """Open the bus (if needed) and start sending; returns self."""
        if self.running:
            return self
        if self._bus is None:
            kwargs = dict(self._bus_kwargs)
            if self._interface == "virtual":
                # Keep our timestamps: they carry the exact vehicle-time instant of each frame.
                kwargs.setdefault("preserve_timestamps", True)
                kwargs.setdefault("receive_own_messages", False)
            self._bus = can.Bus(interface=self._interface, channel=self._channel, **kwargs)
        self._stop.clear()
        self._t0 = time.time()
        self._thread = threading.Thread(target=self._run, name="eol-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sending and close the bus the simulator opened."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._owns_bus and self._bus is not None:
            self._bus.shutdown()
            self._bus = None

    def __enter__(self) -> VehicleSimulator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- thread -----------------------------------------------------------------------------
    def _vnow(self) -> float:
        return (time.time() - self._t0) * self.time_scale

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # keep the reason for whoever joins us; a bench must see it
            self.error = exc
            log.exception("vehicle simulator stopped")

    def _loop(self) -> None:
        bus = self._bus
        heap = self.model.schedule()
        pending: list[tuple[float, int, can.Message]] = []
        answers: list[tuple[float, int, can.Message]] = []  # diagnostic answers, by vehicle time
        received = 0
        while not self._stop.is_set():
            # A discrete-event loop in vehicle time: tester commands (at their timestamps) and
            # frame emissions are handled strictly in time order, up to a cutoff read *before*
            # the queue is drained. So physics never runs ahead of the frames already sent, a
            # frame always shows the state at its own timestamp, and a frame stamped after a
            # tester command (stamped once queued) always reflects it, however late we run.
            cutoff = self._vnow()
            while (msg := bus.recv(timeout=0)) is not None:
                received += 1
                heapq.heappush(
                    pending, ((msg.timestamp - self._t0) * self.time_scale, received, msg)
                )
            while True:
                next_cmd = pending[0][0] if pending else math.inf
                next_emit = heap[0][0] / 1e6
                next_answer = answers[0][0] if answers else math.inf
                if next_answer <= min(next_cmd, next_emit, cutoff):
                    due, _, frame = heapq.heappop(answers)
                    frame.timestamp = self._t0 + due / self.time_scale
                    bus.send(frame)
                elif next_cmd <= next_emit and next_cmd <= cutoff:
                    at, _, msg = heapq.heappop(pending)
                    replies = self.uds.handle(msg, at)
                    for frame in replies:
                        received += 1
                        heapq.heappush(answers, (frame.timestamp, received, frame))
                    if not replies:
                        self.model.handle(msg, at)
                elif next_emit <= cutoff:
                    due_us, order, plan = heapq.heappop(heap)
                    due = due_us / 1e6
                    stamp = self._t0 + due / self.time_scale
                    for frame in self.model.emit(plan, due, stamp):
                        bus.send(frame)
                    heapq.heappush(heap, (due_us + round(plan.period * 1e6), order, plan))
                else:
                    break
            upcoming = min(
                heap[0][0] / 1e6,
                pending[0][0] if pending else math.inf,
                answers[0][0] if answers else math.inf,
            )
            wait = (upcoming - self._vnow()) / self.time_scale
            msg = bus.recv(timeout=min(max(wait, 0.0), 0.02))
            if msg is not None:
                received += 1
                heapq.heappush(
                    pending, ((msg.timestamp - self._t0) * self.time_scale, received, msg)
                )
