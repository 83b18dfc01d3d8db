"""Availability: what each node does over a range of time, for many nodes at once, and which
nodes are free for a whole range (help/availability.md).

Every node's range is cut into **segments** that cover it exactly, without gaps or overlaps;
each has one kind, the first that applies:

1. ``outage``: an outage of the node (credited or not); an open one until its effective end
   (its ETR, or the site's ``outage_default_hours`` from now; core/downtime.py);
2. ``maintenance``: a maintenance window whose scope includes the node;
3. ``rented``: an approved reservation;
4. ``pending``: a pending reservation (a booking would clash with it);
5. ``retired``: the node was retired by then;
6. ``free``: none of these.

A node is **free** for a range when its one segment there is ``free``. The timeline loads a
page of nodes with one query per kind of data (nodes, windows and their scopes, outages and
their nodes, reservations), never a query per node or per day.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from sqlalchemy import func, or_, select

from ... import timeutil
from ...context import ServiceContext
from ...downtime import load_downtime
from ...errors import NotFoundError, ValidationError
from ...models import Node, NodeType
from ..downtime.impact import reservation_rows
from ..rentals.reservations import WIDE_PAGE
from . import node_status

KINDS = ("outage", "maintenance", "rented", "pending", "retired", "free")
BUSY_KINDS = KINDS[:-1]
# One glyph per kind, distinct without colour (NO_COLOR, 16 colours); ASCII for plain terminals.
GLYPHS = {**node_status.STATE_GLYPHS, "pending": "◌", "retired": "–"}
ASCII_GLYPHS = {"outage": "X", "maintenance": "M", "rented": "R", "pending": "p", "retired": "-", "free": "."}
MAX_DAYS = 400
PAGE_LIMIT = 1000
NARROW_NODES = 200  # up to this many nodes, their data is read by node; beyond, by time only


@dataclass(frozen=True)
class Segment:
    """A stretch of one node's time with one kind (see the module docstring)."""

    start: datetime
    end: datetime
    kind: str
    subject_type: str | None = None  # "outage" | "window" | "reservation" | None
    subject_id: int | None = None
    label: str = ""  # the window's or outage's title, or the reservation's project
    open: bool = False  # an open outage, counted until its effective end

    @property
    def busy(self) -> bool:
        return self.kind != "free"

    def describe(self, tz: str) -> str:
        what = self.kind
        if self.subject_type == "reservation":
            what = f"{self.kind} by {self.label} (reservation #{self.subject_id})"
        elif self.subject_type is not None:
            what = f"{self.kind} ({self.subject_type} #{self.subject_id} {self.label!r})"
        return f"{what} {timeutil.format_short(self.start, tz)} → {timeutil.format_short(self.end, tz)}"

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "kind": self.kind,
            "subject": {"type": self.subject_type, "id": self.subject_id} if self.subject_type else None,
            "label": self.label,
            "open": self.open,
        }


@dataclass(frozen=True)
class Cell:
    """One bucket (a day or an hour) of a node's row: the first kind present in it (by the
    order of :data:`KINDS`), and whether other kinds share the bucket."""

    kind: str
    mixed: bool = False

    @property
    def glyph(self) -> str:
        return GLYPHS[self.kind]


_CELLS = {(kind, mixed): Cell(kind, mixed) for kind in KINDS for mixed in (False, True)}  # shared


@dataclass(frozen=True)
class Source:
    """Something occupying a node from ``start`` to ``end`` (input of :func:`segments`)."""

    kind: str
    start: datetime
    end: datetime
    subject_type: str | None = None
    subject_id: int | None = None
    label: str = ""
    open: bool = False


def _rank(src: Source) -> tuple[int, datetime, int]:
    return (KINDS.index(src.kind), src.start, src.subject_id or 0)


def segments(sources: Iterable[Source], start: datetime, end: datetime) -> list[Segment]:
    """Cut ``[start, end)`` into segments: at every instant the first applicable kind wins
    (ties: the earlier start, then the lower id); neighbours with the same kind and subject are
    one segment. The segments cover the range exactly, in order, without overlap."""
    if not start < end:
        raise ValidationError("must be after the start", field="to")
    inside = sorted(
        (s for s in sources if s.start < end and s.end > start and s.start < s.end), key=lambda s: s.start
    )
    points = sorted({start, end, *(max(s.start, start) for s in inside), *(min(s.end, end) for s in inside)})
    out: list[Segment] = []
    active: list[tuple[tuple[int, datetime, int], int, Source]] = []  # heap by rank
    i = 0
    for a, b in pairwise(points):
        while i < len(inside) and inside[i].start <= a:
            heapq.heappush(active, (_rank(inside[i]), i, inside[i]))
            i += 1
        while active and active[0][2].end <= a:
            heapq.heappop(active)
        best = active[0][2] if active else None
        # Sources ending before a that are not on top stay in the heap until they surface.
        seg = (
            Segment(a, b, "free")
            if best is None
            else Segment(a, b, best.kind, best.subject_type, best.subject_id, best.label, best.open)
        )
        last = out[-1] if out else None
        if last is not None and (last.kind, last.subject_type, last.subject_id) == (
            seg.kind,
            seg.subject_type,
            seg.subject_id,
        ):
            out[-1] = Segment(
                last.start, b, last.kind, last.subject_type, last.subject_id, last.label, last.open
            )
        else:
            out.append(seg)
    return out


