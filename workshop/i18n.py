"""Dates, times and money as Thai workshops read them; plain functions, usable without Flask.

Times are stored in UTC and shown in Bangkok local time. Thai official documents use the
Buddhist era (BE = CE + 543): 22 พ.ย. 2569.
"""

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import get_month_names

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543
LOCALES = ("th", "en")
TWO_PLACES = Decimal("0.01")


def to_bangkok(value: datetime) -> datetime:
    """An aware datetime in Asia/Bangkok (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BANGKOK)


def _as_local_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return to_bangkok(value).date()
    return value


@cache
def _month_names(locale: str) -> dict[int, str]:
    # Babel looks its locale data up on every call: lists show a date on every row.
    return dict(get_month_names("abbreviated", locale=locale))


def _month(value: date, locale: str) -> str:
    return _month_names(locale if locale in LOCALES else "th")[value.month]


def format_be_date(value: date | datetime | None, locale: str = "th") -> str:
    """Buddhist-era date: '22 พ.ย. 2569' in Thai, '22 Nov 2569 BE' in English."""
    if value is None:
        return ""
    d = _as_local_date(value)
    text = f"{d.day} {_month(d, locale)} {d.year + BE_OFFSET}"
    return text if locale == "th" else f"{text} BE"


def format_ce_date(value: date | datetime | None, locale: str = "th") -> str:
    """Gregorian date: '22 พ.ย. 2026' in Thai, '22 Nov 2026' in English."""
    if value is None:
        return ""
    d = _as_local_date(value)
    return f"{d.day} {_month(d, locale)} {d.year}"


def format_local_datetime(value: datetime | None, locale: str = "th") -> str:
    """Bangkok local date and time: Buddhist era in Thai, Gregorian in English."""
    if value is None:
        return ""
    # A job page shows one per step: the value is converted once, the time formatted without
    # strftime.
    local = to_bangkok(value)
    day = local.date()
    day = format_be_date(day, "th") if locale == "th" else format_ce_date(day, "en")
    return f"{day} {local.hour:02d}:{local.minute:02d}"


def format_thb(amount: Decimal | int | str | None) -> str:
    """A THB amount with two places and thousands separators: '฿1,234.50', '-฿20.00'."""
    if amount is None:
        return ""
    value = Decimal(amount).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}฿{abs(value):,.2f}"
