"""Values on request: the [uds] servers and [requests] of a kit's eol.toml, checked against the
semantic catalogue, the CAN database and the limits, and laid out as DID records.

A requested value is read with UDS ReadDataByIdentifier (0x22) over ISO-TP; this module only
knows the layout (which DID, where in its record, how to scale). The client that asks is
``workshop.eol.uds``, the simulated server that answers is ``workshop.eol.simuds``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import isotp
from cantools.database.can import Database

from workshop.eol.eolfile import EolFile, RequestedValue, UdsServer
from workshop.eol.semantics import SEMANTICS

# struct codes of the value types
_CODES = {"uint8": "B", "int8": "b", "uint16": "H", "int16": "h", "uint32": "I", "int32": "i"}
# ISO-TP (classic CAN) carries at most 4095 bytes: 0x62, the DID (2 bytes) and the record.
MAX_RECORD_BYTES = 4095 - 3
# The limits a value's encoding must be able to show: a scaling that cannot reach the limit
# window would hide a failing cell behind a clipped number.
LIMIT_WINDOWS = {
    "cell_voltage": "cell_voltage_v",
    "cell_voltage_min": "cell_voltage_v",
    "cell_voltage_max": "cell_voltage_v",
    "pack_voltage": "pack_voltage_v",
    "cell_temperature": "temperature_c",
    "charge_current_limit": "charge_current_limit_a",
}


@dataclass(frozen=True)
class UdsPoint:
    """Where one value lives: a server, a DID, a slot in the DID's record, and its scaling."""

    server_name: str
    server: UdsServer
    did: int
    slot: int
    per_did: int
    start_byte: int
    type: str
    byte_order: str
    scale: float
    offset: float
    period_s: float
    timeout_s: float

    @property
    def pack_format(self) -> str:
        """The struct format of the whole DID record (skipped bytes, then the values)."""
        order = ">" if self.byte_order == "big" else "<"
        skip = f"{self.start_byte}x" if self.start_byte else ""
        return f"{order}{skip}{self.per_did}{_CODES[self.type]}"

    @property
    def record_length(self) -> int:
        """Bytes in the DID's record."""
        return struct.calcsize(self.pack_format)

    @property
    def raw_range(self) -> tuple[int, int]:
        """The raw numbers the value type can carry."""
        bits = struct.calcsize(_CODES[self.type]) * 8
        if self.type.startswith("int"):
            return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        return 0, (1 << bits) - 1


def client_address(server: UdsServer) -> isotp.Address:
    """The tester's ISO-TP address towards ``server``."""
    return _address(server, server.request_id, server.response_id, mirrored=False)


def server_address(server: UdsServer) -> isotp.Address:
    """The server's own ISO-TP address (the tester's, mirrored)."""
    return _address(server, server.response_id, server.request_id, mirrored=True)


def _address(server: UdsServer, txid, rxid, *, mirrored: bool) -> isotp.Address:
    if server.addressing == "normal_fixed":
        target, source = server.target_address, server.source_address
        if mirrored:
            target, source = source, target
        return isotp.Address(
            isotp.AddressingMode.NormalFixed_29bits, target_address=target, source_address=source
        )
    mode = (
        isotp.AddressingMode.Normal_29bits
        if server.extended_id
        else isotp.AddressingMode.Normal_11bits
    )
    return isotp.Address(mode, txid=txid, rxid=rxid)


def frame_ids(server: UdsServer) -> tuple[tuple[int, bool], tuple[int, bool]]:
    """(request, response) CAN identifiers as (id, 29-bit)."""
    extended = server.extended_id or server.addressing == "normal_fixed"
    request = client_address(server).get_tx_arbitration_id()
    response = server_address(server).get_tx_arbitration_id()
    return (request, extended), (response, extended)


