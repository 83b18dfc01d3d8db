"""Column types that behave identically on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants.

    PostgreSQL stores ``timestamptz``; SQLite stores a fixed-width UTC text
    (``YYYY-MM-DD HH:MM:SS.ffffff``) so ordering and range queries compare correctly.
    Naive datetimes are refused: they are always a bug (which timezone did the caller mean?).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        utc = value.astimezone(UTC)
        # pendulum instances are datetime subclasses; store a plain datetime.
        plain = datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC)
        if dialect.name == "sqlite":
            return plain.replace(tzinfo=None)
        return plain

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal with a fixed number of places: NUMERIC on PostgreSQL, text on SQLite.

    SQLite has no exact decimal type (its NUMERIC is a float), so values are stored as
    canonical strings there. Values with more places than ``scale`` are refused, never rounded:
    rounding is a billing decision, made in the billing engine.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 6) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def __repr__(self) -> str:
        return f"ExactDecimal({self.precision}, {self.scale})"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        try:
            dec = Decimal(value) if not isinstance(value, Decimal) else value
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal: {value!r}") from exc
        if not dec.is_finite():
            raise ValueError(f"not a finite decimal: {value!r}")
        quantum = Decimal(1).scaleb(-self.scale)
        quantized = dec.quantize(quantum)
        if quantized != dec:
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if dialect.name == "sqlite":
            return format(quantized, "f")
        return quantized

    def process_result_value(self, value: object, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-self.scale))
