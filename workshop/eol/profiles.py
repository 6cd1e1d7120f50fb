"""Limit profiles per chemistry (``kit_specs/_profiles/<name>.toml``): every run setting and
limit with its source, which a kit's eol.toml overrides where it differs."""

from __future__ import annotations

import re
from pathlib import Path

from workshop.datafiles import DataFileError, read_data_file
from workshop.kits.loader import KITS_DIR, PROFILES_FOLDER, profile_path  # noqa: F401  (re-exported)

EOL_FILE = "eol.toml"


def kit_specs_root() -> Path:
    """The repository's ``kit_specs/`` folder (found relative to this package, not the cwd)."""
    return KITS_DIR


def _merged(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def with_profile(raw: dict, kit_folder: Path) -> dict:
    """The kit's eol.toml over its chemistry's limit profile (``profile = "lfp"`` by default):
    the profile gives every run setting and limit, the kit overrides what differs. Only
    ``[run]``, ``[limits]`` and ``[sources]`` come from a profile; a profile's source is dropped
    where the kit changes the value it stands for."""
    name = raw.get("profile", "lfp")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", name):
        raise DataFileError(kit_folder / EOL_FILE, "profile", f"not a profile name: {name!r}")
    path = profile_path(name, kit_folder)
    if not path.is_file():
        known = sorted(p.stem for p in (kit_specs_root() / PROFILES_FOLDER).glob("*.toml"))
        raise DataFileError(
            kit_folder / EOL_FILE,
            "profile",
            f"no limit profile {name!r} (profiles: {', '.join(known) or 'none'})",
        )
    profile = read_data_file(path)
    unknown = sorted(set(profile) - {"run", "limits", "sources"})
    if unknown:
        raise DataFileError(
            path, unknown[0], "a profile holds only [run], [limits] and [sources] tables"
        )
    merged = _merged({k: profile[k] for k in ("run", "limits") if k in profile}, raw)
    # A source belongs to a value: the profile's stands only where the kit keeps its value.
    profile_limits = profile.get("limits") or {}
    overridden = {
        f"{group}.{name}"
        for group, values in (raw.get("limits") or {}).items()
        if isinstance(values, dict)
        for name, value in values.items()
        if value != (profile_limits.get(group) or {}).get(name)
    }
    sources = {k: v for k, v in (profile.get("sources") or {}).items() if k not in overridden}
    kit_sources = raw.get("sources", {})
    # (anything but a table is left for the schema to refuse, naming the file)
    merged["sources"] = {**sources, **kit_sources} if isinstance(kit_sources, dict) else kit_sources
    return merged
