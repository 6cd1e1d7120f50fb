"""Running independent checks side by side on one bus, deterministically.

On a real car the line waits for physics: the brakes' 30 s leak hold needs only the vacuum pump
and the pedal, so the ECU and BMS can be tested meanwhile. Each check declares the parts of the
car it holds (``CheckInfo.resources``); a check starts once every earlier check of the plan that
holds one of its parts, and every check it depends on, has finished.

Each running check has its own thread, but only one thread runs at a time: a check runs until it
waits for the bus (``Tester.pump``), then hands the turn to the coordinator, which reads the next
frame and gives the turn to each waiting check whose wait that frame ends, always in the order
the checks started. What happens, and so every verdict, depends only on the frames and the plan,
never on how the host schedules threads. Only the coordinator (the caller's thread) reads the
bus, polls for an abort and calls the progress callbacks (which may use the caller's database
session).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workshop.eol.records import BusFailure, CheckInfo, RunStopped


@dataclass(eq=False)
class _Lane:
    """One running check: its thread and what it waits for."""

    info: CheckInfo
    order: int
    thread: threading.Thread | None = None
    until: float = math.inf
    stop: Callable[[list], bool] | None = None
    waiting: bool = False
    result: bool = False
    raise_: BaseException | None = None
    failure: BaseException | None = None
    done: bool = False
    notes: list[tuple[Callable, Any]] = field(default_factory=list)


class SideBySide:
    """Runs a plan's checks with ``run_one(info)`` on a live tester, overlapping what is
    independent. ``run_one`` is called in a check's own thread; it may call ``defer`` to have a
    callback run by the coordinator."""

    def __init__(self, tester, plan: list[CheckInfo], run_one: Callable[[CheckInfo], Any]):
        self.tester = tester
        self.plan = plan
        self.run_one = run_one
        self._turn: _Lane | None = None  # None: the coordinator's turn
        self._cond = threading.Condition()
        self._lanes: list[_Lane] = []
        self._local = threading.local()
        self._finished: set[str] = set()
        self._started: set[str] = set()
        self._abort: BaseException | None = None

    # -- called from a check's thread ---------------------------------------------------------
    def current(self) -> _Lane | None:
        """The lane of the calling thread (None for the coordinator)."""
        return getattr(self._local, "lane", None)

    def wait(self, until: float, stop: Callable[[list], bool] | None) -> bool:
        """A check's ``pump``: give the turn back until a frame ends this wait."""
        lane = self._local.lane
        if self._abort is not None:
            raise self._abort
        lane.until, lane.stop, lane.waiting, lane.raise_ = until, stop, True, None
        self._hand(None, wait_for=lane)
        lane.waiting = False
        if lane.raise_ is not None:
            raise lane.raise_
        return lane.result

    def defer(self, callback: Callable, payload: Any) -> None:
        """Run ``callback(payload)`` in the coordinator (progress writers use its session)."""
        lane = self.current()
        if lane is None:
            callback(payload)
        else:
            lane.notes.append((callback, payload))

    # -- the coordinator ----------------------------------------------------------------------
    def run(self, before_start: Callable[[CheckInfo], Any]) -> None:
        """Run every check of the plan; raises the BusFailure / RunStopped that ended it."""
        try:
            while True:
                self._start_ready(before_start)
                waiting = [lane for lane in self._lanes if not lane.done]
                if not waiting:
                    if len(self._finished) == len(self.plan):
                        return
                    raise RuntimeError("EOL plan cannot proceed")  # a cycle: a bug in the plan
                self._step(waiting)
        except BaseException as exc:
            self._abort = (
                exc if isinstance(exc, BusFailure) else RunStopped(f"{type(exc).__name__}: {exc}")
            )
            self._unwind()
            raise
        finally:
            for lane in self._lanes:
                if lane.thread is not None:
                    lane.thread.join()

    def _start_ready(self, before_start) -> None:
        for index, info in enumerate(self.plan):
            if info.check_id in self._started or not self._may_start(index, info):
                continue
            before_start(info)
            self._started.add(info.check_id)
            lane = _Lane(info, index)
            self._lanes.append(lane)
            lane.thread = threading.Thread(
                target=self._lane_main, args=(lane,), name=f"eol-{info.check_id}", daemon=True
            )
            lane.thread.start()
            self._hand(lane, wait_for=None)
            self._after_turn(lane)

    def _may_start(self, index: int, info: CheckInfo) -> bool:
        earlier = self.plan[:index]
        if any(dep not in self._finished for dep in info.depends_on if dep in self._ids):
            return False
        return all(
            other.check_id in self._finished
            for other in earlier
            if other.resources & info.resources
        )

    @property
    def _ids(self) -> set[str]:
        return {info.check_id for info in self.plan}

    def _step(self, waiting: list[_Lane]) -> None:
        """Read one frame (or reach a deadline) and resume every wait it ends, in start order."""
        tester = self.tester
        deadline = min(
            tester.t0 + lane.until / tester.time_scale + tester.grace_s + tester.lag_s
            for lane in waiting
        )
        msg = tester._next(deadline)
        if msg is None:
            now = tester._clock()
            for lane in sorted(waiting, key=lambda lane_: lane_.order):
                real = tester.t0 + lane.until / tester.time_scale + tester.grace_s + tester.lag_s
                if now >= real:
                    self._resume(lane, False)
            return
        updates = tester.process(msg)
        t = tester.vtime(msg.timestamp)
        for lane in sorted(waiting, key=lambda lane_: lane_.order):
            if lane.done or not lane.waiting:
                continue
            if lane.stop is not None and updates and lane.stop(updates):
                self._resume(lane, True)
            elif t > lane.until:
                self._resume(lane, False)

    def _resume(self, lane: _Lane, result: bool) -> None:
        lane.result = result
        self._hand(lane, wait_for=None)
        self._after_turn(lane)

    def _after_turn(self, lane: _Lane) -> None:
        for callback, payload in lane.notes:
            callback(payload)
        lane.notes.clear()
        if lane.done:
            self._finished.add(lane.info.check_id)
            if lane.failure is not None:
                raise lane.failure

    def _unwind(self) -> None:
        """Let every check still waiting end with the abort (it records ERROR, restores state)."""
        for lane in sorted(self._lanes, key=lambda lane_: lane_.order):
            while not lane.done and lane.waiting:
                lane.raise_ = self._abort
                self._hand(lane, wait_for=None)
                for callback, payload in lane.notes:
                    with contextlib.suppress(Exception):  # the run is ending anyway
                        callback(payload)
                lane.notes.clear()

    # -- the baton -----------------------------------------------------------------------------
    def _hand(self, to: _Lane | None, wait_for: _Lane | None) -> None:
        """Give the turn to ``to`` (a lane, or None: the coordinator) and block until the
        calling side (``wait_for``, or the coordinator) has it again."""
        with self._cond:
            self._turn = to
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._turn is wait_for)

    def _lane_main(self, lane: _Lane) -> None:
        self._local.lane = lane
        with self._cond:
            self._cond.wait_for(lambda: self._turn is lane)
        try:
            self.run_one(lane.info)
        except BusFailure as exc:
            lane.failure = exc
        except BaseException as exc:  # noqa: BLE001 (reported by the coordinator)
            lane.failure = exc
        finally:
            lane.done = True
            with self._cond:
                self._turn = None
                self._cond.notify_all()
