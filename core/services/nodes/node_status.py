"""What every node is doing at the clock's now, since when, and what changes next.

State, by precedence (the first that applies wins):
1. ``outage``: an outage (credited or not) of the node is open, or resolved but covering now;
2. ``maintenance``: a maintenance window in scope for the node is in progress;
3. ``rented``: an approved reservation of the node covers now (which project, which reservation);
4. ``free``.

"Since" is when the node's current state began (a rented node whose window just ended has been
rented since the window's end); "next change" is the first instant after now when the state
changes (to what), looked for up to :data:`LOOKAHEAD` ahead. Back-to-back reservations of
different projects are a change; back-to-back downtime of one kind is not. An open outage has
no known end (its ETR is shown in the detail instead).

Everything is loaded with a fixed number of queries, whatever the number of nodes.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from ... import timeutil
from ...context import ServiceContext
from ...downtime import load_downtime
from ...models import Node, NodeType, Outage, Project, Reservation, outage_nodes

STATES = ("outage", "maintenance", "rented", "free")
STATE_GLYPHS = {"outage": "✖", "maintenance": "⚒", "rented": "●", "free": "○"}
LOOKBACK = timedelta(days=62)
LOOKAHEAD = timedelta(days=400)


@dataclass(frozen=True)
class StateAt:
    """A node's state over a stretch of time."""

    state: str  # outage | maintenance | rented | free
    detail: str  # which window/outage/project, "" when free
    subject_type: str | None = None  # "outage" | "window" | "reservation"
    subject_id: int | None = None
    project: str | None = None
    renter: str | None = None  # who the reservation is for (rented only)

    @property
    def key(self) -> tuple[str, int | None]:
        # Back-to-back reservations of other projects are a change; downtime of one kind is one run.
        return (self.state, self.subject_id if self.state == "rented" else None)

    def label(self) -> str:
        return f"{self.state}: {self.detail}" if self.detail else self.state

    def short(self) -> str:
        """``rented by Genomics``, ``maintenance (window #3)``, ``outage #2``, ``free``."""
        if self.state == "rented":
            return f"rented by {self.project}"
        if self.state == "maintenance":
            return f"maintenance (window #{self.subject_id})"
        if self.state == "outage":
            return f"outage #{self.subject_id}"
        return "free"


FREE = StateAt("free", "")


@dataclass(frozen=True)
class NodeStatus:
    node: str
    node_type: str
    rentable: bool
    now: StateAt
    since: datetime | None  # None: as far back as we look (or never anything)
    next_at: datetime | None  # None: nothing scheduled (or an open outage without end)
    next_state: StateAt | None

    @property
    def state(self) -> str:
        return self.now.state

    @property
    def detail(self) -> str:
        return self.now.detail

    def next_text(self, tz: str) -> str:
        if self.next_at is None or self.next_state is None:
            return "open outage, end unknown" if self.state == "outage" else "no change scheduled"
        return f"{timeutil.format_short(self.next_at, tz)} → {self.next_state.short()}"

    def since_text(self, tz: str) -> str:
        return timeutil.format_short(self.since, tz) if self.since else "-"

    def to_json(self, tz: str) -> dict[str, object]:
        nxt = None
        if self.next_at is not None and self.next_state is not None:
            nxt = {
                "at": timeutil.iso_local(self.next_at, tz),
                "state": self.next_state.state,
                "detail": self.next_state.detail,
                "project": self.next_state.project,
            }
        return {
            "status": self.state,
            "detail": self.detail,
            "subject": (
                {"type": self.now.subject_type, "id": self.now.subject_id} if self.now.subject_id else None
            ),
            "project": self.now.project,
            "since": timeutil.iso_local(self.since, tz) if self.since else None,
            "next_change": nxt,
        }


@dataclass
class _Source:
    kind: str  # outage | maintenance | rented
    start: datetime
    end: datetime | None  # None: open
    state: StateAt


def _rank(src: _Source) -> tuple[int, datetime, int]:
    """The source that wins where several cover an instant: by :data:`STATES`, then the
    earlier start, then the lower id."""
    return (STATES.index(src.kind), src.start, src.state.subject_id or 0)


