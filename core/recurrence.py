"""Recurrence rules for maintenance schedules (pure: no database).

A schedule says *which local dates* (an RFC 5545 RRULE, e.g. ``FREQ=MONTHLY;BYDAY=+3TU``), *at
what local wall-clock time* ("06:00") and *for how long* (minutes of wall-clock time). Rules are
evaluated with ``dateutil.rrule`` on naive local dates in the schedule's IANA timezone, and only
then is each local start converted to UTC, so a 06:00 window stays 06:00 local on both sides of
a daylight-saving change.

Decisions (documented in help/schedules.md):
- The duration is **wall-clock** time: the end is local start + duration on the local clock,
  converted on its own. A 22:00 + 8 h window ends at 06:00 local on the night clocks change too,
  so it lasts 7 or 9 real hours that night (renters are credited the real elapsed time).
- A local time skipped by a DST change (02:30 on the spring-forward night) is shifted forward
  to the first valid instant (03:00 local, the moment clocks jump).
- An ambiguous local time (01:30 on the fall-back night) is the first, earlier instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from .errors import ValidationError

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_WORDS = {
    **{n.lower(): code for n, code in zip(WEEKDAY_NAMES, WEEKDAYS, strict=True)},
    **{n.lower()[:3]: code for n, code in zip(WEEKDAY_NAMES, WEEKDAYS, strict=True)},
    "tues": "TU",
    "weds": "WE",
    "thur": "TH",
    "thurs": "TH",
}
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": -1,
    "second-to-last": -2,
    "second to last": -2,
    "second-last": -2,
    "second last": -2,
    "penultimate": -2,
}
_ORDINAL_WORDS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", -1: "last", -2: "second-to-last"}
_NUMBER_WORDS = {"other": 2, "two": 2, "three": 3, "four": 4, "second": 2}

EXAMPLES = (
    '"3rd Tuesday of every month"',
    '"first Wednesday"',
    '"last Friday"',
    '"second-to-last Thursday"',
    '"every Monday"',
    '"every 2 weeks on Monday"',
    '"every day"',
    '"FREQ=MONTHLY;BYDAY=+3TU"',
)
_EXAMPLES_TEXT = ", ".join(EXAMPLES)

_RAW_KEYS = {
    "FREQ",
    "INTERVAL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "BYWEEKNO",
    "BYYEARDAY",
    "WKST",
}
_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_MAX_DURATION_MINUTES = 14 * 24 * 60


def _unknown(text: str) -> ValidationError:
    return ValidationError(f"cannot read {text!r} as a rule; try one of {_EXAMPLES_TEXT}", field="rule")


def _day(word: str) -> str | None:
    w = word.lower().rstrip(",")
    if w.endswith("s") and w[:-1] in _DAY_WORDS:
        w = w[:-1]
    return _DAY_WORDS.get(w)


def _days(text: str) -> list[str] | None:
    """``"monday"``, ``"mondays and thursdays"``, ``"mon, wed, fri"`` → codes (None if not days)."""
    words = [w for w in re.split(r"[\s,/]+|\band\b|&", text) if w]
    if not words:
        return None
    codes = []
    for w in words:
        code = _day(w)
        if code is None:
            return None
        codes.append(code)
    return sorted(dict.fromkeys(codes), key=WEEKDAYS.index)


def parse_rule(text: str) -> str:
    """An admin's phrase (or a raw RRULE) → canonical RRULE text without DTSTART."""
    raw = " ".join((text or "").split())
    if not raw:
        raise ValidationError(f"is required; try one of {_EXAMPLES_TEXT}", field="rule")
    if len(raw) > 200:
        raise ValidationError("must be at most 200 characters", field="rule")
    upper = raw.upper()
    if upper.startswith("RRULE:"):
        return _check_raw(raw[6:])
    if upper.startswith("FREQ=") or ";FREQ=" in upper:
        return _check_raw(raw)
    phrase = raw.lower().rstrip(".")
    if phrase in ("every day", "daily", "each day"):
        return "FREQ=DAILY"
    if phrase in ("every weekday", "weekdays", "every working day"):
        return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    # "every N days"
    m = re.fullmatch(r"every (\d+|other|two|three|four) days", phrase)
    if m:
        n = _interval(m.group(1))
        return "FREQ=DAILY" if n == 1 else f"FREQ=DAILY;INTERVAL={n}"
    # "every 2 weeks on monday", "every other week on tuesday", "every 2 weeks on mon and thu"
    m = re.fullmatch(r"every (\d+|other|two|three|four) weeks? on (.+)", phrase) or re.fullmatch(
        r"every (other|second) (.+)", phrase
    )
    if m:
        n = _interval(m.group(1))
        days = _days(m.group(2))
        if days:
            base = f"FREQ=WEEKLY;BYDAY={','.join(days)}"
            return base if n == 1 else f"{base};INTERVAL={n}"
    # "every monday", "weekly on monday", "mondays", "every monday and thursday"
    m = re.fullmatch(r"(?:every|each|weekly on|every week on) (.+)", phrase)
    days = _days(m.group(1)) if m else _days(phrase)
    if days:
        return f"FREQ=WEEKLY;BYDAY={','.join(days)}"
    # "3rd tuesday of every month", "first wednesday", "last friday of the month",
    # "the second-to-last thursday of each month", "3rd tuesday monthly"
    m = re.fullmatch(
        r"(?:the |on the |every )?(first|1st|second-to-last|second to last|second-last|second last|"
        r"penultimate|second|2nd|third|3rd|fourth|4th|fifth|5th|last) (\w+?)"
        r"(?: (?:of|in) (?:every|each|the) month| (?:every|each) month| monthly| of the month)?",
        phrase,
    )
    if m:
        day = _day(m.group(2))
        if day:
            n = _ORDINALS[m.group(1)]
            return f"FREQ=MONTHLY;BYDAY={n:+d}{day}"
    raise _unknown(raw)


