"""Reading CAN database (DBC) files as vendors ship them.

Vendor DBC files come in whatever encoding the vendor's tool wrote: UTF-8 with or without a byte
order mark, UTF-16 (Vector tools on Windows), or Windows-1252 (Vector's default), or Windows-874 when value names are Thai. This
module turns the bytes into text once, refuses an empty or oversized file with a sentence a
person can act on, and hands the text to cantools. Feature-free: kits and the EOL engine both use
it.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import cantools
from cantools.database.can import Database

MAX_DBC_BYTES = 4 * 1024 * 1024


class _DuplicatesReportedElsewhere(logging.Filter):
    """cantools logs 'Overwriting message ...' for two messages with one name or frame ID; `kits
    check` names both as an error, so the log line would only repeat it on a server's stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Overwriting message")


logging.getLogger("cantools.database.can.database").addFilter(_DuplicatesReportedElsewhere())
_THAI_WORD = re.compile(r"[\u0e01-\u0e5b]{3,}")
# Every DBC file begins with one of its keywords (cantools would otherwise answer a spreadsheet or
# a binary file with 'Invalid syntax at line 1, column 1: ">>!<<..."').
# Vendors' files may open with '//' comment lines, and any DBC keyword may come first (VERSION,
# NS_, BU_, BA_DEF_, VAL_TABLE_ ...): all but VERSION are capitals ending in an underscore.
_DBC_START = re.compile(r"\s*(?://[^\n]*\n\s*)*(?:VERSION|[A-Z][A-Z_]*_)(?=[\s:]|$)")


def _dbc_or_refuse(text: str) -> str:
    if _DBC_START.match(text):
        return text
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    shown = "".join(c if c.isprintable() else "?" for c in first[:40])
    raise DbcError(f"not a CAN database (DBC) file: it begins with {shown!r}")


class DbcError(ValueError):
    """The file cannot be used as a CAN database; the message says why (and where, if known)."""

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        by_cantools: bool = False,
    ):
        super().__init__(message)
        self.line, self.column = line, column
        # True when cantools refused the text (its rules), False when the file itself is unusable
        # (empty, too large, not text, not a DBC).
        self.by_cantools = by_cantools


def dbc_text(raw: bytes) -> str:
    """The DBC's text: BOM-marked UTF-8/UTF-16, plain UTF-8, Windows-874 (Thai) or -1252;
    anything that does not begin like a DBC file is refused."""
    return _dbc_or_refuse(_decoded(raw))


def _decoded(raw: bytes) -> str:
    if not raw.strip():
        raise DbcError("the file is empty")
    if len(raw) > MAX_DBC_BYTES:
        raise DbcError(
            f"the file is {len(raw) / 1048576:.1f} MB; a CAN database over "
            f"{MAX_DBC_BYTES // 1048576} MB is refused"
        )
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise DbcError(f"not valid {encoding.upper()} text at byte {exc.start}") from None
    if b"\x00" in raw[:200]:  # UTF-16 without a byte order mark
        encoding = "utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be"
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise DbcError("a binary file, not a DBC text file") from None
        if not _DBC_START.match(text):
            raise DbcError("a binary file, not a DBC text file")
        return text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Vector's tools write Windows-1252 (cantools' default too: '°C' is byte B0); a Thai vendor's
    # value names in Windows-874 show as runs of Thai letters, where 1252 text would give single
    # stray Thai characters (B0 is 'ฐ' in 874).
    thai = raw.decode("cp874", errors="replace")
    if _THAI_WORD.search(thai):
        return thai
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise DbcError(f"not readable as text (byte {exc.start})") from None


def overlaps_tolerated(database: Database) -> dict[str, str]:
    """For a database loaded non-strictly: each message whose signals overlap (by name), with
    cantools' own description of the first overlap (what a strict load would have refused).
    cantools cannot decode such a message correctly: it may stay in the file, unused."""
    found = {}
    for message in database.messages:
        try:
            message.refresh(strict=True)
        except cantools.database.Error as exc:
            found[message.name] = str(exc)
        finally:
            message.refresh(strict=False)
    return found


