"""The calendar: maintenance windows, outages and reservations over a range of site-local days.

Front ends ask for a range of days (a month grid, a week, one day) and get plain dataclasses:
every event overlapping the range once, and the same events bucketed per *site-local* day (an
event spanning several days appears on each of them; a DST day is 23 or 25 hours long, pendulum
works out its bounds). The number of queries is fixed — never one per day or per event.

What is shown:
- maintenance windows with their derived status (upcoming / in_progress / completed);
- outages with their workflow status; an open outage is drawn from its start up to now, or up
  to its estimated time to repair when that is later (the admin expects it to last until then);
- reservations that hold their node (pending and approved); declined and cancelled ones only
  when asked for (``include_inactive``).

Filters: a node, or a node type (not both). A window applies to a node when it covers all
nodes, names that node, or names its node type; to a node type when it covers all nodes, names
the type, or names any node of that type. An outage applies when one of its nodes matches, a
reservation when its node does.

Each day lists its events downtime first — outages, then windows, then reservations — each
group by start time: what makes a node unusable is what an admin scans for.

The week grid (``calendar_week``) cuts each day of a week into its wall-clock hours: 24, or 23
on the day the clocks go forward (that day has no 02:00 in America/New_York), or 25 on the day
they go back (01:00 happens twice; the second pass has ``fold`` 1). Every hour lists the events
overlapping it, in the day's order, so the front end only draws.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pendulum
from sqlalchemy import ColumnElement, or_, select

from ... import timeutil
from ...context import ServiceContext
from ...errors import ValidationError
from ...models import (
    ACTIVE_RESERVATION_STATUSES,
    MaintenanceWindow,
    Node,
    NodeType,
    Outage,
    Project,
    Reservation,
    outage_nodes,
    window_scope_node_types,
    window_scope_nodes,
)
from ..downtime.windows import status_at
from ..nodes.inventory import get_node, get_node_type

KINDS = ("outage", "window", "reservation")  # also the order events are listed in a day
KIND_GLYPH = {"window": "⚒", "outage": "⚠", "reservation": "▣"}
KIND_LABEL = {"window": "maintenance window", "outage": "outage", "reservation": "reservation"}
MAX_DAYS = 400  # a calendar range is a month grid or a week; a year and a bit is plenty
WEEK_START = 0  # Monday (ISO 8601)


# ---------------------------------------------------------------- ranges (pure)


def week_of(day: date) -> tuple[date, date]:
    """The Monday-to-Sunday week containing ``day`` (first and last day, inclusive)."""
    first = day - timedelta(days=(day.weekday() - WEEK_START) % 7)
    return first, first + timedelta(days=6)


def month_grid(year: int, month: int) -> tuple[date, date]:
    """The whole weeks covering a month: from the Monday on or before the 1st to the Sunday on
    or after its last day (4 to 6 weeks)."""
    first_of_month = date(year, month, 1)
    last_of_month = pendulum.date(year, month, 1).end_of("month")
    return week_of(first_of_month)[0], week_of(date(year, month, last_of_month.day))[1]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def hour_bounds(day_start: datetime, day_end: datetime, tz: str) -> list[tuple[int, int, datetime, datetime]]:
    """A site day's wall-clock hours as ``(hour, fold, start, end)``: one real hour each from local
    midnight, labelled by the local hour it starts at; an hour seen a second time (the clocks went
    back) has ``fold`` 1."""
    found: list[tuple[int, int, datetime, datetime]] = []
    seen: Counter[int] = Counter()
    start = day_start
    while start < day_end:
        end = min(start + timedelta(hours=1), day_end)
        hour = timeutil.to_local(start, tz).hour
        found.append((hour, seen[hour], start, end))
        seen[hour] += 1
        start = end
    return found


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class CalendarEvent:
    """One window, outage or reservation, as plain data (safe to pass between threads).

    ``title`` is the window's or outage's title, or the project of a reservation. ``until`` is
    where the calendar draws the event to: its end, or for an open outage now or its ETR,
    whichever is later.
    """

    kind: str
    id: int
    title: str
    start: datetime
    end: datetime | None
    until: datetime
    status: str
    nodes: tuple[str, ...] = ()
    node_types: tuple[str, ...] = ()
    all_nodes: bool = False
    project: str = ""
    requested_for: str = ""
    description: str = ""
    etr: datetime | None = None
    credit: bool = True

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def open(self) -> bool:
        """An outage not yet resolved."""
        return self.kind == "outage" and self.end is None

    @property
    def glyph(self) -> str:
        return KIND_GLYPH[self.kind]

    def where(self) -> str:
        """What it covers: ``all nodes``, ``A100, node2431``, or the reservation's node."""
        if self.kind == "window" and self.all_nodes:
            return "all nodes"
        if self.kind == "reservation":
            return self.nodes[0] if self.nodes else ""
        return ", ".join([*self.node_types, *self.nodes]) if self.kind == "window" else ", ".join(self.nodes)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and self.until > start

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz) if self.end is not None else None,
            "until": timeutil.iso_local(self.until, tz),
            "open": self.open,
            "where": self.where(),
            "nodes": list(self.nodes),
            "node_types": list(self.node_types),
            "all_nodes": self.all_nodes,
            "project": self.project or None,
            "requested_for": self.requested_for or None,
            "etr": timeutil.iso_local(self.etr, tz) if self.etr is not None else None,
        }


