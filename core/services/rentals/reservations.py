"""Reservations: request or record, approve/decline/cancel, the no-overlap guarantee, listing.

Status workflow (DESIGN §7): ``pending → approved | declined`` and ``pending | approved →
cancelled``. Declining needs a reason; cancelling may give one.

The no-overlap rule: pending and approved reservations on one node never overlap (half-open
intervals, so touching is fine). It is never waivable and it holds under concurrent admins
because every unit of work that can make a reservation active (record, request, approve) first
takes the node's row lock and only then looks for clashes:
- PostgreSQL: ``SELECT ... FOR UPDATE`` on the node row. A second transaction booking the same
  node waits for the first to commit, then (READ COMMITTED: each statement sees the latest
  committed rows) finds the first one's reservation and is refused.
- SQLite: write units of work run under ``BEGIN IMMEDIATE`` (core/db/engine.py), so writers are
  serialized by the database write lock before any check runs.

Who may do what:
- ``manage_reservations`` (rental managers, admins) records reservations for anyone, approves,
  declines and cancels; recording may waive the lead-time and horizon rules (``policy_waived``).
- Any registered user who is not only a ``viewer`` may *request* (pending, policy enforced) for a
  project where they are owner, technical_admin or member, and cancel that project's pending or
  approved reservations that have not started yet.

Billing: only approved reservations are billed, so approving, recording as approved and
cancelling an approved reservation are refused when they would alter a finalized invoice month,
unless an admin makes a correction (reason required; the month is flagged as drifted).

Downtime overlapping a reservation (maintenance windows in scope and credited outages, as in
core/downtime.py) is allowed; views carry it so front ends can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from ... import timeutil, validate
from ...context import ServiceContext
from ...downtime import DowntimeIndex, load_downtime
from ...errors import ConflictError, LockedError, NotFoundError, PermissionDenied, ValidationError
from ...fieldcheck import FieldProblem, Problems
from ...intervals import Interval, intersect_sets
from ...models import (
    ACTIVE_RESERVATION_STATUSES,
    RESERVATION_STATUSES,
    Node,
    Project,
    ProjectMember,
    Reservation,
    User,
)
from .. import paging
from ..invoicing import drift
from .projects import find_project
from .reservation_policy import (
    PolicyViolation,
    ReservationPolicy,
    Span,
    booking_violations,
    elapsed_hours,
    reservation_span,
)

STATUSES = RESERVATION_STATUSES
ACTIVE = ACTIVE_RESERVATION_STATUSES
STATUS_GLYPHS = {"pending": "…", "approved": "✓", "declined": "✗", "cancelled": "⊘"}
SORT_KEYS = ("start", "end", "node", "project", "status", "id")
# Project roles that let a (non-manager) user request reservations for the project.
REQUEST_PROJECT_ROLES = ("owner", "technical_admin", "member")


def validate_notes(value: str | None) -> str:
    """A reservation's notes (shared with the backup import)."""
    return validate.text(value, "notes", max_len=2000)


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class DowntimeOverlap:
    """A piece of downtime inside a reservation (not billed)."""

    source: str  # "maintenance" | "outage"
    id: int
    title: str
    start: datetime  # clipped to the reservation
    end: datetime
    open: bool = False  # an outage still open (counted up to now)

    @property
    def hours(self) -> Decimal:
        return elapsed_hours(self.start, self.end)

    def describe(self, tz: str) -> str:
        kind = "maintenance window" if self.source == "maintenance" else "outage"
        still = ", still open" if self.open else ""
        return (
            f"{kind} #{self.id} {self.title!r}: {timeutil.format_short(self.start, tz)} → "
            f"{timeutil.format_short(self.end, tz)} ({self.hours:.2f} h{still})"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "source": self.source,
            "id": self.id,
            "title": self.title,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "hours": f"{self.hours:.2f}",
            "open": self.open,
        }