def _interval(word: str) -> int:
    n = _NUMBER_WORDS.get(word) or int(word)
    if n < 1 or n > 52:
        raise ValidationError("the interval must be between 1 and 52", field="rule")
    return n


def _check_raw(text: str) -> str:
    """Validate a raw RRULE (without DTSTART/UNTIL/COUNT) and return it in a canonical order."""
    parts: dict[str, str] = {}
    for piece in text.strip().strip(";").split(";"):
        if "=" not in piece:
            raise _unknown(text)
        key, _, value = piece.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if key in ("UNTIL", "COUNT"):
            raise ValidationError(
                f"{key} is not allowed in the rule; give the last date with --until", field="rule"
            )
        if key in ("DTSTART", "BYHOUR", "BYMINUTE", "BYSECOND"):
            raise ValidationError(
                f"{key} is not allowed in the rule; the start time is given separately", field="rule"
            )
        if key not in _RAW_KEYS:
            raise ValidationError(f"unknown RRULE part {key!r}", field="rule")
        parts[key] = value
    if parts.get("FREQ") not in _FREQS:
        raise ValidationError(f"FREQ must be one of {', '.join(_FREQS)}", field="rule")
    order = [
        "FREQ",
        "INTERVAL",
        "BYMONTH",
        "BYWEEKNO",
        "BYYEARDAY",
        "BYMONTHDAY",
        "BYDAY",
        "BYSETPOS",
        "WKST",
    ]
    canonical = ";".join(f"{k}={parts[k]}" for k in order if k in parts)
    try:
        rule = du.rrulestr(canonical, dtstart=datetime(2026, 1, 1))
        if rule.after(datetime(2026, 1, 1), inc=True) is None:
            raise ValidationError("the rule never gives a date", field="rule")
    except ValidationError:
        raise
    except Exception as exc:  # dateutil raises ValueError/TypeError for malformed parts
        raise ValidationError(f"not a valid RRULE ({exc})", field="rule") from exc
    return canonical


def _fields(rrule: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in rrule.split(";") if "=" in p)


def describe(rrule: str) -> str:
    """RRULE → words: ``FREQ=MONTHLY;BYDAY=+3TU`` → "3rd Tuesday of every month"."""
    f = _fields(rrule)
    freq = f.get("FREQ", "")
    interval = int(f.get("INTERVAL", "1") or 1)
    simple = set(f) <= {"FREQ", "INTERVAL", "BYDAY"}
    days = f.get("BYDAY", "")
    if simple and freq == "DAILY":
        return "every day" if interval == 1 else f"every {interval} days"
    if simple and freq == "WEEKLY" and days:
        codes = days.split(",")
        if all(code in WEEKDAYS for code in codes):
            if days == "MO,TU,WE,TH,FR" and interval == 1:
                return "every weekday"
            listed = _join([WEEKDAY_NAMES[WEEKDAYS.index(code)] for code in codes])
            return f"every {listed}" if interval == 1 else f"every {interval} weeks on {listed}"
    if simple and freq == "MONTHLY" and days and "," not in days:
        m = re.fullmatch(r"([+-]?\d)(MO|TU|WE|TH|FR|SA|SU)", days)
        if m and int(m.group(1)) in _ORDINAL_WORDS:
            every = "every month" if interval == 1 else f"every {interval} months"
            return f"{_ORDINAL_WORDS[int(m.group(1))]} {WEEKDAY_NAMES[WEEKDAYS.index(m.group(2))]} of {every}"
    return f"RRULE {rrule}"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------- times and durations


def parse_start_time(text: str, field: str = "start_time") -> str:
    """``"06:00"`` / ``"6:00"`` / ``"0600"`` → canonical ``"HH:MM"``."""
    raw = (text or "").strip()
    m = re.fullmatch(r"(\d{1,2}):?(\d{2})", raw)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValidationError(f"{raw!r} is not a time of day (use HH:MM, e.g. 06:00)", field=field)
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def parse_duration(text: str, field: str = "duration") -> int:
    """``"12h"``, ``"90m"``, ``"1h30m"``, ``"2d"``, ``"12:00"`` → minutes (1 min … 14 days)."""
    raw = (text or "").strip().lower().replace(" ", "")
    minutes: int | None = None
    m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?", raw)
    if raw and m and any(m.groups()):
        d, h, mi = (int(g or 0) for g in m.groups())
        minutes = d * 1440 + h * 60 + mi
    elif m2 := re.fullmatch(r"(\d+):(\d{2})", raw):
        minutes = int(m2.group(1)) * 60 + int(m2.group(2))
    if minutes is None:
        raise ValidationError(f"{text!r} is not a duration (use e.g. 12h, 90m, 1h30m)", field=field)
    if minutes < 1 or minutes > _MAX_DURATION_MINUTES:
        raise ValidationError("must be between 1 minute and 14 days", field=field)
    return minutes


