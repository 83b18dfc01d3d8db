"""How calendar events look: kind glyph, status glyph + word + colour, time on a day, one line.

Colours are hints only: every event also shows its kind glyph and its status as a glyph and a
word. User text (titles, project and node names) goes through :func:`render.one_line` and is
placed in ``Content`` as plain text, so it can never be markup or an escape sequence.
"""

from __future__ import annotations

from datetime import date, datetime

import pendulum
from nodedesk.core import timeutil
from nodedesk.core.services.downtime import outages as outage_svc
from nodedesk.core.services.nodes.node_status import STATE_GLYPHS, STATES
from nodedesk.core.services.rentals import reservations as reservation_svc
from nodedesk.core.services.views.calendar import KIND_GLYPH, CalendarDay, CalendarEvent
from rich.cells import cell_len
from textual.content import Content

from ...kit import render

# The grid's count order and legend: the "⚒2 ⚠1 ▣5".
COUNT_ORDER = ("window", "outage", "reservation")
KIND_STYLE = {"window": "bold ansi_magenta", "outage": "bold ansi_red", "reservation": "bold ansi_blue"}
KIND_NAME = {"window": "window", "outage": "outage", "reservation": "reservation"}

# ANSI colours (as the Windows list uses) survive 16-colour terminals; there is no ANSI orange.
_ANSI = {"orange": "ansi_bright_red"} | {
    c: f"ansi_{c}" for c in ("red", "green", "yellow", "blue", "cyan", "magenta")
}


def _ansi(style: str) -> str:
    return " ".join(_ANSI.get(word, word) for word in style.split())


# (glyph, word, style) per kind and status.
STATUS: dict[str, dict[str, tuple[str, str, str]]] = {
    "window": {
        s: (render.STATUS_GLYPH[s], render.STATUS_WORD[s], _ansi(render.STATUS_STYLE[s]))
        for s in render.STATUS_WORD
    },
    "outage": {s: (glyph, s, _ansi(colour)) for s, (glyph, colour) in outage_svc.STATUS_STYLE.items()},
    "reservation": {
        s: (reservation_svc.STATUS_GLYPHS[s], s, colour)
        for s, colour in (
            ("pending", "ansi_yellow"),
            ("approved", "ansi_green"),
            ("declined", "ansi_red"),
            ("cancelled", "dim"),
        )
    },
}
# Which status colours a day's count in the grid: the one most worth attention.
URGENCY = {
    "window": ("in_progress", "upcoming", "completed"),
    "outage": ("reported", "investigating", "identified", "monitoring", "resolved"),
    "reservation": ("pending", "approved", "declined", "cancelled"),
}
STATUS_WIDTH = 15  # "◐ investigating"
TIME_WIDTH = 13  # "06:00 → open", "08:00–12:00"


def status_parts(e: CalendarEvent) -> tuple[str, str, str]:
    return STATUS.get(e.kind, {}).get(e.status, ("·", e.status, ""))


def status_content(e: CalendarEvent, *, pad: int = 0) -> Content:
    glyph, word, style = status_parts(e)
    text = f"{glyph} {word}"
    return Content.styled(text.ljust(pad), style)


def kind_content(kind: str) -> Content:
    return Content.styled(KIND_GLYPH[kind], KIND_STYLE[kind])


def time_on(e: CalendarEvent, day: CalendarDay, tz: str) -> str:
    """The event's time as seen on one day: ``08:00–12:00``, ``16:00 →``, ``→ 09:00``, ``all day``;
    an open outage runs ``→ open``; an end at the next midnight reads ``24:00``."""
    starts = e.start >= day.start
    ends = e.until <= day.end
    start = timeutil.to_local(e.start, tz).format("HH:mm")
    if e.open:
        return f"{start} → open" if starts else "→ open"
    end = "24:00" if e.until == day.end else timeutil.to_local(e.until, tz).format("HH:mm")
    if starts and ends:
        return f"{start}–{end}"
    if starts:
        return f"{start} →"
    if ends:
        return f"→ {end}"
    return "all day"


def event_subject(e: CalendarEvent) -> str:
    """``title · where`` (a reservation: ``project · node``), inert."""
    return render.one_line(f"{e.title} · {e.where()}")


