"""Column types that must behave identically on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pendulum
import pytest
from nodedesk.core.db.engine import Database
from nodedesk.core.db.types import ExactDecimal, UTCDateTime
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

metadata = MetaData()
probe = Table(
    "zz_type_probe",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime),
    Column("amount", ExactDecimal(20, 6)),
    Column("pct", ExactDecimal(9, 4)),
)


@pytest.fixture
def db(database: Database) -> Iterator[Database]:
    metadata.create_all(database.engine)
    try:
        yield database
    finally:
        metadata.drop_all(database.engine)


def store(db: Database, **values: object) -> int:
    with db.engine.begin() as conn:
        return conn.execute(insert(probe).values(**values).returning(probe.c.id)).scalar_one()


def load(db: Database, row_id: int, column: str) -> object:
    with db.engine.connect() as conn:
        return conn.execute(select(probe.c[column]).where(probe.c.id == row_id)).scalar_one()


# ---------------------------------------------------------------- UTCDateTime


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 2, 15, 15, 0, tzinfo=UTC),
        datetime(2026, 2, 15, 15, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1999, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ],
)
def test_utc_datetime_round_trips_identically(db: Database, value: datetime) -> None:
    got = load(db, store(db, at=value), "at")
    assert type(got) is datetime
    assert got == value
    assert got.tzinfo is UTC
    assert repr(got) == repr(value)  # identical on both back ends, microseconds included


def test_non_utc_input_is_converted(db: Database) -> None:
    tokyo = datetime(2026, 2, 16, 0, 0, 0, 500, tzinfo=timezone(timedelta(hours=9)))
    got = load(db, store(db, at=tokyo), "at")
    assert got == datetime(2026, 2, 15, 15, 0, 0, 500, tzinfo=UTC)
    assert got.tzinfo is UTC
    ny = pendulum.datetime(2026, 7, 1, 1, 30, tz="America/New_York")  # a pendulum instance
    got = load(db, store(db, at=ny), "at")
    assert type(got) is datetime and got == datetime(2026, 7, 1, 5, 30, tzinfo=UTC)


def test_naive_datetime_refused(db: Database) -> None:
    with pytest.raises(StatementError) as err:
        store(db, at=datetime(2026, 2, 15, 10, 0))
    assert "naive" in str(err.value)


def test_none_round_trips(db: Database) -> None:
    row = store(db, at=None, amount=None)
    assert load(db, row, "at") is None
    assert load(db, row, "amount") is None


def test_utc_datetime_compares_and_orders_in_sql(db: Database) -> None:
    """SQLite stores text: ordering and range filters must still follow the instants."""
    base = datetime(2026, 2, 15, 15, 0, tzinfo=UTC)
    offsets = [timedelta(hours=h, microseconds=m) for h, m in ((5, 0), (0, 999999), (0, 1), (-30, 0), (0, 0))]
    for off in offsets:
        store(db, at=base + off)
    with db.engine.connect() as conn:
        ordered = conn.execute(select(probe.c.at).order_by(probe.c.at)).scalars().all()
        assert ordered == sorted(base + off for off in offsets)
        # boundary: an aware non-UTC bound equal to `base` is inclusive/exclusive as written
        bound = base.astimezone(timezone(timedelta(hours=-5)))
        later = conn.execute(select(probe.c.at).where(probe.c.at >= bound)).scalars().all()
        assert sorted(later) == sorted(base + off for off in offsets if off >= timedelta(0))
        strictly = conn.execute(select(probe.c.at).where(probe.c.at > bound)).scalars().all()
        assert base not in strictly and len(strictly) == len(later) - 1


# ---------------------------------------------------------------- ExactDecimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12.345678"), Decimal("12.345678")),
        (Decimal("8"), Decimal("8.000000")),
        (Decimal("0.1"), Decimal("0.100000")),
        (Decimal("-3.5"), Decimal("-3.500000")),
        (Decimal("12345678901234.123456"), Decimal("12345678901234.123456")),
        (Decimal("1.50000000"), Decimal("1.500000")),  # trailing zeros beyond the scale are exact
        (7, Decimal("7.000000")),
        ("2.25", Decimal("2.250000")),
    ],
)
def test_exact_decimal_round_trips(db: Database, value: object, expected: Decimal) -> None:
    got = load(db, store(db, amount=value), "amount")
    assert type(got) is Decimal
    assert got == expected
    assert str(got) == str(expected)  # same scale on both back ends


def test_exact_decimal_scale_per_column(db: Database) -> None:
    got = load(db, store(db, pct=Decimal("33.3333")), "pct")
    assert str(got) == "33.3333"
    with pytest.raises(StatementError):
        store(db, pct=Decimal("33.33333"))


@pytest.mark.parametrize(
    "value", [Decimal("0.1234567"), Decimal("1e-7"), Decimal("NaN"), Decimal("Infinity"), "abc"]
)
def test_exact_decimal_refuses_excess_places_and_non_numbers(db: Database, value: object) -> None:
    with pytest.raises(StatementError):
        store(db, amount=value)
    with db.engine.connect() as conn:
        assert conn.execute(select(probe.c.id)).all() == []


def test_float_never_needed() -> None:
    """The type never hands out floats, even from a float-typed driver value."""
    t = ExactDecimal(20, 6)
    got = t.process_result_value(0.1, None)  # type: ignore[arg-type]
    assert got == Decimal("0.100000")