@dataclass(frozen=True)
class ReservationView:
    """A reservation as front ends see it (plain data, safe to pass between threads)."""

    id: int
    uuid: str
    node: str
    node_type: str
    project: str
    project_id: int
    requested_for: str
    start: datetime
    end: datetime
    blocks: int
    status: str
    notes: str
    policy_waived: bool
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    created_by: str
    created_at: datetime
    modified_by: str
    modified_at: datetime
    version: int
    downtime: tuple[DowntimeOverlap, ...] = ()

    @property
    def hours(self) -> Decimal:
        """Elapsed real time (the billable gross hours)."""
        return elapsed_hours(self.start, self.end)

    @property
    def downtime_hours(self) -> Decimal:
        """Hours of the reservation covered by downtime (overlaps counted once)."""
        total = Decimal(0)
        for part in intersect_sets(
            [Interval(self.start, self.end)], [Interval(d.start, d.end) for d in self.downtime]
        ):
            total += elapsed_hours(part.start, part.end)
        return total

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def phase(self, now: datetime) -> str:
        """``upcoming``, ``in_progress`` or ``past`` relative to ``now``."""
        if now < self.start:
            return "upcoming"
        return "in_progress" if now < self.end else "past"

    def label(self) -> str:
        return f"reservation #{self.id} ({self.node}, {self.project})"

    def describe(self, tz: str) -> str:
        return (
            f"reservation #{self.id} for project {self.project!r} on {self.node} ({self.status}), "
            f"{timeutil.format_local(self.start, tz)} → {timeutil.format_local(self.end, tz)}"
        )

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "node": self.node,
            "node_type": self.node_type,
            "project": self.project,
            "requested_for": self.requested_for,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "start_date": timeutil.local_day(self.start, tz).isoformat(),
            "blocks": self.blocks,
            "hours": f"{self.hours:.2f}",
            "status": self.status,
            "notes": self.notes,
            "policy_waived": self.policy_waived,
            "decided_by": self.decided_by,
            "decided_at": timeutil.iso_local(self.decided_at, tz) if self.decided_at else None,
            "decision_reason": self.decision_reason,
            "downtime": [d.to_json(tz) for d in self.downtime],
            "downtime_hours": f"{self.downtime_hours:.2f}",
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "modified_by": self.modified_by,
            "modified_at": timeutil.iso_local(self.modified_at, tz),
            "version": self.version,
        }


def _overlaps_for(index: DowntimeIndex, r: Reservation) -> tuple[DowntimeOverlap, ...]:
    span = Interval(r.start, r.end)
    found = []
    for src in index.for_node(r.node_id, r.node.node_type_id):
        part = src.interval.intersection(span)
        if part is not None:
            found.append(DowntimeOverlap(src.source, src.id, src.title, part.start, part.end, src.open))
    found.sort(key=lambda d: (d.start, d.source, d.id))
    return tuple(found)


def _view(r: Reservation, downtime: tuple[DowntimeOverlap, ...] = ()) -> ReservationView:
    return ReservationView(
        id=r.id,
        uuid=r.uuid,
        node=r.node.name,
        node_type=r.node.node_type.name,
        project=r.project.title,
        project_id=r.project_id,
        requested_for=r.requested_for,
        start=r.start,
        end=r.end,
        blocks=r.blocks,
        status=r.status,
        notes=r.notes,
        policy_waived=r.policy_waived,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        decision_reason=r.decision_reason,
        created_by=r.created_by,
        created_at=r.created_at,
        modified_by=r.modified_by,
        modified_at=r.modified_at,
        version=r.version,
        downtime=downtime,
    )


# Measured on a centre of 1,000 nodes and 100,000 windows: the node lookup costs every window any
# of the page's nodes ever had, so it pays only for a page spread over months; up to a couple
# of months the span's windows are cheaper even for a few nodes (8 days and 470 nodes:
# 65 ms by span, 744 ms by node).
WIDE_PAGE = timedelta(days=60)


def views(session: Session, rows: list[Reservation], now: datetime) -> list[ReservationView]:
    """Views with their overlapping downtime, loaded for all rows at once (fixed query count)."""
    if not rows:
        return []
    start, end = min(r.start for r in rows), max(r.end for r in rows)
    # A page spread over months (one node's reservations, or sorted by project) loads only its
    # nodes' downtime; a page of a few days loads the span's (cheaper than the node lookup).
    nodes = {(r.node_id, r.node.node_type_id) for r in rows} if end - start > WIDE_PAGE else None
    index = load_downtime(session, start, end, now, nodes=nodes)
    return [_view(r, _overlaps_for(index, r)) for r in rows]


def view(session: Session, r: Reservation, now: datetime) -> ReservationView:
    return views(session, [r], now)[0]