def event_line(e: CalendarEvent, day: CalendarDay, tz: str, width: int, *, indent: int = 1) -> Content:
    """One event on one line of ``width`` cells: kind, status, time on the day, title and where."""
    line = Content.assemble(
        " " * indent,
        kind_content(e.kind),
        " ",
        status_content(e, pad=STATUS_WIDTH),
        " ",
        time_on(e, day, tz).ljust(TIME_WIDTH),
        " ",
        event_subject(e),
    )
    return line.truncate(width, ellipsis=True)


def event_count(n: int) -> str:
    """``2 events``, ``1 event``, ``nothing scheduled``."""
    return f"{n} event{'s' if n != 1 else ''}" if n else "nothing scheduled"


def panel_lines(
    head: Content, events: tuple[CalendarEvent, ...], day: CalendarDay, tz: str, width: int, height: int
) -> Content:
    """A panel under a grid: ``head``, then the events that fit in ``height`` lines, then
    ``… N more: enter opens the day``."""
    n = len(events)
    lines = [head.truncate(width, ellipsis=True)]
    room = height - 1
    shown = events if n <= room else events[: max(room - 1, 0)]
    lines += [event_line(e, day, tz, width) for e in shown]
    if len(shown) < n:
        more = f"  … {n - len(shown)} more: enter opens the day"
        lines.append(Content.styled(more, "dim").truncate(width, ellipsis=True))
    return Content("\n").join(lines)


def worst_status(events: list[CalendarEvent], kind: str) -> str:
    statuses = {e.status for e in events if e.kind == kind}
    return next((s for s in URGENCY[kind] if s in statuses), "")


def counts_content(day: CalendarDay | None) -> Content:
    """``⚒2 ⚠1 ▣5`` for a grid cell, each count in its most urgent status colour."""
    if day is None:
        return Content("")
    parts: list[Content | str] = []
    counts = day.counts()
    for kind in COUNT_ORDER:
        n = counts[kind]
        if not n:
            continue
        if parts:
            parts.append(" ")
        style = STATUS[kind].get(worst_status(list(day.events), kind), ("", "", ""))[2]
        parts.append(Content.assemble(kind_content(kind), Content.styled(str(n), style)))
    return Content.assemble(*parts)


def legend(gap: str = "  ") -> Content:
    parts: list[Content | str] = []
    for kind in COUNT_ORDER:
        if parts:
            parts.append(gap)
        parts += [kind_content(kind), f" {KIND_NAME[kind]}"]
    return Content.assemble(*parts)


def day_title(day: date, today: date, *, long: bool = False, year: bool = True) -> str:
    """``Sat 21 Nov 2026`` (``Saturday 21 November 2026`` when ``long``), plus ``· today``."""
    d = pendulum.date(day.year, day.month, day.day)
    text = d.format(("dddd D MMMM" if long else "ddd D MMM") + (" YYYY" if year else ""))
    if day == today:
        text += " · today"
    return text


def when_span(e: CalendarEvent, tz: str) -> tuple[str, str]:
    """Start and end for the day view's columns (``Nov 20 16:00``); an open outage ends ``open``."""

    def fmt(instant: datetime) -> str:
        return timeutil.to_local(instant, tz).format("MMM DD HH:mm")

    return fmt(e.start), ("open" if e.end is None else fmt(e.end))


def fit(text: str, width: int) -> str:
    """Pad or cut plain text to exactly ``width`` cells."""
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    return Content(text).truncate(width, ellipsis=True).plain


# ---------------------------------------------------------------- node status (the 's' screen)

# A node's state now: glyph + word always, colour only as a hint (same kinds' colours as events).
NODE_STATE_STYLE = {
    "outage": "bold ansi_red",
    "maintenance": "bold ansi_magenta",
    "rented": "ansi_blue",
    "free": "ansi_green",
}
NODE_STATE_WIDTH = 13  # "⚒ maintenance"


def node_state_parts(state: str) -> tuple[str, str]:
    """(``⚒ maintenance``, style) for a node state."""
    return f"{STATE_GLYPHS[state]} {state}", NODE_STATE_STYLE[state]


def node_state_counts(states: list[str]) -> str:
    """``1 outage · 2 maintenance · 5 rented · 12 free`` (states that occur, in precedence order)."""
    return " · ".join(f"{states.count(s)} {s}" for s in STATES if s in states)


def node_state_glyphs(states: list[str]) -> str:
    """``✖1 ⚒2 ●5 ○12``: how many nodes are in each state (those that occur, by precedence)."""
    return " ".join(f"{STATE_GLYPHS[s]}{states.count(s)}" for s in STATES if s in states)
