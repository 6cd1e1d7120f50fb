"""Kit EOL definitions: load a kit's ``eol.toml`` and ``vehicle.dbc`` into validated, typed objects.

The engine and the simulator talk in *semantic names* (``pack_voltage``, ``cell_voltage[37]``,
``key_switch``...). A kit's ``eol.toml`` binds each name to a message and signal of that kit's
DBC, says how to convert the DBC value into the engine's unit, names the enumeration values the
engine needs (``ready``, ``closed``...), and sets the limits. Nothing kit-specific lives in code,
so a kit with a third-party BMS (other names, scaling, byte order, multiplexed cell frames) is
added by writing data only.

A definition either loads completely or raises :class:`EolDefinitionError` listing every problem
with the file, the place inside it and what is wrong; it never half-loads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cantools.database.can import Database, Message
from pydantic import (
    ValidationError,
)

from workshop.datafiles import (
    DataFileError,
    common_problem,
    parse_toml,
    read_data_bytes,
    validation_error,
)
from workshop.eol.bindings import Binding, UdsBinding, bind, cross_checks, unknown_semantic
from workshop.eol.dbcfiles import DbcFilesError, load_dbc_files
from workshop.eol.eolfile import SETTING_NAMES, EolFile, Limits, RunSettings
from workshop.eol.profiles import (  # noqa: F401 (kit_specs_root: part of this module's API)
    EOL_FILE,
    PROFILES_FOLDER,
    kit_specs_root,
    with_profile,
)
from workshop.eol.semantics import SEMANTICS
from workshop.eol.udsmap import request_points


class EolDefinitionError(Exception):
    """A kit's EOL definition is unusable; ``problems`` holds one line per problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------------------------
# Bound definition
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class KitDefinition:
    """A kit's validated EOL definition: DBC, bindings, limits and the files' hashes."""

    kit_id: str
    directory: Path
    eol_path: Path
    dbc_path: Path
    database: Database
    spec: EolFile
    bindings: dict[str, Binding | tuple[Binding, ...]]
    eol_sha256: str
    dbc_sha256: str
    # (file, SHA-256) of the DBC and each overlay; overlaps a non-strict load tolerated
    dbc_files: tuple[tuple[str, str], ...] = ()
    tolerated: tuple[str, ...] = ()

    @property
    def limits(self) -> Limits:
        """The kit's limits."""
        return self.spec.limits

    @property
    def run(self) -> RunSettings:
        """The kit's bus-level run settings."""
        return self.spec.run

    @property
    def tester_node(self) -> str:
        """The DBC node that is the EOL tester."""
        return self.spec.tester_node

    def has(self, semantic: str) -> bool:
        """Whether the kit binds this semantic name."""
        return semantic in self.bindings

    def maps(self, need: str) -> bool:
        """Whether the kit provides what a check or fault needs: ``pack_voltage``,
        ``cell_voltage[37]`` (at least 37 cells), ``drive_mode=city`` (that state is mapped),
        alternatives joined by ``|`` and names needed together by ``+``
        (``cell_voltage|cell_voltage_min+cell_voltage_max``)."""
        return any(
            all(self._maps_one(name) for name in alternative.split("+"))
            for alternative in need.split("|")
        )

    def _maps_one(self, name: str) -> bool:
        name, _, state = name.partition("=")
        if state:
            return self.has(name) and self.binding(name).has_state(state)
        base, _, index = name.partition("[")
        if not self.has(base):
            return False
        return not index or len(self.indexed(base)) >= int(index.rstrip("]"))

    def binding(self, semantic: str) -> Binding:
        """The binding of a scalar semantic name (KeyError when the kit does not bind it)."""
        found = self.bindings[semantic]
        if isinstance(found, tuple):
            raise TypeError(f"{semantic} is indexed; use indexed()")
        return found

    def indexed(self, semantic: str) -> tuple[Binding, ...]:
        """The bindings of an indexed semantic name, element 1 first."""
        found = self.bindings[semantic]
        if not isinstance(found, tuple):
            raise TypeError(f"{semantic} is not indexed; use binding()")
        return found

    def all_bindings(self) -> list[Binding]:
        """Every binding, indexed ones flattened."""
        out: list[Binding] = []
        for found in self.bindings.values():
            out.extend(found if isinstance(found, tuple) else (found,))
        return out

    def is_tester_message(self, message: Message) -> bool:
        """Whether the DBC says the EOL tester sends this message."""
        return self.tester_node in (message.senders or [])


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def list_kits(root: Path | str | None = None) -> list[str]:
    """Ids of the kits under ``root`` (default :func:`kit_specs_root`) that have an eol.toml."""
    base = Path(root) if root is not None else kit_specs_root()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / EOL_FILE).is_file())


