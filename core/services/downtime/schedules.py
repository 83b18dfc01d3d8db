"""Recurring maintenance schedules: validation, materialising windows ahead, exceptions, edits.

A schedule is an RRULE on local dates + a local start time + a wall-clock duration (see
:mod:`nodedesk.core.recurrence` for the DST decisions). It *materialises* concrete maintenance
windows for every occurrence that starts after now and before now + the horizon (site setting
``schedule_horizon_months``); each window keeps ``schedule_id`` and ``occurrence_start`` (the
UTC start the rule gave it), so materialising twice creates nothing new.

Windows are created, changed and deleted only through :mod:`.windows`, so its validation, audit
entries and hooks apply to them like to any other window. Started or completed windows are
never touched: editing a schedule changes only its future, not-yet-started occurrences; deleting
it deletes its upcoming windows and keeps the past ones (they lose the link).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import pendulum
from sqlalchemy import func, or_, select
from sqlalchemy.orm.attributes import flag_modified

from ... import recurrence, testpoints, timeutil, validate
from ...context import ServiceContext
from ...errors import LockedError, NotFoundError, ValidationError
from ...models import MaintenanceSchedule, MaintenanceWindow, ScheduleException
from . import impact as impact_svc
from . import windows as win
from .windows import Scope

MAX_MONTHS = 24
MAX_PREVIEW = 60


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class ScheduleView:
    id: int
    uuid: str
    title: str
    description: str
    rrule: str
    rule_text: str
    timezone: str
    first_date: date
    start_time: str
    duration_minutes: int
    until_date: date | None
    scope: Scope
    created_by: str
    created_at: datetime
    modified_by: str
    modified_at: datetime
    version: int
    next_start: datetime | None = None
    materialised_ahead: int = 0  # upcoming windows already created

    @property
    def end_time(self) -> str:
        return recurrence.end_time_label(self.start_time, self.duration_minutes)

    @property
    def time_label(self) -> str:
        """``06:00–18:00 (12h)``."""
        return f"{self.start_time}–{self.end_time} ({recurrence.format_duration(self.duration_minutes)})"

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "title": self.title,
            "description": self.description,
            "rule": self.rule_text,
            "rrule": self.rrule,
            "timezone": self.timezone,
            "first_date": self.first_date.isoformat(),
            "until_date": self.until_date.isoformat() if self.until_date else None,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration_minutes": self.duration_minutes,
            "scope": {
                "all_nodes": self.scope.all_nodes,
                "nodes": list(self.scope.nodes),
                "node_types": list(self.scope.node_types),
            },
            "next_start": timeutil.iso_local(self.next_start, tz) if self.next_start else None,
            "materialised_ahead": self.materialised_ahead,
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "modified_by": self.modified_by,
            "modified_at": timeutil.iso_local(self.modified_at, tz),
            "version": self.version,
        }


def _pattern(s: MaintenanceSchedule) -> recurrence.Pattern:
    return recurrence.Pattern(
        s.rrule, s.timezone, s.first_date, s.start_time, s.duration_minutes, s.until_date
    )


def _scope(s: MaintenanceSchedule) -> Scope:
    return Scope(tuple(n.name for n in s.nodes), tuple(t.name for t in s.node_types))


def _exceptions(ctx: ServiceContext, schedule_id: int) -> dict[datetime, ScheduleException]:
    rows = ctx.session.scalars(select(ScheduleException).where(ScheduleException.schedule_id == schedule_id))
    return {e.occurrence_start: e for e in rows}


def _linked(ctx: ServiceContext, schedule_id: int) -> list[MaintenanceWindow]:
    return list(
        ctx.session.scalars(
            select(MaintenanceWindow)
            .where(MaintenanceWindow.schedule_id == schedule_id)
            .order_by(MaintenanceWindow.start)
        )
    )


def _next_start(ctx: ServiceContext, s: MaintenanceSchedule, now: datetime) -> datetime | None:
    """The next effective start after now (skips skipped occurrences, follows moved ones)."""
    exc = _exceptions(ctx, s.id)
    moved = [e.new_start for e in exc.values() if e.kind == "move" and e.new_start and e.new_start > now]
    for occ in _pattern(s).next(now, 50):
        e = exc.get(occ.start)
        if e is None:
            return min([occ.start, *moved])
        if e.kind == "move":
            continue
    return min(moved) if moved else None


def view(ctx: ServiceContext, s: MaintenanceSchedule, *, ahead: int | None = None) -> ScheduleView:
    now = ctx.now()
    if ahead is None:
        ahead = (
            ctx.session.scalar(
                select(func.count(MaintenanceWindow.id)).where(
                    MaintenanceWindow.schedule_id == s.id, MaintenanceWindow.start > now
                )
            )
            or 0
        )
    return ScheduleView(
        id=s.id,
        uuid=s.uuid,
        title=s.title,
        description=s.description,
        rrule=s.rrule,
        rule_text=recurrence.describe(s.rrule),
        timezone=s.timezone,
        first_date=s.first_date,
        start_time=s.start_time,
        duration_minutes=s.duration_minutes,
        until_date=s.until_date,
        scope=_scope(s),
        created_by=s.created_by,
        created_at=s.created_at,
        modified_by=s.modified_by,
        modified_at=s.modified_at,
        version=s.version,
        next_start=_next_start(ctx, s, now),
        materialised_ahead=ahead,
    )


def _audit_doc(v: ScheduleView, tz: str) -> dict[str, object]:
    doc = v.to_json(tz)
    for volatile in ("next_start", "materialised_ahead", "modified_at", "modified_by", "version"):
        doc.pop(volatile, None)
    return doc


# ---------------------------------------------------------------- drafts and validation


@dataclass(frozen=True)
class ScheduleDraft:
    """What an admin types. ``duration`` ("12h") or ``end_time`` ("18:00") gives the length."""

    title: str
    rule: str
    start_time: str
    duration: str = ""
    end_time: str = ""
    description: str = ""
    first_date: date | None = None  # default: today (site time)
    until_date: date | None = None
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True)
class Checked:
    title: str
    description: str
    pattern: recurrence.Pattern
    scope: Scope


def check_draft(ctx: ServiceContext, draft: ScheduleDraft) -> Checked:
    """Validate every field (one ValidationError naming the first bad field)."""
    title = validate.title(draft.title)
    description = validate.text(draft.description, "description")
    rrule = recurrence.parse_rule(draft.rule)
    start_time = recurrence.parse_start_time(draft.start_time)
    if draft.duration.strip() and draft.end_time.strip():
        raise ValidationError("give either a duration or an end time, not both", field="duration")
    if draft.end_time.strip():
        minutes = recurrence.duration_from_end(start_time, draft.end_time)
    elif draft.duration.strip():
        minutes = recurrence.parse_duration(draft.duration)
    else:
        raise ValidationError("is required (e.g. 12h) unless an end time is given", field="duration")
    first = draft.first_date or timeutil.local_day(ctx.now(), ctx.tz)
    if draft.until_date is not None and draft.until_date < first:
        raise ValidationError(f"must be on or after the first date {first.isoformat()}", field="until")
    win._resolve_scope(ctx.session, draft.scope)  # unknown node / node type → field error
    pattern = recurrence.Pattern(rrule, ctx.tz, first, start_time, minutes, draft.until_date)
    if not pattern.next(timeutil.start_of_day(first, ctx.tz) - timedelta(days=1), 1):
        raise ValidationError("the rule gives no date between the first date and the last", field="rule")
    return Checked(title, description, pattern, draft.scope)


def _horizon_end(ctx: ServiceContext, months: int | None) -> datetime:
    n = ctx.site.schedule_horizon_months if months is None else months
    if n < 0 or n > MAX_MONTHS:
        raise ValidationError(f"must be between 0 and {MAX_MONTHS}", field="months")
    end = pendulum.instance(ctx.now()).in_timezone(ctx.tz).add(months=n)
    return timeutil.ensure_aware(end.in_timezone("UTC"))


# ---------------------------------------------------------------- impact of occurrences


def _impacts(
    ctx: ServiceContext, spans: list[tuple[datetime, datetime]], scope: Scope, exclude: list[int]
) -> list[impact_svc.WindowImpact]:
    """Whom each occurrence hits (reservations, hours and amount not billed, conflicts), priced
    by the billing engine via :func:`impact.assess_many`; the schedule's own windows are left
    out so an occurrence is not counted against itself."""
    return impact_svc.assess_many(ctx, spans, scope, exclude_window_ids=exclude) if spans else []


# ---------------------------------------------------------------- preview


@dataclass(frozen=True)
class PreviewOccurrence:
    local_date: date
    start: datetime
    end: datetime
    status: str  # scheduled | moved | skipped
    dst_note: str
    impact: impact_svc.WindowImpact | None
    window_id: int | None = None

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "date": self.local_date.isoformat(),
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "status": self.status,
            "dst_note": self.dst_note,
            "window_id": self.window_id,
            "impact": self.impact.to_json(tz) if self.impact else None,
        }


@dataclass(frozen=True)
class Preview:
    rrule: str
    rule_text: str
    start_time: str
    duration_minutes: int
    scope: Scope
    occurrences: list[PreviewOccurrence]

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "rrule": self.rrule,
            "rule": self.rule_text,
            "start_time": self.start_time,
            "end_time": recurrence.end_time_label(self.start_time, self.duration_minutes),
            "duration_minutes": self.duration_minutes,
            "scope": self.scope.label(),
            "occurrences": [o.to_json(tz) for o in self.occurrences],
        }


def _dst_note(
    occ_start: datetime, occ_end: datetime, ref_offset: timedelta | None, tz: str, shifted: bool, minutes: int
) -> str:
    notes = []
    local = timeutil.to_local(occ_start, tz)
    if ref_offset is not None and local.utcoffset() != ref_offset:
        notes.append(f"UTC offset {local.format('Z')} (daylight saving differs from the first)")
    if shifted:
        notes.append("start time does not exist that day (clocks jump); starts when they do")
    real = int((occ_end - occ_start).total_seconds() // 60)
    if real != minutes:
        notes.append(f"lasts {recurrence.format_duration(real)} of real time (clocks change during it)")
    return "; ".join(notes)


def preview_draft(
    ctx: ServiceContext, draft: ScheduleDraft, *, count: int = 5, with_impact: bool = True
) -> Preview:
    """The next ``count`` occurrences of an unsaved draft and whom each would hit."""
    ctx.require("read")
    count = _count(count)
    checked = check_draft(ctx, draft)
    p = checked.pattern
    occs = p.next(max(ctx.now(), timeutil.start_of_day(p.first_date, ctx.tz) - timedelta(seconds=1)), count)
    ref = timeutil.to_local(occs[0].start, ctx.tz).utcoffset() if occs else None
    impacts = _impacts(ctx, [(o.start, o.end) for o in occs], checked.scope, []) if with_impact else []
    items = [
        PreviewOccurrence(
            o.local_date,
            o.start,
            o.end,
            "scheduled",
            _dst_note(o.start, o.end, ref, ctx.tz, o.shifted, p.duration_minutes),
            impacts[i] if impacts else None,
        )
        for i, o in enumerate(occs)
    ]
    return Preview(
        p.rrule, recurrence.describe(p.rrule), p.start_time, p.duration_minutes, checked.scope, items
    )


def _count(count: int) -> int:
    if count < 1 or count > MAX_PREVIEW:
        raise ValidationError(f"must be between 1 and {MAX_PREVIEW}", field="count")
    return count


@dataclass(frozen=True)
class OccurrenceView:
    """One occurrence of a saved schedule, with its exception and window (if any)."""

    local_date: date
    rule_start: datetime  # the UTC start the rule gives (the occurrence's name)
    start: datetime  # effective (moved) start
    end: datetime
    status: str  # scheduled | moved | skipped
    window_id: int | None
    window_status: str | None  # upcoming | in_progress | completed | None (not materialised)
    reason: str = ""
    dst_note: str = ""
    impact: impact_svc.WindowImpact | None = None
    changeable: bool = True  # not started: may still be skipped or moved

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "date": self.local_date.isoformat(),
            "rule_start": timeutil.iso_local(self.rule_start, tz),
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "status": self.status,
            "window_id": self.window_id,
            "window_status": self.window_status,
            "reason": self.reason,
            "dst_note": self.dst_note,
            "changeable": self.changeable,
            "impact": self.impact.to_json(tz) if self.impact else None,
        }


def occurrences(
    ctx: ServiceContext, schedule_id: int, *, count: int = 10, with_impact: bool = False
) -> list[OccurrenceView]:
    """The schedule's next ``count`` occurrences that have not ended (in-progress ones first)."""
    ctx.require("read")
    count = _count(count)
    s = _load(ctx, schedule_id)
    now = ctx.now()
    p = _pattern(s)
    exc = _exceptions(ctx, s.id)
    windows = {w.occurrence_start: w for w in _linked(ctx, s.id)}
    occs = p.next(now - timedelta(minutes=s.duration_minutes), count + 1)
    ref = timeutil.to_local(occs[0].start, ctx.tz).utcoffset() if occs else None
    scope = _scope(s)
    out = []
    for o in occs:
        e = exc.get(o.start)
        w = windows.get(o.start)
        start, end, status, reason = o.start, o.end, "scheduled", ""
        if e is not None:
            status, reason = e.kind + ("ped" if e.kind == "skip" else "d"), e.reason
            if e.kind == "move" and e.new_start and e.new_end:
                start, end = e.new_start, e.new_end
        if w is not None:
            start, end = w.start, w.end
        if end <= now:
            continue
        wstatus = win.status_at(w.start, w.end, now) if w is not None else None
        out.append(
            OccurrenceView(
                o.local_date,
                o.start,
                start,
                end,
                status,
                w.id if w else None,
                wstatus,
                reason,
                _dst_note(start, end, ref, ctx.tz, o.shifted, s.duration_minutes)
                if status != "moved"
                else "",
                changeable=start > now and wstatus in (None, "upcoming"),
            )
        )
    out = out[:count]
    if with_impact:
        live = [o for o in out if o.status != "skipped"]
        own = [w.id for w in windows.values()]
        impacts = iter(_impacts(ctx, [(o.start, o.end) for o in live], scope, own))
        out = [o if o.status == "skipped" else replace(o, impact=next(impacts)) for o in out]
    return out


