"""CAN traces: record a run to BLF with its SHA-256, load uploaded traces, evaluate them offline.

Recording uses python-can's ``BLFWriter`` (Vector's binary log format, readable by CANalyzer,
python-can and asammdf). Uploaded traces may be BLF, ASC, candump ``.log`` or PEAK ``.trc``;
anything else, or a file that is empty, truncated or corrupt, raises :class:`TraceError` with a
sentence a technician can act on.
"""

from __future__ import annotations

import heapq
import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import can
from can.io.blf import FILE_HEADER_STRUCT, OBJ_HEADER_BASE_STRUCT, BLFParseError

from workshop.eol.messages import render
from workshop.filestore import sha256_of_file

FORMATS = {
    ".blf": ("blf", "Vector BLF"),
    ".asc": ("asc", "Vector ASC"),
    ".log": ("log", "candump log"),
    ".trc": ("trc", "PEAK TRC"),
}
_ALIASES = {"blf": ".blf", "asc": ".asc", "log": ".log", "candump": ".log", "trc": ".trc"}
MAX_FRAMES = 5_000_000


class TraceError(Exception):
    """An uploaded or recorded trace cannot be used: a message code of workshop.eol.messages and
    its parameters (``str()`` is the English sentence; ``message_in`` renders any language)."""

    def __init__(self, code: str, **params: Any):
        self.code, self.params = code, params
        super().__init__(render(code, params, "en"))

    def message_in(self, lang: str = "th") -> str:
        """The reason in ``lang``."""
        return render(self.code, self.params, lang)


@dataclass
class TraceInfo:
    """A trace file kept as evidence."""

    path: Path
    sha256: str
    frames: int
    size_bytes: int
    format: str = "blf"

    def to_dict(self) -> dict:
        """Plain-data form for JSON / the database."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "frames": self.frames,
            "size_bytes": self.size_bytes,
            "format": self.format,
        }


class TraceRecorder:
    """Writes every frame it is given to a BLF file; ``close()`` returns its TraceInfo.

    Frames are written in timestamp order: the tester's own frames are stamped when sent, while
    received ones carry the (earlier) bus time, so frames are held for ``reorder_s`` seconds
    and sorted. BLF stores times relative to the first frame and cannot hold an earlier one.
    """

    reorder_s = 10.0

    def __init__(self, path: str | Path | None = None):
        if path is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            fd, name = tempfile.mkstemp(prefix=f"eol-{stamp}-", suffix=".blf")
            os.close(fd)
            path = name
        self.path = Path(path)
        if self.path.suffix.lower() != ".blf":
            raise TraceError(f"a run trace is written as BLF; name it *.blf, not {self.path.name}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = can.BLFWriter(self.path)
        self.frames = 0
        self._info: TraceInfo | None = None
        self._pending: list[tuple[float, int, can.Message]] = []
        self._newest = -math.inf

    def record(self, msg: can.Message) -> None:
        """Append one frame."""
        if not isinstance(msg.channel, int) or not 0 <= msg.channel < 0xFFFF:
            # BLF channels are small numbers; a named channel ("can0", a virtual bus name) would
            # be mangled into a huge one, so log it on the writer's default channel instead.
            msg.channel = None
        self.frames += 1
        heapq.heappush(self._pending, (msg.timestamp, self.frames, msg))
        self._newest = max(self._newest, msg.timestamp)
        while self._pending and self._pending[0][0] < self._newest - self.reorder_s:
            self._writer.on_message_received(heapq.heappop(self._pending)[2])

    def close(self) -> TraceInfo:
        """Finish the file (idempotent) and hash it."""
        if self._info is None:
            while self._pending:
                self._writer.on_message_received(heapq.heappop(self._pending)[2])
            self._writer.stop()
            self._info = TraceInfo(
                self.path, sha256_of_file(self.path), self.frames, self.path.stat().st_size, "blf"
            )
        return self._info


def trace_format(filename: str | Path, fmt: str | None = None) -> str:
    """The suffix ('.blf', '.asc', '.log', '.trc') for a file name or explicit format name."""
    if fmt:
        suffix = _ALIASES.get(fmt.lower().lstrip("."))
        if suffix is None:
            raise TraceError("trace_unknown_format", format=fmt)
        return suffix
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        shown = suffix or "(no extension)"
        raise TraceError("trace_unsupported_type", suffix=shown)
    return suffix


def load_trace(path: str | Path, fmt: str | None = None) -> list[can.Message]:
    """Read every CAN frame of a trace file, or raise TraceError saying what is wrong."""
    path = Path(path)
    suffix = trace_format(path, fmt)
    name = FORMATS[suffix][1]
    if not path.is_file():
        raise TraceError("trace_not_found", name=path.name)
    size = path.stat().st_size
    if size == 0:
        raise TraceError("trace_empty")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if suffix == ".blf":
        frames = _read_blf(path, head, size)
    else:
        if b"\x00" in head or head.startswith(b"LOGG"):
            raise TraceError("trace_binary_not_text", format=name)
        frames = _read_text(path, suffix, name)
    if not any(not m.is_error_frame for m in frames):
        raise TraceError("trace_no_frames", format=name)
    _check_timestamps(frames)
    return frames


def _check_timestamps(frames: list[can.Message]) -> None:
    """Refuse timestamps that are not numbers, infinite, or that run backwards (more than the
    1 ms two channels of one logger may disagree by)."""
    previous = None
    for index, msg in enumerate(frames, start=1):
        stamp = msg.timestamp
        if not math.isfinite(stamp):
            raise TraceError("trace_bad_timestamp", index=index, value=str(stamp))
        if previous is not None and stamp < previous - 0.001:
            raise TraceError("trace_time_backwards", index=index, seconds=f"{previous - stamp:.3f}")
        previous = stamp if previous is None else max(previous, stamp)


def _read_blf(path: Path, head: bytes, size: int) -> list[can.Message]:
    if len(head) < FILE_HEADER_STRUCT.size or not head.startswith(b"LOGG"):
        raise TraceError("trace_not_blf")
    header = FILE_HEADER_STRUCT.unpack(head[: FILE_HEADER_STRUCT.size])
    declared = header[10]
    if declared > size:
        raise TraceError("trace_blf_truncated", declared=declared, size=size)
    try:
        frames = _bounded(_CheckedBLFReader(str(path)))
    except (BLFParseError, struct.error, zlib.error, ValueError, EOFError) as exc:
        detail = f"{type(exc).__name__}: {exc or 'bad object'}"
        raise TraceError("trace_blf_corrupt", detail=detail) from None
    return frames


class _CheckedBLFReader(can.BLFReader):
    """python-can's reader, refusing first an object too small to hold its own header: the
    reader would step back onto it and parse it forever (a crafted file of 320 bytes)."""

    def _parse_data(self, data: bytes):
        _refuse_sizeless_objects(data, self.file.tell())
        return super()._parse_data(data)


def _refuse_sizeless_objects(data: bytes, offset: int) -> None:
    """Walk the objects of a container the way python-can does (an object may start after up to
    8 bytes of padding); one whose size is under the header's size is refused."""
    header_size, pos, end = OBJ_HEADER_BASE_STRUCT.size, 0, len(data)
    while pos + header_size <= end:
        pos = data.find(b"LOBJ", pos, pos + 8)
        if pos < 0 or pos + header_size > end:
            return  # python-can says what is wrong with this, or it continues in the next one
        size = OBJ_HEADER_BASE_STRUCT.unpack_from(data, pos)[3]
        if size < header_size:
            raise TraceError("trace_bad_object", offset=offset, size=size)
        pos += size