def duration_from_end(start_time: str, end_time: str, field: str = "end_time") -> int:
    """Minutes from a local start time to a local end time; an end at or before the start is
    on the next day (``22:00``–``06:00`` = 8 h of wall clock)."""
    s = time.fromisoformat(parse_start_time(start_time))
    e = time.fromisoformat(parse_start_time(end_time, field))
    minutes = (e.hour * 60 + e.minute) - (s.hour * 60 + s.minute)
    return minutes if minutes > 0 else minutes + 1440


def format_duration(minutes: int) -> str:
    d, rem = divmod(minutes, 1440)
    h, m = divmod(rem, 60)
    parts = [f"{d}d" if d else "", f"{h}h" if h else "", f"{m}m" if m else ""]
    return "".join(parts) or "0m"


def end_time_label(start_time: str, minutes: int) -> str:
    """``06:00`` + 720 → ``18:00``; a later day is marked (``06:00 +1d``)."""
    s = time.fromisoformat(start_time)
    total = s.hour * 60 + s.minute + minutes
    days, rem = divmod(total, 1440)
    label = f"{rem // 60:02d}:{rem % 60:02d}"
    return label + (f" +{days}d" if days else "")


# ---------------------------------------------------------------- local → UTC


def _offset_at(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def wall_to_utc(naive: datetime, tz: str) -> datetime:
    """A local wall-clock time → aware UTC. Ambiguous: the first (earlier) instant. Skipped by
    a DST gap: the first valid instant after the gap (the moment clocks jump)."""
    zone = ZoneInfo(tz)
    early = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    first = min(early, late)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # exists (the earlier of the two if ambiguous)
    # In a gap: the transition lies between the two readings; find it to the second.
    lo, hi = min(early, late), max(early, late)
    after = _offset_at(zone, hi)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if _offset_at(zone, mid) == after:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: its local date, the UTC instants, and whether a DST rule shifted it."""

    local_date: date
    start: datetime  # aware UTC
    end: datetime
    shifted: bool = False  # the start time did not exist that day (moved to the gap's end)


@dataclass(frozen=True)
class Pattern:
    rrule: str
    timezone: str
    first_date: date
    start_time: str  # "HH:MM"
    duration_minutes: int
    until_date: date | None = None

    def _rule(self) -> du.rrule:
        start = datetime.combine(self.first_date, time.fromisoformat(self.start_time))
        until = datetime.combine(self.until_date, time(23, 59, 59)) if self.until_date else None
        rule = du.rrulestr(self.rrule, dtstart=start)
        if not isinstance(rule, du.rrule):  # dateutil gives a set only for several lines or RDATEs
            raise ValueError(f"not a single RRULE: {self.rrule!r}")
        return rule.replace(until=until) if until else rule

    def occurrence_on(self, naive_start: datetime) -> Occurrence:
        start = wall_to_utc(naive_start, self.timezone)
        end = wall_to_utc(naive_start + timedelta(minutes=self.duration_minutes), self.timezone)
        if end <= start:  # cannot happen with first-instant readings; keep the invariant anyway
            end = start + timedelta(minutes=self.duration_minutes)
        back = start.astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)
        return Occurrence(naive_start.date(), start, end, shifted=back != naive_start)

    def between(self, after: datetime, before: datetime, *, limit: int = 10_000) -> list[Occurrence]:
        """Occurrences whose UTC start is in ``(after, before)``."""
        zone = ZoneInfo(self.timezone)
        lo = (after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)).replace(microsecond=0)
        hi = before.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
        out: list[Occurrence] = []
        for naive in self._rule().xafter(lo, inc=True):
            if naive > hi or len(out) >= limit:
                break
            occ = self.occurrence_on(naive)
            if after < occ.start < before:
                out.append(occ)
        return out

    def next(self, after: datetime, count: int) -> list[Occurrence]:
        """The next ``count`` occurrences starting after ``after``."""
        zone = ZoneInfo(self.timezone)
        lo = after.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
        out: list[Occurrence] = []
        for naive in self._rule().xafter(lo, inc=True):
            occ = self.occurrence_on(naive)
            if occ.start > after:
                out.append(occ)
                if len(out) >= count:
                    break
        return out

    def on_date(self, day: date) -> Occurrence | None:
        """The occurrence the rule gives on local ``day`` (None if the rule skips it)."""
        naive = datetime.combine(day, time.fromisoformat(self.start_time))
        got = self._rule().after(naive, inc=True)
        return self.occurrence_on(got) if got is not None and got == naive else None