def preview_schedule(ctx: ServiceContext, schedule_id: int, *, count: int = 5) -> Preview:
    """A saved schedule's next occurrences with their impact (its own windows excluded)."""
    ctx.require("read")
    s = _load(ctx, schedule_id)
    items = [
        PreviewOccurrence(o.local_date, o.start, o.end, o.status, o.dst_note, o.impact, o.window_id)
        for o in occurrences(ctx, schedule_id, count=count, with_impact=True)
    ]
    return Preview(s.rrule, recurrence.describe(s.rrule), s.start_time, s.duration_minutes, _scope(s), items)


# ---------------------------------------------------------------- materialising


def _materialise(ctx: ServiceContext, s: MaintenanceSchedule, horizon_end: datetime) -> list[int]:
    """Create the windows of occurrences starting in (now, horizon_end) that have none yet."""
    now = ctx.now()
    exc = _exceptions(ctx, s.id)
    linked = _linked(ctx, s.id)
    have = {w.occurrence_start for w in linked}
    have_days = {timeutil.local_day(w.occurrence_start, s.timezone) for w in linked if w.occurrence_start}
    scope = _scope(s)
    created = []
    for occ in _pattern(s).between(now, horizon_end):
        if occ.start in have or occ.local_date in have_days:
            continue
        e = exc.get(occ.start)
        start, end = occ.start, occ.end
        if e is not None:
            if e.kind == "skip" or not (e.new_start and e.new_end):
                continue
            start, end = e.new_start, e.new_end
        if start <= now:
            continue
        draft = win.WindowDraft(
            title=s.title,
            start=start,
            end=end,
            description=s.description,
            scope=scope,
            schedule_id=s.id,
            occurrence_start=occ.start,
        )
        created.append(win.create_window(ctx, draft).window.id)
    return created


