"""The centre's reservation policy as pure functions (no database): spans, hours, booking rules.

DESIGN §7, every value a site setting (defaults in brackets):
- a reservation starts at ``reservation_start_time`` [16:00] site time on its start date;
- it lasts ``blocks`` × ``reservation_block_hours`` [12 h] of *wall clock* (1 to
  ``reservation_max_blocks`` [14] blocks);
- an end later than ``reservation_end_cap_time`` [09:00] on its day is cut back to that time of
  the same day. With the defaults odd block counts end at 04:00 and even ones at 09:00: 2 blocks
  are 16:00 → next day 09:00, 17 h of wall clock;
- billable hours are the *elapsed real time* between the two instants, so a night with a DST
  change is one hour shorter or longer (16 h or 18 h for 2 blocks);
- a request must start at least ``reservation_lead_days`` [7] days after today (site dates) and at
  most ``reservation_horizon_days`` [105] days ahead. A rental manager may waive these two rules
  when recording a reservation; the block range and the no-overlap rule are never waivable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from ... import timeutil
from ...errors import ValidationError
from ...site import SiteSettings

SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True)
class ReservationPolicy:
    tz: str
    start_time: time = time(16, 0)
    block_hours: int = 12
    max_blocks: int = 14
    end_cap_time: time = time(9, 0)
    lead_days: int = 7
    horizon_days: int = 105

    @classmethod
    def from_site(cls, site: SiteSettings) -> ReservationPolicy:
        return cls(
            tz=site.site_timezone,
            start_time=site.start_time,
            block_hours=site.reservation_block_hours,
            max_blocks=site.reservation_max_blocks,
            end_cap_time=site.end_cap_time,
            lead_days=site.reservation_lead_days,
            horizon_days=site.reservation_horizon_days,
        )


@dataclass(frozen=True)
class Span:
    """A reservation's instants (aware UTC) and the wall-clock times they show in the site zone."""

    start: datetime
    end: datetime
    local_start: datetime  # naive site wall clock
    local_end: datetime
    capped: bool  # the end was cut back to the cap time

    @property
    def hours(self) -> Decimal:
        return elapsed_hours(self.start, self.end)


def elapsed_hours(start: datetime, end: datetime) -> Decimal:
    """Exact elapsed real time between two aware instants, in hours."""
    delta = end - start
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Decimal(micros) / (SECONDS_PER_HOUR * 1_000_000)


def check_blocks(policy: ReservationPolicy, blocks: int) -> int:
    if isinstance(blocks, bool) or not isinstance(blocks, int):
        raise ValidationError("must be a whole number of blocks", field="blocks")
    if not 1 <= blocks <= policy.max_blocks:
        raise ValidationError(
            f"must be between 1 and {policy.max_blocks} blocks of {policy.block_hours} h (got {blocks})",
            field="blocks",
        )
    return blocks


def wall_clock_end(
    policy: ReservationPolicy, start_date: date, blocks: int
) -> tuple[datetime, datetime, bool]:
    """(local start, local end, capped) as naive wall-clock datetimes in the site zone."""
    check_blocks(policy, blocks)
    local_start = datetime.combine(start_date, policy.start_time)
    raw_end = local_start + timedelta(hours=blocks * policy.block_hours)
    cap = datetime.combine(raw_end.date(), policy.end_cap_time)
    capped = raw_end > cap
    local_end = cap if capped else raw_end
    if local_end <= local_start:
        raise ValidationError(
            f"the end cap {policy.end_cap_time:%H:%M} leaves nothing of a {blocks}-block reservation "
            f"starting {local_start:%Y-%m-%d %H:%M}",
            field="blocks",
        )
    return local_start, local_end, capped


def reservation_span(policy: ReservationPolicy, start_date: date, blocks: int) -> Span:
    """Start and end instants of a reservation of ``blocks`` blocks starting on ``start_date``."""
    local_start, local_end, capped = wall_clock_end(policy, start_date, blocks)
    start = timeutil.local_to_utc(local_start, policy.tz, field="start_date")
    end = timeutil.local_to_utc(local_end, policy.tz, field="blocks")
    return Span(start, end, local_start, local_end, capped)


def blocks_until(policy: ReservationPolicy, start_date: date, end: datetime) -> int:
    """The most blocks a reservation starting on ``start_date`` may have and still end by
    ``end`` (an aware instant): a span of days chosen on the timeline becomes a booking that
    stays inside it. At least 1 (a span shorter than one block asks for one), at most
    ``max_blocks``."""
    best = 1
    for blocks in range(1, policy.max_blocks + 1):
        try:
            span = reservation_span(policy, start_date, blocks)
        except ValidationError:
            continue  # an end cap leaving nothing of this count; a longer one may still fit
        if span.end <= end:
            best = blocks
    return best


@dataclass(frozen=True)
class PolicyViolation:
    rule: str  # "lead_time" | "horizon"
    message: str


def booking_violations(policy: ReservationPolicy, start_date: date, today: date) -> list[PolicyViolation]:
    """The waivable booking rules a request on ``today`` (site date) for ``start_date`` breaks."""
    problems = []
    earliest = today + timedelta(days=policy.lead_days)
    latest = today + timedelta(days=policy.horizon_days)
    if start_date < earliest:
        problems.append(
            PolicyViolation(
                "lead_time",
                f"starts {start_date.isoformat()}, but requests need {policy.lead_days} days' notice "
                f"(earliest start date today is {earliest.isoformat()})",
            )
        )
    if start_date > latest:
        problems.append(
            PolicyViolation(
                "horizon",
                f"starts {start_date.isoformat()}, more than {policy.horizon_days} days ahead "
                f"(latest start date today is {latest.isoformat()})",
            )
        )
    return problems
