"""Display helpers shared by the TUI screens.

User text (titles, descriptions, usernames) is always turned into Rich ``Text`` or Textual
``Content`` objects built from :func:`~nodedesk.core.safetext.inert` strings: neither markup
(``[b]``) nor terminal escape sequences in the data can take effect on screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from nodedesk.core import timeutil
from nodedesk.core.safetext import inert, one_line
from rich.text import Text
from textual.content import Content

LOCK = "🔒"

# Status colours by name (Content styles elsewhere map them to ``ansi_*``); the word is always shown.
STATUS_STYLE = {
    "upcoming": "cyan",
    "in_progress": "bold yellow",
    "completed": "green",
}
# The same colours for Rich ``Text`` cells: Rich's ANSI names would be re-mapped through the theme
# (yellow turning red in 16 colours); these values land on cyan / yellow / green in 16 and 256.
STATUS_CELL_STYLE = {
    "upcoming": "#5fd7ff",
    "in_progress": "bold #ffd75f",
    "completed": "#5faf5f",
}
# The named colours of the other status cells (projects, splits, subscriptions, rates), chosen the
# same way; never the only signal: each status also has its word and glyph.
GREEN, YELLOW, CYAN, RED, GREY = "#5faf5f", "#ffd75f", "#5fd7ff", "#d75f5f", "#8a8a8a"
SUBSCRIPTION_STATUS = {"upcoming": ("◷", CYAN), "active": ("●", GREEN), "ended": ("▪", GREY)}
STATUS_WORD = {"upcoming": "upcoming", "in_progress": "in progress", "completed": "completed"}
STATUS_GLYPH = {"upcoming": "◷", "in_progress": "▶", "completed": "✓"}


def text(value: str | None, *, max_len: int | None = None, style: str = "") -> Text:
    """One line of user text as an inert Rich Text (for DataTable cells)."""
    return Text(one_line(value, max_len=max_len), style=style, no_wrap=True, overflow="ellipsis")


EMERGENCY = "‼ EMERGENCY"


def window_title(title: str | None, emergency: bool) -> Text:
    """A window's title cell; an emergency window's starts with ``‼ EMERGENCY`` (word and glyph,
    so it reads without colour)."""
    if not emergency:
        return text(title)
    return Text.assemble((f"{EMERGENCY} ", f"bold {RED}"), one_line(title), no_wrap=True, overflow="ellipsis")


def content(value: str | None, *, multiline: bool = False) -> Content:
    """User text as inert Textual Content (for Static/Label widgets)."""
    return Content(inert(value, keep_newlines=True) if multiline else one_line(value))


def status_text(status: str, *, locked: bool = False, glyph: bool = True) -> Text:
    """``🔒 in progress`` in the status colour; the word carries the meaning without colour."""
    word = STATUS_WORD.get(status, status)
    prefix = f"{LOCK} " if locked else (f"{STATUS_GLYPH.get(status, ' ')}  " if glyph else "")
    return Text(prefix + word, style=STATUS_CELL_STYLE.get(status, ""), no_wrap=True)


def subscription_status(status: str) -> Text:
    """A fee subscription's status cell: ``● active``."""
    glyph, style = SUBSCRIPTION_STATUS.get(status, ("?", ""))
    return Text(f"{glyph} {status}", style=style, no_wrap=True)


def date_or_open(day: date | None) -> str:
    """An end date, or ``open`` when there is none."""
    return day.isoformat() if day is not None else "open"


WHEN_COMPACT_WIDTH = 12  # "Feb 15 08:00"
WHEN_WIDTH = 16  # "2025-12-31 09:30": the full form, and the compact one for another year


def when(instant: datetime, tz: str, *, compact: bool, now: datetime) -> str:
    """A table cell time: ISO-like site time, or ``Feb 15 08:00`` when space is short.

    The compact form drops the year for the current site year only; a time in another year
    shows its full date and its time of day (``2025-12-31 09:30``), so it is never ambiguous
    and never loses the hour.
    """
    local = timeutil.to_local(instant, tz)
    if compact and local.year == timeutil.to_local(now, tz).year:
        return local.format("MMM DD HH:mm")
    return timeutil.format_short(instant, tz)


def when_width(instants: Iterable[datetime | None], tz: str, *, compact: bool, now: datetime) -> int:
    """The column width that shows every one of ``instants`` whole with :func:`when`."""
    if not compact:
        return WHEN_WIDTH
    year = timeutil.to_local(now, tz).year
    other = any(i is not None and timeutil.to_local(i, tz).year != year for i in instants)
    return WHEN_WIDTH if other else WHEN_COMPACT_WIDTH


def site_time(instant: datetime, tz: str) -> str:
    """``Sun 2026-02-15 10:00 -05:00`` for the header."""
    return timeutil.to_local(instant, tz).format("ddd YYYY-MM-DD HH:mm Z")