def _read_text(path: Path, suffix: str, name: str) -> list[can.Message]:
    readers: dict[str, Any] = {
        ".asc": can.ASCReader,
        ".log": can.CanutilsLogReader,
        ".trc": can.TRCReader,
    }
    try:
        reader = readers[suffix](str(path))
        frames = _bounded(reader)
    except UnicodeDecodeError:
        raise TraceError("trace_not_text", format=name) from None
    except (ValueError, IndexError, KeyError, NotImplementedError, struct.error) as exc:
        detail = str(exc) or type(exc).__name__
        raise TraceError("trace_text_unreadable", format=name, detail=detail) from None
    return frames


# What the reader is doing, for the sandbox's watchdog (workshop.eol.sandbox): a reader that
# stops producing frames while reading is stuck on a crafted object.
PROGRESS: dict[str, Any] = {"reading": False, "frames": 0, "file": None}


def _bounded(reader) -> list[can.Message]:
    frames = []
    PROGRESS.update(reading=True, frames=0, file=getattr(reader, "file", None))
    try:
        for msg in reader:
            frames.append(msg)
            PROGRESS["frames"] += 1
            if len(frames) > MAX_FRAMES:
                raise TraceError("trace_too_many_frames", limit=f"{MAX_FRAMES:,}")
    finally:
        PROGRESS.update(reading=False, file=None)
        stop = getattr(reader, "stop", None)
        if stop is not None:
            stop()
    return frames


__all__ = [
    "FORMATS",
    "TraceError",
    "TraceInfo",
    "TraceRecorder",
    "load_trace",
    "trace_format",
]