def _timeline(
    sources: list[_Source], now: datetime
) -> tuple[StateAt, datetime | None, datetime | None, StateAt | None]:
    """(state now, since, next change at, next state), in one sweep over the boundaries with
    the covering sources in a heap by :func:`_rank` (a source is dropped once it has ended)."""
    ordered = sorted(sources, key=lambda src: src.start)
    points = sorted({p for src in sources for p in (src.start, src.end) if p is not None})
    heap: list[tuple[tuple[int, datetime, int], int, _Source]] = []
    pushed = 0

    def state_at(t: datetime) -> StateAt:
        nonlocal pushed
        while pushed < len(ordered) and ordered[pushed].start <= t:
            heapq.heappush(heap, (_rank(ordered[pushed]), pushed, ordered[pushed]))
            pushed += 1
        while heap and heap[0][2].end is not None and heap[0][2].end <= t:
            heapq.heappop(heap)
        return heap[0][2].state if heap else FREE

    # since: where the last run of one state among the boundaries up to now began
    run_start: datetime | None = None
    run_key: tuple[str, int | None] | None = None
    k = 0
    while k < len(points) and points[k] <= now:
        key = state_at(points[k]).key
        if key != run_key:
            run_start, run_key = points[k], key
        k += 1
    current = state_at(now)
    since = run_start if run_key == current.key else None
    for p in points[k:]:
        st = state_at(p)
        if st.key != current.key:
            return current, since, p, st
    return current, since, None, None


NARROW_NODES = 200  # up to this many nodes, their data is read by node; beyond, by time only
# A first pass looks this far around now; a node whose since or next change it cannot settle
# (its state ran on past the pass's edge) is read again over LOOKBACK and LOOKAHEAD.
NEAR_BACK = timedelta(days=14)
NEAR_AHEAD = timedelta(days=60)


def node_statuses(
    ctx: ServiceContext, node_type: str | None = None, names: Sequence[str] | None = None
) -> list[NodeStatus]:
    """Every node's status at the clock's now, by node name (optionally one node type, or only
    the nodes ``names``: a page of a list reads only its own nodes' data).

    Two passes with a fixed number of queries each: the near one settles almost every node (a
    state that began after ``now - NEAR_BACK`` and changes before ``now + NEAR_AHEAD`` is
    exactly what the whole look would find, since every source covering those instants was
    read); the other nodes are read again over the whole LOOKBACK and LOOKAHEAD."""
    ctx.require("read")
    # A long-running reader keeps them while nothing changed, until the first node's next
    # change (core/headmemo.py); the console computes them every time.
    key = ("node_statuses", node_type, None if names is None else tuple(names))
    return list(ctx.kept(key, lambda: _computed(ctx, node_type, names)))


def _computed(
    ctx: ServiceContext, node_type: str | None, names: Sequence[str] | None
) -> tuple[list[NodeStatus], datetime]:
    now = ctx.now()
    query = (
        select(Node.id, Node.name, Node.node_type_id, Node.rentable, NodeType.name.label("type_name"))
        .join(NodeType, NodeType.id == Node.node_type_id)
        .order_by(Node.name)
    )
    if node_type:
        query = query.where(NodeType.name == node_type)
    if names is not None:
        query = query.where(Node.name.in_(list(names)))
    nodes = ctx.session.execute(query).all()
    if not nodes:
        return [], now + RECHECK
    near_lo, near_hi = now - NEAR_BACK, now + NEAR_AHEAD
    found = _statuses(ctx, nodes, near_lo, near_hi, narrow=names is not None and len(nodes) <= NARROW_NODES)
    unsettled = [
        n
        for n in nodes
        if (st := found[n.id]).since is None
        or st.since <= near_lo
        or st.next_at is None
        or st.next_at >= near_hi
    ]
    if unsettled:
        found.update(
            _statuses(ctx, unsettled, now - LOOKBACK, now + LOOKAHEAD, narrow=len(unsettled) <= NARROW_NODES)
        )
    statuses = [found[n.id] for n in nodes]
    return statuses, valid_until(statuses, now)


