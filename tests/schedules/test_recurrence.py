"""Pure recurrence rules: phrases → RRULE → words, occurrences across DST (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from nodedesk.core import recurrence as rec
from nodedesk.core.errors import ValidationError

NY = "America/New_York"


@pytest.mark.parametrize(
    ("phrase", "rrule", "words"),
    [
        ("3rd Tuesday of every month", "FREQ=MONTHLY;BYDAY=+3TU", "3rd Tuesday of every month"),
        ("third tuesday", "FREQ=MONTHLY;BYDAY=+3TU", "3rd Tuesday of every month"),
        ("first Wednesday", "FREQ=MONTHLY;BYDAY=+1WE", "1st Wednesday of every month"),
        ("last Friday", "FREQ=MONTHLY;BYDAY=-1FR", "last Friday of every month"),
        ("the last Friday of the month", "FREQ=MONTHLY;BYDAY=-1FR", "last Friday of every month"),
        ("second-to-last Thursday", "FREQ=MONTHLY;BYDAY=-2TH", "second-to-last Thursday of every month"),
        ("every Monday", "FREQ=WEEKLY;BYDAY=MO", "every Monday"),
        ("Mondays and Thursdays", "FREQ=WEEKLY;BYDAY=MO,TH", "every Monday and Thursday"),
        ("every 2 weeks on Monday", "FREQ=WEEKLY;BYDAY=MO;INTERVAL=2", "every 2 weeks on Monday"),
        ("every other Tuesday", "FREQ=WEEKLY;BYDAY=TU;INTERVAL=2", "every 2 weeks on Tuesday"),
        ("every day", "FREQ=DAILY", "every day"),
        ("FREQ=MONTHLY;BYDAY=+3TU", "FREQ=MONTHLY;BYDAY=+3TU", "3rd Tuesday of every month"),
        ("RRULE:freq=weekly;byday=fr", "FREQ=WEEKLY;BYDAY=FR", "every Friday"),
    ],
)
def test_phrases_become_rrules_and_back(phrase: str, rrule: str, words: str) -> None:
    assert rec.parse_rule(phrase) == rrule
    assert rec.describe(rrule) == words
    assert rec.parse_rule(words) == rrule  # the words read back as the same rule


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "sometimes",
        "7th Monday",
        "every blursday",
        "FREQ=HOURLY",
        "FREQ=DAILY;COUNT=3",
        "FREQ=WEEKLY;BYHOUR=6",
    ],
)
def test_unknown_rules_are_refused_with_examples(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        rec.parse_rule(bad)
    assert err.value.field == "rule"


def test_unknown_phrase_lists_examples() -> None:
    with pytest.raises(ValidationError, match="3rd Tuesday of every month"):
        rec.parse_rule("whenever it suits")


def dates(pattern: rec.Pattern, n: int) -> list[date]:
    return [o.local_date for o in pattern.next(datetime(2026, 1, 1, tzinfo=UTC), n)]


def test_third_tuesday_and_last_friday_dates() -> None:
    third = rec.Pattern("FREQ=MONTHLY;BYDAY=+3TU", NY, date(2026, 1, 1), "06:00", 720)
    assert dates(third, 4) == [date(2026, 1, 20), date(2026, 2, 17), date(2026, 3, 17), date(2026, 4, 21)]
    last = rec.Pattern("FREQ=MONTHLY;BYDAY=-1FR", NY, date(2026, 1, 1), "06:00", 720)
    assert dates(last, 4) == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27), date(2026, 4, 24)]


def test_until_date_is_inclusive_and_first_date_is_respected() -> None:
    p = rec.Pattern("FREQ=WEEKLY;BYDAY=MO", NY, date(2026, 1, 6), "06:00", 60, date(2026, 1, 26))
    assert dates(p, 10) == [date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26)]


def local_hm(instant: datetime) -> str:
    return instant.astimezone(rec.ZoneInfo(NY)).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("first", "dst_day"), [(date(2026, 3, 1), date(2026, 3, 8)), (date(2026, 10, 25), date(2026, 11, 1))]
)
def test_six_am_stays_six_am_local_across_dst(first: date, dst_day: date) -> None:
    p = rec.Pattern("FREQ=DAILY", NY, first, "06:00", 720)
    occs = p.between(
        datetime.combine(dst_day - timedelta(days=2), datetime.min.time(), UTC),
        datetime.combine(dst_day + timedelta(days=2), datetime.min.time(), UTC),
    )
    around = [o for o in occs if abs((o.local_date - dst_day).days) <= 1]
    assert [local_hm(o.start)[11:] for o in around] == ["06:00"] * 3
    assert [local_hm(o.end)[11:] for o in around] == ["18:00"] * 3
    offsets = {o.local_date: o.start.astimezone(rec.ZoneInfo(NY)).utcoffset() for o in around}
    assert offsets[dst_day - timedelta(days=1)] != offsets[dst_day + timedelta(days=1)]
    assert all(o.end - o.start == timedelta(hours=12) for o in around)


def test_gap_time_shifts_forward_to_the_jump_and_ambiguous_takes_first() -> None:
    spring = rec.Pattern("FREQ=DAILY", NY, date(2026, 3, 8), "02:30", 60).on_date(date(2026, 3, 8))
    assert spring is not None and spring.shifted
    assert spring.start == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT, when clocks jump
    autumn = rec.Pattern("FREQ=DAILY", NY, date(2026, 11, 1), "01:30", 60).on_date(date(2026, 11, 1))
    assert autumn is not None and not autumn.shifted
    assert autumn.start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, the earlier one


def test_wall_clock_duration_across_a_change() -> None:
    """22:00 + 8 h ends at 06:00 local; the night clocks spring forward that is 7 real hours."""
    p = rec.Pattern("FREQ=DAILY", NY, date(2026, 3, 7), "22:00", 480)
    occ = p.on_date(date(2026, 3, 7))
    assert occ is not None
    assert local_hm(occ.end) == "2026-03-08 06:00"
    assert occ.end - occ.start == timedelta(hours=7)


@pytest.mark.parametrize(
    ("text", "minutes"), [("12h", 720), ("90m", 90), ("1h30m", 90), ("2d", 2880), ("12:00", 720)]
)
def test_durations(text: str, minutes: int) -> None:
    assert rec.parse_duration(text) == minutes


@pytest.mark.parametrize("bad", ["", "0h", "soon", "15d", "-3h"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        rec.parse_duration(bad)
    assert err.value.field == "duration"


def test_times_and_end_times() -> None:
    assert rec.parse_start_time("6:00") == "06:00"
    assert rec.duration_from_end("06:00", "18:00") == 720
    assert rec.duration_from_end("22:00", "06:00") == 480
    assert rec.end_time_label("22:00", 480) == "06:00 +1d"
    for bad in ("25:00", "6pm", "06:60"):
        with pytest.raises(ValidationError) as err:
            rec.parse_start_time(bad)
        assert err.value.field == "start_time"
