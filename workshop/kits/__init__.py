"""Conversion kits: one folder per kit (bill of material with costs, ratings, CAN database, EOL limits),
validated into typed objects on load.

Plain Python with no Flask imports, so the CLI, the bench agent and tests can use it without an app.
"""

from workshop.kits import fitcheck  # noqa: F401  (registers the manual half of `kits check`)
from workshop.kits.fields import CATEGORIES, TARGET_EXCLUDING_BATTERY
from workshop.kits.loader import (
    KITS_DIR,
    KitError,
    check_kits,
    load_kit,
    load_kits,
    summary_line,
)
from workshop.kits.ratings import (
    BatteryRating,
    ChargerRating,
    DcdcRating,
    DcRange,
    MotorRating,
    Ratings,
)
from workshop.kits.spec import BomLine, KitFile, KitSpec

__all__ = [
    "CATEGORIES",
    "KITS_DIR",
    "TARGET_EXCLUDING_BATTERY",
    "BatteryRating",
    "BomLine",
    "ChargerRating",
    "DcRange",
    "DcdcRating",
    "KitError",
    "KitFile",
    "KitSpec",
    "MotorRating",
    "Ratings",
    "check_kits",
    "load_kit",
    "load_kits",
    "summary_line",
]