def _audit_doc(v: ReservationView, tz: str) -> dict[str, object]:
    doc = v.to_json(tz)
    for volatile in ("modified_at", "modified_by", "version", "downtime", "downtime_hours"):
        doc.pop(volatile, None)
    return doc


# ---------------------------------------------------------------- helpers


def policy(ctx: ServiceContext) -> ReservationPolicy:
    return ReservationPolicy.from_site(ctx.site)


def _node_id(session: Session, name: str) -> int:
    node_id = session.scalar(select(Node.id).where(Node.name == (name or "").strip()))
    if node_id is None:
        raise NotFoundError(f"no node named {name!r}", field="node")
    return node_id


def lock_node(session: Session, node_id: int) -> Node:
    """Take the node's row lock (PostgreSQL ``FOR UPDATE``) and return it freshly loaded.

    Every path that makes a reservation active calls this *before* looking for clashes; that
    ordering is what makes the no-overlap rule hold under concurrency.
    """
    session.execute(select(Node.id).where(Node.id == node_id).with_for_update())
    node = session.get(Node, node_id, populate_existing=True)
    assert node is not None
    return node


def find_clashes(
    session: Session, node_id: int, start: datetime, end: datetime, exclude_id: int | None = None
) -> list[Reservation]:
    """Pending/approved reservations on the node overlapping ``[start, end)`` (touching is fine)."""
    R = Reservation
    stmt = select(R).where(R.node_id == node_id, R.status.in_(ACTIVE), R.start < end, R.end > start)
    if exclude_id is not None:
        stmt = stmt.where(R.id != exclude_id)
    stmt = stmt.order_by(R.start, R.id).execution_options(populate_existing=True)
    return list(session.scalars(stmt))


def clash_message(node: str, clashes: list[Reservation], tz: str) -> str:
    first = clashes[0]
    more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
    return (
        f"{node} is already booked then by reservation #{first.id} for project {first.project.title!r} "
        f"({first.status}), {timeutil.format_local(first.start, tz)} → "
        f"{timeutil.format_local(first.end, tz)}{more}; reservations on a node may touch but never overlap"
    )


def _ensure_no_clash(
    ctx: ServiceContext, node: Node, start: datetime, end: datetime, exclude_id: int | None
) -> None:
    clashes = find_clashes(ctx.session, node.id, start, end, exclude_id)
    if clashes:
        raise ConflictError(clash_message(node.name, clashes, ctx.tz), field="node")


def _ensure_rentable(node: Node) -> None:
    if not node.rentable:
        raise ValidationError(
            f"{node.name} is not rentable (only rentable nodes can be reserved)", field="node"
        )


def _ensure_project_active(project: Project) -> None:
    if project.status != "active":
        raise LockedError(
            f"project {project.title!r} is {project.status}; only active projects can hold reservations",
            field="project",
        )


def _lock_project(session: Session, project: Project) -> Project:
    """Share-lock the project row so it cannot be archived while we book for it (PostgreSQL)."""
    session.execute(select(Project.id).where(Project.id == project.id).with_for_update(read=True))
    session.refresh(project, attribute_names=["status"])
    return project


def _user(session: Session, username: str, field: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFoundError(f"no user named {username!r}", field=field)
    if not user.active:
        raise ValidationError(f"user {user.username!r} is deactivated", field=field)
    return user


def _project_roles(session: Session, project: Project, username: str) -> set[str]:
    rows = session.scalars(
        select(ProjectMember.role)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project.id, User.username == username)
    )
    return set(rows)


def _may_act_for_project(ctx: ServiceContext, project: Project, what: str) -> None:
    """Non-managers: not only a viewer, and owner/technical_admin/member of the project."""
    actor = ctx.actor
    if not (actor.roles - {"viewer"}):
        raise PermissionDenied(f"{actor.username} may not {what} (viewers are read-only)")
    roles = _project_roles(ctx.session, project, actor.username)
    if not roles & set(REQUEST_PROJECT_ROLES):
        raise PermissionDenied(
            f"{actor.username} may not {what} for project {project.title!r}: needs project role "
            f"{' or '.join(REQUEST_PROJECT_ROLES)} there, or system role admin or rental_manager"
        )