@dataclass(frozen=True)
class CalendarDay:
    """A site-local day ``[start, end)`` (23, 24 or 25 hours) and the events touching it."""

    day: date
    start: datetime
    end: datetime
    events: tuple[CalendarEvent, ...] = ()

    def counts(self) -> dict[str, int]:
        """Events per kind (every kind present, zero included)."""
        found = Counter(e.kind for e in self.events)
        return {kind: found.get(kind, 0) for kind in KINDS}

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class HourSlot:
    """One wall-clock hour ``[start, end)`` of a site day and the events overlapping it (in the
    day's order: downtime first). ``fold`` is 1 for the second pass of an hour the clocks repeat."""

    day: date
    hour: int
    fold: int
    start: datetime
    end: datetime
    events: tuple[CalendarEvent, ...] = ()

    @property
    def row(self) -> tuple[int, int]:
        return (self.hour, self.fold)

    def starting(self) -> tuple[CalendarEvent, ...]:
        """The events that begin in this hour."""
        return tuple(e for e in self.events if self.start <= e.start < self.end)


@dataclass(frozen=True)
class CalendarFilter:
    """At most one of a node and a node type; neither means the whole centre."""

    node: str | None = None
    node_type: str | None = None

    @property
    def empty(self) -> bool:
        return not self.node and not self.node_type

    def label(self) -> str:
        if self.node:
            return f"node {self.node}"
        if self.node_type:
            return f"node type {self.node_type}"
        return "all nodes"


@dataclass(frozen=True)
class CalendarRange:
    first: date
    last: date  # inclusive
    tz: str
    filter: CalendarFilter
    events: tuple[CalendarEvent, ...]  # every event overlapping the range, once
    days: tuple[CalendarDay, ...] = field(default=())

    def day(self, day: date) -> CalendarDay | None:
        if not self.first <= day <= self.last:
            return None
        return self.days[(day - self.first).days]

    def covers(self, first: date, last: date) -> bool:
        return self.first <= first and last <= self.last

    def to_json(self) -> dict[str, object]:
        return {
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "timezone": self.tz,
            "filter": {"node": self.filter.node, "node_type": self.filter.node_type},
            "events": [e.to_json(self.tz) for e in self.events],
            "days": [
                {"date": d.day.isoformat(), "events": [e.key for e in d.events], "counts": d.counts()}
                for d in self.days
            ],
        }


@dataclass(frozen=True)
class CalendarWeek:
    """A Monday-to-Sunday week as a grid: ``rows`` are the wall-clock hours any of its days has,
    in order — 24, or 25 in the week the clocks go back (a second 01:00 row) — and ``hours`` each
    day's own slots (23, 24 or 25)."""

    span: CalendarRange
    rows: tuple[tuple[int, int], ...]
    hours: tuple[tuple[HourSlot, ...], ...]

    @property
    def first(self) -> date:
        return self.span.first

    @property
    def filter(self) -> CalendarFilter:
        return self.span.filter

    def slots(self, day: date) -> tuple[HourSlot, ...]:
        if not self.span.first <= day <= self.span.last:
            return ()
        return self.hours[(day - self.span.first).days]

    def slot(self, day: date, row: tuple[int, int]) -> HourSlot | None:
        """The hour ``row`` of ``day``; None when the day does not have it (the hour the clocks
        skip, or a repeated hour on another day of the week)."""
        return next((s for s in self.slots(day) if s.row == row), None)

    def repeated(self, hour: int) -> bool:
        """Whether the week shows two rows for this hour (the clocks go back during it)."""
        return (hour, 1) in self.rows


def hour_slots(day: CalendarDay, tz: str) -> tuple[HourSlot, ...]:
    """``day`` cut into its wall-clock hours, each with the day's events overlapping it."""
    return tuple(
        HourSlot(day.day, hour, fold, start, end, tuple(e for e in day.events if e.overlaps(start, end)))
        for hour, fold, start, end in hour_bounds(day.start, day.end, tz)
    )


