"""Vehicle simulator: EV ECU, BMS and brake-pump nodes that speak a kit's DBC.

It stands in for a converted car in demos, tests and training. It encodes and decodes frames
only through the kit's bindings (the same data the engine uses, read the other way), so it
speaks whatever DBC the kit has, with as many cells and sensors as the kit maps. The physics
(``workshop.eol.simvehicle``) are simple but plausible: an RC precharge curve, a vacuum pump
with hysteresis and a leaking booster, cells with a seeded spread.

Time: everything inside is *vehicle* time, and the model (:class:`VehicleModel`) has no clock
of its own. ``workshop.eol.simbus.SimulatedBus`` (a python-can bus) drives it from a
discrete-event clock that the engine shares: a run needs no wall-clock wait, and the same kit,
faults and seed give the same frames and the same verdict on any computer.
``workshop.eol.simbus.VehicleSimulator`` drives it from the wall clock on a real interface, for a
tester in another process. The faults it can inject are in ``workshop.eol.faults``.
"""

from __future__ import annotations

import heapq
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import can

from workshop.eol.bindings import Binding
from workshop.eol.definitions import KitDefinition
from workshop.eol.faults import FAULTS, pack_size
from workshop.eol.simvehicle import SOC_PCT, Vehicle, ocv_at

log = logging.getLogger(__name__)


@dataclass
class _Plan:
    """How to build one periodic message: its pages and, per signal, the bindings that feed it."""

    message: Any
    period: float
    pages: list[int | None]
    mux_signal: str | None
    feeds: dict[str, list[Binding]]
    suppressed_by: set[str]
    counter: Binding | None
    page_signals: list[tuple[int | None, list[Any]]] = field(default_factory=list)
    payloads: dict[int | None, tuple[tuple, bytes]] = field(default_factory=dict)

    def __post_init__(self):
        for page in self.pages:
            signals = [
                s
                for s in self.message.signals
                if self.mux_signal is None
                or s.name == self.mux_signal
                or s.multiplexer_ids is None
                or page in s.multiplexer_ids
            ]
            self.page_signals.append((page, signals))