def cells(row_segments: Sequence[Segment], bounds: Sequence[datetime]) -> list[Cell]:
    """One cell per bucket ``[bounds[k], bounds[k+1])`` (segments and bounds in time order)."""
    found: list[Cell] = []
    j = 0
    for a, b in pairwise(bounds):
        while j < len(row_segments) and row_segments[j].end <= a:
            j += 1
        kinds: set[str] = set()
        k = j
        while k < len(row_segments) and row_segments[k].start < b:
            kinds.add(row_segments[k].kind)
            k += 1
        if not kinds:
            found.append(_CELLS["free", False])
            continue
        found.append(_CELLS[min(kinds, key=KINDS.index), len(kinds) > 1])
    return found


@dataclass(frozen=True)
class NodeTimeline:
    node_id: int
    node: str
    node_type: str
    rentable: bool
    retired_at: datetime | None
    segments: tuple[Segment, ...]

    @property
    def free(self) -> bool:
        """Free for the whole range."""
        return all(not s.busy for s in self.segments)

    @property
    def busy(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.busy)

    def cells(self, bounds: Sequence[datetime]) -> list[Cell]:
        return cells(self.segments, bounds)

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "node": self.node,
            "type": self.node_type,
            "rentable": self.rentable,
            "retired_at": timeutil.iso_local(self.retired_at, tz) if self.retired_at else None,
            "free": self.free,
            "segments": [s.to_json(tz) for s in self.segments],
        }


@dataclass(frozen=True)
class TimelineQuery:
    start: datetime
    end: datetime
    node_type: str | None = None
    nodes: tuple[str, ...] = ()  # only these nodes (by name)
    rentable_only: bool = False
    offset: int = 0
    limit: int = PAGE_LIMIT


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    rows: tuple[NodeTimeline, ...]
    total: int  # nodes matching the query (the rows are one page of them)
    offset: int

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "from": timeutil.iso_local(self.start, tz),
            "to": timeutil.iso_local(self.end, tz),
            "total": self.total,
            "offset": self.offset,
            "nodes": [r.to_json(tz) for r in self.rows],
        }


