"""Reusable column types: UTC timestamps, THB money and stored enums."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import sqlalchemy as sa
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, nullable=False)]
money = Annotated[Decimal, mapped_column(sa.Numeric(12, 2), nullable=False)]


def stored_enum(cls, length: int = 16) -> sa.Enum:
    """How every enum is stored: its values (not its names) in a VARCHAR of ``length`` with a
    CHECK of the allowed values, the same on SQLite and PostgreSQL (no native ENUM type, so a
    new value needs no ``ALTER TYPE``)."""
    return sa.Enum(
        cls, values_callable=lambda e: [m.value for m in e], native_enum=False, length=length
    )
