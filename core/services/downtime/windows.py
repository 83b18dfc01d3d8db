"""Maintenance windows: validation, derived status, the locked-past-windows rules, listing.

Lock rules (DESIGN §5), always evaluated against the clock at save time:
- upcoming (now < start): every field may change; it may be deleted.
- in_progress (start <= now < end): only the end may move, to any instant >= now.
- completed (end <= now): locked.
An admin *correction* (with a reason) may change or delete any window; it flags finalized
invoice months it touches as drifted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ... import mailer, timeutil, validate
from ...context import ServiceContext
from ...errors import LockedError, NotFoundError, ValidationError
from ...fieldcheck import FieldProblem, Problems
from ...headmemo import earliest
from ...intervals import Interval
from ...models import MaintenanceWindow, Node, NodeType
from ...recurrence import parse_duration
from .. import paging
from ..invoicing import drift
from . import notices, schedule_skips
from .impact import ImpactLine, impact_of_change

if TYPE_CHECKING:
    from ...runtime import Runtime

STATUSES = ("upcoming", "in_progress", "completed")
STATUS_LABELS = {"upcoming": "upcoming", "in_progress": "in progress", "completed": "completed"}
SORT_KEYS = ("start", "end", "title", "duration", "created_by", "id")
UNSET: Any = object()


def status_at(start: datetime, end: datetime, now: datetime) -> str:
    if now < start:
        return "upcoming"
    if now < end:
        return "in_progress"
    return "completed"


@dataclass(frozen=True)
class Scope:
    """All nodes (no names given), or the named nodes and node types."""

    nodes: tuple[str, ...] = ()
    node_types: tuple[str, ...] = ()

    @property
    def all_nodes(self) -> bool:
        return not self.nodes and not self.node_types

    def label(self) -> str:
        if self.all_nodes:
            return "all nodes"
        parts = [*self.node_types, *self.nodes]
        return ", ".join(parts)


@dataclass(frozen=True)
class WindowView:
    """A window as front ends see it (plain data, safe to pass between threads)."""

    id: int
    uuid: str
    title: str
    description: str
    start: datetime
    end: datetime
    scope: Scope
    status: str
    backdated: bool
    created_by: str
    created_at: datetime
    modified_by: str
    modified_at: datetime
    version: int
    emergency: bool = False

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def locked(self) -> bool:
        return self.status != "upcoming"

    def lock_reason(self, tz: str) -> str:
        if self.status == "in_progress":
            return (
                f"in progress since {timeutil.format_local(self.start, tz)}: only its end may "
                "move (to now or later); an admin can correct it"
            )
        if self.status == "completed":
            return (
                f"completed at {timeutil.format_local(self.end, tz)}: it is history and locked; "
                "an admin can correct it with a reason"
            )
        return ""

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "title": self.title,
            "description": self.description,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "duration_hours": f"{self.duration.total_seconds() / 3600:.2f}",
            "status": self.status,
            "locked": self.locked,
            "scope": {
                "all_nodes": self.scope.all_nodes,
                "nodes": list(self.scope.nodes),
                "node_types": list(self.scope.node_types),
            },
            "backdated": self.backdated,
            "emergency": self.emergency,
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "modified_by": self.modified_by,
            "modified_at": timeutil.iso_local(self.modified_at, tz),
            "version": self.version,
        }


def view(window: MaintenanceWindow, now: datetime) -> WindowView:
    scope = Scope(tuple(n.name for n in window.nodes), tuple(t.name for t in window.node_types))
    return WindowView(
        id=window.id,
        uuid=window.uuid,
        title=window.title,
        description=window.description,
        start=window.start,
        end=window.end,
        scope=scope,
        status=status_at(window.start, window.end, now),
        backdated=window.backdated,
        created_by=window.created_by,
        created_at=window.created_at,
        modified_by=window.modified_by,
        modified_at=window.modified_at,
        version=window.version,
        emergency=window.emergency,
    )


def _audit_doc(v: WindowView, tz: str) -> dict[str, object]:
    doc = v.to_json(tz)
    for volatile in ("status", "locked", "modified_at", "modified_by", "version", "duration_hours"):
        doc.pop(volatile, None)
    return doc


# ---------------------------------------------------------------- validation helpers


def _check_span(start: datetime, end: datetime) -> None:
    if not end > start:
        raise ValidationError("must be after the start (a window cannot be empty)", field="end")


def _resolve_scope(session: Session, scope: Scope) -> tuple[list[Node], list[NodeType]]:
    nodes, types = [], []
    for name in dict.fromkeys(scope.nodes):
        node = session.scalar(select(Node).where(Node.name == name))
        if node is None:
            raise NotFoundError(f"no node named {name!r}", field="node")
        nodes.append(node)
    for name in dict.fromkeys(scope.node_types):
        nt = session.scalar(select(NodeType).where(NodeType.name == name))
        if nt is None:
            raise NotFoundError(f"no node type named {name!r}", field="node_type")
        types.append(nt)
    # Same order as the relationships load them (by name), so a fresh view equals a reloaded one.
    return sorted(nodes, key=lambda n: n.name), sorted(types, key=lambda t: t.name)


def _load(ctx: ServiceContext, window_id: int, *, for_update: bool = False) -> MaintenanceWindow:
    """``for_update`` locks the row (PostgreSQL) so a concurrent save waits for ours and then
    sees the new version (ConflictError naming who changed it) instead of failing at flush."""
    window = ctx.session.get(MaintenanceWindow, window_id, with_for_update=for_update or None)
    if window is None:
        raise NotFoundError(f"no maintenance window #{window_id}", field="id")
    return window


def _check_version(ctx: ServiceContext, window: MaintenanceWindow, expected: int | None) -> None:
    ctx.check_version(window, expected, "window")


# ---------------------------------------------------------------- create


@dataclass(frozen=True)
class WindowDraft:
    title: str
    start: datetime
    end: datetime
    description: str = ""
    scope: Scope = field(default_factory=Scope)
    # Set by recurring schedules: the schedule and the UTC start its rule gave this occurrence.
    schedule_id: int | None = None
    occurrence_start: datetime | None = None


@dataclass(frozen=True)
class SaveResult:
    window: WindowView
    impact: list[ImpactLine]
    drifted_months: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    """The values a save writes, once its check found no problem."""

    title: str
    description: str
    start: datetime
    end: datetime
    scope: Scope
    reason: str
    action: str
    nodes: list[Node] | None = None  # None: the scope is not changed
    types: list[NodeType] | None = None


def _backdating_reason(ctx: ServiceContext, p: Problems, reason: str, message: str) -> str:
    """A backdated start needs a reason; the problem names the start, the reason fixes it."""
    if not reason:
        p.add(ValidationError(message, field="start"), fix="reason")
        return reason
    return p.attempt(validate.reason, reason) or reason


def _check_create(ctx: ServiceContext, draft: WindowDraft, reason: str) -> tuple[Problems, _Plan | None]:
    p = Problems()
    title = p.attempt(validate.title, draft.title)
    description = p.attempt(validate.text, draft.description, "description")
    start = p.attempt(timeutil.ensure_aware, draft.start, "start")
    end = p.attempt(timeutil.ensure_aware, draft.end, "end")
    span_ok = start is not None and end is not None and p.passes(_check_span, start, end)
    resolved = p.attempt(_resolve_scope, ctx.session, draft.scope)
    reason = (reason or "").strip()
    backdated = start is not None and start < ctx.now()
    if backdated and start is not None:
        reason = _backdating_reason(
            ctx,
            p,
            reason,
            f"starts in the past ({timeutil.format_local(start, ctx.tz)}); a backdated window "
            "needs a reason (--reason)",
        )
    if backdated and span_ok and start is not None and end is not None:
        p.attempt(drift.ensure_months_open, ctx, [Interval(start, end)], "this backdated window")
    if p.items or title is None or description is None or start is None or end is None or resolved is None:
        return p, None
    action = "window.backdated" if backdated else "window.created"
    return p, _Plan(title, description, start, end, draft.scope, reason, action, *resolved)


def check_window(
    ctx: ServiceContext,
    draft: WindowDraft | WindowChanges,
    *,
    window_id: int | None = None,
    expected_version: int | None = None,
    reason: str = "",
    correction: bool = False,
) -> list[FieldProblem]:
    """Every refusal saving ``draft`` would meet now, without writing anything.

    A new window is a :class:`WindowDraft`; a change to window ``window_id`` is a
    :class:`WindowChanges`. :func:`create_window` and :func:`update_window` run the same check
    and raise its first problem."""
    if window_id is None:
        if not isinstance(draft, WindowDraft):
            raise TypeError("a new window is checked as a WindowDraft")
        return _check_create(ctx, draft, reason)[0].items
    if not isinstance(draft, WindowChanges):
        raise TypeError("a change to a window is checked as WindowChanges")
    p = Problems()
    window = p.attempt(_load, ctx, window_id)
    if window is None:
        return p.items
    p.attempt(_check_version, ctx, window, expected_version)
    problems, _ = _check_update(ctx, window, view(window, ctx.now()), draft, reason, correction)
    return p.items + problems.items


def create_window(ctx: ServiceContext, draft: WindowDraft, *, reason: str = "") -> SaveResult:
    """Create a window. One that starts in the past is *backdated*: it needs a reason and may
    not alter a finalized invoice month."""
    ctx.require("manage_windows")
    problems, plan = _check_create(ctx, draft, reason)
    problems.raise_first()
    assert plan is not None
    return _insert(ctx, plan, schedule=(draft.schedule_id, draft.occurrence_start))


def _insert(
    ctx: ServiceContext,
    plan: _Plan,
    *,
    schedule: tuple[int | None, datetime | None] = (None, None),
    emergency: bool = False,
) -> SaveResult:
    """Write the window a create check planned, record it and queue its notices."""
    start, end, scope = plan.start, plan.end, plan.scope
    now = ctx.now()
    impact = impact_of_change(ctx, new=(Interval(start, end), scope))
    by = ctx.actor.username
    window = MaintenanceWindow(
        title=plan.title,
        description=plan.description,
        start=start,
        end=end,
        all_nodes=scope.all_nodes,
        backdated=plan.action == "window.backdated",
        emergency=emergency,
        nodes=plan.nodes or [],
        node_types=plan.types or [],
        schedule_id=schedule[0],
        occurrence_start=schedule[1],
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    ctx.session.add(window)
    ctx.session.flush()
    result = view(window, now)
    ctx.record(
        plan.action, "window", window.id, window.title, after=_audit_doc(result, ctx.tz), reason=plan.reason
    )
    notices.window_created(ctx, window, impact)
    return SaveResult(result, impact)


# ---------------------------------------------------------------- emergency

EMERGENCY_DURATION = "2h"


@dataclass(frozen=True)
class EmergencyDraft:
    """A window declared at once for a failure (help/windows.md "Emergency windows"): it starts
    when it is saved (never "backdated"), lasts ``duration`` (``"2h"``, ``"90m"``...), names its
    nodes and carries a reason (what failed): its title unless one is given, then its
    description unless one is given."""

    scope: Scope
    reason: str
    duration: str | timedelta = EMERGENCY_DURATION
    title: str = ""
    description: str = ""


def _emergency_minutes(duration: str | timedelta) -> int:
    text = f"{int(duration.total_seconds() // 60)}m" if isinstance(duration, timedelta) else duration
    return parse_duration(text)


def _check_emergency(ctx: ServiceContext, draft: EmergencyDraft) -> tuple[Problems, _Plan | None]:
    p = Problems()
    resolved = None
    if draft.scope.all_nodes:
        p.add(ValidationError("an emergency window names the failed nodes (give at least one)", field="node"))
    else:
        resolved = p.attempt(_resolve_scope, ctx.session, draft.scope)
    minutes = p.attempt(_emergency_minutes, draft.duration)
    reason = (draft.reason or "").strip()
    if not reason:
        p.add(ValidationError("an emergency window needs a reason (what failed)", field="reason"))
    else:
        reason = p.attempt(validate.reason, reason) or reason
    given = (draft.title or "").strip()
    first_line = reason.splitlines()[0][:200] if reason else "(no reason)"  # the reason is refused
    title = p.attempt(validate.title, given or first_line)
    # Renters read the reason: it is the title, or the description under a title of its own.
    fallback = reason if given and given != reason else ""
    description = p.attempt(validate.text, draft.description.strip() or fallback, "description")
    start = ctx.now()
    if minutes is not None:
        end = start + timedelta(minutes=minutes)
        p.attempt(drift.ensure_months_open, ctx, [Interval(start, end)], "this emergency window")
    if p.items or resolved is None or minutes is None or title is None or description is None:
        return p, None
    return p, _Plan(title, description, start, end, draft.scope, reason, "window.emergency", *resolved)


def check_emergency_window(ctx: ServiceContext, draft: EmergencyDraft) -> list[FieldProblem]:
    """Every refusal :func:`create_emergency_window` would meet now, without writing anything."""
    return _check_emergency(ctx, draft)[0].items


def create_emergency_window(ctx: ServiceContext, draft: EmergencyDraft) -> SaveResult:
    """Declare an emergency window: it starts now, its notices are queued like any window's
    (:func:`declare_emergency` then sends them at once)."""
    ctx.require("manage_windows")
    problems, plan = _check_emergency(ctx, draft)
    problems.raise_first()
    assert plan is not None
    return _insert(ctx, plan, emergency=True)


@dataclass(frozen=True)
class EmergencyResult:
    saved: SaveResult
    mail: notices.ImmediateSend


def declare_emergency(
    runtime: Runtime,
    draft: EmergencyDraft,
    *,
    config: mailer.SmtpConfig | None = None,
    environ: Mapping[str, str] | None = None,
) -> EmergencyResult:
    """Create the emergency window in its own transaction, then, once it is committed, send
    its notices at once when SMTP is configured. A mail failure never undoes the window: the
    notices stay queued for the next ``nodedesk notices send`` and ``mail.line()`` says why."""
    with runtime.write() as ctx:
        saved = create_emergency_window(ctx, draft)
    mail = notices.send_now(runtime, "window", saved.window.id, config=config, environ=environ)
    return EmergencyResult(saved, mail)


# ---------------------------------------------------------------- update


@dataclass(frozen=True)
class WindowChanges:
    """Fields to change; ``UNSET`` leaves a field as it is."""

    title: Any = UNSET
    description: Any = UNSET
    start: Any = UNSET
    end: Any = UNSET
    scope: Any = UNSET

    def changed_fields(self) -> list[str]:
        return [n for n in ("title", "description", "start", "end", "scope") if getattr(self, n) is not UNSET]


def update_window(
    ctx: ServiceContext,
    window_id: int,
    changes: WindowChanges,
    *,
    expected_version: int | None = None,
    correction: bool = False,
    reason: str = "",
) -> SaveResult:
    ctx.require("correct" if correction else "manage_windows")
    window = _load(ctx, window_id, for_update=True)
    _check_version(ctx, window, expected_version)
    now = ctx.now()
    before = view(window, now)
    problems, plan = _check_update(ctx, window, before, changes, reason, correction)
    problems.raise_first()
    assert plan is not None
    new_title, new_desc, new_start, new_end = plan.title, plan.description, plan.start, plan.end
    new_scope, reason, action = plan.scope, plan.reason, plan.action
    if action == "window.backdated":
        window.backdated = True

    impact = impact_of_change(
        ctx,
        old=(Interval(window.start, window.end), before.scope, window.id),
        new=(Interval(new_start, new_end), new_scope),
    )
    if plan.nodes is not None and plan.types is not None:
        window.nodes, window.node_types = plan.nodes, plan.types
        window.all_nodes = new_scope.all_nodes
    window.title, window.description = new_title, new_desc
    window.start, window.end = new_start, new_end
    window.modified_at, window.modified_by = now, ctx.actor.username
    # Always UPDATE the row so its version moves on, even when only the scope tables changed
    # and the clock/user are the same (frozen clock): a stale save must never be accepted.
    flag_modified(window, "modified_at")
    ctx.session.flush()
    after = view(window, now)
    drifted: list[str] = []
    if correction:
        drifted = drift.flag_drift(
            ctx,
            [Interval(before.start, before.end), Interval(new_start, new_end)],
            f"window #{window.id} corrected by {ctx.actor.username}: {reason}",
        )
    ctx.record(
        action,
        "window",
        window.id,
        window.title,
        before=_audit_doc(before, ctx.tz),
        after=_audit_doc(after, ctx.tz),
        reason=reason,
    )
    notices.window_updated(ctx, before, window, impact)
    return SaveResult(after, impact, drifted)


def _check_update(
    ctx: ServiceContext,
    window: MaintenanceWindow,
    before: WindowView,
    changes: WindowChanges,
    reason: str,
    correction: bool,
) -> tuple[Problems, _Plan | None]:
    """The lock rules (module docstring) and field rules for a change, evaluated now."""
    p = Problems()
    now = ctx.now()
    status = before.status
    fields_changed = changes.changed_fields()
    if not fields_changed:
        p.add(ValidationError("nothing to change (give at least one field)", field="changes"))
    reason = (reason or "").strip()
    if correction:
        reason = p.attempt(validate.reason, reason) or reason
    new_title = p.attempt(validate.title, changes.title) if changes.title is not UNSET else window.title
    new_desc = (
        p.attempt(validate.text, changes.description, "description")
        if changes.description is not UNSET
        else window.description
    )
    new_start = (
        p.attempt(timeutil.ensure_aware, changes.start, "start")
        if changes.start is not UNSET
        else window.start
    )
    new_end = p.attempt(timeutil.ensure_aware, changes.end, "end") if changes.end is not UNSET else window.end
    new_scope = changes.scope if changes.scope is not UNSET else before.scope
    span_ok = new_start is not None and new_end is not None and p.passes(_check_span, new_start, new_end)

    action = "window.corrected" if correction else "window.updated"
    if not correction and new_start is not None and new_end is not None:
        if status == "completed":
            p.add(LockedError(f"window #{window.id} is {before.lock_reason(ctx.tz)}", field="window"))
        elif status == "in_progress":
            others = [f for f in fields_changed if f != "end" and not _same(f, window, before, changes)]
            if others:
                p.add(
                    LockedError(
                        f"window #{window.id} is {before.lock_reason(ctx.tz)} "
                        f"(refused change to {', '.join(others)})",
                        field=others[0],
                    )
                )
            if new_end < now:
                p.add(
                    LockedError(
                        f"an in-progress window's end may only move to now or later "
                        f"(now is {timeutil.format_local(now, ctx.tz)})",
                        field="end",
                    )
                )
            action = "window.end_moved"
        elif new_start < now:
            reason = _backdating_reason(
                ctx,
                p,
                reason,
                "moving an upcoming window to start in the past backdates it; give a reason (--reason)",
            )
            action = "window.backdated"
        if span_ok:
            p.attempt(
                drift.ensure_months_open,
                ctx,
                _changed_spans(
                    Interval(window.start, window.end),
                    Interval(new_start, new_end),
                    new_scope != before.scope,
                ),
                "this change",
            )
    resolved = p.attempt(_resolve_scope, ctx.session, new_scope) if changes.scope is not UNSET else ([], [])
    if p.items or new_title is None or new_desc is None or new_start is None or new_end is None:
        return p, None
    if resolved is None:
        return p, None
    nodes, types = resolved if changes.scope is not UNSET else (None, None)
    return p, _Plan(new_title, new_desc, new_start, new_end, new_scope, reason, action, nodes, types)


def _changed_spans(
    old: Interval[datetime], new: Interval[datetime], scope_changed: bool
) -> list[Interval[datetime]]:
    """The stretches of time whose downtime a change alters."""
    if scope_changed:
        return [old, new]
    spans = []
    if old.start != new.start:
        spans.append(Interval(min(old.start, new.start), max(old.start, new.start)))
    if old.end != new.end:
        spans.append(Interval(min(old.end, new.end), max(old.end, new.end)))
    return spans


def _same(name: str, window: MaintenanceWindow, before: WindowView, changes: WindowChanges) -> bool:
    """True when a 'changed' field is given but equal to the stored value (forms resend all)."""
    value = getattr(changes, name)
    if name == "scope":
        return value == before.scope
    return value == getattr(window, name)


def move_end(
    ctx: ServiceContext, window_id: int, new_end: datetime, *, expected_version: int | None = None
) -> SaveResult:
    """The one edit an in-progress window allows (also valid for upcoming ones)."""
    return update_window(ctx, window_id, WindowChanges(end=new_end), expected_version=expected_version)


# ---------------------------------------------------------------- delete


@dataclass(frozen=True)
class DeleteResult:
    window: WindowView
    impact: list[ImpactLine]
    drifted_months: list[str] = field(default_factory=list)


def delete_window(
    ctx: ServiceContext,
    window_id: int,
    *,
    expected_version: int | None = None,
    correction: bool = False,
    reason: str = "",
) -> DeleteResult:
    ctx.require("correct" if correction else "manage_windows")
    window = _load(ctx, window_id, for_update=True)
    _check_version(ctx, window, expected_version)
    now = ctx.now()
    before = view(window, now)
    reason = (reason or "").strip()
    if correction:
        reason = validate.reason(reason)
    elif before.status != "upcoming":
        raise LockedError(f"window #{window.id} is {before.lock_reason(ctx.tz)}", field="window")
    impact = impact_of_change(ctx, old=(Interval(window.start, window.end), before.scope, window.id))
    notices.window_deleted(ctx, before, window, impact)
    if window.schedule_id is not None:
        # A recurring schedule's window deleted by hand: that occurrence is skipped from now on
        # (extending the schedule must not bring it back).
        schedule_skips.remember_deleted_occurrence(ctx, window)
    ctx.session.delete(window)
    ctx.session.flush()
    drifted: list[str] = []
    if correction:
        drifted = drift.flag_drift(
            ctx,
            [Interval(before.start, before.end)],
            f"window #{before.id} deleted by {ctx.actor.username}: {reason}",
        )
    ctx.record(
        "window.deleted",
        "window",
        before.id,
        before.title,
        before=_audit_doc(before, ctx.tz),
        after={"correction": correction},
        reason=reason,
    )
    return DeleteResult(before, impact, drifted)


def preview_delete(ctx: ServiceContext, window_id: int) -> DeleteResult:
    """What deleting would do (billing impact), without changing anything."""
    ctx.require("read")
    window = _load(ctx, window_id)
    before = view(window, ctx.now())
    impact = impact_of_change(ctx, old=(Interval(window.start, window.end), before.scope, window.id))
    return DeleteResult(before, impact)


# ---------------------------------------------------------------- read


def get_window(ctx: ServiceContext, window_id: int) -> WindowView:
    ctx.require("read")
    return view(_load(ctx, window_id), ctx.now())


@dataclass(frozen=True)
class WindowQuery:
    status: str | None = None
    start_from: datetime | None = None  # windows overlapping [start_from, end_before)
    end_before: datetime | None = None
    text: str = ""
    sort: str = "start"
    descending: bool = False
    offset: int = 0
    limit: int = 50
    node: str | None = None  # windows that take this node down (all nodes, the node, or its type)
    node_type: str | None = None  # windows that take down nodes of this type


@dataclass(frozen=True)
class WindowPage:
    items: list[WindowView]
    total: int
    offset: int
    limit: int


def _filters(query: WindowQuery, now: datetime) -> list[ColumnElement[bool]]:
    W = MaintenanceWindow
    conds: list[ColumnElement[bool]] = []
    if query.status:
        validate.choice(query.status, "status", STATUSES)
        if query.status == "upcoming":
            conds.append(W.start > now)
        elif query.status == "in_progress":
            conds.append(and_(W.start <= now, W.end > now))
        else:
            conds.append(W.end <= now)
    if query.start_from is not None:
        conds.append(W.end > query.start_from)
    if query.end_before is not None:
        conds.append(W.start < query.end_before)
    if query.node is not None:
        named = Node.name == query.node.strip()
        conds.append(
            or_(
                W.all_nodes.is_(True),
                W.nodes.any(named),
                W.node_types.any(NodeType.id == select(Node.node_type_id).where(named).scalar_subquery()),
            )
        )
    if query.node_type is not None:
        node_type = select(NodeType.id).where(NodeType.name == query.node_type.strip()).scalar_subquery()
        conds.append(
            or_(
                W.all_nodes.is_(True),
                W.node_types.any(NodeType.id == node_type),
                W.nodes.any(Node.node_type_id == node_type),
            )
        )
    needle = query.text.strip()
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conds.append(
            or_(
                W.title.ilike(pattern, escape="\\"),
                W.description.ilike(pattern, escape="\\"),
                W.created_by.ilike(pattern, escape="\\"),
            )
        )
    return conds


def _order(stmt: Select[Any], query: WindowQuery, dialect: str) -> Select[Any]:
    W = MaintenanceWindow
    validate.choice(query.sort, "sort", SORT_KEYS)
    key: SQLColumnExpression[Any]
    if query.sort == "duration":
        key = (func.julianday(W.end) - func.julianday(W.start)) if dialect == "sqlite" else (W.end - W.start)
    else:
        key = {
            "start": W.start,
            "end": W.end,
            "title": func.lower(W.title),
            "created_by": W.created_by,
            "id": W.id,
        }[query.sort]
    primary = key.desc() if query.descending else key.asc()
    return stmt.order_by(primary, W.id.desc() if query.descending else W.id.asc())


def next_status_change(ctx: ServiceContext) -> datetime | None:
    """The first instant after now at which some window starts or ends: until then every
    window's status and lock read as they do now (a listing kept that long stays true)."""
    now = ctx.now()
    W = MaintenanceWindow
    starts = ctx.session.scalar(select(func.min(W.start)).where(W.start > now))
    ends = ctx.session.scalar(select(func.min(W.end)).where(W.end > now))
    return earliest(starts, ends)


def list_windows(ctx: ServiceContext, query: WindowQuery = WindowQuery()) -> WindowPage:
    """One page of windows, filtered and sorted in SQL (never the whole table)."""
    ctx.require("read")
    if query.limit < 1 or query.limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    now = ctx.now()
    conds = _filters(query, now)
    if query.node is not None:
        _resolve_scope(ctx.session, Scope(nodes=(query.node.strip(),)))  # an unknown node is named
    if query.node_type is not None:
        _resolve_scope(ctx.session, Scope(node_types=(query.node_type.strip(),)))
    total = ctx.session.scalar(select(func.count(MaintenanceWindow.id)).where(*conds)) or 0
    dialect = ctx.session.get_bind().dialect.name

    def ordered(reverse: bool) -> Select[Any]:
        flipped = replace(query, descending=query.descending != reverse)
        return _order(select(MaintenanceWindow).where(*conds), flipped, dialect)

    rows = paging.page(ctx.session, ordered, total, query.offset, query.limit)
    return WindowPage([view(w, now) for w in rows], total, query.offset, query.limit)