def _load(ctx: ServiceContext, reservation_id: int, *, for_update: bool = False) -> Reservation:
    """``for_update`` locks the row first (PostgreSQL), so a concurrent decision waits for ours
    and then sees the new status and version instead of failing at flush."""
    if for_update:
        ctx.session.execute(select(Reservation.id).where(Reservation.id == reservation_id).with_for_update())
    r = ctx.session.get(Reservation, reservation_id, populate_existing=for_update)
    if r is None:
        raise NotFoundError(f"no reservation #{reservation_id}", field="id")
    return r


def _check_version(ctx: ServiceContext, r: Reservation, expected: int | None) -> None:
    ctx.check_version(r, expected, "reservation")


def _billing_guard(
    ctx: ServiceContext, span: Interval[datetime], what: str, correction: bool, reason: str
) -> str:
    """Refuse a billing-relevant change inside a finalized month, unless it is an admin correction.

    Returns the cleaned reason."""
    reason = (reason or "").strip()
    if correction:
        ctx.require("correct")
        return validate.reason(reason)
    drift.ensure_months_open(ctx, [span], what)
    return reason


def _flag(ctx: ServiceContext, span: Interval[datetime], correction: bool, note: str) -> list[str]:
    return drift.flag_drift(ctx, [span], note) if correction else []


# ---------------------------------------------------------------- create


@dataclass(frozen=True)
class ReservationDraft:
    node: str
    project: str | int  # title (or id)
    start_date: date | None  # None (a date a form could not read) is refused as not a date
    blocks: int
    requested_for: str | None = None  # username; defaults to the acting user
    notes: str = ""


@dataclass(frozen=True)
class ReservationResult:
    reservation: ReservationView
    waived: tuple[PolicyViolation, ...] = ()
    drifted_months: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DraftCheck:
    """What a draft would become, for live forms: span, hours, policy problems, clashes, downtime."""

    span: Span
    node_rentable: bool
    violations: tuple[PolicyViolation, ...]
    clashes: tuple[str, ...]  # one line per clashing reservation
    downtime: tuple[DowntimeOverlap, ...]

    @property
    def hours(self) -> Decimal:
        return self.span.hours


def check_draft(ctx: ServiceContext, node: str, start_date: date, blocks: int) -> DraftCheck:
    """Read-only preview of a reservation (no permission beyond ``read``, nothing locked)."""
    ctx.require("read")
    span = reservation_span(policy(ctx), start_date, blocks)
    node_id = _node_id(ctx.session, node)
    node_row = ctx.session.get(Node, node_id)
    assert node_row is not None
    clashes = find_clashes(ctx.session, node_id, span.start, span.end)
    index = load_downtime(ctx.session, span.start, span.end, ctx.now())
    downtime = []
    for src in index.for_node(node_id, node_row.node_type_id):
        part = src.interval.intersection(Interval(span.start, span.end))
        if part is not None:
            downtime.append(DowntimeOverlap(src.source, src.id, src.title, part.start, part.end, src.open))
    today = timeutil.local_day(ctx.now(), ctx.tz)
    return DraftCheck(
        span,
        node_row.rentable,
        tuple(booking_violations(policy(ctx), start_date, today)),
        tuple(
            f"#{c.id} {c.project.title} ({c.status}) {timeutil.format_short(c.start, ctx.tz)} → "
            f"{timeutil.format_short(c.end, ctx.tz)}"
            for c in clashes
        ),
        tuple(sorted(downtime, key=lambda d: (d.start, d.source, d.id))),
    )


def request_reservation(ctx: ServiceContext, draft: ReservationDraft) -> ReservationResult:
    """A pending request; the booking policy (lead time, horizon) always applies."""
    return _create(ctx, draft, manager=False, approve=False, waive_policy=False, correction=False, reason="")


def record_reservation(
    ctx: ServiceContext,
    draft: ReservationDraft,
    *,
    approve: bool = False,
    waive_policy: bool = False,
    correction: bool = False,
    reason: str = "",
) -> ReservationResult:
    """A rental manager records a reservation for anyone, optionally approving it at once and
    waiving the lead-time/horizon rules (the reservation is then marked ``policy_waived``)."""
    ctx.require("manage_reservations")
    return _create(
        ctx,
        draft,
        manager=True,
        approve=approve,
        waive_policy=waive_policy,
        correction=correction,
        reason=reason,
    )


