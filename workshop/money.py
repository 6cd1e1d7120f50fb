"""Money helpers shared by every feature (no feature imports): THB amounts as Decimal, never float."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
VAT_RATE = Decimal("0.07")


def round_thb(amount) -> Decimal:
    """An amount rounded half-up to the satang (0.01 THB)."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
