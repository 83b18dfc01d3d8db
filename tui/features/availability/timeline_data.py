"""What the availability screen holds: the view (unit, first column, columns, node type), the
rows read so far in blocks, and the cell questions the screen asks without the database.

The timeline service (core/services/nodes/availability.py) reads a page of nodes over a range
with one query per kind of data. The screen asks it for blocks of :data:`BLOCK` nodes around
the visible rows (with :data:`READ_AHEAD` more above and below) in thread workers; each row's
cells are computed in the worker too. A cursor move inside the rows read so far never touches
the database: everything it shows comes from :class:`Loaded`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.nodes import availability as svc

BLOCK = 50  # nodes per read
READ_AHEAD = 50  # rows read beyond the visible ones, above and below
UNITS = ("day", "hour")
# The route that opens what a cell shows, by the segment's subject.
ROUTES = {"window": "window.detail", "outage": "outage.detail", "reservation": "reservation.detail"}


@dataclass(frozen=True)
class View:
    """What the grid shows: ``columns`` days (site days) or hours from ``first``, for the nodes
    of ``node_type`` (None: every type), or only ``nodes`` (a free query's answer)."""

    unit: str
    first: datetime  # aware UTC: a site midnight (days) or a whole hour (hours)
    columns: int
    node_type: str | None = None
    nodes: tuple[str, ...] = ()

    def bounds(self, tz: str) -> tuple[datetime, ...]:
        """The column bounds: ``columns + 1`` instants."""
        if self.unit == "day":
            first = timeutil.local_day(self.first, tz)
            start, end = svc.day_range(first, first + timedelta(days=self.columns - 1), tz)
            return tuple(svc.buckets(start, end, tz, "day"))
        return tuple(svc.buckets(self.first, self.first + timedelta(hours=self.columns), tz, "hour"))

    def shifted(self, steps: int, tz: str) -> View:
        """The same view ``steps`` columns later (earlier when negative)."""
        if self.unit == "day":
            day = timeutil.local_day(self.first, tz) + timedelta(days=steps)
            return replace(self, first=timeutil.start_of_day(day, tz))
        return replace(self, first=self.first + timedelta(hours=steps))


def day_view(
    first: date, columns: int, tz: str, node_type: str | None = None, nodes: tuple[str, ...] = ()
) -> View:
    return View("day", timeutil.start_of_day(first, tz), max(columns, 1), node_type, nodes)


def hour_view(at: datetime, columns: int, node_type: str | None = None, nodes: tuple[str, ...] = ()) -> View:
    whole = at.replace(minute=0, second=0, microsecond=0)
    return View("hour", whole, max(columns, 1), node_type, nodes)


@dataclass(frozen=True)
class Row:
    """One node over the view: its segments (core) and one cell per column."""

    node: svc.NodeTimeline
    cells: tuple[svc.Cell, ...]

    @property
    def name(self) -> str:
        return self.node.node


@dataclass(frozen=True)
class Block:
    view: View
    index: int
    total: int  # nodes matching the view
    rows: tuple[Row, ...]


def read_block(ctx: ServiceContext, view: View, bounds: tuple[datetime, ...], index: int) -> Block:
    """Block ``index`` of the view's nodes (in a thread worker)."""
    found = svc.timeline(
        ctx,
        svc.TimelineQuery(
            bounds[0],
            bounds[-1],
            node_type=view.node_type,
            nodes=view.nodes,
            offset=index * BLOCK,
            limit=BLOCK,
        ),
    )
    return Block(view, index, found.total, tuple(Row(r, tuple(r.cells(bounds))) for r in found.rows))


def read_names(
    ctx: ServiceContext, view: View, bounds: tuple[datetime, ...], first: int, last: int
) -> list[str]:
    """The names of rows ``first`` to ``last`` (a selection reaching rows not read yet)."""
    found = svc.timeline(
        ctx,
        svc.TimelineQuery(
            bounds[0],
            bounds[-1],
            node_type=view.node_type,
            nodes=view.nodes,
            offset=first,
            limit=min(last - first + 1, svc.PAGE_LIMIT),
        ),
    )
    return [r.node for r in found.rows]


@dataclass
class Loaded:
    """The blocks of one view read so far, and the ones asked for."""

    view: View
    bounds: tuple[datetime, ...]
    total: int | None = None
    blocks: dict[int, Block] = field(default_factory=dict)
    asked: set[int] = field(default_factory=set)

    def add(self, block: Block) -> None:
        self.blocks[block.index] = block
        self.asked.discard(block.index)
        self.total = block.total

    def row(self, index: int) -> Row | None:
        block = self.blocks.get(index // BLOCK)
        if block is None:
            return None
        offset = index - block.index * BLOCK
        return block.rows[offset] if 0 <= offset < len(block.rows) else None

    def wanted(self, first: int, last: int) -> list[int]:
        """The blocks to read for rows ``first`` to ``last`` and the read-ahead around them
        (neither read nor asked for yet); they count as asked from now on."""
        lo = max(first - READ_AHEAD, 0)
        hi = last + READ_AHEAD
        if self.total is not None:
            hi = min(hi, self.total - 1)
        found = [
            b for b in range(lo // BLOCK, hi // BLOCK + 1) if b not in self.blocks and b not in self.asked
        ]
        if self.total is None and not self.blocks and not self.asked:
            found = found[:1] or [0]  # the first read says how many rows there are
        self.asked.update(found)
        return found


# ---------------------------------------------------------------- cells


def segments_in(row: Row, start: datetime, end: datetime) -> list[svc.Segment]:
    return [s for s in row.node.segments if s.start < end and s.end > start]


def cell_subject(row: Row, bounds: tuple[datetime, ...], col: int) -> tuple[str, int] | None:
    """What the cell shows (its kind's first segment): (subject type, id), or None (free,
    retired)."""
    kind = row.cells[col].kind
    for seg in segments_in(row, bounds[col], bounds[col + 1]):
        if seg.kind == kind and seg.subject_type is not None and seg.subject_id is not None:
            return seg.subject_type, seg.subject_id
    return None


def segment_words(seg: svc.Segment, tz: str, day: date | None) -> str:
    """``⚒ maintenance, window #3 'Kernel patch' 06:00–08:00`` (times as clock times on
    ``day``, in full otherwise)."""

    def at(instant: datetime) -> str:
        local = timeutil.to_local(instant, tz)
        if day is not None and local.date() == day:
            return local.format("HH:mm")
        return local.format("D MMM HH:mm")

    what = f"{svc.GLYPHS[seg.kind]} {seg.kind}"
    if seg.subject_type == "reservation":
        what += f", reservation #{seg.subject_id} {seg.label}"
    elif seg.subject_type is not None:
        what += f", {seg.subject_type} #{seg.subject_id} {seg.label!r}"
    end = "open" if seg.open else at(seg.end)
    return f"{what} {at(seg.start)}–{end}"


def describe_cell(row: Row, bounds: tuple[datetime, ...], col: int, tz: str) -> list[str]:
    """What is on the node in one cell, busy things first (free alone: ``○ free``)."""
    start, end = bounds[col], bounds[col + 1]
    day = timeutil.local_day(start, tz)
    busy = [s for s in segments_in(row, start, end) if s.busy]
    if not busy:
        return [f"{svc.GLYPHS['free']} free"]
    return [segment_words(s, tz, day) for s in sorted(busy, key=lambda s: svc.KINDS.index(s.kind))]


def column_label(bounds: tuple[datetime, ...], col: int, unit: str, tz: str) -> str:
    """``Tue 17 Feb`` (a day) or ``Tue 17 Feb 06:00`` (an hour)."""
    local = timeutil.to_local(bounds[col], tz)
    return local.format("ddd D MMM" if unit == "day" else "ddd D MMM HH:mm")


def span_label(start: datetime, end: datetime, unit: str, tz: str) -> str:
    """``Tue 17 – Thu 19 Feb`` (whole days) or ``Tue 17 Feb 06:00 → 09:00``."""
    a, b = timeutil.to_local(start, tz), timeutil.to_local(end, tz)
    if unit == "day" and a.hour == a.minute == 0 and b.hour == b.minute == 0:
        last = b.subtract(days=1)
        if last.date() == a.date():
            return a.format("ddd D MMM")
        head = a.format("ddd D" if a.month == last.month else "ddd D MMM")
        return f"{head} – {last.format('ddd D MMM')}"
    tail = b.format("HH:mm") if b.date() == a.date() else b.format("ddd D MMM HH:mm")
    return f"{a.format('ddd D MMM HH:mm')} → {tail}"


# ---------------------------------------------------------------- the selection


@dataclass(frozen=True)
class Mark:
    """A selection's fixed corner: a row and the time of its cell."""

    row: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Selection:
    """A rectangle of nodes (rows ``first``–``last``) × time (``start`` to ``end``)."""

    first: int
    last: int
    start: datetime
    end: datetime

    @classmethod
    def between(cls, mark: Mark, row: int, start: datetime, end: datetime) -> Selection:
        return cls(min(mark.row, row), max(mark.row, row), min(mark.start, start), max(mark.end, end))

    @property
    def rows(self) -> int:
        return self.last - self.first + 1

    def has(self, row: int, start: datetime, end: datetime) -> bool:
        return self.first <= row <= self.last and self.start <= start and end <= self.end