@dataclass
class _CreatePlan:
    """What :func:`_create` writes once its check found no problem."""

    span: Span
    notes: str
    project: Project
    requested_for: str
    node_id: int
    waived: tuple[PolicyViolation, ...]
    reason: str


def _check_create(
    ctx: ServiceContext,
    draft: ReservationDraft,
    *,
    manager: bool,
    approve: bool,
    waive_policy: bool,
    correction: bool,
    reason: str,
) -> tuple[Problems, _CreatePlan | None]:
    """Every refusal creating ``draft`` would meet, in the order :func:`_create` raises them.

    Reads the booking policy from the site settings here, so a bad stored setting is a
    problem (one line naming the setting), not an error in the caller."""
    p = Problems()
    session = ctx.session
    rules = p.attempt(policy, ctx)
    span: Span | None = None
    start_date = draft.start_date
    if not isinstance(start_date, date) or isinstance(start_date, datetime):
        p.add(ValidationError("must be a date (YYYY-MM-DD)", field="start_date"))
        start_date = None
    elif rules is not None:
        span = p.attempt(reservation_span, rules, start_date, draft.blocks)
    notes = p.attempt(validate_notes, draft.notes)
    project = p.attempt(find_project, ctx, draft.project)
    actor = ctx.actor.username
    requested_for = (draft.requested_for or "").strip() or actor
    p.attempt(_user, session, requested_for, "requested_for")
    if not manager:
        if project is not None:
            p.attempt(_may_act_for_project, ctx, project, "request reservations")
        if requested_for != actor:
            p.add(
                PermissionDenied(
                    f"{actor} may only request reservations for themselves (recording one for "
                    f"{requested_for} needs role admin or rental_manager)"
                )
            )
    violations: tuple[PolicyViolation, ...] = ()
    if rules is not None and span is not None and start_date is not None:  # a span needs a date
        today = timeutil.local_day(ctx.now(), ctx.tz)
        violations = tuple(booking_violations(rules, start_date, today))
        if violations and not waive_policy:
            hint = " (a rental manager may waive this with --waive-policy)" if manager else ""
            p.add(ValidationError(violations[0].message + hint, field="start_date"))
    if approve and span is not None:
        interval = Interval(span.start, span.end)
        reason = (
            p.attempt(
                _billing_guard, ctx, interval, "recording this approved reservation", correction, reason
            )
            or (reason or "").strip()
        )
    elif correction and not approve:
        p.add(
            ValidationError(
                "a correction only applies to an approved reservation (--approve)", field="correct"
            )
        )
    node_id = p.attempt(_node_id, session, draft.node)
    if node_id is not None:
        node = session.get(Node, node_id)
        assert node is not None
        p.attempt(_ensure_rentable, node)
        if project is not None:
            p.attempt(_ensure_project_active, project)
        if span is not None:
            p.attempt(_ensure_no_clash, ctx, node, span.start, span.end, None)
    if p.items or span is None or notes is None or project is None or node_id is None:
        return p, None
    waived = violations if waive_policy else ()
    return p, _CreatePlan(span, notes, project, requested_for, node_id, waived, reason)


def check_reservation(
    ctx: ServiceContext,
    draft: ReservationDraft,
    *,
    manager: bool,
    approve: bool = False,
    waive_policy: bool = False,
    correction: bool = False,
    reason: str = "",
) -> list[FieldProblem]:
    """Every refusal recording (``manager``) or requesting ``draft`` would meet now, without
    writing or locking anything. :func:`record_reservation` and :func:`request_reservation`
    run the same check and raise its first problem."""
    problems, _ = _check_create(
        ctx,
        draft,
        manager=manager,
        approve=approve,
        waive_policy=waive_policy,
        correction=correction,
        reason=reason,
    )
    return problems.items


