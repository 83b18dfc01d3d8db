"""The Nodes section: every node with its state now, filters, retiring and reinstating, the
rentable flag, and one node's detail (help/nodes.md).

A node's state now, since when and its next change come from :mod:`.node_status` (outage >
maintenance > rented > free); an open outage also says when the node is expected back (its
effective end, core/downtime.py). Adding and editing a node are :mod:`.inventory`'s.

Retiring a node keeps its history (reservations, windows, outages, activity) and stops new
bookings. Its pending and approved reservations that have not ended are a decision the caller
must make: ``cancel`` them (each cancelled and audited as a rental manager would; one that has
already started cannot be cancelled this way) or ``keep`` them (they run and are billed as
booked). Without a decision the retirement is refused, naming them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Select, func, or_, select

from ... import timeutil, validate
from ...context import ServiceContext
from ...downtime import outage_effective_end
from ...errors import ValidationError
from ...fieldcheck import FieldProblem, Problems
from ...models import ACTIVE_RESERVATION_STATUSES, Node, Outage, Reservation
from ..rentals import reservations
from ..views import activity
from . import inventory, node_status

STATE_FILTERS = (*node_status.STATES, "retired")
RESERVATION_CHOICES = ("cancel", "keep")
DETAIL_LIMIT = 20


@dataclass(frozen=True)
class NodeRow:
    """A node in the Nodes list: what it is and what it is doing now."""

    node: inventory.NodeView
    status: node_status.NodeStatus
    version: int
    expected_back: datetime | None = None  # an open outage's effective end

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def state(self) -> str:
        return self.status.state

    @property
    def renter(self) -> str | None:
        """The project renting the node now (None when not rented)."""
        return self.status.now.project

    def state_text(self) -> str:
        glyph = node_status.STATE_GLYPHS[self.state]
        return f"{glyph} {self.state}" + (" (retired)" if self.node.retired else "")

    def next_text(self, tz: str) -> str:
        if self.state == "outage" and self.status.next_at is None and self.expected_back is not None:
            return f"expected back {timeutil.format_short(self.expected_back, tz)}"
        return self.status.next_text(tz)

    def to_json(self, tz: str) -> dict[str, object]:
        now = self.status.now
        return (
            self.node.to_json(tz)
            | self.status.to_json(tz)
            | {
                "version": self.version,
                "renter": (
                    {"project": now.project, "user": now.renter, "reservation": now.subject_id}
                    if self.state == "rented"
                    else None
                ),
                "expected_back": timeutil.iso_local(self.expected_back, tz) if self.expected_back else None,
            }
        )


@dataclass(frozen=True)
class NodeQuery:
    node_type: str | None = None
    state: str | None = None  # one of STATE_FILTERS; "retired" lists the retired nodes
    rentable: bool | None = None
    text: str = ""  # in the name or description
    include_retired: bool = False
    offset: int = 0  # with limit: one page (node_page)
    limit: int | None = None


@dataclass(frozen=True)
class NodePage:
    items: list[NodeRow]
    total: int
    offset: int
    limit: int


def node_page(ctx: ServiceContext, query: NodeQuery) -> NodePage:
    """One page of :func:`list_nodes` (``limit`` rows from ``offset``). Without a state filter
    only the page's nodes are read; a state filter needs every node's state first."""
    limit = 50 if query.limit is None else query.limit
    if not 1 <= limit <= 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    offset = max(query.offset, 0)
    if query.state and query.state != "retired":
        rows = list_nodes(ctx, replace(query, offset=0, limit=None))
        return NodePage(rows[offset : offset + limit], len(rows), offset, limit)
    stmt = _node_select(ctx, query)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = list(ctx.session.scalars(stmt.offset(offset).limit(limit)))
    return NodePage(_rows(ctx, page, replace(query, limit=limit)), total, offset, limit)


def list_nodes(ctx: ServiceContext, query: NodeQuery = NodeQuery()) -> list[NodeRow]:
    """Nodes by name with their state now (a fixed number of queries whatever their number).
    Retired nodes only with ``include_retired`` or ``state="retired"``."""
    nodes = list(ctx.session.scalars(_node_select(ctx, query)))
    return _rows(ctx, nodes, query) if nodes else []


def _node_select(ctx: ServiceContext, query: NodeQuery) -> Select[tuple[Node]]:
    ctx.require("read")
    if query.node_type:
        inventory.get_node_type(ctx, query.node_type)
    if query.state:
        validate.choice(query.state, "state", STATE_FILTERS)
    stmt = select(Node).order_by(Node.name)
    if query.node_type:
        stmt = stmt.where(Node.node_type.has(name=query.node_type))
    if query.state == "retired":
        stmt = stmt.where(Node.retired_at.is_not(None))
    elif not query.include_retired:
        stmt = stmt.where(Node.retired_at.is_(None))
    if query.rentable is not None:
        stmt = stmt.where(Node.rentable.is_(query.rentable))
    needle = query.text.strip()
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        stmt = stmt.where(
            or_(Node.name.ilike(pattern, escape="\\"), Node.description.ilike(pattern, escape="\\"))
        )
    return stmt


def _rows(ctx: ServiceContext, nodes: list[Node], query: NodeQuery) -> list[NodeRow]:
    names = [n.name for n in nodes] if query.limit is not None else None
    statuses = {s.node: s for s in node_status.node_statuses(ctx, query.node_type, names)}
    rows = [(n, statuses[n.name]) for n in nodes]
    if query.state and query.state != "retired":
        rows = [(n, s) for n, s in rows if s.state == query.state]
    back = _expected_back(ctx, [s.now.subject_id for _n, s in rows if s.state == "outage"])
    return [
        NodeRow(
            inventory.node_view(n), s, n.version, back.get(s.now.subject_id) if s.state == "outage" else None
        )
        for n, s in rows
    ]


def _expected_back(ctx: ServiceContext, outage_ids: list[int | None]) -> dict[int | None, datetime]:
    ids = sorted({i for i in outage_ids if i is not None})
    if not ids:
        return {}
    now, hours = ctx.now(), ctx.site.outage_default_hours
    rows = ctx.session.execute(
        select(Outage.id, Outage.start, Outage.end, Outage.etr).where(Outage.id.in_(ids))
    ).all()
    return {r.id: outage_effective_end(r.start, r.end, r.etr, now, hours) for r in rows}


def get_node_row(ctx: ServiceContext, name: str) -> NodeRow:
    ctx.require("read")
    node = inventory.get_node(ctx, name)
    (status,) = node_status.node_statuses(ctx, names=[node.name])
    back = _expected_back(ctx, [status.now.subject_id]) if status.state == "outage" else {}
    return NodeRow(inventory.node_view(node), status, node.version, back.get(status.now.subject_id))


# ---------------------------------------------------------------- detail


@dataclass(frozen=True)
class NodeDetail:
    """One node: its row, its reservations from now on, and its own activity (newest first)."""

    row: NodeRow
    reservations: tuple[reservations.ReservationView, ...]
    reservations_total: int
    activity: tuple[activity.ActivityView, ...]

    def to_json(self, tz: str) -> dict[str, object]:
        return self.row.to_json(tz) | {
            "reservations": {
                "total": self.reservations_total,
                "items": [r.to_json(tz) for r in self.reservations],
            },
            "activity": [e.to_json(tz) for e in self.activity],
        }


def node_detail(ctx: ServiceContext, name: str) -> NodeDetail:
    """The node's row, its pending and approved reservations not ended yet (the first
    DETAIL_LIMIT by start) and the latest DETAIL_LIMIT activity entries about it. Its timeline
    is :func:`nodedesk.core.services.nodes.availability.timeline` for this node."""
    row = get_node_row(ctx, name)
    now = ctx.now()
    upcoming = [
        reservations.list_reservations(
            ctx,
            reservations.ReservationQuery(status=status, node=row.name, start_from=now, limit=DETAIL_LIMIT),
        )
        for status in ACTIVE_RESERVATION_STATUSES
    ]
    items = sorted((r for page in upcoming for r in page.items), key=lambda r: (r.start, r.id))
    entries = activity.list_activity(
        ctx, activity.ActivityQuery(target=f"node:{row.node.id}", limit=DETAIL_LIMIT)
    )
    return NodeDetail(
        row, tuple(items[:DETAIL_LIMIT]), sum(page.total for page in upcoming), tuple(entries.items)
    )


# ---------------------------------------------------------------- rentable


def set_rentable(
    ctx: ServiceContext, name: str, rentable: bool, *, expected_version: int | None = None
) -> inventory.NodeView:
    """Make a node rentable or not (audited as ``node.updated``); a retired node must be
    reinstated first. Existing reservations are not touched."""
    ctx.require("manage_inventory")
    node = inventory.get_node(ctx, name)
    return inventory.update_node(ctx, node.name, rentable=rentable, expected_version=expected_version)


def toggle_rentable(
    ctx: ServiceContext, name: str, *, expected_version: int | None = None
) -> inventory.NodeView:
    """Flip the rentable flag (the console's toggle key)."""
    node = inventory.get_node(ctx, name)
    return set_rentable(ctx, name, not node.rentable, expected_version=expected_version)


@dataclass(frozen=True)
class RentableChange:
    """What flipping a node's rentable flag would do now (read only; :func:`toggle_rentable`
    does it): the flag it would get, the refusals it would meet, and the pending and approved
    reservations not ended yet, which stay as booked either way."""

    node: inventory.NodeView
    version: int
    rentable: bool  # the flag after the change
    reservations: tuple[reservations.ReservationView, ...]
    problems: tuple[FieldProblem, ...]

    @property
    def matters(self) -> bool:
        """Whether to ask before the change: the node stops taking bookings while reservations
        of it are still ahead (they are kept; help/nodes.md)."""
        return not self.rentable and bool(self.reservations) and not self.problems

    def question(self, tz: str) -> str:
        """The change in words, with the reservations it leaves in place."""
        verb = "Make" if self.rentable else "Stop renting"
        text = f"{verb} {self.node.name}{' rentable' if self.rentable else ''}?"
        if self.reservations:
            rows = list(self.reservations)
            first = rows[0]
            text += (
                f" It keeps its {len(rows)} pending or approved reservation(s) not ended yet "
                f"({_ids(rows)}; the first from {timeutil.format_short(first.start, tz)}): they run "
                "and are billed as booked. New bookings are refused."
            )
        return text


def preview_rentable(ctx: ServiceContext, name: str) -> RentableChange:
    """What :func:`toggle_rentable` on ``name`` would do now, and whether it deserves a question
    (:attr:`RentableChange.matters`)."""
    ctx.require("read")
    node = inventory.get_node(ctx, name)
    flag = not node.rentable
    problems = inventory.check_node(ctx, node=node.name, rentable=flag)
    ahead = reservations.views(ctx.session, _ahead(ctx, node), ctx.now())
    return RentableChange(inventory.node_view(node), node.version, flag, tuple(ahead), tuple(problems))


# ---------------------------------------------------------------- retire / reinstate


@dataclass(frozen=True)
class RetirePlan:
    """What retiring a node meets: its pending and approved reservations not ended yet."""

    node: inventory.NodeView
    reservations: tuple[reservations.ReservationView, ...]
    now: datetime

    @property
    def running(self) -> tuple[reservations.ReservationView, ...]:
        return tuple(r for r in self.reservations if r.start <= self.now)

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "node": self.node.to_json(tz),
            "reservations": [r.to_json(tz) for r in self.reservations],
            "running": [r.id for r in self.running],
        }


