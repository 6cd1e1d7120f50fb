"""The tester's side of values on request: UDS ReadDataByIdentifier over ISO-TP, polled from the
tester's own loop.

The field's libraries do the work: ``isotp.TransportLayerLogic`` (can-isotp 2, the non-threaded
core) segments and reassembles, ``udsoncan`` builds the requests and parses the responses. The
threaded ``isotp.CanStack`` and ``udsoncan.Client`` are not used: they wait on the wall clock in
threads of their own, and a simulated run must depend on nothing but its simulated clock. Here the
tester feeds each received frame in and sends what the stack hands out, and every ISO-TP timer
(N_Bs, N_Cr, STmin) runs on the tester's vehicle clock: the simulator's clock on a simulated bus,
the host's on a real one. Offline (a recorded trace) the stacks only listen and decode the
responses the trace holds.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import can
import isotp
import udsoncan
from isotp.tools import Timer
from udsoncan.exceptions import ConfigError, InvalidResponseException, UnexpectedResponseException
from udsoncan.services import ReadDataByIdentifier

from workshop.eol.bindings import UdsBinding
from workshop.eol.definitions import KitDefinition
from workshop.eol.messages import message as say
from workshop.eol.udsmap import UdsPoint, client_address, frame_ids

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# ISO 14229-2's default P2*server_max: after "response pending" (NRC 0x78) a server may take
# this long (vehicle seconds) for the real answer.
P2_STAR_S = 5.0
RESPONSE_PENDING = 0x78


class ClockTimer(Timer):
    """An ISO-TP timer on a given clock (seconds) instead of the host's perf counter."""

    def __init__(self, timeout: float, clock: Clock):
        self._clock = clock
        super().__init__(timeout)

    def _now_ns(self) -> int:
        return round(self._clock() * 1e9)

    def start(self, timeout: float | None = None) -> None:
        if timeout is not None:
            self.set_timeout(timeout)
        self.start_time = self._now_ns()

    def elapsed_ns(self) -> int:
        return 0 if self.start_time is None else self._now_ns() - self.start_time

    def elapsed(self) -> float:
        return self.elapsed_ns() / 1e9


class ClockedTransport(isotp.TransportLayerLogic):
    """can-isotp's transport logic with its timers on ``clock``: driven by ``feed`` and
    ``process`` from the caller's loop, never by a thread."""

    def __init__(self, clock: Clock, send: Callable[[can.Message], None], address, params):
        self._vclock = clock
        self._inbox: deque[isotp.CanMessage] = deque()
        self._send_frame = send
        super().__init__(
            rxfn=self._rx, txfn=self._tx, address=address, params=params, error_handler=self._error
        )

    def load_params(self) -> None:
        # can-isotp 2 builds its three timers here (and STmin's in __init__, before this runs);
        # they are replaced by timers on our clock. Pinned to can-isotp < 3 in pyproject.toml.
        # Its rate limiter (off unless asked for) is the one part left on the host clock.
        super().load_params()
        self.timer_rx_fc = ClockTimer(self.params.rx_flowcontrol_timeout / 1000, self._vclock)
        self.timer_rx_cf = ClockTimer(self.params.rx_consecutive_frame_timeout / 1000, self._vclock)
        self.timer_tx_stmin = ClockTimer(0, self._vclock)

    def feed(self, msg: can.Message) -> None:
        """Hand a received frame to the stack (then call ``process``)."""
        self._inbox.append(
            isotp.CanMessage(
                arbitration_id=msg.arbitration_id,
                dlc=msg.dlc,
                data=bytes(msg.data),
                extended_id=msg.is_extended_id,
            )
        )

    def accepts(self, msg: can.Message) -> bool:
        """Whether the frame is addressed to this stack."""
        frame = isotp.CanMessage(
            arbitration_id=msg.arbitration_id,
            dlc=msg.dlc,
            data=bytes(msg.data),
            extended_id=msg.is_extended_id,
        )
        return self.address.is_for_me(frame)

    def _rx(self, _timeout: float) -> isotp.CanMessage | None:
        return self._inbox.popleft() if self._inbox else None

    def _tx(self, frame: isotp.CanMessage) -> None:
        self._send_frame(
            can.Message(
                arbitration_id=frame.arbitration_id,
                is_extended_id=frame.is_extended_id,
                data=bytes(frame.data),
            )
        )

    def _error(self, exc: Exception) -> None:
        log.info("ISO-TP: %s", exc)