def _create(
    ctx: ServiceContext,
    draft: ReservationDraft,
    *,
    manager: bool,
    approve: bool,
    waive_policy: bool,
    correction: bool,
    reason: str,
) -> ReservationResult:
    session = ctx.session
    problems, plan = _check_create(
        ctx,
        draft,
        manager=manager,
        approve=approve,
        waive_policy=waive_policy,
        correction=correction,
        reason=reason,
    )
    problems.raise_first()
    assert plan is not None
    span, notes, project, requested_for = plan.span, plan.notes, plan.project, plan.requested_for
    waived, reason, actor = plan.waived, plan.reason, ctx.actor.username
    interval = Interval(span.start, span.end)

    # The order matters: lock the node, then check again (see the module docstring); the check
    # above ran without locks.
    node = lock_node(session, plan.node_id)
    _ensure_rentable(node)
    _lock_project(session, project)
    _ensure_project_active(project)
    _ensure_no_clash(ctx, node, span.start, span.end, None)

    now = ctx.now()
    r = Reservation(
        node=node,
        project=project,
        requested_for=requested_for,
        start=span.start,
        end=span.end,
        blocks=draft.blocks,
        status="approved" if approve else "pending",
        notes=notes,
        policy_waived=bool(waived),
        decided_by=actor if approve else None,
        decided_at=now if approve else None,
        created_at=now,
        created_by=actor,
        modified_at=now,
        modified_by=actor,
    )
    session.add(r)
    session.flush()
    drifted = _flag(
        ctx, interval, approve and correction, f"reservation #{r.id} recorded by {actor}: {reason}"
    )
    result = view(session, r, now)
    after = _audit_doc(result, ctx.tz)
    if waived:
        after["waived"] = [v.message for v in waived]
    ctx.record(
        "reservation.recorded" if manager else "reservation.requested",
        "reservation",
        r.id,
        result.label(),
        after=after,
        reason=reason,
    )
    return ReservationResult(result, waived, drifted)


# ---------------------------------------------------------------- status changes


def approve_reservation(
    ctx: ServiceContext,
    reservation_id: int,
    *,
    expected_version: int | None = None,
    correction: bool = False,
    reason: str = "",
) -> ReservationResult:
    """Approve a pending reservation, re-checking everything that could have changed since it was
    requested: the node is still rentable, the project still active, no clash (the row lock is
    taken first), and the months it bills are not finalized. The booking policy (lead time,
    horizon) is judged at request time and not re-applied."""
    ctx.require("manage_reservations")
    session = ctx.session
    r = _load(ctx, reservation_id, for_update=True)
    _check_version(ctx, r, expected_version)
    if r.status != "pending":
        raise ValidationError(
            f"reservation #{r.id} is {r.status}; only a pending one can be approved", field="status"
        )
    interval = Interval(r.start, r.end)
    reason = _billing_guard(ctx, interval, "approving this reservation", correction, reason)
    node = lock_node(session, r.node_id)
    _ensure_rentable(node)
    _lock_project(session, r.project)
    _ensure_project_active(r.project)
    _ensure_no_clash(ctx, node, r.start, r.end, r.id)
    return _decide(ctx, r, "approved", reason, correction=correction)


def decline_reservation(
    ctx: ServiceContext, reservation_id: int, reason: str, *, expected_version: int | None = None
) -> ReservationResult:
    ctx.require("manage_reservations")
    r = _load(ctx, reservation_id, for_update=True)
    _check_version(ctx, r, expected_version)
    if r.status != "pending":
        raise ValidationError(
            f"reservation #{r.id} is {r.status}; only a pending one can be declined", field="status"
        )
    reason = validate.reason(reason)
    return _decide(ctx, r, "declined", reason)


def cancel_reservation(
    ctx: ServiceContext,
    reservation_id: int,
    *,
    reason: str = "",
    expected_version: int | None = None,
    correction: bool = False,
) -> ReservationResult:
    """Cancel a pending or approved reservation. Rental managers may cancel any; project members
    who may request may cancel their project's reservations that have not started."""
    r = _load(ctx, reservation_id, for_update=True)
    _check_version(ctx, r, expected_version)
    if not ctx.actor.can("manage_reservations"):
        _may_act_for_project(ctx, r.project, "cancel reservations")
        if r.start <= ctx.now():
            raise PermissionDenied(
                f"reservation #{r.id} has already started; only a rental manager may cancel it now"
            )
    if r.status not in ACTIVE:
        raise ValidationError(
            f"reservation #{r.id} is {r.status}; only pending or approved ones can be cancelled",
            field="status",
        )
    if r.status == "approved":
        reason = _billing_guard(
            ctx, Interval(r.start, r.end), "cancelling this approved reservation", correction, reason
        )
    else:
        if correction:
            raise ValidationError("cancelling a pending reservation needs no correction", field="correct")
        reason = validate.text(reason, "reason", max_len=2000)
    return _decide(ctx, r, "cancelled", reason, correction=correction)