@dataclass(frozen=True)
class RetireResult:
    node: inventory.NodeView
    cancelled: tuple[reservations.ReservationView, ...]
    kept: tuple[reservations.ReservationView, ...]

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "node": self.node.to_json(tz),
            "cancelled": [r.to_json(tz) for r in self.cancelled],
            "kept": [r.to_json(tz) for r in self.kept],
        }


def _ahead(ctx: ServiceContext, node: Node) -> list[Reservation]:
    return list(
        ctx.session.scalars(
            select(Reservation)
            .where(
                Reservation.node_id == node.id,
                Reservation.status.in_(ACTIVE_RESERVATION_STATUSES),
                Reservation.end > ctx.now(),
            )
            .order_by(Reservation.start, Reservation.id)
        )
    )


def _ids(rows: list[reservations.ReservationView], limit: int = 5) -> str:
    shown = ", ".join(f"#{r.id}" for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _retire_problems(ctx: ServiceContext, plan: RetirePlan, choice: str | None, reason: str) -> Problems:
    p = Problems()
    node = plan.node
    if node.retired_at is not None:
        p.add(
            ValidationError(
                f"{node.name} was already retired on {timeutil.format_local(node.retired_at, ctx.tz)}",
                field="node",
            )
        )
    p.attempt(validate.text, reason, "reason", max_len=2000)
    if choice is not None and p.passes(validate.choice, choice, "reservations", RESERVATION_CHOICES):
        if choice == "cancel" and plan.running:
            first = plan.running[0]
            p.add(
                ValidationError(
                    f"reservation #{first.id} has started (it runs until "
                    f"{timeutil.format_local(first.end, ctx.tz)}) and cannot be cancelled by retiring "
                    f"{node.name}; keep the reservations (--reservations keep) or retire it later",
                    field="reservations",
                )
            )
    elif choice is None and plan.reservations:
        rows = list(plan.reservations)
        p.add(
            ValidationError(
                f"{node.name} has {len(rows)} pending or approved reservation(s) not ended yet "
                f"({_ids(rows)}); say what happens to them: cancel them (--reservations cancel) "
                "or keep them (--reservations keep)",
                field="reservations",
            )
        )
    return p


def preview_retire(ctx: ServiceContext, name: str) -> RetirePlan:
    """The reservations retiring ``name`` would meet (read only)."""
    ctx.require("read")
    node = inventory.get_node(ctx, name)
    ahead = reservations.views(ctx.session, _ahead(ctx, node), ctx.now())
    return RetirePlan(inventory.node_view(node), tuple(ahead), ctx.now())


def check_retire(
    ctx: ServiceContext, name: str, *, reservations_choice: str | None = None, reason: str = ""
) -> list[FieldProblem]:
    """Every refusal :func:`retire_node` would meet now, without writing anything."""
    p = Problems()
    plan = p.attempt(preview_retire, ctx, name)
    if plan is None:
        return p.items
    return p.items + _retire_problems(ctx, plan, reservations_choice, reason).items


def retire_node(
    ctx: ServiceContext,
    name: str,
    *,
    reservations_choice: str | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> RetireResult:
    """Retire a node now (module docstring): it keeps its history and cannot be booked; its
    reservations not ended yet are cancelled or kept as the caller says. One transaction; every
    cancellation is audited on its own, then ``node.retired``."""
    ctx.require("manage_inventory")
    node = inventory.get_node(ctx, name)
    # The node's row lock first, as bookings take it: no reservation can appear meanwhile.
    node = reservations.lock_node(ctx.session, node.id)
    ctx.check_version(node, expected_version, "node")
    now = ctx.now()
    plan = RetirePlan(
        inventory.node_view(node), tuple(reservations.views(ctx.session, _ahead(ctx, node), now)), now
    )
    _retire_problems(ctx, plan, reservations_choice, reason).raise_first()
    reason = validate.text(reason, "reason", max_len=2000)
    cancelled: list[reservations.ReservationView] = []
    kept: list[reservations.ReservationView] = []
    why = f"node {node.name} retired" + (f": {reason}" if reason else "")
    for r in plan.reservations:
        if reservations_choice == "cancel":
            cancelled.append(reservations.cancel_reservation(ctx, r.id, reason=why).reservation)
        else:
            kept.append(r)
    before = inventory.node_view(node).to_json()
    node.retired_at = now
    node.rentable = False
    node.modified_at, node.modified_by = now, ctx.actor.username
    ctx.session.flush()
    after = inventory.node_view(node)
    ctx.record(
        "node.retired",
        "node",
        node.id,
        node.name,
        before=before,
        after=after.to_json() | {"cancelled": [r.id for r in cancelled], "kept": [r.id for r in kept]},
        reason=reason,
    )
    return RetireResult(after, tuple(cancelled), tuple(kept))


def reinstate_node(
    ctx: ServiceContext, name: str, *, reason: str = "", expected_version: int | None = None
) -> inventory.NodeView:
    """Bring a retired node back into service. It stays not rentable until someone makes it
    rentable again (:func:`set_rentable`)."""
    ctx.require("manage_inventory")
    node = inventory.get_node(ctx, name)
    ctx.check_version(node, expected_version, "node")
    if node.retired_at is None:
        raise ValidationError(f"{node.name} is not retired", field="node")
    reason = validate.text(reason, "reason", max_len=2000)
    before = inventory.node_view(node).to_json()
    node.retired_at = None
    node.modified_at, node.modified_by = ctx.now(), ctx.actor.username
    ctx.session.flush()
    after = inventory.node_view(node)
    ctx.record(
        "node.reinstated", "node", node.id, node.name, before=before, after=after.to_json(), reason=reason
    )
    return after