def transport_params(point: UdsPoint, listen: bool = False) -> dict[str, Any]:
    """ISO-TP parameters: no flow-control pauses (block size 0, STmin 0), the server's padding,
    the standard 1 s N_Bs / N_Cr (in vehicle time)."""
    params: dict[str, Any] = {
        "blocksize": 0,
        "stmin": 0,
        "listen_mode": listen,
        "rx_flowcontrol_timeout": 1000,
        "rx_consecutive_frame_timeout": 1000,
        "wait_func": lambda _s: None,  # validate() calls it once: no sleeping, ever
    }
    if point.server.padding is not None:
        params["tx_padding"] = point.server.padding
    return params


@dataclass
class _Link:
    """One diagnostic server: its stack, the DIDs polled from it and the request in flight."""

    name: str
    stack: ClockedTransport
    request_id: int
    points: dict[int, list[UdsBinding]]
    next_due: dict[int, float]
    # (DID, answer deadline, the wait in force: the point's timeout, or P2* after "pending")
    in_flight: tuple[int, float, float] | None = None
    config: dict[int, Any] = field(default_factory=dict)


class UdsPoller:
    """Asks every requested DID on its period and turns the answers into semantic updates.

    ``poll(now)`` sends what is due (one request at a time per server, as UDS requires) and
    notes the requests that went unanswered; ``receive(msg, t)`` feeds a response frame and
    returns ``(key, t, value)`` updates when a response is complete. ``problems`` keeps, per
    (server, DID), the last coded message of a request that failed (cleared by an answer).
    """

    def __init__(
        self,
        kit: KitDefinition,
        clock: Clock,
        send: Callable[[can.Message], None] | None,
        listen: bool = False,
    ):
        self.listen = listen
        self.problems: dict[tuple[str, int], dict] = {}
        self.answers = 0
        self._links: dict[str, _Link] = {}
        for binding in uds_bindings(kit):
            point = binding.point
            link = self._links.get(point.server_name)
            if link is None:
                stack = ClockedTransport(
                    clock,
                    send or (lambda _m: None),
                    client_address(point.server),
                    transport_params(point, listen),
                )
                (request_id, _), _ = frame_ids(point.server)
                link = _Link(point.server_name, stack, request_id, {}, {})
                self._links[point.server_name] = link
            link.points.setdefault(point.did, []).append(binding)
            link.config[point.did] = udsoncan.DidCodec(point.pack_format)
        for link in self._links.values():
            for did in link.points:
                link.next_due[did] = 0.0
        # the identifiers answers come on, to pass over every other frame cheaply
        self._response_ids = {
            frame_ids(next(iter(link.points.values()))[0].point.server)[1]
            for link in self._links.values()
        }

    @property
    def request_ids(self) -> set[tuple[int, bool]]:
        """The CAN identifiers the tester sends requests and flow control on."""
        ids = set()
        for link in self._links.values():
            point = next(iter(link.points.values()))[0].point
            ids.add(frame_ids(point.server)[0])
        return ids

    def next_due(self) -> float:
        """Vehicle time of the next request or answer deadline."""
        due = float("inf")
        for link in self._links.values():
            if link.in_flight is not None:
                due = min(due, link.in_flight[1])
            else:
                due = min(due, min(link.next_due.values()))
        return due

    def poll(self, now: float) -> None:
        """Send every request that is due; a request past its timeout counts as unanswered."""
        if self.listen:
            return
        for link in self._links.values():
            if link.in_flight is not None:
                did, deadline, waited = link.in_flight
                if now < deadline:
                    continue
                self._fail(link, did, "uds_no_answer", timeout=f"{waited:g}")
                link.stack.stop_receiving()
                link.in_flight = None
            did = min(link.next_due, key=lambda d: (link.next_due[d], d))
            if link.next_due[did] > now:
                continue
            request = ReadDataByIdentifier.make_request(didlist=[did], didconfig=link.config)
            point = link.points[did][0].point
            link.in_flight = (did, now + point.timeout_s, point.timeout_s)
            link.next_due[did] = now + point.period_s
            link.stack.send(request.get_payload())
            link.stack.process()

    def owner(self, msg: can.Message) -> _Link | None:
        """The server link a frame belongs to (None: not a diagnostic response)."""
        if (msg.arbitration_id, msg.is_extended_id) not in self._response_ids:
            return None
        for link in self._links.values():
            if link.stack.accepts(msg):
                return link
        return None

    def receive(self, link: _Link, msg: can.Message, t: float) -> list[tuple[str, float, Any]]:
        """Feed one response frame; the updates of any response it completes."""
        link.stack.feed(msg)
        link.stack.process()
        updates: list[tuple[str, float, Any]] = []
        while (payload := link.stack.recv()) is not None:
            updates.extend(self._interpret(link, bytes(payload), t))
        return updates

    def _interpret(self, link: _Link, payload: bytes, t: float) -> list[tuple[str, float, Any]]:
        asked = link.in_flight[0] if link.in_flight is not None else None
        response = udsoncan.Response.from_payload(payload)
        if not response.valid or response.service is not ReadDataByIdentifier:
            if response.valid and asked is None:
                return []  # listening: another service's traffic on the same IDs
            if asked is not None:
                self._fail(link, asked, "uds_garbled", bytes=payload[:8].hex(" ").upper())
            return []
        if not response.positive and response.code == RESPONSE_PENDING:
            if asked is not None:  # the server needs longer: wait up to P2*
                link.in_flight = (asked, t + P2_STAR_S, P2_STAR_S)
            return []
        if not response.positive:
            if asked is not None:
                self._fail(
                    link,
                    asked,
                    "uds_negative",
                    nrc=f"0x{response.code:02X}",
                    name=response.code_name,
                )
            return []
        didlist = [asked] if asked is not None else list(link.points)
        try:
            parsed = ReadDataByIdentifier.interpret_response(
                response, didlist=didlist, didconfig=link.config, tolerate_zero_padding=True
            )
        except (InvalidResponseException, UnexpectedResponseException, ConfigError, ValueError):
            did = asked if asked is not None else _did_of(payload)
            if did in link.points:
                expected = link.points[did][0].point.record_length
                self._fail(
                    link, did, "uds_malformed", got=f"{len(payload) - 3}", expected=f"{expected}"
                )
            return []
        updates = []
        for did, record in parsed.service_data.values.items():
            if did not in link.points:
                continue
            self.problems.pop((link.name, did), None)
            for binding in link.points[did]:
                updates.append((binding.key, t, binding.to_engine(record[binding.point.slot])))
            if link.in_flight is not None and link.in_flight[0] == did:
                link.in_flight = None
        self.answers += 1
        return updates

    def _fail(self, link: _Link, did: int, code: str, **params: Any) -> None:
        self.problems[(link.name, did)] = say(
            code, request=f"0x{link.request_id:X}", did=f"0x{did:04X}", **params
        )
        if link.in_flight is not None and link.in_flight[0] == did:
            link.in_flight = None

    def problem(self, binding: UdsBinding) -> dict | None:
        """The coded message of the last failed request for this value (None if none)."""
        return self.problems.get((binding.point.server_name, binding.point.did))


def uds_bindings(kit: KitDefinition) -> Iterable[UdsBinding]:
    """The kit's values read on request."""
    return [b for b in kit.all_bindings() if isinstance(b, UdsBinding)]


def _did_of(payload: bytes) -> int | None:
    return int.from_bytes(payload[1:3], "big") if len(payload) >= 3 else None
