"""Outages: unplanned downtime of specific nodes (DESIGN §6).

Fields: title, description, affected nodes (at least one), start, end, estimated time to repair
(ETR), status and a credit flag (default on: the outage's time is not billed to renters).

Status workflow ``reported → investigating → identified → monitoring → resolved``:
- ``reported`` is only the initial state; nothing moves back to it.
- Any other status may be reached from any status: forward moves (skipping steps is fine, e.g.
  straight to resolved), back from identified/monitoring to investigating or identified when a
  diagnosis or a fix does not hold, and *reopening* a resolved outage (its end is cleared).
- The end is set exactly when the outage is resolved: resolving needs an end (``end > start``,
  not in the future) and an unresolved outage has none. An open (unresolved) outage counts as
  downtime from its start up to now (core/downtime.py).

ETR revisions live in the audit log: every change that alters the ETR is audited as
``outage.etr_revised`` (before/after hold the whole outage, so a status moved in the same step
shows too; an admin correction stays ``outage.corrected``). Every outage entry carries the ETR
in its before/after values, and :func:`etr_history` reads the revisions back.

Credited outages are billing downtime, so a change that alters the downtime of a finalized
invoice month is refused unless an admin makes a correction (reason required; the month is
flagged as drifted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import NotFoundError, ValidationError
from ...fieldcheck import FieldProblem, Problems
from ...intervals import Interval
from ...models import OUTAGE_STATUSES, ActivityEntry, Node, Outage
from ..invoicing import drift
from . import notices

STATUSES = OUTAGE_STATUSES
OPEN_STATUSES = tuple(s for s in STATUSES if s != "resolved")
# Word, glyph and colour name for each status (colour is never the only signal).
STATUS_STYLE = {
    "reported": ("●", "red"),
    "investigating": ("◐", "orange"),
    "identified": ("◑", "yellow"),
    "monitoring": ("◔", "blue"),
    "resolved": ("✓", "green"),
}
UNSET: Any = object()


def allowed_transitions(status: str) -> tuple[str, ...]:
    """Statuses an outage in ``status`` may move to (see the module docstring)."""
    return tuple(s for s in STATUSES if s not in ("reported", status))


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class OutageView:
    id: int
    uuid: str
    title: str
    description: str
    nodes: tuple[str, ...]
    start: datetime
    end: datetime | None
    etr: datetime | None
    status: str
    credit: bool
    created_by: str
    created_at: datetime
    modified_by: str
    modified_at: datetime
    version: int
    now: datetime  # the instant "duration so far" is measured at

    @property
    def open(self) -> bool:
        return self.status != "resolved"

    @property
    def duration(self) -> timedelta:
        """Length so far: to the end, or to now while open (never negative)."""
        stop = self.end if self.end is not None else self.now
        return max(stop - self.start, timedelta(0))

    @property
    def etr_overdue(self) -> bool:
        return self.open and self.etr is not None and self.etr < self.now

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "title": self.title,
            "description": self.description,
            "nodes": list(self.nodes),
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz) if self.end else None,
            "etr": timeutil.iso_local(self.etr, tz) if self.etr else None,
            "etr_overdue": self.etr_overdue,
            "status": self.status,
            "open": self.open,
            "credit": self.credit,
            "duration_hours": f"{self.duration.total_seconds() / 3600:.2f}",
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "modified_by": self.modified_by,
            "modified_at": timeutil.iso_local(self.modified_at, tz),
            "version": self.version,
        }


def view(o: Outage, now: datetime) -> OutageView:
    return OutageView(
        id=o.id,
        uuid=o.uuid,
        title=o.title,
        description=o.description,
        nodes=tuple(sorted(n.name for n in o.nodes)),
        start=o.start,
        end=o.end,
        etr=o.etr,
        status=o.status,
        credit=o.credit,
        created_by=o.created_by,
        created_at=o.created_at,
        modified_by=o.modified_by,
        modified_at=o.modified_at,
        version=o.version,
        now=now,
    )


def _audit_doc(v: OutageView, tz: str) -> dict[str, object]:
    doc = v.to_json(tz)
    for volatile in ("modified_at", "modified_by", "version", "duration_hours", "etr_overdue", "open"):
        doc.pop(volatile, None)
    return doc


# ---------------------------------------------------------------- validation


def _resolve_nodes(ctx: ServiceContext, names: Iterable[str]) -> list[Node]:
    wanted = [n.strip() for n in dict.fromkeys(names) if n and n.strip()]
    if not wanted:
        raise ValidationError("an outage affects at least one node (--node)", field="node")
    nodes = []
    for name in wanted:
        node = ctx.session.scalar(select(Node).where(Node.name == name))
        if node is None:
            raise NotFoundError(f"no node named {name!r}", field="node")
        nodes.append(node)
    return nodes


def _time_problems(
    ctx: ServiceContext,
    p: Problems,
    start: datetime,
    end: datetime | None,
    etr: datetime | None,
    status: str,
) -> None:
    """The time rules of an outage: begun already, an end only (and always) when resolved,
    after the start and not in the future, an estimate after the start."""
    now = ctx.now()
    if start > now:
        p.add(
            ValidationError(
                f"an outage has already begun; {timeutil.format_local(start, ctx.tz)} is in the future "
                "(schedule planned downtime as a maintenance window)",
                field="start",
            )
        )
    if status == "resolved" and end is None:
        p.add(ValidationError("is required when the outage is resolved", field="end"))
    if end is not None:
        if status != "resolved":
            p.add(
                ValidationError(
                    f"an outage gets its end when it is resolved (status is {status}); "
                    "use 'outage resolve' or --status resolved",
                    field="end",
                )
            )
        elif not end > start:
            p.add(ValidationError("must be after the start", field="end"))
        elif end > now:
            p.add(
                ValidationError(
                    f"{timeutil.format_local(end, ctx.tz)} is in the future; "
                    "resolve the outage when it is over",
                    field="end",
                )
            )
    if etr is not None and not etr > start:
        p.add(ValidationError("the estimated time to repair must be after the start", field="etr"))


def _downtime_span(start: datetime, end: datetime | None, now: datetime) -> Interval[datetime] | None:
    stop = end if end is not None else now
    return Interval(start, stop) if stop > start else None


def _load(ctx: ServiceContext, outage_id: int, *, for_update: bool = False) -> Outage:
    """``for_update`` locks the row first (PostgreSQL) so concurrent saves queue up and the
    later one sees the new version (a clear ConflictError) instead of failing at flush."""
    if for_update:
        ctx.session.execute(select(Outage.id).where(Outage.id == outage_id).with_for_update())
    o = ctx.session.get(Outage, outage_id, populate_existing=for_update)
    if o is None:
        raise NotFoundError(f"no outage #{outage_id}", field="id")
    return o


def _check_version(ctx: ServiceContext, o: Outage, expected: int | None) -> None:
    ctx.check_version(o, expected, "outage")


# ---------------------------------------------------------------- create


@dataclass(frozen=True)
class OutageDraft:
    title: str
    nodes: tuple[str, ...]
    start: datetime
    end: datetime | None = None
    etr: datetime | None = None
    status: str | None = None  # default: "resolved" when an end is given, else "reported"
    credit: bool = True
    description: str = ""


@dataclass(frozen=True)
class OutageResult:
    outage: OutageView
    drifted_months: list[str] = field(default_factory=list)


@dataclass
class _CreatePlan:
    title: str
    description: str
    start: datetime
    end: datetime | None
    etr: datetime | None
    status: str
    nodes: list[Node]
    reason: str


def _check_create(
    ctx: ServiceContext, draft: OutageDraft, correction: bool, reason: str
) -> tuple[Problems, _CreatePlan | None]:
    p = Problems()
    title = p.attempt(validate.title, draft.title)
    description = p.attempt(validate.text, draft.description, "description")
    start = p.attempt(timeutil.ensure_aware, draft.start, "start")
    end = p.attempt(timeutil.ensure_aware, draft.end, "end") if draft.end is not None else None
    etr = p.attempt(timeutil.ensure_aware, draft.etr, "etr") if draft.etr is not None else None
    status = draft.status or ("resolved" if end is not None else "reported")
    status_ok = p.passes(validate.choice, status, "status", STATUSES)
    if start is not None and status_ok:
        _time_problems(ctx, p, start, end, etr, status)
    nodes = p.attempt(_resolve_nodes, ctx, draft.nodes)
    reason = (reason or "").strip()
    if correction:
        reason = p.attempt(validate.reason, reason) or reason
    elif start is not None and draft.credit and not p.items:
        span = _downtime_span(start, end, ctx.now())
        if span is not None:
            p.attempt(drift.ensure_months_open, ctx, [span], "this outage")
    if p.items or title is None or description is None or start is None or nodes is None:
        return p, None
    return p, _CreatePlan(title, description, start, end, etr, status, nodes, reason)


def check_outage(
    ctx: ServiceContext,
    draft: OutageDraft | OutageChanges,
    *,
    outage_id: int | None = None,
    expected_version: int | None = None,
    correction: bool = False,
    reason: str = "",
) -> list[FieldProblem]:
    """Every refusal saving ``draft`` would meet now, without writing anything: a new outage
    is an :class:`OutageDraft`, a change to outage ``outage_id`` an :class:`OutageChanges`.
    :func:`create_outage` and :func:`update_outage` run the same check and raise its first."""
    if outage_id is None:
        if not isinstance(draft, OutageDraft):
            raise TypeError("a new outage is checked as an OutageDraft")
        return _check_create(ctx, draft, correction, reason)[0].items
    if not isinstance(draft, OutageChanges):
        raise TypeError("a change to an outage is checked as OutageChanges")
    p = Problems()
    o = p.attempt(_load, ctx, outage_id)
    if o is None:
        return p.items
    p.attempt(_check_version, ctx, o, expected_version)
    problems, _ = _check_update(ctx, o, view(o, ctx.now()), draft, correction, reason)
    return p.items + problems.items


def create_outage(
    ctx: ServiceContext, draft: OutageDraft, *, correction: bool = False, reason: str = ""
) -> OutageResult:
    ctx.require("correct" if correction else "manage_outages")
    problems, plan = _check_create(ctx, draft, correction, reason)
    problems.raise_first()
    assert plan is not None
    title, description, start, end, etr = plan.title, plan.description, plan.start, plan.end, plan.etr
    status, nodes, reason = plan.status, plan.nodes, plan.reason
    now = ctx.now()
    span = _downtime_span(start, end, now)
    drifted: list[str] = []
    by = ctx.actor.username
    o = Outage(
        title=title,
        description=description,
        start=start,
        end=end,
        etr=etr,
        status=status,
        credit=draft.credit,
        nodes=nodes,
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    ctx.session.add(o)
    ctx.session.flush()
    if correction and draft.credit and span is not None:
        drifted = drift.flag_drift(ctx, [span], f"outage #{o.id} recorded by {by}: {reason}")
    result = view(o, now)
    ctx.record("outage.created", "outage", o.id, o.title, after=_audit_doc(result, ctx.tz), reason=reason)
    notices.outage_changed(ctx, None, o)
    return OutageResult(result, drifted)


# ---------------------------------------------------------------- update


@dataclass(frozen=True)
class OutageChanges:
    """Fields to change; ``UNSET`` leaves a field as it is (``None`` clears ``etr``)."""

    title: Any = UNSET
    description: Any = UNSET
    nodes: Any = UNSET
    start: Any = UNSET
    end: Any = UNSET
    etr: Any = UNSET
    status: Any = UNSET
    credit: Any = UNSET

    def given(self) -> list[str]:
        names = ("title", "description", "nodes", "start", "end", "etr", "status", "credit")
        return [n for n in names if getattr(self, n) is not UNSET]


def update_outage(
    ctx: ServiceContext,
    outage_id: int,
    changes: OutageChanges,
    *,
    expected_version: int | None = None,
    correction: bool = False,
    reason: str = "",
) -> OutageResult:
    """Change status, ETR, end, description (and title, nodes, start, credit).

    Setting the status to ``resolved`` needs an end (given here or already set); moving a
    resolved outage to another status reopens it and clears its end."""
    ctx.require("correct" if correction else "manage_outages")
    o = _load(ctx, outage_id, for_update=True)
    _check_version(ctx, o, expected_version)
    now = ctx.now()
    before = view(o, now)
    problems, plan = _check_update(ctx, o, before, changes, correction, reason)
    problems.raise_first()
    assert plan is not None
    new_title, new_desc, new_start, new_end, new_etr = (
        plan.title,
        plan.description,
        plan.start,
        plan.end,
        plan.etr,
    )
    new_status, new_credit, new_nodes, spans, reason = (
        plan.status,
        plan.credit,
        plan.nodes,
        plan.spans,
        plan.reason,
    )

    etr_changed = new_etr != o.etr
    o.title, o.description = new_title, new_desc
    o.start, o.end, o.etr = new_start, new_end, new_etr
    o.status, o.credit = new_status, new_credit
    if changes.nodes is not UNSET:
        o.nodes = new_nodes
    o.modified_at, o.modified_by = now, ctx.actor.username
    ctx.session.flush()
    after = view(o, now)
    drifted: list[str] = []
    if correction and spans:
        drifted = drift.flag_drift(ctx, spans, f"outage #{o.id} corrected by {ctx.actor.username}: {reason}")
    ctx.record(
        _action(before, after, etr_changed, correction),
        "outage",
        o.id,
        o.title,
        before=_audit_doc(before, ctx.tz),
        after=_audit_doc(after, ctx.tz),
        reason=reason,
    )
    notices.outage_changed(ctx, before.status, o)
    return OutageResult(after, drifted)


@dataclass
class _UpdatePlan:
    title: str
    description: str
    start: datetime
    end: datetime | None
    etr: datetime | None
    status: str
    credit: bool
    nodes: list[Node]
    spans: list[Interval[datetime]]
    reason: str


def _check_update(
    ctx: ServiceContext,
    o: Outage,
    before: OutageView,
    changes: OutageChanges,
    correction: bool,
    reason: str,
) -> tuple[Problems, _UpdatePlan | None]:
    """The status transitions and time rules for a change, evaluated now."""
    p = Problems()
    now = ctx.now()
    if not changes.given():
        p.add(ValidationError("nothing to change (give at least one field)", field="changes"))
    reason = (reason or "").strip()
    if correction:
        reason = p.attempt(validate.reason, reason) or reason
    new_status = before.status
    if changes.status is not UNSET and changes.status != before.status:
        chosen = p.attempt(validate.choice, changes.status, "status", STATUSES)
        if chosen is not None:
            new_status = chosen
            if chosen not in allowed_transitions(before.status):
                p.add(
                    ValidationError(
                        f"outage #{o.id} cannot go from {before.status} to {chosen} "
                        f"(allowed: {', '.join(allowed_transitions(before.status))})",
                        field="status",
                    )
                )
    new_title = p.attempt(validate.title, changes.title) if changes.title is not UNSET else o.title
    new_desc = (
        p.attempt(validate.text, changes.description, "description")
        if changes.description is not UNSET
        else o.description
    )
    new_start = (
        p.attempt(timeutil.ensure_aware, changes.start, "start") if changes.start is not UNSET else o.start
    )
    new_etr = o.etr
    if changes.etr is not UNSET:
        new_etr = p.attempt(timeutil.ensure_aware, changes.etr, "etr") if changes.etr is not None else None
    new_end = o.end
    if changes.end is not UNSET:
        new_end = p.attempt(timeutil.ensure_aware, changes.end, "end") if changes.end is not None else None
        if new_end is not None and new_status != "resolved" and changes.status is UNSET:
            p.add(
                ValidationError(
                    f"outage #{o.id} is {before.status}; give --status resolved with the end, "
                    "or use 'outage resolve'",
                    field="end",
                )
            )
    elif new_status != "resolved":
        new_end = None  # reopening a resolved outage clears its end
    new_credit = bool(changes.credit) if changes.credit is not UNSET else o.credit
    if new_start is not None:
        _time_problems(ctx, p, new_start, new_end, new_etr, new_status)
    new_nodes = p.attempt(_resolve_nodes, ctx, changes.nodes) if changes.nodes is not UNSET else list(o.nodes)
    if p.items or new_title is None or new_desc is None or new_start is None or new_nodes is None:
        return p, None
    spans = _billing_spans(before, new_start, new_end, new_credit, new_nodes, now)
    if not correction and spans:
        p.attempt(drift.ensure_months_open, ctx, spans, "this outage change")
    if p.items:
        return p, None
    plan = _UpdatePlan(
        new_title, new_desc, new_start, new_end, new_etr, new_status, new_credit, new_nodes, spans, reason
    )
    return p, plan


def _action(before: OutageView, after: OutageView, etr_changed: bool, correction: bool) -> str:
    if correction:
        return "outage.corrected"
    if etr_changed:
        return "outage.etr_revised"
    if after.status == "resolved" and before.status != "resolved":
        return "outage.resolved"
    if before.status == "resolved" and after.status != "resolved":
        return "outage.reopened"
    if after.status != before.status:
        return "outage.status_changed"
    return "outage.updated"


def _billing_spans(
    before: OutageView,
    new_start: datetime,
    new_end: datetime | None,
    new_credit: bool,
    new_nodes: list[Node],
    now: datetime,
) -> list[Interval[datetime]]:
    """The stretches of time whose billed downtime this change alters."""
    old = _downtime_span(before.start, before.end, now) if before.credit else None
    new = _downtime_span(new_start, new_end, now) if new_credit else None
    if old is None and new is None:
        return []
    if old is None or new is None or tuple(sorted(n.name for n in new_nodes)) != before.nodes:
        return [s for s in (old, new) if s is not None]
    spans = []
    if old.start != new.start:
        spans.append(Interval(min(old.start, new.start), max(old.start, new.start)))
    if old.end != new.end:
        spans.append(Interval(min(old.end, new.end), max(old.end, new.end)))
    return spans


def resolve_outage(
    ctx: ServiceContext, outage_id: int, end: datetime, *, expected_version: int | None = None
) -> OutageResult:
    """Mark an outage resolved at ``end`` (required; after the start, not in the future)."""
    if end is None:
        raise ValidationError("is required when the outage is resolved", field="end")
    return update_outage(
        ctx, outage_id, OutageChanges(status="resolved", end=end), expected_version=expected_version
    )


def revise_etr(
    ctx: ServiceContext, outage_id: int, etr: datetime | None, *, expected_version: int | None = None
) -> OutageResult:
    return update_outage(ctx, outage_id, OutageChanges(etr=etr), expected_version=expected_version)


# ---------------------------------------------------------------- read


def get_outage(ctx: ServiceContext, outage_id: int) -> OutageView:
    ctx.require("read")
    return view(_load(ctx, outage_id), ctx.now())


@dataclass(frozen=True)
class EtrRevision:
    at: datetime
    by: str
    action: str
    before: str | None  # ISO text as audited
    after: str | None

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "at": timeutil.iso_local(self.at, tz),
            "by": self.by,
            "action": self.action,
            "before": self.before,
            "after": self.after,
        }


def etr_history(ctx: ServiceContext, outage_id: int) -> list[EtrRevision]:
    """Every ETR the outage has had, oldest first, read back from the audit log."""
    ctx.require("read")
    _load(ctx, outage_id)
    rows = ctx.session.scalars(
        select(ActivityEntry)
        .where(ActivityEntry.target_type == "outage", ActivityEntry.target_id == str(outage_id))
        .order_by(ActivityEntry.seq)
    )
    revisions = []
    for e in rows:
        before = json.loads(e.before_json) or {}
        after = json.loads(e.after_json) or {}
        old, new = before.get("etr"), after.get("etr")
        if old != new:
            revisions.append(EtrRevision(e.occurred_at, e.actor, e.action, old, new))
    return revisions


@dataclass(frozen=True)
class OutageQuery:
    open_only: bool = False
    status: str | None = None
    node: str | None = None
    start_from: datetime | None = None  # outages overlapping [start_from, end_before)
    end_before: datetime | None = None
    descending: bool = True  # newest first
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class OutagePage:
    items: list[OutageView]
    total: int
    offset: int
    limit: int


def _filters(ctx: ServiceContext, query: OutageQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if query.open_only:
        conds.append(Outage.status != "resolved")
    if query.status:
        conds.append(Outage.status == validate.choice(query.status, "status", STATUSES))
    if query.node:
        node = ctx.session.scalar(select(Node).where(Node.name == query.node.strip()))
        if node is None:
            raise NotFoundError(f"no node named {query.node!r}", field="node")
        conds.append(Outage.nodes.any(Node.id == node.id))
    if query.start_from is not None:
        conds.append((Outage.end.is_(None)) | (Outage.end > query.start_from))
    if query.end_before is not None:
        conds.append(Outage.start < query.end_before)
    return conds


def list_outages(ctx: ServiceContext, query: OutageQuery = OutageQuery()) -> OutagePage:
    """One page of outages (newest first by default), filtered in SQL."""
    ctx.require("read")
    if query.limit < 1 or query.limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    conds = _filters(ctx, query)
    total = ctx.session.scalar(select(func.count(Outage.id)).where(*conds)) or 0
    order = (Outage.start.desc(), Outage.id.desc()) if query.descending else (Outage.start, Outage.id)
    rows = ctx.session.scalars(
        select(Outage).where(*conds).order_by(*order).offset(max(query.offset, 0)).limit(query.limit)
    ).all()
    now = ctx.now()
    return OutagePage([view(o, now) for o in rows], total, query.offset, query.limit)
