"""Display helpers for reservations and outages: status word + glyph + colour, hours, downtime.

Colours are never the only signal: every status is shown as its word with a glyph.
The glyphs come from the core services (the CLI prints the same ones). Colour names are Rich
names that degrade sensibly on 16-colour terminals (orange becomes red or yellow there; the word
still tells investigating from reported).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from nodedesk.core import timeutil
from nodedesk.core.safetext import one_line
from nodedesk.core.services.downtime import outages
from nodedesk.core.services.rentals import reservations
from rich.text import Text
from textual.content import Content

# Outage statuses (help/outages.md): reported red, investigating orange, identified yellow,
# monitoring blue, resolved green.
OUTAGE_COLOUR = {
    "reported": "bold red",
    "investigating": "bold dark_orange",
    "identified": "yellow",
    "monitoring": "dodger_blue1",
    "resolved": "green",
}
RESERVATION_COLOUR = {
    "pending": "bold yellow",
    "approved": "green",
    "declined": "red",
    "cancelled": "bright_black",
}


def outage_status(status: str) -> Text:
    """``◐ investigating`` in the outage status colour."""
    glyph = outages.STATUS_STYLE.get(status, ("?", ""))[0]
    return Text(f"{glyph} {status}", style=OUTAGE_COLOUR.get(status, ""), no_wrap=True)


def reservation_status(status: str) -> Text:
    """``✓ approved`` in the reservation status colour."""
    glyph = reservations.STATUS_GLYPHS.get(status, "?")
    return Text(f"{glyph} {status}", style=RESERVATION_COLOUR.get(status, ""), no_wrap=True)


def as_content(text: Text) -> Content:
    return Content.from_rich_text(text)


def hours(value: Decimal) -> str:
    """``17.00 h`` (exact Decimal, two places as on invoices)."""
    return f"{value:.2f} h"


def day_time(instant: datetime, tz: str) -> str:
    """``Mon 23 Feb 2026 16:00`` in site time (for previews and detail lines)."""
    return timeutil.to_local(instant, tz).format("ddd D MMM YYYY HH:mm")


def short(instant: datetime, tz: str, now: datetime) -> str:
    """``Nov 21 21:13`` this site year, ``2025-11-21 21:13`` otherwise (never ambiguous)."""
    local = timeutil.to_local(instant, tz)
    if local.year == timeutil.to_local(now, tz).year:
        return local.format("MMM DD HH:mm")
    return local.format("YYYY-MM-DD HH:mm")


def with_weekday(instant: datetime, tz: str) -> str:
    """``Mon 2026-02-23 16:00 -05:00``."""
    return timeutil.to_local(instant, tz).format("ddd YYYY-MM-DD HH:mm Z")


def span(start: datetime, end: datetime | None, tz: str, *, open_label: str = "open") -> str:
    """``2026-02-23 16:00 → 2026-02-25 09:00 -05:00`` (offset once, at the end)."""
    left = timeutil.format_short(start, tz)
    if end is None:
        return f"{left} → {open_label}"
    return f"{left} → {timeutil.format_local(end, tz)}"


def downtime_line(d: reservations.DowntimeOverlap, tz: str, *, max_len: int = 60) -> str:
    """One overlapping piece of downtime, with the user's title made inert."""
    kind = "maintenance window" if d.source == "maintenance" else "outage"
    still = ", still open" if d.open else ""
    return (
        f"{kind} #{d.id} {one_line(d.title, max_len=max_len)!r}: "
        f"{timeutil.format_short(d.start, tz)} → {timeutil.format_short(d.end, tz)} "
        f"({hours(d.hours)} not billed{still})"
    )
