"""Which downtime applies to which node: maintenance windows in scope plus credited outages.

Loaded for a whole span with a fixed number of queries (never per node or per day), then
answered per node in memory. The billing engine and the impact previews both use this, so
"what counts as downtime" is defined once.

An open outage has no end yet. Billing counts it up to now (what has happened). Looking ahead
(impact previews, conflicts, reservations at risk, availability) it counts until its
:func:`outage_effective_end`: its ETR, or without one (or with one already past) the site's
``outage_default_hours`` from now (help/outages.md, "Open outages ahead").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, union
from sqlalchemy.orm import Session

from .intervals import Interval
from .models import (
    MaintenanceWindow,
    Outage,
    outage_nodes,
    window_scope_node_types,
    window_scope_nodes,
)


def outage_effective_end(
    start: datetime, end: datetime | None, etr: datetime | None, now: datetime, default_hours: int
) -> datetime:
    """Until when an outage counts as downtime, as of ``now``, for anything that looks ahead.

    A resolved outage: its end. An open one: its ETR when that is still ahead; otherwise (no
    ETR, or an overdue one) ``default_hours`` from now. Never before the start. The one rule
    for previews, conflicts, reservations at risk and availability (help/outages.md).
    """
    if end is not None:
        return end
    if etr is not None and etr > now:
        return max(etr, start)
    return max(now + timedelta(hours=default_hours), start)


@dataclass(frozen=True)
class DowntimeSource:
    source: str  # "maintenance" | "outage"
    id: int
    title: str
    interval: Interval[datetime]
    open: bool = False  # an outage still open (counted up to "now")


@dataclass
class WindowScope:
    all_nodes: bool
    node_ids: frozenset[int] = frozenset()
    node_type_ids: frozenset[int] = frozenset()

    def applies_to(self, node_id: int, node_type_id: int) -> bool:
        return self.all_nodes or node_id in self.node_ids or node_type_id in self.node_type_ids


_Placed = tuple[int, DowntimeSource]  # (position in DowntimeIndex.windows, source)


@dataclass
class DowntimeIndex:
    """Downtime sources over a span, answerable per node."""

    windows: list[tuple[DowntimeSource, WindowScope]] = field(default_factory=list)
    outages_by_node: dict[int, list[DowntimeSource]] = field(default_factory=dict)
    _maps: tuple[list[_Placed], dict[int, list[_Placed]], dict[int, list[_Placed]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def for_node(self, node_id: int, node_type_id: int) -> list[DowntimeSource]:
        """Windows in scope for the node (each once, in window order), then its outages.

        Answered from maps built once (all-nodes windows, windows by node, by node type), so
        asking for many nodes costs only the windows that actually apply to each.
        """
        everywhere, by_node, by_type = self._lookup()
        extra = by_node.get(node_id, []) + by_type.get(node_type_id, [])
        if extra:
            merged = dict(everywhere)
            merged.update(extra)
            found = [merged[pos] for pos in sorted(merged)]
        else:
            found = [src for _pos, src in everywhere]
        found.extend(self.outages_by_node.get(node_id, ()))
        return found

    def add_window(self, source: DowntimeSource, scope: WindowScope) -> None:
        self.windows.append((source, scope))
        self._maps = None

    def _lookup(self) -> tuple[list[_Placed], dict[int, list[_Placed]], dict[int, list[_Placed]]]:
        if self._maps is None:
            everywhere: list[_Placed] = []
            by_node: dict[int, list[_Placed]] = defaultdict(list)
            by_type: dict[int, list[_Placed]] = defaultdict(list)
            for pos, (src, scope) in enumerate(self.windows):
                if scope.all_nodes:
                    everywhere.append((pos, src))
                    continue
                for nid in scope.node_ids:
                    by_node[nid].append((pos, src))
                for tid in scope.node_type_ids:
                    by_type[tid].append((pos, src))
            self._maps = (everywhere, dict(by_node), dict(by_type))
        return self._maps


def load_downtime(
    session: Session,
    span_start: datetime,
    span_end: datetime,
    now: datetime,
    *,
    exclude_window_ids: Iterable[int] = (),
    credited_only: bool = True,
    nodes: Iterable[tuple[int, int]] | None = None,
    forecast_hours: int | None = None,
) -> DowntimeIndex:
    """All windows and outages overlapping ``[span_start, span_end)``, clipped to nothing.

    An open outage runs from its start up to ``now`` (capped at ``span_end`` by the caller's
    intersection); one that has not started by ``now`` contributes nothing. With
    ``forecast_hours`` (the site's ``outage_default_hours``) it runs to its
    :func:`outage_effective_end` instead: what a look ahead expects, not what billing counts.

    ``nodes`` — (node id, node type id) pairs — keeps only the windows and outages that touch
    one of them: a page of reservations spread over months (one node's, or sorted by project)
    then loads that page's downtime, not every window of those months. The index is complete
    for those nodes only.
    """
    index = DowntimeIndex()
    excluded = set(exclude_window_ids)
    overlapping = (MaintenanceWindow.start < span_end) & (MaintenanceWindow.end > span_start)
    outage_span = (Outage.start < span_end) & or_(Outage.end.is_(None), Outage.end > span_start)
    if nodes is not None:
        pairs = set(nodes)
        node_ids, type_ids = sorted({n for n, _t in pairs}), sorted({t for _n, t in pairs})
        # One list of ids (a UNION), not an OR of three conditions: with the OR, SQLite walks
        # every window of the span through the span index (a node's two years of reservations
        # on 100,000 windows: 250 ms); the union is driven by the nodes' scope rows (25 ms).
        everywhere = MaintenanceWindow.__table__.alias("everywhere")
        in_scope = union(
            select(window_scope_nodes.c.window_id).where(window_scope_nodes.c.node_id.in_(node_ids)),
            select(window_scope_node_types.c.window_id).where(
                window_scope_node_types.c.node_type_id.in_(type_ids)
            ),
            select(everywhere.c.id).where(everywhere.c.all_nodes.is_(True)),
        )
        overlapping = overlapping & MaintenanceWindow.id.in_(in_scope)
        outage_span = outage_span & Outage.id.in_(
            select(outage_nodes.c.outage_id).where(outage_nodes.c.node_id.in_(node_ids))
        )

    win_rows = session.execute(
        select(
            MaintenanceWindow.id,
            MaintenanceWindow.title,
            MaintenanceWindow.start,
            MaintenanceWindow.end,
            MaintenanceWindow.all_nodes,
        ).where(overlapping)
    ).all()
    # Scope rows of every window overlapping the span, fetched with the same span condition
    # (a join, not an IN list): the number of queries never depends on the number of windows.
    scope_nodes: dict[int, set[int]] = defaultdict(set)
    scope_types: dict[int, set[int]] = defaultdict(set)
    if any(not r.all_nodes for r in win_rows):
        for wid, nid in session.execute(
            select(window_scope_nodes.c.window_id, window_scope_nodes.c.node_id)
            .join(MaintenanceWindow, MaintenanceWindow.id == window_scope_nodes.c.window_id)
            .where(overlapping)
        ):
            scope_nodes[wid].add(nid)
        for wid, tid in session.execute(
            select(window_scope_node_types.c.window_id, window_scope_node_types.c.node_type_id)
            .join(MaintenanceWindow, MaintenanceWindow.id == window_scope_node_types.c.window_id)
            .where(overlapping)
        ):
            scope_types[wid].add(tid)
    for r in win_rows:
        if r.id in excluded:
            continue
        index.add_window(
            DowntimeSource("maintenance", r.id, r.title, Interval(r.start, r.end)),
            WindowScope(r.all_nodes, frozenset(scope_nodes[r.id]), frozenset(scope_types[r.id])),
        )

    out_query = select(Outage.id, Outage.title, Outage.start, Outage.end, Outage.etr).where(outage_span)
    if credited_only:
        out_query = out_query.where(Outage.credit.is_(True))
    out_rows = session.execute(out_query).all()
    sources: dict[int, DowntimeSource] = {}
    for o in out_rows:
        if o.end is None and forecast_hours is not None:
            end = outage_effective_end(o.start, None, o.etr, now, forecast_hours)
            if end <= span_start:
                continue
        else:
            end = o.end if o.end is not None else min(now, span_end)
        if end > o.start:
            sources[o.id] = DowntimeSource(
                "outage", o.id, o.title, Interval(o.start, end), open=o.end is None
            )
    by_node: dict[int, list[DowntimeSource]] = defaultdict(list)
    if sources:
        affected = select(outage_nodes.c.outage_id, outage_nodes.c.node_id).join(
            Outage, Outage.id == outage_nodes.c.outage_id
        )
        for oid, nid in session.execute(affected.where(outage_span)):
            if oid in sources:
                by_node[nid].append(sources[oid])
    index.outages_by_node = dict(by_node)
    return index