# A node whose state does not change within the look ahead is looked at again after this long.
RECHECK = timedelta(hours=1)


def valid_until(statuses: Sequence[NodeStatus], now: datetime) -> datetime:
    """The first instant at which one of ``statuses`` no longer reads as it does (a node's next
    change), at most :data:`RECHECK` ahead: with the same data, they hold until then."""
    return min([now + RECHECK, *(s.next_at for s in statuses if s.next_at is not None)])


def _statuses(
    ctx: ServiceContext, nodes: Sequence[Any], lo: datetime, hi: datetime, *, narrow: bool
) -> dict[int, NodeStatus]:
    """The status of ``nodes`` (rows: id, name, node_type_id, rentable, type_name) from the
    sources in ``[lo, hi)``; ``narrow`` reads only those nodes' data."""
    session = ctx.session
    now = ctx.now()
    tz = ctx.tz
    ids = [n.id for n in nodes]

    index = load_downtime(
        session,
        lo,
        hi,
        now,
        credited_only=True,
        nodes=[(n.id, n.node_type_id) for n in nodes] if narrow else None,
    )

    out_span = (Outage.start < hi) & or_(Outage.end.is_(None), Outage.end > lo)
    if narrow:
        out_span = out_span & Outage.id.in_(
            select(outage_nodes.c.outage_id).where(outage_nodes.c.node_id.in_(ids))
        )
    out_rows = session.execute(
        select(Outage.id, Outage.title, Outage.status, Outage.start, Outage.end, Outage.etr).where(out_span)
    ).all()
    outages = {r.id: r for r in out_rows}
    out_by_node: dict[int, list[_Source]] = defaultdict(list)
    if outages:
        for oid, nid in session.execute(
            select(outage_nodes.c.outage_id, outage_nodes.c.node_id)
            .join(Outage, Outage.id == outage_nodes.c.outage_id)
            .where(out_span)
        ):
            r = outages[oid]
            etr = f", ETR {timeutil.format_short(r.etr, tz)}" if r.end is None and r.etr else ""
            detail = f"outage #{r.id} {r.title!r} ({r.status}{etr})"
            out_by_node[nid].append(
                _Source("outage", r.start, r.end, StateAt("outage", detail, "outage", r.id))
            )

    res_by_node: dict[int, list[_Source]] = defaultdict(list)
    for rid, nid, start, end, title, renter in session.execute(
        select(
            Reservation.id,
            Reservation.node_id,
            Reservation.start,
            Reservation.end,
            Project.title,
            Reservation.requested_for,
        )
        .join(Project, Project.id == Reservation.project_id)
        # coalesce(): by span, not by the status index (see impact.reservation_rows)
        .where(
            func.coalesce(Reservation.status, "") == "approved",
            Reservation.start < hi,
            Reservation.end > lo,
            *([Reservation.node_id.in_(ids)] if narrow else []),
        )
    ):
        detail = f"{title} (reservation #{rid})"
        res_by_node[nid].append(
            _Source("rented", start, end, StateAt("rented", detail, "reservation", rid, title, renter))
        )

    result: dict[int, NodeStatus] = {}
    in_windows: dict[int, _Source] = {}  # one source per window, shared by the nodes it covers
    for n in nodes:
        sources = list(out_by_node.get(n.id, ())) + list(res_by_node.get(n.id, ()))
        for src in index.for_node(n.id, n.node_type_id):
            if src.source == "maintenance":
                if src.id not in in_windows:
                    state = StateAt("maintenance", f"window #{src.id} {src.title!r}", "window", src.id)
                    in_windows[src.id] = _Source("maintenance", src.interval.start, src.interval.end, state)
                sources.append(in_windows[src.id])
        current, since, next_at, next_state = _timeline(sources, now)
        result[n.id] = NodeStatus(n.name, n.type_name, n.rentable, current, since, next_at, next_state)
    return result
