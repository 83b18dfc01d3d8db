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

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

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

    def covers(self, t: datetime) -> bool:
        return self.start <= t and (self.end is None or t < self.end)


def _state_at(sources: list[_Source], t: datetime) -> StateAt:
    best: _Source | None = None
    for src in sources:
        if src.covers(t) and (
            best is None
            or STATES.index(src.kind) < STATES.index(best.kind)
            or (
                src.kind == best.kind
                and (src.start, src.state.subject_id or 0) < (best.start, best.state.subject_id or 0)
            )
        ):
            best = src
    return best.state if best else FREE


def _timeline(
    sources: list[_Source], now: datetime
) -> tuple[StateAt, datetime | None, datetime | None, StateAt | None]:
    current = _state_at(sources, now)
    points = sorted({p for s in sources for p in (s.start, s.end) if p is not None})
    since: datetime | None = None  # the earliest boundary from which the state ran unchanged
    for p in reversed([p for p in points if p <= now]):
        if _state_at(sources, p).key != current.key:
            break
        since = p
    for p in points:
        if p <= now:
            continue
        st = _state_at(sources, p)
        if st.key != current.key:
            return current, since, p, st
    return current, since, None, None


def node_statuses(ctx: ServiceContext, node_type: str | None = None) -> list[NodeStatus]:
    """Every node's status at the clock's now, by node name (optionally one node type)."""
    ctx.require("read")
    session = ctx.session
    now = ctx.now()
    tz = ctx.tz
    lo, hi = now - LOOKBACK, now + LOOKAHEAD

    query = (
        select(Node.id, Node.name, Node.node_type_id, Node.rentable, NodeType.name.label("type_name"))
        .join(NodeType, NodeType.id == Node.node_type_id)
        .order_by(Node.name)
    )
    if node_type:
        query = query.where(NodeType.name == node_type)
    nodes = session.execute(query).all()
    if not nodes:
        return []

    index = load_downtime(session, lo, hi, now, credited_only=True)

    out_rows = session.execute(
        select(Outage.id, Outage.title, Outage.status, Outage.start, Outage.end, Outage.etr).where(
            Outage.start < hi, or_(Outage.end.is_(None), Outage.end > lo)
        )
    ).all()
    outages = {r.id: r for r in out_rows}
    out_by_node: dict[int, list[_Source]] = defaultdict(list)
    if outages:
        for oid, nid in session.execute(
            select(outage_nodes.c.outage_id, outage_nodes.c.node_id)
            .join(Outage, Outage.id == outage_nodes.c.outage_id)
            .where(Outage.start < hi, or_(Outage.end.is_(None), Outage.end > lo))
        ):
            r = outages[oid]
            etr = f", ETR {timeutil.format_short(r.etr, tz)}" if r.end is None and r.etr else ""
            detail = f"outage #{r.id} {r.title!r} ({r.status}{etr})"
            out_by_node[nid].append(
                _Source("outage", r.start, r.end, StateAt("outage", detail, "outage", r.id))
            )

    res_by_node: dict[int, list[_Source]] = defaultdict(list)
    for rid, nid, start, end, title in session.execute(
        select(Reservation.id, Reservation.node_id, Reservation.start, Reservation.end, Project.title)
        .join(Project, Project.id == Reservation.project_id)
        .where(Reservation.status == "approved", Reservation.start < hi, Reservation.end > lo)
    ):
        detail = f"{title} (reservation #{rid})"
        res_by_node[nid].append(
            _Source("rented", start, end, StateAt("rented", detail, "reservation", rid, title))
        )

    result = []
    for n in nodes:
        sources = list(out_by_node.get(n.id, ())) + list(res_by_node.get(n.id, ()))
        for src in index.for_node(n.id, n.node_type_id):
            if src.source == "maintenance":
                state = StateAt("maintenance", f"window #{src.id} {src.title!r}", "window", src.id)
                sources.append(_Source("maintenance", src.interval.start, src.interval.end, state))
        current, since, next_at, next_state = _timeline(sources, now)
        result.append(NodeStatus(n.name, n.type_name, n.rentable, current, since, next_at, next_state))
    return result