def day_range(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """The instants from the start of site day ``first`` to the end of ``last`` (inclusive)."""
    if last < first:
        raise ValidationError(f"must be on or after {first.isoformat()}", field="to")
    return timeutil.start_of_day(first, tz), timeutil.start_of_day(last + timedelta(days=1), tz)


def buckets(start: datetime, end: datetime, tz: str, unit: str = "day") -> list[datetime]:
    """Bucket bounds from ``start`` to ``end``: site-local midnights (``day``) or whole hours
    (``hour``), with ``start`` and ``end`` themselves first and last."""
    if unit not in ("day", "hour"):
        raise ValidationError("must be day or hour", field="unit")
    bounds = [start]
    if unit == "day":
        day = timeutil.local_day(start, tz) + timedelta(days=1)
        while (at := timeutil.start_of_day(day, tz)) < end:
            bounds.append(at)
            day += timedelta(days=1)
    else:
        at = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while at < end:
            bounds.append(at)
            at += timedelta(hours=1)
    bounds.append(end)
    return bounds


def _check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start = timeutil.ensure_aware(start, "from")
    end = timeutil.ensure_aware(end, "to")
    if not end > start:
        raise ValidationError("must be after the start (from)", field="to")
    if end - start > timedelta(days=MAX_DAYS):
        raise ValidationError(f"the range may be at most {MAX_DAYS} days", field="to")
    return start, end


def timeline(ctx: ServiceContext, query: TimelineQuery) -> Timeline:
    """Segments of a page of nodes (by name) over ``[start, end)``; see the module docstring.

    Nodes retired before the range are left out; a node retired during it is ``retired`` from
    then on (where nothing else applies)."""
    ctx.require("read")
    start, end = _check_range(query.start, query.end)
    if not 1 <= query.limit <= PAGE_LIMIT:
        raise ValidationError(f"must be between 1 and {PAGE_LIMIT}", field="limit")
    session = ctx.session
    conds = [or_(Node.retired_at.is_(None), Node.retired_at > start)]
    if query.node_type:
        type_id = session.scalar(select(NodeType.id).where(NodeType.name == query.node_type))
        if type_id is None:
            raise NotFoundError(f"no node type named {query.node_type!r}", field="type")
        conds.append(Node.node_type_id == type_id)
    if query.nodes:
        names = tuple(dict.fromkeys(query.nodes))
        known = set(session.scalars(select(Node.name).where(Node.name.in_(names))))
        missing = [n for n in names if n not in known]
        if missing:
            raise NotFoundError(f"no node named {missing[0]!r}", field="node")
        conds.append(Node.name.in_(names))
    if query.rentable_only:
        conds.append(Node.rentable.is_(True))
    total = session.scalar(select(func.count(Node.id)).where(*conds)) or 0
    node_rows = session.execute(
        select(
            Node.id,
            Node.name,
            Node.node_type_id,
            NodeType.name.label("type_name"),
            Node.rentable,
            Node.retired_at,
        )
        .join(NodeType, NodeType.id == Node.node_type_id)
        .where(*conds)
        .order_by(Node.name)
        .offset(max(query.offset, 0))
        .limit(query.limit)
    ).all()
    if not node_rows:
        return Timeline(start, end, (), total, query.offset)
    pairs = [(n.id, n.node_type_id) for n in node_rows]
    sources = _sources(ctx, start, end, pairs, narrow=len(pairs) <= NARROW_NODES)
    rows = []
    for n in node_rows:
        mine = sources.get(n.id, [])
        if n.retired_at is not None:
            mine = [*mine, Source("retired", n.retired_at, end, label="retired")]
        rows.append(
            NodeTimeline(
                n.id, n.name, n.type_name, n.rentable, n.retired_at, tuple(segments(mine, start, end))
            )
        )
    return Timeline(start, end, tuple(rows), total, query.offset)


def _sources(
    ctx: ServiceContext, start: datetime, end: datetime, pairs: list[tuple[int, int]], *, narrow: bool
) -> dict[int, list[Source]]:
    """The sources in ``[start, end)`` of the nodes ``pairs`` (node id, node type id): windows
    and outages (one load), reservations (one query). ``narrow`` limits the reservations to
    those nodes, and the windows and outages too over more than WIDE_PAGE (for a few weeks the
    span's windows are cheaper than a node lookup; core/services/reservations.py)."""
    session, now = ctx.session, ctx.now()
    index = load_downtime(
        session,
        start,
        end,
        now,
        credited_only=False,
        nodes=pairs if narrow and end - start > WIDE_PAGE else None,
        forecast_hours=ctx.site.outage_default_hours,
    )
    out: dict[int, list[Source]] = defaultdict(list)
    for r in reservation_rows(session, start, end, [nid for nid, _t in pairs] if narrow else None):
        kind = "rented" if r.status == "approved" else "pending"
        out[r.node_id].append(Source(kind, r.start, r.end, "reservation", r.id, r.project))
    for nid, tid in pairs:
        for src in index.for_node(nid, tid):
            iv = src.interval
            if src.source == "maintenance":
                out[nid].append(Source("maintenance", iv.start, iv.end, "window", src.id, src.title))
            else:
                out[nid].append(Source("outage", iv.start, iv.end, "outage", src.id, src.title, src.open))
    return out


# ---------------------------------------------------------------- free slots


@dataclass(frozen=True)
class FreeResult:
    """Which nodes (rentable, in service) are free for the whole of ``[start, end)``."""

    start: datetime
    end: datetime
    node_type: str | None
    free: tuple[NodeTimeline, ...]
    busy: tuple[NodeTimeline, ...]

    def summary(self) -> str:
        what = f"{self.node_type} nodes" if self.node_type else "nodes"
        return f"{len(self.free)} of {len(self.free) + len(self.busy)} rentable {what} free"

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "from": timeutil.iso_local(self.start, tz),
            "to": timeutil.iso_local(self.end, tz),
            "type": self.node_type,
            "free": [r.node for r in self.free],
            "busy": [
                {"node": r.node, "type": r.node_type, "busy": [s.to_json(tz) for s in r.busy]}
                for r in self.busy
            ],
        }


def free_nodes(
    ctx: ServiceContext, start: datetime, end: datetime, node_type: str | None = None
) -> FreeResult:
    """The rentable nodes in service (of ``node_type``, or all) with nothing on them from
    ``start`` to ``end``: no outage, no maintenance, no pending or approved reservation."""
    found = timeline(ctx, TimelineQuery(start, end, node_type=node_type, rentable_only=True))
    rows = [r for r in found.rows if r.retired_at is None]
    return FreeResult(
        found.start,
        found.end,
        node_type,
        tuple(r for r in rows if r.free),
        tuple(r for r in rows if not r.free),
    )
