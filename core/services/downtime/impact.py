"""Billing impact of adding, changing or removing a maintenance window.

For every pending or approved reservation the change touches, compare the reservation's
downtime (union of all other windows and credited outages, plus this window as it was / as it
would be). A positive delta means hours that will no longer be billed; a negative delta means
hours that become billable again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from ... import timeutil
from ...billing import engine
from ...billing.inputs import (
    DowntimeIn,
    MonthData,
    OverrideIn,
    RateIn,
    ReservationIn,
    from_us,
    month_spec,
    to_us,
)
from ...billing.loader import node_sku_code, override_input
from ...context import ServiceContext
from ...downtime import DowntimeIndex, DowntimeSource, WindowScope, load_downtime
from ...errors import NotFoundError, ValidationError
from ...intervals import Interval, intersect_sets
from ...models import (
    ACTIVE_RESERVATION_STATUSES,
    BillingOverride,
    Node,
    NodeType,
    Outage,
    Project,
    Rate,
    Reservation,
    Sku,
    User,
    outage_nodes,
)

HOURS = Decimal(3600)


@dataclass(frozen=True)
class ImpactLine:
    reservation_id: int
    node: str
    project: str
    owner: str
    status: str
    start: datetime
    end: datetime
    downtime_before: Decimal  # hours of downtime on the reservation before the change
    downtime_after: Decimal

    @property
    def delta_hours(self) -> Decimal:
        """Hours no longer billed (positive) or billable again (negative)."""
        return self.downtime_after - self.downtime_before

    def describe(self, tz: str) -> str:
        delta = self.delta_hours
        verb = "no longer billed" if delta > 0 else "billable again"
        return (
            f"reservation #{self.reservation_id} {self.node} ({self.project}, {self.status}) "
            f"{timeutil.format_short(self.start, tz)}→{timeutil.format_short(self.end, tz)}: "
            f"{abs(delta):.2f} h {verb}"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "reservation_id": self.reservation_id,
            "node": self.node,
            "project": self.project,
            "owner": self.owner,
            "status": self.status,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "downtime_hours_before": f"{self.downtime_before:.2f}",
            "downtime_hours_after": f"{self.downtime_after:.2f}",
            "delta_hours": f"{self.delta_hours:.2f}",
        }


def hours(delta: timedelta) -> Decimal:
    return Decimal(int(delta.total_seconds() * 1_000_000)) / (HOURS * 1_000_000)


def resolve_scope(session: Session, nodes: tuple[str, ...], node_types: tuple[str, ...]) -> WindowScope:
    if not nodes and not node_types:
        return WindowScope(all_nodes=True)
    node_ids = set(session.scalars(select(Node.id).where(Node.name.in_(nodes)))) if nodes else set()
    type_ids = (
        set(session.scalars(select(NodeType.id).where(NodeType.name.in_(node_types))))
        if node_types
        else set()
    )
    return WindowScope(False, frozenset(node_ids), frozenset(type_ids))


def impact_of_change(
    ctx: ServiceContext,
    *,
    old: tuple[Interval[datetime], object, int] | None = None,
    new: tuple[Interval[datetime], object] | None = None,
) -> list[ImpactLine]:
    """Reservations whose downtime changes when window ``old`` (interval, Scope, id) becomes
    ``new`` (interval, Scope). Either side may be missing (create / delete)."""
    session = ctx.session
    spans = [x[0] for x in (old, new) if x is not None]
    if not spans:
        return []
    lo, hi = min(s.start for s in spans), max(s.end for s in spans)
    old_scope = resolve_scope(session, old[1].nodes, old[1].node_types) if old else None  # type: ignore[attr-defined]
    new_scope = resolve_scope(session, new[1].nodes, new[1].node_types) if new else None  # type: ignore[attr-defined]
    rows = session.execute(
        select(Reservation, Node.node_type_id)
        .join(Node, Reservation.node_id == Node.id)
        .where(
            Reservation.status.in_(ACTIVE_RESERVATION_STATUSES), Reservation.start < hi, Reservation.end > lo
        )
        .where(or_(*[(Reservation.start < s.end) & (Reservation.end > s.start) for s in spans]))
        .order_by(Reservation.start, Reservation.id)
    ).all()
    if not rows:
        return []
    r_lo = min(r.Reservation.start for r in rows)
    r_hi = max(r.Reservation.end for r in rows)
    exclude = [old[2]] if old else []
    index = load_downtime(session, r_lo, r_hi, ctx.now(), exclude_window_ids=exclude)
    lines = []
    for res, type_id in rows:
        span = Interval(res.start, res.end)
        others = [src.interval for src in index.for_node(res.node_id, type_id)]
        before = list(others)
        after = list(others)
        if old and old_scope and old_scope.applies_to(res.node_id, type_id):
            before.append(old[0])
        if new and new_scope and new_scope.applies_to(res.node_id, type_id):
            after.append(new[0])
        h_before = _covered_hours(span, before)
        h_after = _covered_hours(span, after)
        if h_before != h_after:
            lines.append(
                ImpactLine(
                    res.id,
                    res.node.name,
                    res.project.title,
                    res.project.owner.username,
                    res.status,
                    res.start,
                    res.end,
                    h_before,
                    h_after,
                )
            )
    return lines


def _covered_hours(span: Interval[datetime], downtime: list[Interval[datetime]]) -> Decimal:
    total = timedelta(0)
    for part in intersect_sets([span], downtime):
        total += part.end - part.start
    return hours(total)


# ---------------------------------------------------------------- assess: a proposed window


@dataclass(frozen=True)
class ReservationImpact:
    """One pending or approved reservation a proposed window hits.

    ``hours`` is the downtime the window *adds* beyond what the reservation already has from
    other windows and credited outages; ``not_billed`` is what that takes off its charges at
    the rates in force, computed by the billing engine itself (per month, rounded to cents as
    the invoice line is), so it equals the invoice difference with and without the window.
    A pending reservation is priced as if it were approved.
    """

    reservation_id: int
    node: str
    project: str
    owner: str
    status: str
    start: datetime
    end: datetime
    hours: Decimal
    not_billed: Decimal
    months: tuple[str, ...]  # invoice months whose amount changes
    missing_rate: bool = False  # some of the hours have no rate in force (not priced)

    def describe(self, tz: str, currency: str = "") -> str:
        money = f"{self.not_billed:.2f}" + (f" {currency}" if currency else "")
        return (
            f"#{self.reservation_id} {self.node} {self.project} ({self.owner}, {self.status}) "
            f"{timeutil.format_short(self.start, tz)}→{timeutil.format_short(self.end, tz)}: "
            f"{self.hours:.2f} h, {money} not billed" + (" (no rate for part)" if self.missing_rate else "")
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "reservation_id": self.reservation_id,
            "node": self.node,
            "project": self.project,
            "owner": self.owner,
            "status": self.status,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "hours": f"{self.hours:.2f}",
            "not_billed": f"{self.not_billed:.2f}",
            "months": list(self.months),
            "missing_rate": self.missing_rate,
        }


@dataclass(frozen=True)
class WindowConflict:
    """Another maintenance window overlapping the proposed one on at least one shared node."""

    id: int
    title: str
    start: datetime
    end: datetime
    nodes: tuple[str, ...]  # the shared nodes

    def describe(self, tz: str) -> str:
        return (
            f"overlaps window #{self.id} {self.title!r} "
            f"{timeutil.format_short(self.start, tz)}→{timeutil.format_short(self.end, tz)} "
            f"on {_nodes_text(self.nodes)}"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "nodes": list(self.nodes),
        }


@dataclass(frozen=True)
class OutageConflict:
    """An outage (credited or not, open or resolved) overlapping the proposed window on shared nodes."""

    id: int
    title: str
    status: str
    start: datetime
    end: datetime | None  # None: still open
    credit: bool
    nodes: tuple[str, ...]

    def describe(self, tz: str) -> str:
        end = timeutil.format_short(self.end, tz) if self.end else "open"
        return (
            f"overlaps outage #{self.id} {self.title!r} ({self.status}) "
            f"{timeutil.format_short(self.start, tz)}→{end} on {_nodes_text(self.nodes)}"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz) if self.end else None,
            "open": self.end is None,
            "credit": self.credit,
            "nodes": list(self.nodes),
        }


def _nodes_text(nodes: tuple[str, ...], limit: int = 3) -> str:
    if len(nodes) <= limit:
        return ", ".join(nodes)
    return ", ".join(nodes[:limit]) + f" and {len(nodes) - limit} more"


@dataclass(frozen=True)
class WindowImpact:
    """What a proposed window ``[start, end)`` on ``scope`` does to renters, and what it collides with."""

    start: datetime
    end: datetime
    scope_label: str
    node_count: int  # nodes in scope
    currency: str
    lines: tuple[ReservationImpact, ...]
    windows: tuple[WindowConflict, ...]
    outages: tuple[OutageConflict, ...]

    @property
    def hours(self) -> Decimal:
        return sum((line.hours for line in self.lines), Decimal(0))

    @property
    def not_billed(self) -> Decimal:
        return sum((line.not_billed for line in self.lines), Decimal("0.00"))

    def warning_texts(self, tz: str) -> list[str]:
        return [w.describe(tz) for w in self.windows] + [o.describe(tz) for o in self.outages]

    def summary(self) -> str:
        if not self.lines:
            return "no pending or approved reservation affected"
        return (
            f"{len(self.lines)} reservation(s) affected: {self.hours:.2f} h, "
            f"{self.not_billed:.2f} {self.currency} not billed"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "scope": self.scope_label,
            "nodes_in_scope": self.node_count,
            "currency": self.currency,
            "reservations": [line.to_json(tz) for line in self.lines],
            "totals": {
                "reservations": len(self.lines),
                "hours": f"{self.hours:.2f}",
                "not_billed": f"{self.not_billed:.2f}",
            },
            "warnings": {
                "windows": [w.to_json(tz) for w in self.windows],
                "outages": [o.to_json(tz) for o in self.outages],
            },
        }


def assess(
    ctx: ServiceContext,
    start: datetime,
    end: datetime,
    scope: object,
    *,
    exclude_window_id: int | None = None,
) -> WindowImpact:
    """Impact of a proposed window (new, or window ``exclude_window_id`` moved/extended: its
    current version is then left out of the existing downtime and of the conflicts).

    ``scope`` is a :class:`~nodedesk.core.services.downtime.windows.Scope` (node and node type names;
    none = all nodes). Read-only; a fixed number of queries whatever the number of nodes.
    """
    excluded = (exclude_window_id,) if exclude_window_id is not None else ()
    return assess_many(ctx, [(start, end)], scope, exclude_window_ids=excluded)[0]


def assess_many(
    ctx: ServiceContext,
    spans: Iterable[Interval[datetime] | tuple[datetime, datetime]],
    scope: object,
    *,
    exclude_window_ids: Iterable[int] = (),
) -> list[WindowImpact]:
    """:func:`assess` for each of several spans on one scope (e.g. a schedule's occurrences),
    with the data loaded once. Each span is judged against the existing downtime only (not
    against the other spans); pass the ids of already-made windows in ``exclude_window_ids``
    so they are not counted twice."""
    ctx.require("read")
    intervals = []
    for span in spans:
        start, end = (span.start, span.end) if isinstance(span, Interval) else span
        timeutil.ensure_aware(start, "start")
        timeutil.ensure_aware(end, "end")
        if not end > start:
            raise ValidationError("must be after the start (a window cannot be empty)", field="end")
        intervals.append(Interval(start, end))
    if not intervals:
        return []
    data = _load(ctx, intervals, scope, set(exclude_window_ids))
    return [_assess_one(ctx, data, iv) for iv in intervals]


@dataclass
class _Loaded:
    scope_label: str
    scope_nodes: dict[int, tuple[str, int]]  # node id -> (name, node type id) in scope
    scope_types: set[int]
    reservations: list[Any]  # rows: Reservation id/status/span, node, type, project, owner
    index: DowntimeIndex
    windows: list[tuple[Any, WindowScope]]  # other windows: (row, scope)
    outages: list[tuple[Any, tuple[int, ...]]]  # (row, node ids)
    rates: tuple[RateIn, ...]
    sku_by_type: dict[int, str]
    overrides: list[tuple[str, OverrideIn]]  # (period, override)
    owners: dict[str, str]


def _scope_names(scope: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    nodes = tuple(getattr(scope, "nodes", ()) or ())
    types = tuple(getattr(scope, "node_types", ()) or ())
    return nodes, types


def _load(ctx: ServiceContext, spans: list[Interval[datetime]], scope: object, excluded: set[int]) -> _Loaded:
    session = ctx.session
    now = ctx.now()
    lo, hi = min(s.start for s in spans), max(s.end for s in spans)
    names, type_names = _scope_names(scope)
    all_nodes = not names and not type_names

    node_rows = session.execute(select(Node.id, Node.name, Node.node_type_id).order_by(Node.name)).all()
    types = {name: tid for tid, name in session.execute(select(NodeType.id, NodeType.name))}
    by_name = {r.name: r for r in node_rows}
    for n in names:
        if n not in by_name:
            raise NotFoundError(f"no node named {n!r}", field="node")
    for t in type_names:
        if t not in types:
            raise NotFoundError(f"no node type named {t!r}", field="node_type")
    wanted_types = {types[t] for t in type_names}
    wanted_nodes = set(names)
    scope_nodes = {
        r.id: (r.name, r.node_type_id)
        for r in node_rows
        if all_nodes or r.name in wanted_nodes or r.node_type_id in wanted_types
    }
    label = "all nodes" if all_nodes else ", ".join([*type_names, *names])

    owner = aliased(User)
    res_rows = session.execute(
        select(
            Reservation.id,
            Reservation.status,
            Reservation.start,
            Reservation.end,
            Reservation.node_id,
            Reservation.requested_for,
            Node.name.label("node"),
            Node.node_type_id,
            NodeType.name.label("node_type"),
            Project.title.label("project"),
            owner.username.label("owner"),
        )
        .join(Node, Node.id == Reservation.node_id)
        .join(NodeType, NodeType.id == Node.node_type_id)
        .join(Project, Project.id == Reservation.project_id)
        .join(owner, owner.id == Project.owner_id)
        .where(
            Reservation.status.in_(ACTIVE_RESERVATION_STATUSES),
            Reservation.start < hi,
            Reservation.end > lo,
        )
        .order_by(Reservation.start, Reservation.id)
    ).all()
    res_rows = [
        r
        for r in res_rows
        if r.node_id in scope_nodes and any(r.start < s.end and r.end > s.start for s in spans)
    ]

    # Downtime over the whole stretch the reservations and the spans cover (one load).
    d_lo = min([lo, *(r.start for r in res_rows)])
    d_hi = max([hi, *(r.end for r in res_rows)])
    everything = load_downtime(session, d_lo, d_hi, now)
    index = DowntimeIndex()
    windows: list[tuple[Any, WindowScope]] = []
    for src, wscope in everything.windows:
        if src.id in excluded:
            continue
        index.add_window(src, wscope)
        windows.append((src, wscope))
    index.outages_by_node = everything.outages_by_node

    # Outages for the warnings: every outage on a node in scope (credited or not, open or not).
    out_rows = session.execute(
        select(Outage.id, Outage.title, Outage.status, Outage.start, Outage.end, Outage.credit).where(
            Outage.start < hi, or_(Outage.end.is_(None), Outage.end > lo)
        )
    ).all()
    out_nodes: dict[int, list[int]] = defaultdict(list)
    if out_rows:
        for oid, nid in session.execute(
            select(outage_nodes.c.outage_id, outage_nodes.c.node_id)
            .join(Outage, Outage.id == outage_nodes.c.outage_id)
            .where(Outage.start < hi, or_(Outage.end.is_(None), Outage.end > lo))
        ):
            if nid in scope_nodes:
                out_nodes[oid].append(nid)
    outages = [(r, tuple(out_nodes[r.id])) for r in out_rows if out_nodes.get(r.id)]

    rates: tuple[RateIn, ...] = ()
    sku_by_type: dict[int, str] = {}
    overrides: list[tuple[str, OverrideIn]] = []
    owners: dict[str, str] = {}
    if res_rows:
        skus = session.execute(select(Sku.id, Sku.code, Sku.node_type_id)).all()
        sku_code = {sid: code for sid, code, _t in skus}
        sku_by_type = {tid: code for _sid, code, tid in skus if tid is not None}
        rates = tuple(
            RateIn(sku_code[sku_id], effective, amount, rid)
            for rid, sku_id, effective, amount in session.execute(
                select(Rate.id, Rate.sku_id, Rate.effective_date, Rate.amount)
            )
        )
        projects = {
            pid: (title, username)
            for pid, title, username in session.execute(
                select(Project.id, Project.title, owner.username).join(owner, owner.id == Project.owner_id)
            )
        }
        owners = {title: username for title, username in projects.values()}
        first = timeutil.local_day(d_lo, ctx.tz)
        last = timeutil.local_day(d_hi, ctx.tz)
        periods = [f"{y:04d}-{m:02d}" for y, m in _months(first, last)]
        for o in session.scalars(
            select(BillingOverride)
            .join(Reservation, Reservation.id == BillingOverride.reservation_id)
            .where(
                BillingOverride.period.in_(periods),
                Reservation.status.in_(ACTIVE_RESERVATION_STATUSES),
                Reservation.start < hi,
                Reservation.end > lo,
            )
        ):
            overrides.append((o.period, override_input(o, projects)))
    return _Loaded(
        label,
        scope_nodes,
        wanted_types,
        res_rows,
        index,
        windows,
        outages,
        rates,
        sku_by_type,
        overrides,
        owners,
    )


def _months(first: date, last: date) -> list[tuple[int, int]]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _assess_one(ctx: ServiceContext, data: _Loaded, span: Interval[datetime]) -> WindowImpact:
    tz = ctx.tz
    currency = ctx.site.currency
    added = DowntimeSource("maintenance", 0, "(proposed window)", span)
    # Per reservation hit: its downtime sources without and with the proposed window.
    hits: list[tuple[Any, list[DowntimeSource], Decimal]] = []
    for r in data.reservations:
        if not (r.start < span.end and r.end > span.start):
            continue
        res_span = Interval(r.start, r.end)
        existing = data.index.for_node(r.node_id, r.node_type_id)
        intervals = [s.interval for s in existing]
        gained = _covered_hours(res_span, [*intervals, span]) - _covered_hours(res_span, intervals)
        if gained > 0:
            hits.append((r, existing, gained))

    # Price the hits with the billing engine, month by month, without and with the window.
    amounts: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
    months_hit: dict[int, list[str]] = defaultdict(list)
    missing: set[int] = set()
    if hits:
        first = timeutil.local_day(max(span.start, min(r.start for r, _e, _g in hits)), tz)
        last_instant = min(span.end, max(r.end for r, _e, _g in hits))
        last = timeutil.local_day(last_instant - timedelta(microseconds=1), tz)
        now_us = to_us(ctx.now())
        for y, m in _months(first, last):
            spec = month_spec(f"{y:04d}-{m:02d}", tz)
            m0, m1 = from_us(spec.start), from_us(spec.end)
            clipped = (max(span.start, m0), min(span.end, m1))
            if clipped[0] >= clipped[1]:
                continue
            before: list[ReservationIn] = []
            after: list[ReservationIn] = []
            for r, existing, _g in hits:
                if not (r.start < clipped[1] and r.end > clipped[0]):
                    continue
                common = {
                    "id": r.id,
                    "project": r.project,
                    "node": r.node,
                    "sku": data.sku_by_type.get(r.node_type_id) or node_sku_code(r.node_type),
                    "start": to_us(r.start),
                    "end": to_us(r.end),
                    "requested_for": r.requested_for,
                    "node_type": r.node_type,
                }
                sources = tuple(_downtime_in(s) for s in existing)
                before.append(ReservationIn(**common, downtime=sources))  # type: ignore[arg-type]
                after.append(ReservationIn(**common, downtime=(*sources, _downtime_in(added))))  # type: ignore[arg-type]
            if not before:
                continue
            ovs = tuple(o for p, o in data.overrides if p == spec.period)
            shared = {"month": spec, "now": now_us, "currency": currency, "rates": data.rates}
            was = _line_amounts(
                MonthData(**shared, reservations=tuple(before), overrides=ovs, owners=data.owners)
            )  # type: ignore[arg-type]
            now_lines = _line_amounts(
                MonthData(**shared, reservations=tuple(after), overrides=ovs, owners=data.owners)
            )  # type: ignore[arg-type]
            for rid, (amount, has_missing) in now_lines.items():
                prev = was.get(rid, (Decimal("0.00"), False))[0]
                amounts[rid] += prev - amount
                if prev != amount:
                    months_hit[rid].append(spec.period)
                if has_missing:
                    missing.add(rid)

    lines = tuple(
        ReservationImpact(
            r.id,
            r.node,
            r.project,
            r.owner,
            r.status,
            r.start,
            r.end,
            gained,
            amounts[r.id],
            tuple(months_hit[r.id]),
            r.id in missing,
        )
        for r, _e, gained in hits
    )
    return WindowImpact(
        start=span.start,
        end=span.end,
        scope_label=data.scope_label,
        node_count=len(data.scope_nodes),
        currency=currency,
        lines=lines,
        windows=tuple(_window_conflicts(data, span)),
        outages=tuple(_outage_conflicts(data, span)),
    )


def _downtime_in(src: DowntimeSource) -> DowntimeIn:
    return DowntimeIn(
        src.source, src.id, src.title, to_us(src.interval.start), to_us(src.interval.end), src.open
    )


def _line_amounts(month: MonthData) -> dict[int, tuple[Decimal, bool]]:
    """Reservation id -> (line amount as the invoice shows it, some hours lack a rate)."""
    result = engine.compute(month)
    out: dict[int, tuple[Decimal, bool]] = {}
    for line in result.lines():
        if isinstance(line, engine.ReservationLine):
            out[line.reservation_id] = (line.amount, line.missing_rate_hours > 0)
    return out


def _window_conflicts(data: _Loaded, span: Interval[datetime]) -> list[WindowConflict]:
    found = []
    for src, wscope in data.windows:
        if not src.interval.overlaps(span):
            continue
        shared = tuple(name for nid, (name, tid) in data.scope_nodes.items() if wscope.applies_to(nid, tid))
        if shared:
            found.append(WindowConflict(src.id, src.title, src.interval.start, src.interval.end, shared))
    found.sort(key=lambda c: (c.start, c.id))
    return found


def _outage_conflicts(data: _Loaded, span: Interval[datetime]) -> list[OutageConflict]:
    found = []
    for row, node_ids in data.outages:
        if not (row.start < span.end and (row.end is None or row.end > span.start)):
            continue
        names = tuple(sorted(data.scope_nodes[n][0] for n in node_ids))
        found.append(OutageConflict(row.id, row.title, row.status, row.start, row.end, row.credit, names))
    found.sort(key=lambda c: (c.start, c.id))
    return found
