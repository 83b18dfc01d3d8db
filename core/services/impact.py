"""Billing impact of adding, changing or removing a maintenance window.

For every pending or approved reservation the change touches, compare the reservation's
downtime (union of all other windows and credited outages, plus this window as it was / as it
would be). A positive delta means hours that will no longer be billed; a negative delta means
hours that become billable again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import timeutil
from ..context import ServiceContext
from ..downtime import WindowScope, load_downtime
from ..intervals import Interval, intersect_sets
from ..models import ACTIVE_RESERVATION_STATUSES, Node, NodeType, Reservation

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