def week_grid(span: CalendarRange) -> CalendarWeek:
    """The hour grid of a loaded range of days (no database work)."""
    hours = tuple(hour_slots(d, span.tz) for d in span.days)
    rows = tuple(sorted({s.row for slots in hours for s in slots}))
    return CalendarWeek(span, rows, hours)


# ---------------------------------------------------------------- loading


def _window_events(
    ctx: ServiceContext, start: datetime, end: datetime, node: Node | None, node_type: NodeType | None
) -> list[CalendarEvent]:
    W = MaintenanceWindow
    conds: list[ColumnElement[bool]] = [W.start < end, W.end > start]
    if node is not None:
        conds.append(
            or_(
                W.all_nodes.is_(True),
                W.nodes.any(Node.id == node.id),
                W.node_types.any(NodeType.id == node.node_type_id),
            )
        )
    elif node_type is not None:
        conds.append(
            or_(
                W.all_nodes.is_(True),
                W.node_types.any(NodeType.id == node_type.id),
                W.nodes.any(Node.node_type_id == node_type.id),
            )
        )
    now = ctx.now()
    # Plain columns and one query per scope table (joined on the same conditions), not window
    # objects: a busy month holds thousands of windows.
    rows = ctx.session.execute(
        select(W.id, W.title, W.start, W.end, W.all_nodes, W.description)
        .where(*conds)
        .order_by(W.start, W.id)
    ).all()
    node_names: dict[int, list[str]] = {}
    type_names: dict[int, list[str]] = {}
    if any(not r.all_nodes for r in rows):
        for wid, name in ctx.session.execute(
            select(window_scope_nodes.c.window_id, Node.name)
            .join(Node, Node.id == window_scope_nodes.c.node_id)
            .join(W, W.id == window_scope_nodes.c.window_id)
            .where(*conds)
            .order_by(Node.name)
        ):
            node_names.setdefault(wid, []).append(name)
        for wid, name in ctx.session.execute(
            select(window_scope_node_types.c.window_id, NodeType.name)
            .join(NodeType, NodeType.id == window_scope_node_types.c.node_type_id)
            .join(W, W.id == window_scope_node_types.c.window_id)
            .where(*conds)
            .order_by(NodeType.name)
        ):
            type_names.setdefault(wid, []).append(name)
    return [
        CalendarEvent(
            kind="window",
            id=w.id,
            title=w.title,
            start=w.start,
            end=w.end,
            until=w.end,
            status=status_at(w.start, w.end, now),
            nodes=tuple(node_names.get(w.id, ())),
            node_types=tuple(type_names.get(w.id, ())),
            all_nodes=w.all_nodes,
            description=w.description,
        )
        for w in rows
    ]


def _outage_events(
    ctx: ServiceContext, start: datetime, end: datetime, node: Node | None, node_type: NodeType | None
) -> list[CalendarEvent]:
    conds: list[ColumnElement[bool]] = [Outage.start < end]
    # An open outage has no end: whether it reaches the range depends on now and its ETR.
    conds.append(or_(Outage.end.is_(None), Outage.end > start))
    if node is not None:
        conds.append(Outage.nodes.any(Node.id == node.id))
    elif node_type is not None:
        conds.append(Outage.nodes.any(Node.node_type_id == node_type.id))
    now = ctx.now()
    # Plain columns (as for windows): a busy month holds hundreds of outages.
    names: dict[int, list[str]] = {}
    for oid, name in ctx.session.execute(
        select(outage_nodes.c.outage_id, Node.name)
        .join(Node, Node.id == outage_nodes.c.node_id)
        .join(Outage, Outage.id == outage_nodes.c.outage_id)
        .where(*conds)
    ):
        names.setdefault(oid, []).append(name)
    columns = (
        *(Outage.id, Outage.title, Outage.start, Outage.end, Outage.etr, Outage.status),
        *(Outage.description, Outage.credit),
    )
    events = []
    for o in ctx.session.execute(select(*columns).where(*conds).order_by(Outage.start, Outage.id)):
        if o.end is not None:
            until = o.end
        else:
            until = max(now, o.etr or now)
            if until <= o.start:  # not possible through the services; still draw it somewhere
                until = o.start + timedelta(minutes=1)
        event = CalendarEvent(
            kind="outage",
            id=o.id,
            title=o.title,
            start=o.start,
            end=o.end,
            until=until,
            status=o.status,
            nodes=tuple(sorted(names.get(o.id, ()))),
            description=o.description,
            etr=o.etr,
            credit=o.credit,
        )
        if event.overlaps(start, end):
            events.append(event)
    return events


