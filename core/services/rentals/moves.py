"""Moving renters off a node: a reservation to another free node of the same type, and every
reservation a proposed maintenance window hits that can be moved (help/reservations.md,
"Moving a reservation").

Rules:
- Only a pending or approved reservation that is not over moves; rental managers and admins
  move (``manage_reservations``).
- The target is another rentable node in service of the *same type* (the same SKU and rate),
  free for the whole part that moves: no pending or approved reservation (the node's row lock
  is taken first, as every booking does; the database's no-overlap guarantee holds anyway), no
  maintenance window and no outage there (an open outage until its effective end).
- Not started yet: the reservation moves whole (same id, times, project, status).
- Already running: it is split at now (to the second). The part that happened stays on the old
  node under the same id (billing follows the reservation's node: that part is billed there);
  the rest becomes a new reservation on the new node with the same project, status, renter and
  end, billed there. History shows both; the new one's notes name the one it continues.
- One transaction, one activity entry (``reservation.moved``), and a notice to the renter
  queued in the outbox like every other notice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ... import timeutil
from ...context import ServiceContext
from ...downtime import load_downtime
from ...errors import ConflictError, LockedError, NodedeskError, NotFoundError, ValidationError
from ...intervals import Interval
from ...models import ACTIVE_RESERVATION_STATUSES, Node, Reservation
from ..downtime import notices
from ..downtime.impact import WindowImpact, resolve_scope
from ..invoicing import drift
from ..nodes.availability import TimelineQuery, timeline
from . import reservations as res


@dataclass(frozen=True)
class MoveResult:
    """What a move did (or, in a dry run, would do)."""

    reservation_id: int
    from_node: str
    to_node: str
    moved_from: datetime  # the start of the part that moves
    end: datetime
    split: bool  # a running reservation: the part before ``moved_from`` stays
    continued_as: int | None  # the new reservation holding the moved part (a split)
    dry_run: bool

    def describe(self, tz: str) -> str:
        verb = "would move" if self.dry_run else "moved"
        when = f"{timeutil.format_short(self.moved_from, tz)} → {timeutil.format_short(self.end, tz)}"
        if not self.split:
            return (
                f"reservation #{self.reservation_id} {verb} from {self.from_node} to {self.to_node} ({when})"
            )
        new = f" as #{self.continued_as}" if self.continued_as else ""
        return (
            f"reservation #{self.reservation_id} {verb} from {self.from_node} to {self.to_node} from now "
            f"({when}){new}; the part before stays billed on {self.from_node}"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "reservation_id": self.reservation_id,
            "from_node": self.from_node,
            "to_node": self.to_node,
            "moved_from": timeutil.iso_local(self.moved_from, tz),
            "end": timeutil.iso_local(self.end, tz),
            "split": self.split,
            "continued_as": self.continued_as,
            "dry_run": self.dry_run,
        }


def _target(ctx: ServiceContext, r: Reservation, to_node: str) -> Node:
    name = (to_node or "").strip()
    node = ctx.session.scalar(select(Node).where(Node.name == name))
    if node is None:
        raise NotFoundError(f"no node named {name!r}", field="to_node")
    if node.id == r.node_id:
        raise ValidationError(f"reservation #{r.id} is already on {node.name}", field="to_node")
    if node.node_type_id != r.node.node_type_id:
        raise ValidationError(
            f"{node.name} is a {node.node_type.name} node; reservation #{r.id} is on a "
            f"{r.node.node_type.name} node and moves only to one of the same type",
            field="to_node",
        )
    try:
        res._ensure_rentable(node)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="to_node") from exc
    return node


def _ensure_free(ctx: ServiceContext, node: Node, start: datetime, end: datetime, exclude_id: int) -> None:
    clashes = res.find_clashes(ctx.session, node.id, start, end, exclude_id)
    if clashes:
        raise ConflictError(res.clash_message(node.name, clashes, ctx.tz), field="to_node")
    index = load_downtime(
        ctx.session,
        start,
        end,
        ctx.now(),
        credited_only=False,
        nodes=[(node.id, node.node_type_id)],
        forecast_hours=ctx.site.outage_default_hours,
    )
    for src in index.for_node(node.id, node.node_type_id):
        if src.interval.start < end and src.interval.end > start:
            kind = "maintenance window" if src.source == "maintenance" else "outage"
            raise ConflictError(
                f"{node.name} is not free then: {kind} #{src.id} {src.title!r} "
                f"{timeutil.format_short(src.interval.start, ctx.tz)} → "
                f"{timeutil.format_short(src.interval.end, ctx.tz)}",
                field="to_node",
            )


def move_reservation(
    ctx: ServiceContext,
    reservation_id: int,
    to_node: str,
    *,
    dry_run: bool = False,
    expected_version: int | None = None,
) -> MoveResult:
    """Move reservation ``reservation_id`` to node ``to_node`` (see the module docstring);
    ``dry_run`` checks everything and says what would happen, writing nothing."""
    ctx.require("manage_reservations")
    session = ctx.session
    r = res._load(ctx, reservation_id, for_update=not dry_run)
    res._check_version(ctx, r, expected_version)
    if r.status not in ACTIVE_RESERVATION_STATUSES:
        raise ValidationError(
            f"reservation #{r.id} is {r.status}; only pending or approved ones move", field="status"
        )
    now = ctx.now().replace(microsecond=0)
    if r.end <= now:
        raise LockedError(f"reservation #{r.id} is over: it is history and does not move", field="id")
    target = _target(ctx, r, to_node)
    split = r.start < now
    moved_from = now if split else r.start
    if r.status == "approved":
        drift.ensure_months_open(ctx, [Interval(moved_from, r.end)], "moving this reservation")
    if not dry_run:
        target = res.lock_node(session, target.id)
    _ensure_free(ctx, target, moved_from, r.end, r.id)
    from_node = r.node.name
    if dry_run:
        return MoveResult(r.id, from_node, target.name, moved_from, r.end, split, None, True)

    before = res.view(session, r, now)
    actor = ctx.actor.username
    moved = r
    if split:
        end = r.end
        r.end = moved_from
        r.modified_at, r.modified_by = now, actor
        moved = Reservation(
            node=target,
            project=r.project,
            requested_for=r.requested_for,
            start=moved_from,
            end=end,
            blocks=r.blocks,
            status=r.status,
            notes=f"continues reservation #{r.id} (moved from {from_node}). {r.notes}".strip(),
            policy_waived=r.policy_waived,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            decision_reason=r.decision_reason,
            created_at=now,
            created_by=actor,
            modified_at=now,
            modified_by=actor,
        )
        session.add(moved)
    else:
        r.node = target
        r.node_id = target.id
        r.modified_at, r.modified_by = now, actor
    session.flush()
    after = res.view(session, r, now)
    doc = res._audit_doc(after, ctx.tz) | {"moved_to": target.name, "moved_from": from_node}
    if split:
        doc["continued_as"] = res._audit_doc(res.view(session, moved, now), ctx.tz)
    ctx.record(
        "reservation.moved",
        "reservation",
        r.id,
        after.label(),
        before=res._audit_doc(before, ctx.tz),
        after=doc,
    )
    notices.reservation_moved(ctx, moved, from_node, r.id)
    return MoveResult(
        r.id, from_node, target.name, moved_from, moved.end, split, moved.id if split else None, False
    )


# ---------------------------------------------------------------- off a proposed window


@dataclass(frozen=True)
class MoveOption:
    """An affected reservation and where it could go: the free nodes of its type for the part
    that would move (``planned``: the one "move all" takes, none when nothing is free)."""

    reservation_id: int
    node: str
    node_type: str
    moved_from: datetime
    end: datetime
    free_nodes: tuple[str, ...]
    planned: str | None

    def describe(self, tz: str, limit: int = 3) -> str:
        if not self.free_nodes:
            return f"#{self.reservation_id} {self.node}: no free {self.node_type} node to move to"
        shown = ", ".join(self.free_nodes[:limit])
        more = f" and {len(self.free_nodes) - limit} more" if len(self.free_nodes) > limit else ""
        plan = f"; move all takes {self.planned}" if self.planned else "; move all cannot place it"
        return f"#{self.reservation_id} {self.node} → free: {shown}{more}{plan}"

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "reservation_id": self.reservation_id,
            "node": self.node,
            "node_type": self.node_type,
            "moved_from": timeutil.iso_local(self.moved_from, tz),
            "end": timeutil.iso_local(self.end, tz),
            "free_nodes": list(self.free_nodes),
            "planned": self.planned,
        }


@dataclass(frozen=True)
class MovePlan:
    options: tuple[MoveOption, ...]

    @property
    def movable(self) -> tuple[MoveOption, ...]:
        return tuple(o for o in self.options if o.planned)

    def summary(self) -> str:
        if not self.options:
            return "no reservation to move"
        return f"{len(self.movable)} of {len(self.options)} affected reservation(s) can move to a free node"


def plan_moves(ctx: ServiceContext, impact: WindowImpact, scope: object) -> MovePlan:
    """For each reservation ``impact`` lists, the free nodes of its type outside the window's
    scope (``scope``: node and node type names, none = all nodes) for the part that would move,
    and a plan for moving them all where no two land on one node at overlapping times.
    Read-only; one timeline per node type involved."""
    ctx.require("read")
    if not impact.lines:
        return MovePlan(())
    session = ctx.session
    now = ctx.now().replace(microsecond=0)
    names = tuple(getattr(scope, "nodes", ()) or ())
    type_names = tuple(getattr(scope, "node_types", ()) or ())
    in_scope = resolve_scope(session, names, type_names)
    rows = {
        r.id: r
        for r in session.scalars(
            select(Reservation).where(Reservation.id.in_([line.reservation_id for line in impact.lines]))
        )
    }
    by_type: dict[str, list[tuple[int, datetime, datetime]]] = defaultdict(list)
    for line in impact.lines:
        r = rows.get(line.reservation_id)
        if r is None or r.end <= now:
            continue
        by_type[r.node.node_type.name].append((r.id, max(r.start, now), r.end))
    free: dict[int, list[str]] = {}
    for type_name, wanted in by_type.items():
        lo, hi = min(w[1] for w in wanted), max(w[2] for w in wanted)
        found = timeline(ctx, TimelineQuery(lo, hi, node_type=type_name, rentable_only=True))
        for rid, start, end in wanted:
            free[rid] = [
                row.node
                for row in found.rows
                if row.retired_at is None
                and not in_scope.applies_to(row.node_id, rows[rid].node.node_type_id)
                and row.node_id != rows[rid].node_id
                and all(not s.busy for s in row.segments if s.start < end and s.end > start)
            ]
    taken: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    options = []
    for line in impact.lines:
        r = rows.get(line.reservation_id)
        if r is None or r.id not in free:
            continue
        start = max(r.start, now)
        planned = next(
            (n for n in free[r.id] if all(not (a < r.end and b > start) for a, b in taken[n])), None
        )
        if planned is not None:
            taken[planned].append((start, r.end))
        options.append(
            MoveOption(r.id, r.node.name, r.node.node_type.name, start, r.end, tuple(free[r.id]), planned)
        )
    return MovePlan(tuple(options))


@dataclass(frozen=True)
class MoveAllResult:
    moves: tuple[MoveResult, ...]
    left: tuple[MoveOption, ...] = field(default_factory=tuple)  # affected, no free node


def move_all(ctx: ServiceContext, plan: MovePlan, *, dry_run: bool = False) -> MoveAllResult:
    """Carry out ``plan``'s moves in this one unit of work: each is checked again under the
    target node's lock; the first refusal stops them all (nothing is half-moved)."""
    ctx.require("manage_reservations")
    moves = []
    for option in plan.movable:
        assert option.planned is not None
        try:
            moves.append(move_reservation(ctx, option.reservation_id, option.planned, dry_run=dry_run))
        except NodedeskError as exc:
            raise type(exc)(f"reservation #{option.reservation_id}: {exc.message}", field=exc.field) from exc
    return MoveAllResult(tuple(moves), tuple(o for o in plan.options if not o.planned))
