"""Parsing and formatting instants in the site timezone (pendulum does the calendar work).

Rules (documented in help/overview.md):
- Input without an offset is read in the site timezone; input with an offset or ``Z`` is exact.
- A local time that does not exist (skipped by a DST change, e.g. 02:30 on the spring-forward
  night) is refused with a one-line message naming the field and the gap ("clocks go from 02:00
  straight to 03:00"); it is never shifted silently. An ambiguous local time (the repeated hour
  in autumn) is read as the *first* occurrence (the earlier instant, daylight time). Users who
  need the second one give an explicit offset. The same rules hold wherever a local time is
  read: CLI, app forms, reservation start dates, NODEDESK_NOW (help/times.md).
- Years outside 1900–2999 are refused (nothing nodedesk schedules or bills lies outside them).
- Output is site time with its offset; JSON uses ISO 8601 with offset.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta

import pendulum

from .errors import ValidationError

_INPUT_FORMATS = ("YYYY-MM-DD HH:mm:ss", "YYYY-MM-DD HH:mm", "YYYY-MM-DDTHH:mm:ss", "YYYY-MM-DDTHH:mm")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def first_of_next_month(today: date) -> date:
    """The first day of the month after ``today``'s (the default effective date of a new rate or
    cost split)."""
    nxt = pendulum.date(today.year, today.month, 1).add(months=1)
    return date(nxt.year, nxt.month, 1)


def check_timezone(name: str, field: str = "timezone") -> str:
    try:
        pendulum.timezone(name)
    except Exception as exc:  # pendulum raises InvalidTimezone (a ValueError subclass)
        raise ValidationError(f"unknown IANA timezone {name!r}", field=field) from exc
    if not isinstance(pendulum.timezone(name), pendulum.Timezone):
        raise ValidationError(f"use an IANA name such as America/New_York, not {name!r}", field=field)
    return name


MIN_YEAR, MAX_YEAR = 1900, 2999


def _check_year(value: date, raw: str, field: str) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(f"{raw!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}", field=field)


_Zone = pendulum.Timezone | pendulum.FixedTimezone


def _exists(zone: _Zone, wall: datetime) -> bool:
    return zone.convert(wall, raise_on_unknown_times=False).replace(tzinfo=None) == wall


def _gap_around(zone: _Zone, wall: datetime) -> tuple[datetime, datetime]:
    """The skipped wall-clock span containing ``wall`` (minute steps; gaps are at most hours)."""
    start = wall.replace(second=0, microsecond=0)
    for _ in range(24 * 60):
        if _exists(zone, start - timedelta(minutes=1)):
            break
        start -= timedelta(minutes=1)
    end = start
    for _ in range(24 * 60):
        end += timedelta(minutes=1)
        if _exists(zone, end):
            break
    return start, end


def local_to_utc(naive: datetime, tz: str, field: str = "time") -> datetime:
    """Interpret a naive wall-clock time in ``tz``; refuse times skipped by DST, read a repeated
    (ambiguous) time as its first occurrence."""
    zone = pendulum.timezone(tz)
    wall = naive.replace(tzinfo=None)
    _check_year(wall.date(), f"{wall:%Y-%m-%d %H:%M}", field)
    first = zone.convert(wall, raise_on_unknown_times=False)
    # A skipped local time converts to a different wall-clock time: refuse it, naming the gap.
    if first.replace(tzinfo=None) != wall:
        gap_start, gap_end = _gap_around(zone, wall)
        raise ValidationError(
            f"{wall:%Y-%m-%d %H:%M} does not exist in {tz}: on {gap_start:%Y-%m-%d} clocks go from "
            f"{gap_start:%H:%M} straight to {gap_end:%H:%M} (daylight saving); pick a time outside "
            "the gap or give an explicit offset",
            field=field,
        )
    # Return a plain datetime: pendulum's DateTime with a stdlib tzinfo drops the tzinfo in
    # timedelta arithmetic (``instant - timedelta(...)`` would come back naive).
    utc = first.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, UTC)


def parse_instant(text: str, tz: str, field: str = "time") -> datetime:
    """Parse ``YYYY-MM-DD HH:MM`` (site time) or ISO 8601 with offset; return aware UTC."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("is required (YYYY-MM-DD HH:MM)", field=field)
    if "\x00" in raw or len(raw) > 64:
        raise ValidationError("is not a date and time (use YYYY-MM-DD HH:MM)", field=field)
    if _OFFSET_RE.search(raw):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError as exc:
            raise ValidationError(
                f"{raw!r} is not a valid date and time (use YYYY-MM-DD HH:MM)", field=field
            ) from exc
        _check_year(parsed.date(), raw, field)
        return parsed.astimezone(UTC)
    for fmt in _INPUT_FORMATS:
        try:
            naive = pendulum.from_format(raw, fmt, tz="UTC").naive()
        except ValueError:
            continue
        return local_to_utc(naive, tz, field)
    if _DATE_RE.match(raw):
        return local_to_utc(datetime.combine(parse_date(raw, field), datetime.min.time()), tz, field)
    raise ValidationError(f"{raw!r} is not a valid date and time (use YYYY-MM-DD HH:MM)", field=field)