def merge(databases: list[Database]) -> Database:
    """One database of several files' messages and nodes (a vendor's file and the kit's overlays);
    each file keeps the strictness it was loaded with."""
    nodes, seen = [], set()
    for database in databases:
        for node in database.nodes:
            if node.name not in seen:
                seen.add(node.name)
                nodes.append(node)
    merged = Database(
        messages=[m for database in databases for m in database.messages],
        nodes=nodes,
        buses=databases[0].buses,
        version=databases[0].version,
        dbc_specifics=databases[0].dbc,
        strict=False,
    )
    merged.refresh()
    return merged


# Inside parse_once(): the database count_messages parsed, waiting for the next load_dbc of the
# same bytes (`kits check` reads a kit's DBC for kit.toml's count, then for the EOL definition,
# and a vendor's file near the size cap takes seconds to parse).
_parsed: ContextVar[dict | None] = ContextVar("parsed_dbc", default=None)


@contextmanager
def parse_once():
    """Within the block a DBC that count_messages parsed is not parsed again by the next
    load_dbc of the same bytes: that caller gets it (and it is forgotten)."""
    token = _parsed.set({})
    try:
        yield
    finally:
        _parsed.reset(token)


def count_messages(path: str | Path, *, strict: bool = True) -> int:
    """The number of messages of the DBC at ``path``, or DbcError as :func:`load_dbc`."""
    database, key = _load(Path(path), strict, reuse=False)
    waiting = _parsed.get()
    if waiting is not None:
        waiting.clear()
        waiting[key] = database
    return len(database.messages)


def load_dbc(path: str | Path, *, strict: bool = True) -> Database:
    """Load the DBC at ``path`` with cantools, or raise DbcError saying what is wrong."""
    return _load(Path(path), strict, reuse=True)[0]


def _load(path: Path, strict: bool, *, reuse: bool) -> tuple[Database, tuple[str, bool]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DbcError(f"cannot be read ({exc.strerror or exc})") from None
    key = (hashlib.sha256(raw).hexdigest(), strict)
    waiting = _parsed.get()
    if reuse and waiting is not None and key in waiting:
        return waiting.pop(key), key
    text = dbc_text(raw)
    try:
        return cantools.database.load_string(text, database_format="dbc", strict=strict), key
    except cantools.database.UnsupportedDatabaseFormatError as exc:
        cause = exc.e_dbc or exc
        detail = str(cause)
        if detail.startswith('DBC: "') and detail.endswith('"'):
            detail = detail[6:-1]
        line, column = getattr(cause, "line", None), getattr(cause, "column", None)
        raise DbcError(_one_line(detail), line, column, by_cantools=True) from None
    except (cantools.database.Error, ValueError, KeyError, IndexError) as exc:
        raise DbcError(_one_line(str(exc)), by_cantools=True) from None


_UNUSED = re.compile(r"unused (VAL_|SIG_VALTYPE_) entries in DBC:\s*(.*)", re.S)
_ELEVEN_BITS = re.compile(r"Standard frame id 0x([0-9a-fA-F]+) is more than 11 bits")


def _one_line(detail: str) -> str:
    """cantools' complaint on one line (it lists unused entries one per line), with the way out
    where the fault is a common one of vendors' files."""
    unused = _UNUSED.match(detail)
    if unused:
        entries = [" ".join(e.split()) for e in unused[2].splitlines() if e.strip()]
        return f"{unused[1]} entries for signals that no message defines: {', '.join(entries)}"
    detail = " ".join(detail.split())
    eleven = _ELEVEN_BITS.match(detail)
    if eleven and int(eleven[1], 16) < 1 << 29:
        # Some tools write a 29-bit ID without the DBC's extended-frame flag (bit 31).
        flagged = int(eleven[1], 16) | 0x80000000
        detail += f" (a 29-bit ID is written with bit 31 set in a DBC: {flagged})"
    return detail
