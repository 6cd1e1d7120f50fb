"""Conversion manuals: one TOML data file per car model, validated into typed objects on load.

Plain Python with no Flask imports, so the CLI, the bench agent and tests can use it without an app.
"""

from workshop.manuals.loader import (
    ManualError,
    check_manuals,
    load_manual,
    load_manuals,
    load_qualification_codes,
    summary_line,
)
from workshop.manuals.schema import Manual, Section, Step, display

__all__ = [
    "Manual",
    "ManualError",
    "Section",
    "Step",
    "check_manuals",
    "display",
    "load_manual",
    "load_manuals",
    "load_qualification_codes",
    "summary_line",
]
