"""The availability grid: nodes down, days (or hours) across, one glyph per cell.

It draws only the rows that fit, from what the screen hands it (:class:`GridState`); it never
reads the database. Each kind has its own glyph (core's ``availability.GLYPHS``: ✖ ⚒ ● ◌ – ○),
so the grid reads the same in 16 colours and with ``NO_COLOR``; the colours come from the
component classes in availability.tcss. The cursor cell is drawn in brackets (``[⚒]``) and
reversed, a selection reversed, and the cursor's row has a ``▸`` before its node name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from nodedesk.core import timeutil
from nodedesk.core.services.nodes import availability as svc
from rich.style import Style as RichStyle
from textual import events
from textual.content import Content
from textual.message import Message
from textual.style import Style
from textual.widget import Widget

from ...kit import render
from .timeline_data import Loaded, Row, Selection

GUTTER = 12  # "▸node2431   ": the marker, the node name, a gap
CELL = 3  # " ⚒ " / "[⚒]"
HEADER = 2  # lines above the rows
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


@dataclass(frozen=True)
class GridState:
    loaded: Loaded | None  # the view's rows read so far (None: nothing yet)
    fallback: Loaded | None  # what the grid showed before a re-read, while it is under way
    unit: str
    bounds: tuple[datetime, ...]
    tz: str
    today: date
    top: int  # the first row shown
    row: int  # the cursor
    col: int
    selection: Selection | None

    @property
    def total(self) -> int | None:
        for loaded in (self.loaded, self.fallback):
            if loaded is not None and loaded.total is not None:
                return loaded.total
        return None

    def row_at(self, index: int) -> Row | None:
        for loaded in (self.loaded, self.fallback):
            row = loaded.row(index) if loaded is not None else None
            if row is not None and len(row.cells) == len(self.bounds) - 1:
                return row
        return None


class TimelineGrid(Widget, can_focus=True):
    COMPONENT_CLASSES = {
        *(f"timeline-grid--{kind}" for kind in svc.KINDS),
        "timeline-grid--cursor",
        "timeline-grid--selected",
        "timeline-grid--head",
        "timeline-grid--today",
        "timeline-grid--weekend",
        "timeline-grid--dim",
    }

    DEFAULT_CSS = """
    TimelineGrid {
        height: 1fr;
        width: 1fr;
    }
    """

    class Clicked(Message):
        def __init__(self, row: int, col: int) -> None:
            super().__init__()
            self.row, self.col = row, col

    class Resized(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: GridState | None = None
        self._styles: dict[tuple[str, ...], Style] = {}

    def show(self, state: GridState) -> None:
        self.state = state
        self.refresh()

    def columns_that_fit(self) -> int:
        return max((self.size.width - GUTTER) // CELL, 1)

    def rows_that_fit(self) -> int:
        return max(self.size.height - HEADER, 1)

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    # ------------------------------------------------------------------ drawing

    def legend(self) -> Content:
        """``✖ outage  ⚒ maintenance  ● rented  ◌ pending  – retired  ○ free``."""
        parts: list[tuple[str, Style] | str] = [" "]
        for kind in svc.KINDS:
            parts += [(svc.GLYPHS[kind], self._style(kind)), f" {kind}  "]
        return Content.assemble(*parts)

    def _style(self, *names: str) -> Style:
        """The component classes' styles, combined in order (through Rich's style: Textual's
        visual style leaves out reverse video, which the cursor needs without colour)."""
        found = self._styles.get(names)
        if found is None:
            rich = RichStyle()
            for n in names:
                rich += self.get_component_rich_style(f"timeline-grid--{n}", partial=True)
            found = self._styles[names] = Style.from_rich_style(rich)
        return found

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()  # a new theme

    def render(self) -> Content:
        st = self.state
        if st is None:
            return Content("")
        lines = self._header(st)
        total = st.total
        for index in range(st.top, st.top + self.rows_that_fit()):
            if total is not None and index >= total:
                break
            lines.append(self._row(st, index))
        if total == 0:
            lines.append(Content.styled("  no nodes here", self._style("dim")))
        return Content("\n").join(lines)

    def _header(self, st: GridState) -> list[Content]:
        heads = [timeutil.to_local(b, st.tz) for b in st.bounds[:-1]]
        head, today, cursor = self._style("head"), self._style("today"), self._style("cursor")
        weekend = self._style("weekend")
        top: list[tuple[str, Style] | str] = []
        low: list[tuple[str, Style] | str] = []
        if st.unit == "day":
            top.append((heads[0].format("MMM YYYY").ljust(GUTTER), head))
            for h in heads:
                top.append((f"{WEEKDAYS[h.weekday()]} ", weekend if h.weekday() >= 5 else head))
        else:
            line = [" "] * (GUTTER + CELL * len(heads))
            for c, h in enumerate(heads):
                if c == 0 or h.hour == 0:
                    label = h.format("ddd D MMM")
                    at = GUTTER + c * CELL
                    line[at : at + len(label)] = label
            top.append(("".join(line)[: GUTTER + CELL * len(heads)], head))
        total = st.total
        low.append(
            (("node" if total is None else f"{total} node{'s' if total != 1 else ''}").ljust(GUTTER), head)
        )
        for c, h in enumerate(heads):
            text = f"{h.day:>2}" if st.unit == "day" else f"{h.hour:02d}"
            style = head
            if st.unit == "day" and h.date() == st.today:
                style = today
            if c == st.col:
                style = style + cursor
            low += [(text, style), " "]
        return [Content.assemble(*top), Content.assemble(*low)]

    def _row(self, st: GridState, index: int) -> Content:
        here = index == st.row
        row = st.row_at(index)
        marker = "▸" if here else " "
        if row is None:
            return Content.assemble(marker, ("loading…".ljust(GUTTER - 1), self._style("dim")))
        name = render.one_line(row.name)
        if len(name) > GUTTER - 2:
            name = name[: GUTTER - 3] + "…"
        parts: list[tuple[str, Style] | str] = [(marker + name.ljust(GUTTER - 1), self._style("head"))]
        sel = st.selection
        for c, cell in enumerate(row.cells):
            glyph = svc.GLYPHS[cell.kind]
            cursor = here and c == st.col
            names = [cell.kind]
            if sel is not None and sel.has(index, st.bounds[c], st.bounds[c + 1]):
                names.append("selected")
            if cursor:
                names.append("cursor")
            parts.append((f"[{glyph}]" if cursor else f" {glyph} ", self._style(*names)))
        return Content.assemble(*parts)

    # ------------------------------------------------------------------ mouse

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        st = self.state
        if st is None or y < HEADER or x < GUTTER:
            return None
        col = (x - GUTTER) // CELL
        if col >= len(st.bounds) - 1:
            return None
        return st.top + y - HEADER, col

    def on_click(self, event: events.Click) -> None:
        found = self.cell_at(event.x, event.y)
        if found is not None:
            self.post_message(self.Clicked(*found))
