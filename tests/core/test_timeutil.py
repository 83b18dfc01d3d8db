"""Parsing and formatting instants in the site timezone (help/times.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from nodedesk.core import timeutil
from nodedesk.core.clock import FrozenClock, SystemClock, clock_from_env
from nodedesk.core.errors import ValidationError

NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-15 08:00", utc(2026, 2, 15, 13, 0)),  # EST, -05:00
        ("2026-07-15 08:00", utc(2026, 7, 15, 12, 0)),  # EDT, -04:00
        ("2026-02-15T08:00", utc(2026, 2, 15, 13, 0)),
        ("2026-02-15 08:00:30", utc(2026, 2, 15, 13, 0, 30)),
        ("  2026-02-15 08:00  ", utc(2026, 2, 15, 13, 0)),
        ("2026-02-15", utc(2026, 2, 15, 5, 0)),  # a bare date is local midnight
        ("2026-03-08 01:59", utc(2026, 3, 8, 6, 59)),  # last minute before spring forward
        ("2026-03-08 03:00", utc(2026, 3, 8, 7, 0)),  # first minute after it
    ],
)
def test_local_input_is_site_time(text: str, expected: datetime) -> None:
    got = timeutil.parse_instant(text, NY)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-15T08:00:00+01:00", utc(2026, 2, 15, 7, 0)),
        ("2026-02-15 13:00Z", utc(2026, 2, 15, 13, 0)),
        ("2026-02-15T13:00:00Z", utc(2026, 2, 15, 13, 0)),
        ("2026-02-15 08:00 -05:00", utc(2026, 2, 15, 13, 0)),  # what format_local prints
        ("2026-11-01T01:30:00-05:00", utc(2026, 11, 1, 6, 30)),  # the second 01:30, by offset
        ("2026-02-15T08:00:00.123456-05:00", utc(2026, 2, 15, 13, 0, 0, 123456)),
    ],
)
def test_input_with_offset_is_exact(text: str, expected: datetime) -> None:
    got = timeutil.parse_instant(text, NY)
    assert got == expected
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_offset_input_ignores_site_timezone() -> None:
    text = "2026-02-15T08:00:00+09:00"
    assert timeutil.parse_instant(text, NY) == timeutil.parse_instant(text, "Asia/Tokyo")


def test_dst_gap_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        timeutil.parse_instant("2026-03-08 02:30", NY, field="start")
    assert err.value.field == "start"
    assert str(err.value).startswith("start: ")
    assert "does not exist" in str(err.value)
    assert "\n" not in str(err.value)


def test_ambiguous_time_is_first_occurrence() -> None:
    got = timeutil.parse_instant("2026-11-01 01:30", NY)
    assert got == utc(2026, 11, 1, 5, 30)
    assert timeutil.iso_local(got, NY) == "2026-11-01T01:30:00-04:00"
    # the second occurrence is one hour later and reachable with an explicit offset
    second = timeutil.parse_instant("2026-11-01 01:30 -05:00", NY)
    assert second - got == timedelta(hours=1)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30 10:00",
        "2026-02-30",
        "2026-13-01 10:00",
        "2026-02-15 24:00",
        "2026-02-15 10:61",
        "tomorrow",
        "15/02/2026 10:00",
        "2026-02-15T10:00:00+25:00",
        "",
        "   ",
        "2026-02-15 10:00\x00",
        "2" * 100,
    ],
)
def test_impossible_or_malformed_input_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as err:
        timeutil.parse_instant(text, NY, field="end")
    assert err.value.field == "end"
    assert "\n" not in str(err.value)


def test_parse_date() -> None:
    assert timeutil.parse_date("2026-02-28") == date(2026, 2, 28)
    for bad in ("2026-02-30", "2026-2-3", "20260215", "x"):
        with pytest.raises(ValidationError) as err:
            timeutil.parse_date(bad, field="from")
        assert err.value.field == "from"


def test_local_to_utc_refuses_gap_and_accepts_aware_or_naive() -> None:
    with pytest.raises(ValidationError):
        timeutil.local_to_utc(datetime(2026, 3, 8, 2, 0), NY)
    assert timeutil.local_to_utc(datetime(2026, 3, 8, 1, 0), NY) == utc(2026, 3, 8, 6, 0)


def test_check_timezone() -> None:
    assert timeutil.check_timezone("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(ValidationError) as err:
        timeutil.check_timezone("Mars/Olympus", field="timezone")
    assert err.value.field == "timezone"


def test_ensure_aware() -> None:
    with pytest.raises(ValidationError) as err:
        timeutil.ensure_aware(datetime(2026, 1, 1), field="start")
    assert err.value.field == "start"
    plus2 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert timeutil.ensure_aware(plus2) == utc(2026, 1, 1, 10, 0)
    assert timeutil.ensure_aware(plus2).utcoffset() == timedelta(0)


# ---------------------------------------------------------------- months and days


@pytest.mark.parametrize(
    ("year", "month", "start", "end", "hours"),
    [
        (2026, 2, utc(2026, 2, 1, 5), utc(2026, 3, 1, 5), 28 * 24),
        (2026, 3, utc(2026, 3, 1, 5), utc(2026, 4, 1, 4), 31 * 24 - 1),  # spring forward
        (2026, 11, utc(2026, 11, 1, 4), utc(2026, 12, 1, 5), 30 * 24 + 1),  # fall back
        (2026, 12, utc(2026, 12, 1, 5), utc(2027, 1, 1, 5), 31 * 24),  # year rollover
    ],
)
def test_month_bounds_across_dst(year: int, month: int, start: datetime, end: datetime, hours: int) -> None:
    lo, hi = timeutil.month_bounds(year, month, NY)
    assert (lo, hi) == (start, end)
    assert hi - lo == timedelta(hours=hours)


def test_month_bounds_consecutive_months_tile() -> None:
    _, end_feb = timeutil.month_bounds(2026, 2, NY)
    start_mar, _ = timeutil.month_bounds(2026, 3, NY)
    assert end_feb == start_mar


def test_start_of_day_and_local_day() -> None:
    assert timeutil.start_of_day(date(2026, 3, 8), NY) == utc(2026, 3, 8, 5)
    assert timeutil.start_of_day(date(2026, 3, 9), NY) == utc(2026, 3, 9, 4)
    # 03:00 UTC on Feb 16 is still Feb 15 in New York
    assert timeutil.local_day(utc(2026, 2, 16, 3), NY) == date(2026, 2, 15)


# ---------------------------------------------------------------- formatting


def test_format_local_shows_site_time_with_offset() -> None:
    winter = utc(2026, 2, 15, 13, 0)
    summer = utc(2026, 7, 15, 12, 0)
    assert timeutil.format_local(winter, NY) == "2026-02-15 08:00 -05:00"
    assert timeutil.format_local(summer, NY) == "2026-07-15 08:00 -04:00"
    assert timeutil.format_local(utc(2026, 2, 15, 13, 0, 7), NY, seconds=True) == "2026-02-15 08:00:07 -05:00"
    assert timeutil.format_short(winter, NY) == "2026-02-15 08:00"
    assert timeutil.format_local(winter, "UTC") == "2026-02-15 13:00 +00:00"


def test_both_occurrences_of_an_ambiguous_hour_format_distinctly() -> None:
    first = utc(2026, 11, 1, 5, 30)
    second = utc(2026, 11, 1, 6, 30)
    assert timeutil.format_local(first, NY) == "2026-11-01 01:30 -04:00"
    assert timeutil.format_local(second, NY) == "2026-11-01 01:30 -05:00"


def test_iso_local_is_iso8601_with_offset_and_round_trips() -> None:
    instant = utc(2026, 2, 15, 13, 0)
    text = timeutil.iso_local(instant, NY)
    assert text == "2026-02-15T08:00:00-05:00"
    assert datetime.fromisoformat(text) == instant
    assert timeutil.parse_instant(text, NY) == instant
    # and what format_local prints can be typed back in
    assert timeutil.parse_instant(timeutil.format_local(instant, NY), NY) == instant


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(hours=17), "17h"),
        (timedelta(days=3, hours=4), "3d 4h"),
        (timedelta(days=1, minutes=5), "1d 5m"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert timeutil.format_duration(delta) == text


# ---------------------------------------------------------------- the clock


def test_clock_from_env() -> None:
    assert isinstance(clock_from_env(NY, {}), SystemClock)
    assert clock_from_env(NY, {}).frozen is False
    frozen = clock_from_env(NY, {"NODEDESK_NOW": "2026-02-15 10:00"})
    assert frozen.frozen is True
    assert frozen.now() == utc(2026, 2, 15, 15, 0)
    with pytest.raises(ValidationError) as err:
        clock_from_env(NY, {"NODEDESK_NOW": "2026-03-08 02:30"})
    assert err.value.field == "NODEDESK_NOW"


def test_frozen_clock_refuses_naive_and_normalizes_to_utc() -> None:
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))
    c = FrozenClock(datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5))))
    assert c.now() == utc(2026, 1, 1, 17) and c.now().tzinfo is UTC
    c.set(utc(2026, 1, 2))
    assert c.now() == utc(2026, 1, 2)


@pytest.mark.parametrize(
    "text", ["2026-02-15 08:00", "2026-02-15", "2026-02-15T08:00:00-05:00", "2026-11-01 01:30"]
)
def test_parsed_instants_stay_aware_in_arithmetic(text: str) -> None:
    """Regression: local input came back as a pendulum DateTime whose timedelta arithmetic
    returned *naive* datetimes (then comparing with aware instants raised TypeError)."""
    got = timeutil.parse_instant(text, NY)
    for moved in (got - timedelta(microseconds=1), got + timedelta(hours=2), got - timedelta(days=1)):
        assert moved.tzinfo is not None and moved.utcoffset() == timedelta(0)
        assert moved != got