def parse_date(text: str, field: str = "date") -> date:
    raw = (text or "").strip()
    if not _DATE_RE.match(raw):
        raise ValidationError(f"{raw!r} is not a date (use YYYY-MM-DD)", field=field)
    try:
        value = date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(f"{raw!r} is not a real calendar date", field=field) from exc
    _check_year(value, raw, field)
    return value


def day_or_time(text: str, tz: str, field: str, *, end_of_day: bool) -> datetime:
    """A site day (``YYYY-MM-DD``) or a site time; a bare day given as an end (``--to``, the
    app's "to" fields) includes that whole day."""
    raw = (text or "").strip()
    if end_of_day and len(raw) == 10:
        return start_of_day(parse_date(raw, field) + timedelta(days=1), tz)
    return parse_instant(raw, tz, field=field)


@functools.lru_cache(maxsize=32)
def _zone(tz: str) -> pendulum.Timezone | pendulum.FixedTimezone:
    """A kept reference per zone name: zoneinfo's own cache holds only eight zones strongly,
    and re-reading the zone file cost ~0.7 ms per time shown in a busy list."""
    return pendulum.timezone(tz)


def to_local(instant: datetime, tz: str) -> pendulum.DateTime:
    return pendulum.instance(instant).in_timezone(_zone(tz))


def format_local(instant: datetime, tz: str, seconds: bool = False) -> str:
    """``2026-02-15 08:00 -05:00`` — site time with its offset, for tables and messages."""
    local = to_local(instant, tz)
    fmt = "YYYY-MM-DD HH:mm:ss Z" if seconds else "YYYY-MM-DD HH:mm Z"
    return local.format(fmt)


def format_short(instant: datetime, tz: str) -> str:
    """``2026-02-15 08:00`` — site time without offset, for narrow table cells."""
    return to_local(instant, tz).format("YYYY-MM-DD HH:mm")


def iso_local(instant: datetime, tz: str) -> str:
    """ISO 8601 with offset, for JSON: ``2026-02-15T08:00:00-05:00``."""
    return to_local(instant, tz).isoformat()


def start_of_day(day: date, tz: str) -> datetime:
    """The instant a site-local day begins (midnight always exists in practice; we still check)."""
    return pendulum.datetime(day.year, day.month, day.day, tz=tz).in_timezone("UTC")


def local_day(instant: datetime, tz: str) -> date:
    return to_local(instant, tz).date()


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """``[1st 00:00, next 1st 00:00)`` of a site-local month, as UTC instants."""
    first = pendulum.datetime(year, month, 1, tz=tz)
    nxt = first.add(months=1)
    return first.in_timezone("UTC"), nxt.in_timezone("UTC")


def format_duration(delta: timedelta) -> str:
    """``3d 4h``, ``17h``, ``45m`` — compact elapsed time for tables."""
    minutes = int(delta.total_seconds() // 60)
    days, rem = divmod(minutes, 24 * 60)
    hours, mins = divmod(rem, 60)
    parts = []
    if days:
        parts.append(f"{days}d")
    if hours:
        parts.append(f"{hours}h")
    if mins or not parts:
        parts.append(f"{mins}m")
    return " ".join(parts)


def ensure_aware(value: datetime, field: str = "time") -> datetime:
    if value.tzinfo is None:
        raise ValidationError("must be timezone-aware", field=field)
    return value.astimezone(UTC)