def _decide(
    ctx: ServiceContext, r: Reservation, status: str, reason: str, *, correction: bool = False
) -> ReservationResult:
    now = ctx.now()
    before = view(ctx.session, r, now)
    was_billed = r.status == "approved" or status == "approved"
    r.status = status
    r.decided_by = ctx.actor.username
    r.decided_at = now
    r.decision_reason = reason
    r.modified_at, r.modified_by = now, ctx.actor.username
    ctx.session.flush()
    drifted = _flag(
        ctx,
        Interval(r.start, r.end),
        correction and was_billed,
        f"reservation #{r.id} {status} by {ctx.actor.username}: {reason}",
    )
    after = view(ctx.session, r, now)
    ctx.record(
        f"reservation.{status}",
        "reservation",
        r.id,
        after.label(),
        before=_audit_doc(before, ctx.tz),
        after=_audit_doc(after, ctx.tz),
        reason=reason,
    )
    return ReservationResult(after, (), drifted)


# ---------------------------------------------------------------- read


def get_reservation(ctx: ServiceContext, reservation_id: int) -> ReservationView:
    ctx.require("read")
    return view(ctx.session, _load(ctx, reservation_id), ctx.now())


@dataclass(frozen=True)
class ReservationQuery:
    status: str | None = None
    node: str | None = None
    project: str | None = None  # title
    requested_for: str | None = None
    start_from: datetime | None = None  # reservations overlapping [start_from, end_before)
    end_before: datetime | None = None
    starts_at_or_after: datetime | None = None  # reservations whose start is in this range
    starts_before: datetime | None = None
    sort: str = "start"
    descending: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class ReservationPage:
    items: list[ReservationView]
    total: int
    offset: int
    limit: int


def _filters(ctx: ServiceContext, query: ReservationQuery) -> list[ColumnElement[bool]]:
    R = Reservation
    conds: list[ColumnElement[bool]] = []
    if query.status:
        conds.append(R.status == validate.choice(query.status, "status", STATUSES))
    if query.node:
        conds.append(R.node_id == _node_id(ctx.session, query.node))
    if query.project:
        conds.append(R.project_id == find_project(ctx, query.project).id)
    if query.requested_for:
        conds.append(R.requested_for == query.requested_for.strip())
    if query.start_from is not None:
        conds.append(R.end > query.start_from)
    if query.end_before is not None:
        conds.append(R.start < query.end_before)
    if query.starts_at_or_after is not None:
        conds.append(R.start >= query.starts_at_or_after)
    if query.starts_before is not None:
        conds.append(R.start < query.starts_before)
    return conds


def _order(stmt: Select[Any], query: ReservationQuery) -> Select[Any]:
    R = Reservation
    validate.choice(query.sort, "sort", SORT_KEYS)
    if query.sort == "node":
        stmt = stmt.join(Node, Node.id == R.node_id)
        key: Any = Node.name
    elif query.sort == "project":
        stmt = stmt.join(Project, Project.id == R.project_id)
        key = func.lower(Project.title)
    else:
        key = {"start": R.start, "end": R.end, "status": R.status, "id": R.id}[query.sort]
    if query.descending:
        return stmt.order_by(key.desc(), R.start.desc(), R.id.desc())
    return stmt.order_by(key.asc(), R.start.asc(), R.id.asc())


def list_reservations(ctx: ServiceContext, query: ReservationQuery = ReservationQuery()) -> ReservationPage:
    """One page of reservations, filtered and sorted in SQL (never the whole table)."""
    ctx.require("read")
    if query.limit < 1 or query.limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    conds = _filters(ctx, query)
    total = ctx.session.scalar(select(func.count(Reservation.id)).where(*conds)) or 0

    def ordered(reverse: bool) -> Select[Any]:
        flipped = replace(query, descending=query.descending != reverse)
        return _order(select(Reservation).where(*conds), flipped)

    rows = paging.page(ctx.session, ordered, total, query.offset, query.limit)
    return ReservationPage(views(ctx.session, rows, ctx.now()), total, query.offset, query.limit)
