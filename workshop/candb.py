"""Reading CAN database (DBC) files as vendors ship them.

Vendor DBC files come in whatever encoding the vendor's tool wrote: UTF-8 with or without a byte
order mark, UTF-16 (Vector tools on Windows), or Windows-1252 (Vector's default), or Windows-874 when value names are Thai. This
module turns the bytes into text once, refuses an empty or oversized file with a sentence a
person can act on, and hands the text to cantools. Feature-free: kits and the EOL engine both use
it.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import cantools
from cantools.database.can import Database

MAX_DBC_BYTES = 4 * 1024 * 1024
_THAI_WORD = re.compile(r"[\u0e01-\u0e5b]{3,}")
# Every DBC file begins with one of its keywords (cantools would otherwise answer a spreadsheet or
# a binary file with 'Invalid syntax at line 1, column 1: ">>!<<..."').
_DBC_START = re.compile(r"\s*(VERSION|NS_|BS_|BU_|BO_|CM_|BA_|VAL_|SG_|EV_|SIG_|ENVVAR_)\b")


def _dbc_or_refuse(text: str) -> str:
    if _DBC_START.match(text):
        return text
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    shown = "".join(c if c.isprintable() else "?" for c in first[:40])
    raise DbcError(f"not a CAN database (DBC) file: it begins with {shown!r}")


class DbcError(ValueError):
    """The file cannot be used as a CAN database; the message says why (and where, if known)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


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


def load_dbc(path: str | Path, *, strict: bool = True) -> Database:
    """Load the DBC at ``path`` with cantools, or raise DbcError saying what is wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DbcError(f"cannot be read ({exc.strerror or exc})") from None
    text = dbc_text(raw)
    try:
        return cantools.database.load_string(text, database_format="dbc", strict=strict)
    except cantools.database.UnsupportedDatabaseFormatError as exc:
        cause = exc.e_dbc or exc
        detail = str(cause)
        if detail.startswith('DBC: "') and detail.endswith('"'):
            detail = detail[6:-1]
        line, column = getattr(cause, "line", None), getattr(cause, "column", None)
        raise DbcError(detail, line, column) from None
    except (cantools.database.Error, ValueError, KeyError, IndexError) as exc:
        raise DbcError(str(exc)) from None