def request_points(
    spec: EolFile, database: Database, shown: str, problems: list[str]
) -> dict[str, list[tuple[int | None, UdsPoint]]]:
    """Every [requests] entry laid out as (index, point), appending each problem found (file:
    place: rule) to ``problems``."""
    _check_servers(spec, database, shown, problems)
    laid_out: dict[str, list[tuple[int | None, UdsPoint]]] = {}
    used: dict[tuple[str, int], str] = {}
    for name, request in spec.requests.items():
        where = f"{shown}: requests.{name}"
        points = _lay_out(name, request, spec, where, problems)
        if points is None:
            continue
        clash = False
        for did in sorted({p.did for _, p in points}):
            other = used.get((request.server, did))
            if other is not None:
                problems.append(
                    f"{where}: did: DID 0x{did:04X} of server '{request.server}' is already "
                    f"read for {other} (one DID, one layout)"
                )
                clash = True
                break
            used[(request.server, did)] = name
        if not clash:
            laid_out[name] = points
    return laid_out


def _check_servers(spec: EolFile, database: Database, shown: str, problems: list[str]) -> None:
    frames = {(m.frame_id, m.is_extended_frame): m.name for m in database.messages}
    seen: dict[tuple[int, bool], str] = {}
    for name, server in spec.uds.items():
        where = f"{shown}: uds.{name}"
        for role, key in zip(("request", "response"), frame_ids(server), strict=True):
            shown_id = f"0x{key[0]:X}"
            if key in frames:
                problems.append(
                    f"{where}: the {role} ID {shown_id} is the DBC frame {frames[key]}: a "
                    "receiver could not tell them apart"
                )
            if key in seen:
                problems.append(f"{where}: the {role} ID {shown_id} is already used by {seen[key]}")
            seen[key] = f"uds.{name}"


def _lay_out(name, request: RequestedValue, spec: EolFile, where: str, problems: list[str]):
    before = len(problems)
    semantic = SEMANTICS.get(name)
    if semantic is None or semantic.sender != "vehicle" or semantic.kind != "value":
        problems.append(
            f"{where}: only measured vehicle values can be read on request "
            "(e.g. cell_voltage, pack_voltage, soc)"
        )
        return None
    if name in spec.signals:
        problems.append(f"{where}: also mapped under [signals]: map a value once")
    server = spec.uds.get(request.server)
    if server is None:
        known = ", ".join(sorted(spec.uds)) or "none"
        problems.append(f"{where}: server: no [uds.{request.server}] table (servers: {known})")
    if semantic.indexed and request.count is None:
        problems.append(f"{where}: count: required for an indexed name (e.g. count = 100)")
    if not semantic.indexed and request.count is not None:
        problems.append(f"{where}: count: only indexed names take a count")
    count = request.count or 1
    per_did = request.per_did or count
    if per_did > count:
        problems.append(f"{where}: per_did: {per_did} is more than the {count} values")
    elif count % per_did:
        problems.append(f"{where}: per_did: {count} values do not fill DIDs of {per_did} evenly")
    dids = -(-count // per_did)
    if request.did + dids - 1 > 0xFFFF:
        problems.append(f"{where}: did: {dids} DIDs from 0x{request.did:04X} run past 0xFFFF")
    if len(problems) > before or server is None:
        return None
    points = [
        (
            index if semantic.indexed else None,
            UdsPoint(
                request.server,
                server,
                request.did + (index - 1) // per_did,
                (index - 1) % per_did,
                per_did,
                request.start_byte,
                request.type,
                request.byte_order,
                request.scale,
                request.offset,
                request.period_s,
                request.timeout_s,
            ),
        )
        for index in range(1, count + 1)
    ]
    first = points[0][1]
    if first.record_length > MAX_RECORD_BYTES:
        problems.append(
            f"{where}: a DID record of {first.record_length} bytes does not fit one ISO-TP "
            f"message ({MAX_RECORD_BYTES} at most): use a smaller per_did"
        )
        return None
    window = LIMIT_WINDOWS.get(name)
    if window is not None:
        low, high = getattr(spec.limits.bms, window)
        raw_low, raw_high = first.raw_range
        ends = sorted((raw_low * first.scale + first.offset, raw_high * first.scale + first.offset))
        if not ends[0] <= low or not high <= ends[1]:
            problems.append(
                f"{where}: scale/offset: {request.type} x {first.scale:g} + {first.offset:g} "
                f"reads {ends[0]:g}..{ends[1]:g} {semantic.unit}, which cannot show the limits "
                f"{low:g}..{high:g} {semantic.unit} (limits.bms.{window})"
            )
            return None
    return points
