"""A kit's CAN databases: the DBC (a vendor's file kept as shipped) and the kit's overlays, each
loaded strictly unless eol.toml lists it in ``non_strict``, merged into one database, with the
cycle times eol.toml gives and the SHA-256 a run records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cantools.database.can import Database

from workshop.candb import DbcError, load_dbc, merge, overlaps_tolerated
from workshop.eol.eolfile import EolFile


class DbcFilesError(Exception):
    """The DBC files cannot be used; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class DbcFiles:
    """The merged database and what a run and `kits check` say about its files."""

    database: Database
    digest: str
    files: tuple[tuple[str, str], ...]
    tolerated: tuple[str, ...]
    overlapping: frozenset[str]


def load_dbc_files(spec: EolFile, directory: Path, shown: str, problems: list[str]) -> DbcFiles:
    """Load the kit's DBC files; a problem that leaves the rest checkable is appended to
    ``problems``, one that does not raises :class:`DbcFilesError`."""
    files = [
        (spec.dbc, "dbc"),
        *((name, f"overlays[{i + 1}]") for i, name in enumerate(spec.overlays)),
    ]
    for name in spec.non_strict:
        if name not in {f for f, _ in files}:
            problems.append(f"{shown}: non_strict: '{name}' is neither the dbc nor an overlay")
    databases, digests, tolerated, overlapping = [], [], [], set()
    for name, where in files:
        path = directory / name
        file_shown = f"{directory.name}/{name}"
        if not path.is_file() or directory not in path.resolve().parents:
            raise DbcFilesError([f"{shown}: {where}: file '{name}' not found"])
        strict = name not in spec.non_strict
        try:
            loaded = load_dbc(path, strict=strict)
        except DbcError as exc:
            hint = (
                f' (a vendor file with overlapping signals loads with non_strict = ["{name}"])'
                if strict and "overlap" in str(exc).lower()
                else ""
            )
            raise DbcFilesError([f"{file_shown}: not a usable DBC file: {exc}{hint}"]) from None
        if not loaded.messages and where == "dbc":
            raise DbcFilesError([f"{file_shown}: defines no messages"])
        if not strict:
            found = overlaps_tolerated(loaded)
            overlapping |= set(found)
            tolerated += [
                f"{file_shown}: tolerated overlap in {name}, which no check may use: {text}"
                for name, text in found.items()
            ]
        databases.append(loaded)
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    database = databases[0] if len(databases) == 1 else merge(databases)
    # The vendor's file is evidence as it is: a run records its SHA-256, or (with overlays) the
    # SHA-256 of every file's SHA-256 in order.
    dbc_digest = (
        digests[0] if len(digests) == 1 else hashlib.sha256("\n".join(digests).encode()).hexdigest()
    )
    for name, ms in spec.cycle_times_ms.items():
        try:
            database.get_message_by_name(name).cycle_time = ms
        except KeyError:
            problems.append(f"{shown}: cycle_times_ms.{name}: no such message in the DBC files")
    return DbcFiles(
        database,
        dbc_digest,
        tuple(zip((f for f, _ in files), digests, strict=True)),
        tuple(tolerated),
        frozenset(overlapping),
    )
