"""VIN rules shared by every feature (no feature imports): normalising, validating, masking."""

import re

from flask_babel import lazy_gettext as _l

VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def normalise_vin(vin: str) -> str:
    """Upper-case a VIN and drop spaces and dashes people type or scanners add."""
    return re.sub(r"[\s-]", "", vin or "").upper()


def vin_problem(vin: str) -> str | None:
    """Why ``vin`` is not a valid VIN, or None."""
    if len(vin) != 17:
        return _l("a VIN has 17 characters (this one has %(n)d)", n=len(vin))
    bad = sorted(set(c for c in vin if c in "IOQ"))
    if bad:
        return _l("a VIN never contains I, O or Q (found %(chars)s)", chars=", ".join(bad))
    if not VIN_RE.match(vin):
        return _l("a VIN has only letters and digits")
    return None


def mask_vin(vin: str) -> str:
    """The VIN with its middle hidden: maker code and last four characters stay readable."""
    if len(vin) <= 7:
        return "•" * len(vin)
    return vin[:3] + "•" * (len(vin) - 7) + vin[-4:]
