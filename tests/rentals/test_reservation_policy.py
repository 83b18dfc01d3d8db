"""The reservation policy as pure functions: start, blocks, the 09:00 cap, elapsed hours, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.rentals.reservation_policy import (
    ReservationPolicy,
    booking_violations,
    reservation_span,
)
from nodedesk.core.site import SiteSettings

NY = "America/New_York"
POLICY = ReservationPolicy.from_site(SiteSettings(site_timezone=NY))

# blocks → (local end, elapsed hours) for a reservation starting 2026-02-16 16:00 (no DST change).
TABLE = {
    1: ("2026-02-17 04:00", 12),
    2: ("2026-02-17 09:00", 17),
    3: ("2026-02-18 04:00", 36),
    4: ("2026-02-18 09:00", 41),
    5: ("2026-02-19 04:00", 60),
    6: ("2026-02-19 09:00", 65),
    7: ("2026-02-20 04:00", 84),
    8: ("2026-02-20 09:00", 89),
    9: ("2026-02-21 04:00", 108),
    10: ("2026-02-21 09:00", 113),
    11: ("2026-02-22 04:00", 132),
    12: ("2026-02-22 09:00", 137),
    13: ("2026-02-23 04:00", 156),
    14: ("2026-02-23 09:00", 161),
}


def test_defaults_come_from_site_settings() -> None:
    assert ReservationPolicy(NY, time(16), 12, 14, time(9), 7, 105) == POLICY


@pytest.mark.parametrize("blocks", sorted(TABLE))
def test_block_table(blocks: int) -> None:
    end_text, hours = TABLE[blocks]
    span = reservation_span(POLICY, date(2026, 2, 16), blocks)
    assert span.local_start == datetime(2026, 2, 16, 16, 0)
    assert span.start == datetime(2026, 2, 16, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert span.local_end == datetime.fromisoformat(end_text)
    assert span.capped == (blocks % 2 == 0)
    assert span.hours == Decimal(hours)
    # Odd counts end at 04:00, even counts at 09:00.
    assert span.local_end.time() == (time(4) if blocks % 2 else time(9))


def test_design_reference_spans() -> None:
    """help/billing-rules.md: Feb 14 16:00 → Feb 16 09:00 is 41 h; Feb 14 → Feb 20 (12 blocks) is 137 h."""
    assert reservation_span(POLICY, date(2026, 2, 14), 4).hours == 41
    assert reservation_span(POLICY, date(2026, 2, 14), 12).hours == 137
    assert reservation_span(POLICY, date(2026, 1, 30), 6).hours == 65


def test_autumn_dst_night_is_18_hours() -> None:
    span = reservation_span(POLICY, date(2026, 10, 31), 2)
    assert span.local_end == datetime(2026, 11, 1, 9, 0)
    assert span.start == datetime(2026, 10, 31, 20, 0, tzinfo=UTC)  # 16:00 EDT
    assert span.end == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert span.hours == Decimal(18)


def test_spring_dst_night_is_16_hours() -> None:
    span = reservation_span(POLICY, date(2026, 3, 7), 2)
    assert span.local_end == datetime(2026, 3, 8, 9, 0)
    assert span.start == datetime(2026, 3, 7, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert span.end == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # 09:00 EDT
    assert span.hours == Decimal(16)


def test_one_block_over_dst_nights_is_wall_clock_04_00() -> None:
    assert reservation_span(POLICY, date(2026, 10, 31), 1).hours == 13
    assert reservation_span(POLICY, date(2026, 3, 7), 1).hours == 11


@pytest.mark.parametrize("blocks", [0, -1, 15, 100])
def test_block_count_out_of_range(blocks: int) -> None:
    with pytest.raises(ValidationError) as err:
        reservation_span(POLICY, date(2026, 2, 16), blocks)
    assert err.value.field == "blocks"
    assert "between 1 and 14" in str(err.value)


def test_other_settings_are_honoured() -> None:
    custom = ReservationPolicy("Europe/Berlin", time(18), 6, 4, time(8), 2, 30)
    span = reservation_span(custom, date(2026, 6, 1), 3)  # 18:00 + 18 h = 12:00 > 08:00 → 08:00
    assert span.local_end == datetime(2026, 6, 2, 8, 0)
    assert span.hours == 14
    with pytest.raises(ValidationError):
        reservation_span(custom, date(2026, 6, 1), 5)


def test_lead_time_and_horizon() -> None:
    today = date(2026, 2, 15)
    assert booking_violations(POLICY, date(2026, 2, 22), today) == []  # exactly 7 days ahead
    assert booking_violations(POLICY, date(2026, 5, 31), today) == []  # exactly 105 days ahead
    [lead] = booking_violations(POLICY, date(2026, 2, 21), today)
    assert lead.rule == "lead_time" and "2026-02-22" in lead.message
    [horizon] = booking_violations(POLICY, date(2026, 6, 1), today)
    assert horizon.rule == "horizon" and "2026-05-31" in horizon.message
    assert [v.rule for v in booking_violations(POLICY, date(2026, 2, 1), today)] == ["lead_time"]


def test_blocks_until_keeps_the_booking_inside_a_span_of_days() -> None:
    """A span of days chosen on the timeline (Mon 16 Feb through Wed 18 Feb: up to Thu 00:00)
    gives the longest booking from Mon 16:00 that ends inside it: 4 blocks, Wed 09:00."""
    from nodedesk.core.services.rentals.reservation_policy import blocks_until
    from nodedesk.core.timeutil import local_to_utc, start_of_day

    start = date(2026, 2, 16)
    assert blocks_until(POLICY, start, start_of_day(date(2026, 2, 19), NY)) == 4
    assert reservation_span(POLICY, start, 4).local_end == datetime(2026, 2, 18, 9, 0)
    # every end instant of the table: exactly that many blocks fit
    for blocks, (end, _hours) in TABLE.items():
        at = local_to_utc(datetime.fromisoformat(end), NY)
        assert blocks_until(POLICY, start, at) == blocks
        assert blocks_until(POLICY, start, at - timedelta(seconds=1)) == max(blocks - 1, 1)
    # shorter than one block: one block; longer than the most: the most
    assert blocks_until(POLICY, start, start_of_day(start, NY)) == 1
    assert blocks_until(POLICY, start, start_of_day(date(2026, 3, 30), NY)) == POLICY.max_blocks