class VehicleModel:
    """The simulated vehicle as seen from the bus: frames out on a schedule, tester frames in.

    Clock-free: the caller says what vehicle time it is. :class:`SimulatedBus` drives it from a
    discrete-event clock (deterministic, as fast as the CPU allows or paced for people
    watching); :class:`VehicleSimulator` drives it from the wall clock on a real interface.
    """

    def __init__(self, kit: KitDefinition, faults=(), seed: int = 1):
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
        foreign = [f for f in faults if not FAULTS[f].applies_to(kit)]
        if foreign:
            raise ValueError(
                f"fault(s) {', '.join(foreign)} cannot show on kit {kit.kit_id}: it does not map "
                f"what they need"
            )
        self.kit = kit
        self.seed = seed
        self._lock = threading.Lock()
        self._faults: set[str] = set(faults)
        self.frames_sent = 0
        cells, sensors = pack_size(kit)
        bms = kit.limits.bms
        self.vehicle = Vehicle(
            cells,
            sensors,
            set(self._faults),
            seed,
            cell_window=tuple(bms.cell_voltage_v),
            rest_v=ocv_at(bms.soc_ocv_table, SOC_PCT),
        )
        self.plans = self._build_plans()
        self._rx = self._build_rx()

    # -- faults -----------------------------------------------------------------------------
    @property
    def faults(self) -> frozenset[str]:
        """The faults currently injected."""
        with self._lock:
            return frozenset(self._faults)

    def inject(self, name: str) -> None:
        """Inject a fault (takes effect at the next frame)."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        with self._lock:
            self._faults.add(name)

    def clear(self, name: str) -> None:
        """Remove an injected fault."""
        with self._lock:
            self._faults.discard(name)

    def _apply_faults(self) -> None:
        with self._lock:
            self.vehicle.set_faults(self._faults)

    # -- schedule ---------------------------------------------------------------------------
    def schedule(self) -> list[tuple[int, int, _Plan]]:
        """The first emission of every periodic message: a heap of (due in µs, order, plan).

        Integer microseconds keep the schedule exact however long a run lasts; the small
        stagger keeps messages from all sharing one instant, as on a real bus.
        """
        heap = [(i * 700, i, plan) for i, plan in enumerate(self.plans)]
        heapq.heapify(heap)
        return heap

    def emit(self, plan: _Plan, due: float, stamp: float) -> list[can.Message]:
        """The frames of ``plan`` at vehicle time ``due`` (after the physics reached it),
        stamped ``stamp``; empty when a fault suppresses the message."""
        vehicle = self.vehicle
        vehicle.advance(due)
        self._apply_faults()
        faults = vehicle.faults
        if plan.suppressed_by & faults:
            return []
        message = plan.message
        if plan.counter is not None:
            step = 2 if ("alive_counter_gap" in faults and vehicle.alive % 5 == 4) else 1
            vehicle.alive = (vehicle.alive + step) % plan.counter.modulo
        frames = []
        for page, signals in plan.page_signals:
            values = tuple(
                page
                if signal.name == plan.mux_signal
                else self._signal_value(signal, plan.feeds.get(signal.name))
                for signal in signals
            )
            cached = plan.payloads.get(page)
            if cached is not None and cached[0] == values:
                payload = cached[1]  # most frames repeat: skip the encoder
            else:
                data = {signal.name: value for signal, value in zip(signals, values, strict=True)}
                payload = message.encode(data, scaling=True, strict=False)
                plan.payloads[page] = (values, payload)
            frames.append(
                can.Message(
                    arbitration_id=message.frame_id,
                    is_extended_id=message.is_extended_frame,
                    data=payload,
                    timestamp=stamp,
                )
            )
        self.frames_sent += len(frames)
        return frames

    def handle(self, msg: can.Message, at: float) -> None:
        """Apply a tester frame at vehicle time ``at`` (a malformed one is ignored, as a real
        ECU would)."""
        if msg.is_error_frame or msg.is_remote_frame:
            return
        entry = self._rx.get((msg.arbitration_id, msg.is_extended_id))
        if entry is None:
            return
        message, bindings = entry
        try:
            decoded = message.decode(msg.data, decode_choices=False)
        except Exception:
            return
        vehicle = self.vehicle
        # A command stamped before frames already sent takes effect now: time cannot rewind.
        vehicle.advance(max(vehicle.t, at))
        self._apply_faults()
        for binding in bindings:
            if binding.signal.name not in decoded:
                continue
            value = binding.to_engine(decoded[binding.signal.name])
            if binding.semantic.kind == "state":
                value = next((n for n, raws in binding.states.items() if value in raws), None)
                if value is None:
                    continue
            vehicle.command(binding.semantic.name, value)

    # -- set-up -----------------------------------------------------------------------------
    def _build_plans(self) -> list[_Plan]:
        feeds_by_message: dict[str, dict[str, list[Binding]]] = {}
        for binding in self.kit.all_bindings():
            if binding.semantic.sender != "vehicle" or binding.signal is None:
                continue
            per_message = feeds_by_message.setdefault(binding.message.name, {})
            per_message.setdefault(binding.signal.name, []).append(binding)
        suppress = {
            "ecu_heartbeat": "lost_heartbeat",
            "balancing_active": "no_balancing_status",
        }
        plans = []
        for message in self.kit.database.messages:
            if self.kit.is_tester_message(message):
                continue
            period = (message.cycle_time or 100) / 1000.0
            mux_signal, pages = None, [None]
            if message.is_multiplexed():
                tree = message.signal_tree
                for node in tree:
                    if isinstance(node, dict):
                        mux_signal = next(iter(node))
                        pages = sorted(node[mux_signal])
                        break
            suppressed = set()
            for binding in self.kit.all_bindings():
                if binding.message is message and binding.semantic.name in suppress:
                    suppressed.add(suppress[binding.semantic.name])
            feeds = feeds_by_message.get(message.name, {})
            counter = next(
                (b for bs in feeds.values() for b in bs if b.semantic.name == "alive_counter"), None
            )
            plans.append(_Plan(message, period, pages, mux_signal, feeds, suppressed, counter))
        return plans

    def _build_rx(self) -> dict[tuple[int, bool], tuple[Any, list[Binding]]]:
        rx: dict[tuple[int, bool], tuple[Any, list[Binding]]] = {}
        for binding in self.kit.all_bindings():
            if binding.semantic.sender != "tester":
                continue
            key = (binding.message.frame_id, binding.message.is_extended_frame)
            rx.setdefault(key, (binding.message, []))[1].append(binding)
        return rx

    def _signal_value(self, signal, bindings: list[Binding] | None) -> float | int:
        if not bindings:
            value = signal.initial if signal.initial is not None else 0
            return _clamp(signal, value)
        vehicle = self.vehicle
        kind = bindings[0].semantic.kind
        if kind == "flag" and any(b.bit is not None for b in bindings):
            word = 0
            for b in bindings:
                if vehicle.semantic_value(b.semantic.name, b.index):
                    word |= int(b.to_dbc(True))
            return word
        if kind == "state":
            # Several names may share one signal (a BMS relay state that is both "contactor" and
            # "precharge"): pick a raw value that means every wanted state at once.
            candidates: list[int] | None = None
            first: int | None = None
            for b in bindings:
                wanted = vehicle.semantic_value(b.semantic.name, b.index)
                raws = list(b.states.get(wanted, ())) if wanted is not None else []
                if not raws:
                    continue
                first = raws[0] if first is None else first
                candidates = raws if candidates is None else [r for r in candidates if r in raws]
            if candidates:
                return candidates[0]
            return first if first is not None else _clamp(signal, 0)
        b = bindings[0]
        value = vehicle.semantic_value(b.semantic.name, b.index)
        if value is None:
            return _clamp(signal, 0)
        return _clamp(signal, b.to_dbc(value))


def _clamp(signal, value: float) -> float | int:
    if signal.minimum is not None and value < signal.minimum:
        value = signal.minimum
    if signal.maximum is not None and value > signal.maximum:
        value = signal.maximum
    return value
