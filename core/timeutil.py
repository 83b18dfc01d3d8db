"""Parsing and formatting instants in the site timezone (pendulum does the calendar work).

Rules (documented in help/overview.md):
- Input without an offset is read in the site timezone; input with an offset or ``Z`` is exact.
- A local time that does not exist (skipped by a DST change, e.g. 02:30 on the spring-forward
  night) is refused with a message; an ambiguous local time (the repeated hour in autumn) is
  read as the *first* occurrence (the earlier instant, daylight time). Users who need the second
  one give an explicit offset.
- Output is site time with its offset; JSON uses ISO 8601 with offset.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pendulum

from .errors import ValidationError

_INPUT_FORMATS = ("YYYY-MM-DD HH:mm:ss", "YYYY-MM-DD HH:mm", "YYYY-MM-DDTHH:mm:ss", "YYYY-MM-DDTHH:mm")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def check_timezone(name: str, field: str = "timezone") -> str:
    try:
        pendulum.timezone(name)
    except Exception as exc:  # pendulum raises InvalidTimezone (a ValueError subclass)
        raise ValidationError(f"unknown IANA timezone {name!r}", field=field) from exc
    if not isinstance(pendulum.timezone(name), pendulum.Timezone):
        raise ValidationError(f"use an IANA name such as America/New_York, not {name!r}", field=field)
    return name


def local_to_utc(naive: datetime, tz: str, field: str = "time") -> datetime:
    """Interpret a naive wall-clock time in ``tz``; refuse times skipped by DST."""
    zone = pendulum.timezone(tz)
    first = zone.convert(naive.replace(tzinfo=None), raise_on_unknown_times=False)
    # A skipped local time converts to a different wall-clock time: refuse it.
    if first.replace(tzinfo=None) != naive.replace(tzinfo=None):
        raise ValidationError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz} (clocks skip it for daylight saving)",
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
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(f"{raw!r} is not a real calendar date", field=field) from exc


def to_local(instant: datetime, tz: str) -> pendulum.DateTime:
    return pendulum.instance(instant).in_timezone(tz)


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
