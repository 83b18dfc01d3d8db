"""A small RFC 5545 (iCalendar) writer: no third-party library at runtime.

- Lines end with CRLF and are folded at 75 octets (a continuation line starts with one space);
  a fold never splits a UTF-8 sequence.
- TEXT values escape backslash, semicolon, comma and newline (RFC 5545 §3.3.11); control
  characters (and bidi overrides) are dropped, they have no business in a calendar.
- Times are written in UTC (``20260217T110000Z``).

:class:`Event` is one VEVENT; :func:`calendar` wraps events in a VCALENDAR.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

PRODID = "-//nodedesk//maintenance windows//EN"
EVENT_STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")
_LIMIT = 75  # octets per line, not counting the CRLF


def clean(text: str | None, *, multiline: bool = True) -> str:
    """Drop control and invisible format characters; keep newlines when ``multiline``."""
    out = []
    for ch in (text or "").replace("\r\n", "\n").replace("\r", "\n"):
        if ch == "\n":
            out.append("\n" if multiline else " ")
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def escape_text(text: str | None, *, multiline: bool = True) -> str:
    """A TEXT property value: cleaned, with ``\\ ; ,`` and newlines escaped."""
    value = clean(text, multiline=multiline)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def utc(instant: datetime) -> datetime:
    """A plain ``datetime`` in UTC (pendulum instances with a stdlib tz lose it in arithmetic)."""
    if instant.tzinfo is None:
        raise ValueError("expected an aware instant")
    moved = instant.astimezone(UTC)
    return datetime.combine(moved.date(), moved.time(), tzinfo=UTC)


def format_utc(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("iCalendar times must be aware instants")
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Fold one content line at 75 octets, never inside a UTF-8 sequence."""
    data = line.encode("utf-8")
    if len(data) <= _LIMIT:
        return line
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = _LIMIT
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append("".join(current))
            current, size = [], 0
            limit = _LIMIT - 1  # continuation lines begin with a space
        current.append(ch)
        size += n
    parts.append("".join(current))
    return "\r\n ".join(parts)


def content_line(name: str, value: str) -> str:
    return fold(f"{name}:{value}") + "\r\n"


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    stamp: datetime
    sequence: int = 0
    description: str = ""
    location: str = ""
    status: str = "CONFIRMED"
    created: datetime | None = None
    last_modified: datetime | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        if self.status not in EVENT_STATUSES:
            raise ValueError(f"unknown event status {self.status!r}")
        out = [
            content_line("BEGIN", "VEVENT"),
            content_line("UID", escape_text(self.uid, multiline=False)),
            content_line("SEQUENCE", str(max(self.sequence, 0))),
            content_line("DTSTAMP", format_utc(self.stamp)),
            content_line("DTSTART", format_utc(self.start)),
            content_line("DTEND", format_utc(self.end)),
            content_line("SUMMARY", escape_text(self.summary, multiline=False)),
        ]
        description = escape_text(self.description)
        if description:
            out.append(content_line("DESCRIPTION", description))
        location = escape_text(self.location, multiline=False)
        if location:
            out.append(content_line("LOCATION", location))
        if self.categories:
            out.append(
                content_line("CATEGORIES", ",".join(escape_text(c, multiline=False) for c in self.categories))
            )
        out.append(content_line("STATUS", self.status))
        out.append(content_line("TRANSP", "TRANSPARENT" if self.status == "CANCELLED" else "OPAQUE"))
        if self.created is not None:
            out.append(content_line("CREATED", format_utc(self.created)))
        if self.last_modified is not None:
            out.append(content_line("LAST-MODIFIED", format_utc(self.last_modified)))
        out.append(content_line("END", "VEVENT"))
        return out


def calendar(events: Iterable[Event], *, name: str = "nodedesk maintenance", method: str = "PUBLISH") -> str:
    """A whole VCALENDAR document (text with CRLF line ends)."""
    lines = [
        content_line("BEGIN", "VCALENDAR"),
        content_line("PRODID", PRODID),
        content_line("VERSION", "2.0"),
        content_line("CALSCALE", "GREGORIAN"),
        content_line("METHOD", method),
        content_line("X-WR-CALNAME", escape_text(name, multiline=False)),
    ]
    for event in events:
        lines.extend(event.lines())
    lines.append(content_line("END", "VCALENDAR"))
    return "".join(lines)
