"""The simulated vehicle's diagnostic servers: UDS ReadDataByIdentifier over ISO-TP, answered
with the vehicle model's values for the DIDs the kit's eol.toml maps.

The same libraries as the tester (can-isotp's transport logic on the simulated clock, udsoncan's
request and response objects), the other way round. A request is answered P2 (5 ms) after it
arrives; consecutive frames follow a flow control one CAN frame time apart. An unknown DID gets
the negative response RequestOutOfRange (0x31), another service ServiceNotSupported (0x11).

For drills and tests a server can be told to stay silent on a DID (``silent``), to refuse it
(``refused``: DID -> NRC), to answer it short (``truncated``) or to say "response pending"
(NRC 0x78) first and answer that many seconds later (``pending``: DID -> seconds).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import can
import udsoncan
from udsoncan import Request, Response
from udsoncan.services import ReadDataByIdentifier

from workshop.eol.bindings import UdsBinding
from workshop.eol.definitions import KitDefinition
from workshop.eol.uds import (
    RESPONSE_PENDING,
    Clock,
    ClockedTransport,
    transport_params,
    uds_bindings,
)
from workshop.eol.udsmap import UdsPoint, server_address

P2_S = 0.005  # the server's answer delay
FRAME_S = 0.00025  # one 8-byte CAN frame at 500 kbit/s


@dataclass
class _Server:
    stack: ClockedTransport
    dids: dict[int, list[UdsBinding]]
    point: UdsPoint
    outgoing: list[can.Message] = field(default_factory=list)


class UdsResponder:
    """Answers the tester's diagnostic requests for one simulated vehicle.

    ``handle(msg, at)`` takes a frame sent at simulated time ``at`` and returns the frames the
    servers send back, each stamped with its own simulated time.
    """

    def __init__(self, kit: KitDefinition, vehicle, clock: Clock):
        """``vehicle`` is the simulated car (``advance(t)``, ``semantic_value(name, index)``)."""
        self._vehicle = vehicle
        self.silent: set[int] = set()
        self.refused: dict[int, int] = {}
        self.truncated: set[int] = set()
        self.pending: dict[int, float] = {}
        self.requests = 0
        self._servers: list[_Server] = []
        by_name: dict[str, _Server] = {}
        for binding in uds_bindings(kit):
            point = binding.point
            server = by_name.get(point.server_name)
            if server is None:
                server = _Server(None, {}, point)  # type: ignore[arg-type]
                server.stack = ClockedTransport(
                    clock,
                    server.outgoing.append,
                    server_address(point.server),
                    transport_params(point),
                )
                by_name[point.server_name] = server
                self._servers.append(server)
            server.dids.setdefault(point.did, []).append(binding)
        for server in self._servers:
            for bindings in server.dids.values():
                bindings.sort(key=lambda b: b.point.slot)

    def handle(self, msg: can.Message, at: float) -> list[can.Message]:
        """The frames answering ``msg`` (empty if it is not for a server), stamped."""
        for server in self._servers:
            if not server.stack.accepts(msg):
                continue
            # the answer shows the car as it is when the request arrives
            self._vehicle.advance(max(self._vehicle.t, at))
            stamped: list[can.Message] = []
            server.stack.feed(msg)
            server.stack.process()
            # frames after a flow control follow it one frame time apart
            self._flush(server, at + FRAME_S, stamped)
            while (payload := server.stack.recv()) is not None:
                answer, later = self._answer(server, bytes(payload))
                if later:
                    server.stack.send(
                        bytes([0x7F, ReadDataByIdentifier.request_id(), RESPONSE_PENDING])
                    )
                    server.stack.process()
                    self._flush(server, at + P2_S, stamped)
                if answer is not None:
                    server.stack.send(answer)
                    server.stack.process()
                    self._flush(server, at + (later or P2_S), stamped)
            return stamped
        return []

    @staticmethod
    def _flush(server: _Server, start: float, stamped: list[can.Message]) -> None:
        for i, frame in enumerate(server.outgoing):
            frame.timestamp = start + i * FRAME_S
            stamped.append(frame)
        server.outgoing.clear()

    def _answer(self, server: _Server, payload: bytes) -> tuple[bytes | None, float]:
        """The response to one request and how long after it arrives it is sent (0: P2)."""
        self.requests += 1
        answer = self._response(server, payload)
        data = Request.from_payload(payload).data or b""
        first = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
        return answer, self.pending.get(first, 0.0) if answer is not None else 0.0

    def _response(self, server: _Server, payload: bytes) -> bytes | None:
        request = Request.from_payload(payload)
        if request.service is not ReadDataByIdentifier:
            service = request.service or ReadDataByIdentifier
            code = Response.Code.ServiceNotSupported
            if request.service is None:
                return bytes([0x7F, payload[0] if payload else 0, code])
            return Response(service, code).get_payload()
        data = request.data or b""
        if len(data) < 2 or len(data) % 2:
            return Response(
                ReadDataByIdentifier, Response.Code.IncorrectMessageLengthOrInvalidFormat
            ).get_payload()
        dids = [d for (d,) in struct.iter_unpack(">H", data)]
        if any(d in self.silent for d in dids):
            return None
        records = b""
        for did in dids:
            if did in self.refused:
                return Response(ReadDataByIdentifier, self.refused[did]).get_payload()
            bindings = server.dids.get(did)
            if bindings is None:
                return Response(ReadDataByIdentifier, Response.Code.RequestOutOfRange).get_payload()
            record = self._record(bindings)
            if did in self.truncated:
                record = record[: len(record) // 2]
            records += struct.pack(">H", did) + record
        return Response(ReadDataByIdentifier, Response.Code.PositiveResponse, records).get_payload()

    def _record(self, bindings: list[UdsBinding]) -> bytes:
        point = bindings[0].point
        low, high = point.raw_range
        raws = []
        for binding in bindings:
            value = self._vehicle.semantic_value(binding.semantic.name, binding.index)
            raw = round(binding.to_dbc(value if value is not None else 0.0))
            raws.append(max(low, min(high, raw)))
        return udsoncan.DidCodec(point.pack_format).encode(*raws)
