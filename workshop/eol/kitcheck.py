"""The EOL half of ``workshop kits check``: a kit folder's ``eol.toml`` against its CAN database
and its ``kit.toml``, so that one command validates a kit as a whole.

Registered with the kits' loader (workshop.kits.loader.register_folder_check) when this package is
imported, as it is by the application; the kits package does not import the EOL engine.
"""

from __future__ import annotations

import weakref
from collections import Counter, defaultdict
from pathlib import Path

from workshop.kits.loader import register_folder_check, register_folder_warning


@register_folder_check
def eol_problems(kit) -> list[str]:
    """Every problem of the kit's EOL definition, one line each (file: place: problem)."""
    from workshop.eol.definitions import EolDefinitionError
    from workshop.eol.runner import certificate_policy_problems

    definition = _definition(kit)
    if definition is None:
        return []
    if isinstance(definition, EolDefinitionError):
        return list(definition.problems)
    problems = certificate_policy_problems(definition)
    # A vendor's file and the kit's overlays are one database on the bus: name them all.
    shown = " + ".join(f"{definition.kit_id}/{name}" for name, _sha in definition.dbc_files)
    by_id, by_name = defaultdict(list), Counter()  # one pass: a vendor's file may be large
    for message in definition.database.messages:
        by_id[message.frame_id, message.is_extended_frame].append(message.name)
        by_name[message.name] += 1
    for name, count in sorted(by_name.items()):
        if count > 1:
            problems.append(
                f"{shown}: message name {name} is defined {count} times: a mapping by name "
                "would use only the last"
            )
    for (frame_id, extended), names in sorted(by_id.items()):
        if len(names) > 1:
            problems.append(
                f"{shown}: frame ID 0x{frame_id:X}{' (29-bit)' if extended else ''} is used by "
                f"{len(names)} messages ({', '.join(names)}): a receiver cannot tell them apart"
            )
    problems.extend(_ratings_against_limits(kit, definition))
    problems.extend(_requests_against_ratings(kit, definition))
    problems.extend(_manuals_against_limits(kit, definition))
    return problems


@register_folder_warning
def eol_warnings(kit) -> list[str]:
    """Safety limits of the kit's EOL definition that name no source, and every overlap of
    signals a non-strict DBC load tolerated."""
    from workshop.eol.definitions import EolDefinitionError

    definition = _definition(kit)
    if definition is None or isinstance(definition, EolDefinitionError):
        return []  # reported as an error by eol_problems
    shown = f"{definition.kit_id}/eol.toml"
    return [
        f"{shown}: limits.{key}: a safety limit without a source (give one in [sources] as "
        f'"{key}" = "standard and clause, datasheet or programme document")'
        for key in definition.spec.missing_sources()
    ] + list(definition.tolerated)


# The last kit checked (weakly) and its definition (or its error): `kits check` asks for the
# problems and then the warnings of one KitSpec, and a vendor's DBC near the size cap takes seconds
# to parse.
_last_checked: list = [None, None]


def _definition(kit):
    """The EOL definition of ``kit`` (an EolDefinitionError when it does not load, None when the
    kit has no eol.toml), loaded once per KitSpec object."""
    from workshop.eol.definitions import EolDefinitionError, load_kit

    if _last_checked[0] is not None and _last_checked[0]() is kit:
        return _last_checked[1]
    if not (Path(kit.directory) / kit.eol).exists():
        definition = None
    else:
        try:
            definition = load_kit(kit.directory)
        except EolDefinitionError as exc:
            definition = exc.with_traceback(None)  # its frames would keep ``kit`` alive
    _last_checked[:] = [weakref.ref(kit), definition]
    weakref.finalize(kit, _last_checked.__setitem__, slice(None), [None, None])  # no hoarding
    return definition


# A manual's measurement that repeats an EOL limit: the two must say the same (one figure for one
# car), e.g. the precharge time a technician notes against the time the EOL test allows.
MANUAL_LIMITS = {"precharge_time_s": ("bms", "precharge_within_s")}


def _manuals_against_limits(kit, definition) -> list[str]:
    from workshop.manuals.loader import ManualError, load_manuals

    try:
        manuals = load_manuals()
    except ManualError:
        return []  # the manual half of kits check reports it
    shown = f"{definition.kit_id}/eol.toml"
    problems = []
    for manual_id in kit.manuals:
        manual = manuals.get(manual_id)
        for step in manual.steps if manual else ():
            for inp in step.inputs:
                if inp.type != "measurement" or inp.key not in MANUAL_LIMITS:
                    continue
                group, name = MANUAL_LIMITS[inp.key]
                limit = getattr(getattr(definition.limits, group), name)
                if inp.max is not None and float(inp.max) != float(limit):
                    problems.append(
                        f"{shown}: limits.{group}.{name}: {limit:g} but manual {manual_id!r} "
                        f"step {step.id!r} accepts {inp.key} up to {float(inp.max):g}: one figure "
                        f"for one car"
                    )
    return problems


def _ratings_against_limits(kit, definition) -> list[str]:
    """kit.toml's battery against eol.toml's limits: the pack's maximum and the cells' maximum
    must lie inside the voltage windows the EOL test accepts."""
    battery = kit.ratings.battery
    bms = definition.limits.bms
    shown = f"{definition.kit_id}/eol.toml"
    problems = []
    low, high = bms.pack_voltage_v
    if not low <= float(battery.max_voltage_v) <= high:
        problems.append(
            f"{shown}: limits.bms.pack_voltage_v: {low:g}–{high:g} V does not contain the "
            f"pack's maximum {float(battery.max_voltage_v):g} V from kit.toml"
        )
    low, high = bms.cell_voltage_v
    if not low <= float(battery.cell_max_voltage_v) <= high:
        problems.append(
            f"{shown}: limits.bms.cell_voltage_v: {low:g}–{high:g} V does not contain the "
            f"cells' maximum {float(battery.cell_max_voltage_v):g} V from kit.toml"
        )
    return problems


def _requests_against_ratings(kit, definition) -> list[str]:
    """Cell voltages read on request (UDS) must cover exactly the pack's cells in series: an
    index past the last cell asks the BMS for a cell that does not exist, a short range leaves
    cells unjudged."""
    from workshop.eol.bindings import UdsBinding

    if not definition.has("cell_voltage"):
        return []
    cells = definition.indexed("cell_voltage")
    if not isinstance(cells[0], UdsBinding):
        return []
    series = kit.ratings.battery.cells_series
    if len(cells) == series:
        return []
    return [
        f"{definition.kit_id}/eol.toml: requests.cell_voltage: count: {len(cells)} cells read, "
        f"but kit.toml's battery has {series} cells in series (ratings.battery.cells_series)"
    ]