def _reservation_events(
    ctx: ServiceContext,
    start: datetime,
    end: datetime,
    node: Node | None,
    node_type: NodeType | None,
    include_inactive: bool,
) -> list[CalendarEvent]:
    R = Reservation
    # Plain columns, not Reservation objects: a busy month holds thousands of reservations and
    # building ORM objects (with their node and project) cost most of the calendar's time.
    stmt = (
        select(
            R.id,
            R.start,
            R.end,
            R.status,
            R.requested_for,
            R.notes,
            Project.title,
            Node.name,
            NodeType.name.label("type_name"),
        )
        .join(Node, Node.id == R.node_id)
        .join(NodeType, NodeType.id == Node.node_type_id)
        .join(Project, Project.id == R.project_id)
        .where(R.start < end, R.end > start)
    )
    if not include_inactive:
        stmt = stmt.where(R.status.in_(ACTIVE_RESERVATION_STATUSES))
    if node is not None:
        stmt = stmt.where(R.node_id == node.id)
    elif node_type is not None:
        stmt = stmt.where(Node.node_type_id == node_type.id)
    return [
        CalendarEvent(
            kind="reservation",
            id=r.id,
            title=r.title,
            start=r.start,
            end=r.end,
            until=r.end,
            status=r.status,
            nodes=(r.name,),
            node_types=(r.type_name,),
            project=r.title,
            requested_for=r.requested_for,
            description=r.notes,
        )
        for r in ctx.session.execute(stmt.order_by(R.start, R.id))
    ]


def _sort_key(e: CalendarEvent) -> tuple[int, datetime, int]:
    return (KINDS.index(e.kind), e.start, e.id)


def bucket(events: list[CalendarEvent], first: date, last: date, tz: str) -> tuple[CalendarDay, ...]:
    """Each site-local day from ``first`` to ``last`` with the events overlapping it."""
    dates = days_between(first, last)
    bounds = [timeutil.start_of_day(d, tz) for d in [*dates, last + timedelta(days=1)]]
    found: list[list[CalendarEvent]] = [[] for _ in dates]
    for e in sorted(events, key=_sort_key):
        # the first day ending after the event starts, then on while the days start before it ends
        i = max(bisect_right(bounds, e.start) - 1, 0)
        while i < len(dates) and bounds[i] < e.until:
            if e.overlaps(bounds[i], bounds[i + 1]):
                found[i].append(e)
            i += 1
    return tuple(CalendarDay(d, bounds[i], bounds[i + 1], tuple(found[i])) for i, d in enumerate(dates))


def calendar(
    ctx: ServiceContext,
    first: date,
    last: date,
    flt: CalendarFilter = CalendarFilter(),
    *,
    kinds: tuple[str, ...] = KINDS,
    include_inactive: bool = False,
) -> CalendarRange:
    """Events overlapping the site-local days ``first`` … ``last`` (inclusive), per day."""
    ctx.require("read")
    if last < first:
        raise ValidationError("must not be before the first day", field="last")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError(f"a calendar range is at most {MAX_DAYS} days", field="last")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValidationError(f"unknown kind {unknown[0]!r} (use {', '.join(KINDS)})", field="kinds")
    if flt.node and flt.node_type:
        raise ValidationError("filter by a node or by a node type, not both", field="node_type")
    node = get_node(ctx, flt.node.strip()) if flt.node else None
    node_type = get_node_type(ctx, flt.node_type.strip(), field="node_type") if flt.node_type else None
    start = timeutil.start_of_day(first, ctx.tz)
    end = timeutil.start_of_day(last + timedelta(days=1), ctx.tz)
    events: list[CalendarEvent] = []
    if "outage" in kinds:
        events += _outage_events(ctx, start, end, node, node_type)
    if "window" in kinds:
        events += _window_events(ctx, start, end, node, node_type)
    if "reservation" in kinds:
        events += _reservation_events(ctx, start, end, node, node_type, include_inactive)
    events.sort(key=_sort_key)
    return CalendarRange(first, last, ctx.tz, flt, tuple(events), bucket(events, first, last, ctx.tz))


def calendar_week(
    ctx: ServiceContext,
    day: date,
    flt: CalendarFilter = CalendarFilter(),
    *,
    kinds: tuple[str, ...] = KINDS,
    include_inactive: bool = False,
) -> CalendarWeek:
    """The Monday-to-Sunday week containing ``day`` as an hour grid (the same events, rules and
    number of queries as :func:`calendar` over that week)."""
    first, last = week_of(day)
    span = calendar(ctx, first, last, flt, kinds=kinds, include_inactive=include_inactive)
    return week_grid(span)