def load_kit(kit: str | Path, root: Path | str | None = None) -> KitDefinition:
    """Load and validate a kit by id (folder name under ``root``) or by folder path."""
    candidate = Path(kit)
    if candidate.is_dir() and (candidate / EOL_FILE).exists():
        directory = candidate
    else:
        base = Path(root) if root is not None else kit_specs_root()
        directory = base / str(kit)
    directory = directory.resolve()
    shown = f"{directory.name}/{EOL_FILE}"
    if not directory.is_dir():
        known = ", ".join(list_kits(directory.parent)) or "none"
        raise EolDefinitionError([f"{directory.name}: no such kit folder (kits: {known})"])
    eol_path = directory / EOL_FILE
    if not eol_path.is_file():
        raise EolDefinitionError([f"{shown}: file not found"])

    try:
        eol_bytes = read_data_bytes(eol_path)
        raw = parse_toml(eol_path, eol_bytes, DataFileError)
        try:
            spec = EolFile.model_validate(with_profile(raw, directory))
        except ValidationError as exc:
            raise validation_error(
                eol_path, exc, problem=lambda err: common_problem(err, SETTING_NAMES) or err["msg"]
            ) from None
    except DataFileError as exc:
        source = shown if exc.file == eol_path else f"{exc.file.parent.name}/{exc.file.name}"
        raise EolDefinitionError(
            [f"{source}: {where}: {problem}" for where, problem in exc.details]
        ) from None

    problems: list[str] = []
    if spec.kit != directory.name:
        problems.append(f"{shown}: kit: says '{spec.kit}' but the folder is '{directory.name}'")

    dbc_path = directory / spec.dbc
    try:
        dbc = load_dbc_files(spec, directory, shown, problems)
    except DbcFilesError as exc:
        raise EolDefinitionError(problems + exc.problems) from None
    database, overlapping = dbc.database, dbc.overlapping

    if spec.tester_node not in {node.name for node in database.nodes}:
        nodes = ", ".join(n.name for n in database.nodes) or "none"
        problems.append(
            f"{shown}: tester_node: the DBC has no node '{spec.tester_node}' (nodes: {nodes})"
        )

    bindings: dict[str, Binding | tuple[Binding, ...]] = {}
    for section, sender in (("signals", "vehicle"), ("commands", "tester")):
        for name, mapping in getattr(spec, section).items():
            where = f"{shown}: {section}.{name}"
            semantic = SEMANTICS.get(name)
            if semantic is None or semantic.sender != sender:
                problems.append(f"{where}: {unknown_semantic(name, sender)}")
                continue
            bound = bind(semantic, mapping, database, spec.tester_node, where, problems)
            if bound is not None:
                bindings[name] = bound

    for name, points in request_points(spec, database, shown, problems).items():
        requested = tuple(
            UdsBinding(SEMANTICS[name], index, None, None, p.scale, p.offset, point=p)
            for index, p in points
        )
        bindings[name] = requested if SEMANTICS[name].indexed else requested[0]

    for found in bindings.values():
        for binding in found if isinstance(found, tuple) else (found,):
            if binding.message is not None and binding.message.name in overlapping:
                problems.append(
                    f"{shown}: {binding.semantic.name}: {binding.message.name} has overlapping "
                    "signals (tolerated by non_strict), which cannot be decoded reliably: map "
                    "the value from another frame or ask the vendor for a corrected file"
                )
                break
    cross_checks(spec, bindings, shown, problems)
    if problems:
        raise EolDefinitionError(problems)
    return KitDefinition(
        kit_id=directory.name,
        directory=directory,
        eol_path=eol_path,
        dbc_path=dbc_path,
        database=database,
        spec=spec,
        bindings=bindings,
        eol_sha256=hashlib.sha256(eol_bytes).hexdigest(),
        dbc_sha256=dbc.digest,
        dbc_files=dbc.files,
        tolerated=dbc.tolerated,
    )