# ---------------------------------------------------------------- create


@dataclass(frozen=True)
class ScheduleResult:
    schedule: ScheduleView
    created_windows: list[int] = field(default_factory=list)
    updated_windows: list[int] = field(default_factory=list)
    deleted_windows: list[int] = field(default_factory=list)


def create_schedule(
    ctx: ServiceContext, draft: ScheduleDraft, *, months: int | None = None
) -> ScheduleResult:
    """Save a schedule and materialise its windows up to the horizon."""
    ctx.require("manage_windows")
    checked = check_draft(ctx, draft)
    horizon = _horizon_end(ctx, months)
    nodes, types = win._resolve_scope(ctx.session, checked.scope)
    p = checked.pattern
    now, by = ctx.now(), ctx.actor.username
    s = MaintenanceSchedule(
        title=checked.title,
        description=checked.description,
        rrule=p.rrule,
        timezone=p.timezone,
        first_date=p.first_date,
        start_time=p.start_time,
        duration_minutes=p.duration_minutes,
        until_date=p.until_date,
        all_nodes=checked.scope.all_nodes,
        nodes=nodes,
        node_types=types,
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    ctx.session.add(s)
    ctx.session.flush()
    created = _materialise(ctx, s, horizon)
    result = view(ctx, s, ahead=len(created))
    ctx.record(
        "schedule.created",
        "schedule",
        s.id,
        s.title,
        after=_audit_doc(result, ctx.tz) | {"windows_created": created},
    )
    return ScheduleResult(result, created)


# ---------------------------------------------------------------- read


def _load(ctx: ServiceContext, schedule_id: int, *, for_update: bool = False) -> MaintenanceSchedule:
    s = ctx.session.get(MaintenanceSchedule, schedule_id, with_for_update=for_update or None)
    if s is None:
        raise NotFoundError(f"no maintenance schedule #{schedule_id}", field="id")
    return s


def _check_version(ctx: ServiceContext, s: MaintenanceSchedule, expected: int | None) -> None:
    ctx.check_version(s, expected, "schedule")


def get_schedule(ctx: ServiceContext, schedule_id: int) -> ScheduleView:
    ctx.require("read")
    return view(ctx, _load(ctx, schedule_id))


@dataclass(frozen=True)
class SchedulePage:
    items: list[ScheduleView]
    total: int
    offset: int
    limit: int


def list_schedules(ctx: ServiceContext, *, text: str = "", offset: int = 0, limit: int = 50) -> SchedulePage:
    """One page of schedules by title (paged in SQL)."""
    ctx.require("read")
    if limit < 1 or limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    S = MaintenanceSchedule
    conds = []
    needle = text.strip()
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(
            or_(S.title.ilike(f"%{escaped}%", escape="\\"), S.description.ilike(f"%{escaped}%", escape="\\"))
        )
    total = ctx.session.scalar(select(func.count(S.id)).where(*conds)) or 0
    rows = ctx.session.scalars(
        select(S).where(*conds).order_by(func.lower(S.title), S.id).offset(max(offset, 0)).limit(limit)
    ).all()
    now = ctx.now()
    ids = [s.id for s in rows]
    counts: dict[int, int] = {}
    if ids:
        W = MaintenanceWindow
        counts = dict(
            ctx.session.execute(  # type: ignore[arg-type]
                select(W.schedule_id, func.count(W.id))
                .where(W.schedule_id.in_(ids), W.start > now)
                .group_by(W.schedule_id)
            ).all()
        )
    return SchedulePage([view(ctx, s, ahead=counts.get(s.id, 0)) for s in rows], total, offset, limit)


@dataclass(frozen=True)
class WindowLink:
    schedule_id: int
    title: str
    rule_text: str
    occurrence_date: date
    moved: bool


def link_of_window(ctx: ServiceContext, window_id: int) -> WindowLink | None:
    """The schedule a window belongs to (for "Part of schedule #N" on the window screen)."""
    ctx.require("read")
    w = ctx.session.get(MaintenanceWindow, window_id)
    if w is None or w.schedule_id is None or w.occurrence_start is None:
        return None
    s = ctx.session.get(MaintenanceSchedule, w.schedule_id)
    if s is None:
        return None
    return WindowLink(
        s.id,
        s.title,
        recurrence.describe(s.rrule),
        timeutil.local_day(w.occurrence_start, s.timezone),
        w.start != w.occurrence_start,
    )


# ---------------------------------------------------------------- edit


def _touch(ctx: ServiceContext, s: MaintenanceSchedule) -> None:
    s.modified_at, s.modified_by = ctx.now(), ctx.actor.username
    flag_modified(s, "modified_at")  # always bump the version (frozen clocks, same user)


def edit_schedule(
    ctx: ServiceContext,
    schedule_id: int,
    draft: ScheduleDraft,
    *,
    expected_version: int | None = None,
    months: int | None = None,
) -> ScheduleResult:
    """Replace the schedule's fields; only future, not-yet-started occurrences change."""
    ctx.require("manage_windows")
    s = _load(ctx, schedule_id, for_update=True)
    _check_version(ctx, s, expected_version)
    if draft.first_date is None:
        draft = ScheduleDraft(**{**draft.__dict__, "first_date": s.first_date})
    checked = check_draft(ctx, draft)
    before = view(ctx, s)
    old_pattern = _pattern(s)
    now = ctx.now()
    nodes, types = win._resolve_scope(ctx.session, checked.scope)
    p = checked.pattern
    s.title, s.description = checked.title, checked.description
    s.rrule, s.first_date, s.start_time = p.rrule, p.first_date, p.start_time
    s.duration_minutes, s.until_date = p.duration_minutes, p.until_date
    s.nodes, s.node_types, s.all_nodes = nodes, types, checked.scope.all_nodes
    _touch(ctx, s)
    ctx.session.flush()

    upcoming = [w for w in _linked(ctx, s.id) if w.start > now]
    horizon = max([_horizon_end(ctx, months), *[w.start + timedelta(seconds=1) for w in upcoming]])
    new = {o.local_date: o for o in p.between(now, horizon)}
    exc = _exceptions(ctx, s.id)
    # Re-key future exceptions to the occurrence now on their date (or drop them).
    for old_start, e in exc.items():
        effective = e.new_start if e.kind == "move" and e.new_start else old_start
        if old_start <= now and effective <= now:
            continue
        occ = new.get(timeutil.local_day(old_start, s.timezone))
        if occ is None:
            ctx.session.delete(e)
        elif occ.start != old_start:
            e.occurrence_start = occ.start
    ctx.session.flush()
    exc = _exceptions(ctx, s.id)
    scope = checked.scope
    updated, deleted = [], []
    for w in upcoming:
        assert w.occurrence_start is not None
        occ = new.get(timeutil.local_day(w.occurrence_start, s.timezone))
        e = exc.get(occ.start) if occ else None
        if occ is None or (e is not None and e.kind == "skip"):
            with _own_changes():
                deleted.append(win.delete_window(ctx, w.id).window.id)
            continue
        start, end = (
            (e.new_start, e.new_end) if e is not None and e.new_start and e.new_end else (occ.start, occ.end)
        )
        was = old_pattern.on_date(occ.local_date)
        if e is None and was is not None and (w.start, w.end) != (was.start, was.end):
            start, end = w.start, w.end  # moved by hand in the windows screen: keep its times
        current = win.view(w, now)
        wanted = {"title": s.title, "description": s.description, "start": start, "end": end, "scope": scope}
        have = {
            "title": w.title,
            "description": w.description,
            "start": w.start,
            "end": w.end,
            "scope": current.scope,
        }
        diff = {k: v for k, v in wanted.items() if have[k] != v}
        if diff:
            win.update_window(ctx, w.id, win.WindowChanges(**diff))
            updated.append(w.id)
        if w.occurrence_start != occ.start:
            w.occurrence_start = occ.start
    ctx.session.flush()
    created = _materialise(ctx, s, horizon)
    after = view(ctx, s)
    ctx.record(
        "schedule.edited",
        "schedule",
        s.id,
        s.title,
        before=_audit_doc(before, ctx.tz),
        after=_audit_doc(after, ctx.tz)
        | {"windows_created": created, "windows_updated": updated, "windows_deleted": deleted},
    )
    return ScheduleResult(after, created, updated, deleted)


# ---------------------------------------------------------------- exceptions

# Set while this module deletes its own windows (skip, edit, delete): those deletions record
# their exceptions themselves, so the windows service's hook must not add one.
_managing: ContextVar[bool] = ContextVar("schedules_managing", default=False)


@contextmanager
def _own_changes() -> Iterator[None]:
    token = _managing.set(True)
    try:
        yield
    finally:
        _managing.reset(token)


def remember_deleted_occurrence(ctx: ServiceContext, window: MaintenanceWindow) -> None:
    """Called by the windows service when a schedule's window is deleted by hand: record the
    occurrence as skipped so that extending the schedule does not create it again."""
    if _managing.get() or window.schedule_id is None or window.occurrence_start is None:
        return
    existing = ctx.session.scalar(
        select(ScheduleException).where(
            ScheduleException.schedule_id == window.schedule_id,
            ScheduleException.occurrence_start == window.occurrence_start,
        )
    )
    if existing is None:
        existing = ScheduleException(
            schedule_id=window.schedule_id,
            occurrence_start=window.occurrence_start,
            created_at=ctx.now(),
            created_by=ctx.actor.username,
        )
        ctx.session.add(existing)
    existing.kind, existing.new_start, existing.new_end = "skip", None, None
    existing.reason = f"window #{window.id} deleted"
    ctx.session.flush()


def _occurrence(ctx: ServiceContext, s: MaintenanceSchedule, day: date) -> recurrence.Occurrence:
    occ = _pattern(s).on_date(day)
    if occ is None:
        raise ValidationError(
            f"schedule #{s.id} ({recurrence.describe(s.rrule)}) has no occurrence on {day.isoformat()}",
            field="date",
        )
    return occ


def _window_of(ctx: ServiceContext, s: MaintenanceSchedule, occ_start: datetime) -> MaintenanceWindow | None:
    return ctx.session.scalar(
        select(MaintenanceWindow).where(
            MaintenanceWindow.schedule_id == s.id, MaintenanceWindow.occurrence_start == occ_start
        )
    )


def _ensure_not_started(
    ctx: ServiceContext, occ: recurrence.Occurrence, e: ScheduleException | None, w: MaintenanceWindow | None
) -> None:
    now = ctx.now()
    start = w.start if w is not None else (e.new_start if e is not None and e.new_start else occ.start)
    if start <= now:
        raise LockedError(
            f"the {occ.local_date.isoformat()} occurrence started at {timeutil.format_local(start, ctx.tz)}; "
            "a started or past occurrence cannot be skipped or moved",
            field="date",
        )


@dataclass(frozen=True)
class ExceptionResult:
    schedule: ScheduleView
    occurrence_date: date
    kind: str
    window_id: int | None  # the window deleted (skip) or moved/created (move)


def skip_occurrence(
    ctx: ServiceContext, schedule_id: int, day: date, *, reason: str = "", expected_version: int | None = None
) -> ExceptionResult:
    """Skip one occurrence: its upcoming window (if materialised) is deleted."""
    ctx.require("manage_windows")
    s = _load(ctx, schedule_id, for_update=True)
    _check_version(ctx, s, expected_version)
    reason = validate.text(reason, "reason", max_len=2000)
    occ = _occurrence(ctx, s, day)
    e = _exceptions(ctx, s.id).get(occ.start)
    if e is not None and e.kind == "skip":
        raise ValidationError(f"the {day.isoformat()} occurrence is already skipped", field="date")
    w = _window_of(ctx, s, occ.start)
    _ensure_not_started(ctx, occ, e, w)
    with _own_changes():
        window_id = win.delete_window(ctx, w.id).window.id if w is not None else None
    now = ctx.now()
    if e is None:
        e = ScheduleException(
            schedule_id=s.id, occurrence_start=occ.start, created_at=now, created_by=ctx.actor.username
        )
        ctx.session.add(e)
    e.kind, e.new_start, e.new_end, e.reason = "skip", None, None, reason
    _touch(ctx, s)
    ctx.session.flush()
    ctx.record(
        "schedule.occurrence_skipped",
        "schedule",
        s.id,
        s.title,
        after={
            "date": day.isoformat(),
            "occurrence_start": timeutil.iso_local(occ.start, ctx.tz),
            "window_deleted": window_id,
        },
        reason=reason,
    )
    return ExceptionResult(view(ctx, s), day, "skip", window_id)


def move_occurrence(
    ctx: ServiceContext,
    schedule_id: int,
    day: date,
    new_start: datetime,
    new_end: datetime | None = None,
    *,
    reason: str = "",
    expected_version: int | None = None,
    months: int | None = None,
) -> ExceptionResult:
    """Move one occurrence to another time (same length unless ``new_end`` is given)."""
    ctx.require("manage_windows")
    s = _load(ctx, schedule_id, for_update=True)
    _check_version(ctx, s, expected_version)
    reason = validate.text(reason, "reason", max_len=2000)
    occ = _occurrence(ctx, s, day)
    new_start = timeutil.ensure_aware(new_start, "start")
    new_end = (
        timeutil.ensure_aware(new_end, "end") if new_end is not None else new_start + (occ.end - occ.start)
    )
    if new_end <= new_start:
        raise ValidationError("must be after the start (a window cannot be empty)", field="end")
    now = ctx.now()
    if new_start <= now:
        raise ValidationError(
            f"must be in the future (now is {timeutil.format_local(now, ctx.tz)})", field="start"
        )
    e = _exceptions(ctx, s.id).get(occ.start)
    w = _window_of(ctx, s, occ.start)
    _ensure_not_started(ctx, occ, e, w)
    if e is None:
        e = ScheduleException(
            schedule_id=s.id, occurrence_start=occ.start, created_at=now, created_by=ctx.actor.username
        )
        ctx.session.add(e)
    e.kind, e.new_start, e.new_end, e.reason = "move", new_start, new_end, reason
    _touch(ctx, s)
    ctx.session.flush()
    if w is not None:
        if (w.start, w.end) != (new_start, new_end):
            win.update_window(ctx, w.id, win.WindowChanges(start=new_start, end=new_end))
        window_id: int | None = w.id
    else:
        made = _materialise(ctx, s, _horizon_end(ctx, months))
        window_id = next((i for i in made), None)
    ctx.record(
        "schedule.occurrence_moved",
        "schedule",
        s.id,
        s.title,
        after={
            "date": day.isoformat(),
            "occurrence_start": timeutil.iso_local(occ.start, ctx.tz),
            "new_start": timeutil.iso_local(new_start, ctx.tz),
            "new_end": timeutil.iso_local(new_end, ctx.tz),
            "window": window_id,
        },
        reason=reason,
    )
    return ExceptionResult(view(ctx, s), day, "move", window_id)


# ---------------------------------------------------------------- delete and extend


@dataclass(frozen=True)
class DeleteScheduleResult:
    schedule: ScheduleView
    deleted_windows: list[int]
    kept_windows: list[int]


def delete_schedule(
    ctx: ServiceContext, schedule_id: int, *, expected_version: int | None = None
) -> DeleteScheduleResult:
    """Delete the schedule and its upcoming windows; started and past windows stay (unlinked)."""
    ctx.require("manage_windows")
    s = _load(ctx, schedule_id, for_update=True)
    _check_version(ctx, s, expected_version)
    before = view(ctx, s)
    now = ctx.now()
    deleted, kept = [], []
    for w in _linked(ctx, s.id):
        if w.start > now:
            with _own_changes():
                deleted.append(win.delete_window(ctx, w.id).window.id)
        else:
            kept.append(w.id)
            w.schedule_id = None  # also done by ON DELETE SET NULL; explicit for the ORM's copy
    for e in _exceptions(ctx, s.id).values():
        ctx.session.delete(e)
    ctx.session.flush()
    ctx.session.delete(s)
    ctx.session.flush()
    ctx.record(
        "schedule.deleted",
        "schedule",
        before.id,
        before.title,
        before=_audit_doc(before, ctx.tz),
        after={"windows_deleted": deleted, "windows_kept": kept},
    )
    return DeleteScheduleResult(before, deleted, kept)


@dataclass(frozen=True)
class ExtendResult:
    months: int
    horizon_end: datetime
    created: dict[int, list[int]]  # schedule id → windows created

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.created.values())


def extend_schedules(ctx: ServiceContext, *, months: int | None = None) -> ExtendResult:
    """Materialise every schedule up to now + ``months`` (default: the site setting).
    Idempotent: a second run creates nothing; an audit entry is written only when it did."""
    ctx.require("manage_windows")
    horizon = _horizon_end(ctx, months)
    n = ctx.site.schedule_horizon_months if months is None else months
    created: dict[int, list[int]] = {}
    # Row locks (PostgreSQL) serialise concurrent extends: the second one waits, then sees the
    # windows the first one made and creates nothing twice.
    rows = select(MaintenanceSchedule).order_by(MaintenanceSchedule.id).with_for_update()
    for s in ctx.session.scalars(rows):
        made = _materialise(ctx, s, horizon)
        if made:
            created[s.id] = made
        testpoints.reached("schedule.extend")  # crash tests kill the extension here (not committed)
    if created:
        ctx.record(
            "schedule.extended",
            "schedule",
            "",
            "all schedules",
            after={
                "months": n,
                "horizon_end": timeutil.iso_local(horizon, ctx.tz),
                "windows_created": {str(k): v for k, v in created.items()},
            },
        )
    return ExtendResult(n, horizon, created)
