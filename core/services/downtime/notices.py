"""Notices to affected renters: generated into the outbox (table ``notices``), delivered by SMTP.

Events (each generated in the same transaction as the change, by one call from the service):
- ``window.created``  — a window is created (also the windows a recurring schedule materialises:
  those are notified when they are created, like any window, only to the renters they touch);
- ``window.moved``    — its start, its scope, or its end to an earlier time changed;
- ``window.extended`` — only its end moved later;
- ``window.cancelled``— it was deleted while upcoming;
- ``window.reminder`` — it starts within ``reminder_hours`` (queued by :func:`queue_reminders`,
  which ``nodedesk notices send`` runs first);
- ``outage.opened`` / ``outage.resolved``.
A window that is over (end ≤ now, e.g. backdated or corrected history) is not notified, nor an
outage recorded already resolved.

Recipients: the members of the projects whose pending/approved reservations the event's span
touches on the affected nodes, holding a project role listed in the site setting
``notice_roles`` (default ``owner,technical_admin``), active, with an email address. Users
without one are skipped and counted. A moved window notifies the renters of the old and the new
span. An open outage's span runs from its start to its ETR or ``reminder_hours`` from now,
whichever is later.

One notice per recipient per event (all of a recipient's reservations go into one notice),
deduplicated by the unique pair (``event_key``, recipient): the key is subject + event + a
fingerprint of the new times and scope, so saving the same thing twice creates nothing new; a
reminder's key holds the start, so a moved window is reminded again.

Delivery (:func:`send_pending`): pending notices, and failed ones whose last attempt is at
least ``RETRY_AFTER`` old and that have had fewer than ``MAX_ATTEMPTS`` attempts, go out over one
SMTP connection (see :mod:`nodedesk.core.mailer`). Each message is marked sent or failed with
the error on its own; a connection failure marks the whole batch failed with the reason.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import pendulum
from sqlalchemy import ColumnElement, func, or_, select

from ... import ics, mailer, timeutil, validate
from ...context import ServiceContext
from ...downtime import WindowScope
from ...errors import ValidationError
from ...intervals import Interval
from ...models import (
    ACTIVE_RESERVATION_STATUSES,
    NOTICE_STATUSES,
    MaintenanceWindow,
    Node,
    Notice,
    Outage,
    Project,
    ProjectMember,
    Reservation,
    User,
)
from ..views.calendar_feed import scope_label, window_event
from .impact import ImpactLine, hours, resolve_scope

if TYPE_CHECKING:  # both import this module
    from ...runtime import Runtime
    from ..site.api_tokens import Presented
    from .windows import WindowView

EVENTS = (
    "window.created",
    "window.moved",
    "window.extended",
    "window.cancelled",
    "window.reminder",
    "outage.opened",
    "outage.resolved",
    "reservation.moved",
)
RETRY_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 10
SUBJECT_MAX = 300


# ---------------------------------------------------------------- what an event is about


@dataclass(frozen=True)
class _Subject:
    kind: str  # window | outage
    id: int
    uuid: str
    title: str
    description: str
    start: datetime
    end: datetime | None  # None: an open outage
    where: str  # human label of the nodes
    scope: WindowScope
    credit: bool = True
    emergency: bool = False


def _window_subject(ctx: ServiceContext, w: MaintenanceWindow) -> _Subject:
    scope = WindowScope(
        w.all_nodes or (not w.nodes and not w.node_types),
        frozenset(n.id for n in w.nodes),
        frozenset(t.id for t in w.node_types),
    )
    where = scope_label(w.all_nodes, [n.name for n in w.nodes], [t.name for t in w.node_types])
    return _Subject(
        "window",
        w.id,
        w.uuid,
        w.title,
        w.description,
        ics.utc(w.start),
        ics.utc(w.end),
        where,
        scope,
        emergency=w.emergency,
    )


def _outage_subject(o: Outage) -> _Subject:
    names = sorted(n.name for n in o.nodes)
    scope = WindowScope(False, frozenset(n.id for n in o.nodes))
    return _Subject(
        "outage",
        o.id,
        o.uuid,
        o.title,
        o.description,
        ics.utc(o.start),
        ics.utc(o.end) if o.end else None,
        ", ".join(names),
        scope,
        o.credit,
    )


@dataclass(frozen=True)
class GenerationResult:
    event: str
    created: int = 0
    duplicates: int = 0
    without_email: tuple[str, ...] = ()  # recipients skipped: no email address

    def __add__(self, other: GenerationResult) -> GenerationResult:
        return GenerationResult(
            self.event,
            self.created + other.created,
            self.duplicates + other.duplicates,
            tuple(sorted(set(self.without_email) | set(other.without_email))),
        )


NOTHING = GenerationResult("")


# ---------------------------------------------------------------- hooks called by the services


def window_created(
    ctx: ServiceContext, window: MaintenanceWindow, impact: list[ImpactLine]
) -> GenerationResult:
    """Called by ``windows.create_window`` once the window is flushed."""
    if window.end <= ctx.now():
        return NOTHING
    subject = _window_subject(ctx, window)
    return _generate(
        ctx,
        "window.created",
        subject,
        [Interval(window.start, window.end)],
        _impact_map(impact),
        window=window,
    )


def window_updated(
    ctx: ServiceContext, before: WindowView, window: MaintenanceWindow, impact: list[ImpactLine]
) -> GenerationResult:
    """Called by ``windows.update_window`` after saving; ``before`` is the WindowView before."""
    now = ctx.now()
    b_start, b_end, b_scope = before.start, before.end, before.scope
    if b_end <= now and window.end <= now:
        return NOTHING
    new_scope = (tuple(n.name for n in window.nodes), tuple(t.name for t in window.node_types))
    scope_changed = new_scope != (tuple(b_scope.nodes), tuple(b_scope.node_types))
    if window.start != b_start or scope_changed or window.end < b_end:
        event = "window.moved"
    elif window.end > b_end:
        event = "window.extended"
    else:
        return NOTHING  # title or description only
    subject = _window_subject(ctx, window)
    old_scope = resolve_scope(ctx.session, tuple(b_scope.nodes), tuple(b_scope.node_types))
    spans = [Interval(window.start, window.end)]
    return _generate(
        ctx,
        event,
        subject,
        spans,
        _impact_map(impact),
        window=window,
        extra=[(Interval(b_start, b_end), old_scope)],
        was=(b_start, b_end),
    )


def window_deleted(
    ctx: ServiceContext, before: WindowView, window: MaintenanceWindow, impact: list[ImpactLine]
) -> GenerationResult:
    """Called by ``windows.delete_window`` before the row goes: cancelled only while upcoming."""
    if before.status != "upcoming":
        return NOTHING
    subject = _window_subject(ctx, window)
    return _generate(
        ctx,
        "window.cancelled",
        subject,
        [Interval(window.start, window.end)],
        _impact_map(impact),
        window=window,
        cancelled=True,
    )


def outage_changed(ctx: ServiceContext, before_status: str | None, outage: Outage) -> GenerationResult:
    """Called by ``outages.create_outage`` (``before_status`` None) and ``update_outage``: an
    outage that opens (created open, or reopened) or becomes resolved is notified; one recorded
    already resolved is history and is not."""
    if outage.status == "resolved" and before_status is None:
        return NOTHING  # recorded after the fact: history, like a backdated window
    if outage.status == "resolved" and before_status != "resolved":
        event = "outage.resolved"
    elif outage.status != "resolved" and before_status in (None, "resolved"):
        event = "outage.opened"
    else:
        return NOTHING
    subject = _outage_subject(outage)
    return _generate(ctx, event, subject, [_outage_span(ctx, outage)], None)


def _outage_span(ctx: ServiceContext, o: Outage) -> Interval[datetime]:
    start = ics.utc(o.start)
    if o.end is not None:
        return Interval(start, ics.utc(o.end))
    now = ics.utc(ctx.now())
    end = max(ics.utc(o.etr) if o.etr else now, now + timedelta(hours=ctx.site.reminder_hours))
    return Interval(start, max(end, start + timedelta(minutes=1)))


def reservation_moved(
    ctx: ServiceContext, moved: Reservation, from_node: str, original_id: int
) -> GenerationResult:
    """Called by ``moves.move_reservation``: the renters of the project (``notice_roles``) are
    told where their reservation (or, for a running one, its rest) now runs."""
    event = "reservation.moved"
    type_id = moved.node.node_type_id
    affected = _recipients(ctx, [(moved, type_id)])
    if not affected:
        return GenerationResult(event)
    start, end = ics.utc(moved.start), ics.utc(moved.end)
    key = f"reservation:{moved.uuid}:{event}:{fingerprint(moved.node.name, ics.format_utc(start))}"
    existing = set(ctx.session.scalars(select(Notice.recipient).where(Notice.event_key == key)))
    tz = ctx.tz
    project = _line(moved.project.title)
    title = _line(f"Reservation moved: #{moved.id} {project} — now on {moved.node.name}")[:SUBJECT_MAX]
    created, duplicates, without = 0, 0, []
    for username in sorted(affected):
        user = affected[username].user
        email = (user.email or "").strip()
        if not email:
            without.append(username)
            continue
        if username in existing:
            duplicates += 1
            continue
        name = _line(user.full_name) or user.username
        lines = [f"Hello {name},", "", "A reservation of your project has been moved to another node.", ""]
        lines.append(f"Project: {project}")
        if moved.id != original_id:
            lines.append(f"What:    the rest of reservation #{original_id}, now reservation #{moved.id}")
            lines.append(f"         (the time before {_when(start, tz)} stays on {from_node}, billed there)")
        else:
            lines.append(f"What:    reservation #{moved.id}")
        lines.append(f"From:    {from_node}")
        lines.append(f"To:      {moved.node.name} (same node type, same rate)")
        lines.append(f"When:    {_span_text(start, end, tz)}")
        lines.append(f"Times are in the site time zone ({tz}).")
        lines += ["", "-- ", "nodedesk (this message was sent automatically)"]
        _queue(ctx, key, event, ("reservation", moved.id), (username, email), title, "\n".join(lines) + "\n")
        created += 1
    ctx.session.flush()
    return GenerationResult(event, created, duplicates, tuple(without))


# ---------------------------------------------------------------- reminders


@dataclass(frozen=True)
class ReminderResult:
    windows: int
    created: int
    without_email: tuple[str, ...]


def queue_reminders(ctx: ServiceContext, *, audit: bool = True) -> ReminderResult:
    """Queue a reminder for each window starting within ``reminder_hours`` from now (per
    recipient, once per start time). ``audit=False`` when the caller audits the whole run."""
    ctx.require("manage_windows")
    result = _queue_reminders(ctx)
    if audit and result.created:
        ctx.record(
            "notices.reminders_queued",
            "notices",
            "",
            "reminders",
            after={
                "windows": result.windows,
                "created": result.created,
                "without_email": list(result.without_email),
            },
        )
    return result


def _queue_reminders(ctx: ServiceContext) -> ReminderResult:
    now = ctx.now()
    horizon = now + timedelta(hours=ctx.site.reminder_hours)
    if ctx.site.reminder_hours <= 0:
        return ReminderResult(0, 0, ())
    W = MaintenanceWindow
    rows = ctx.session.scalars(
        select(W).where(W.start > now, W.start <= horizon).order_by(W.start, W.id)
    ).all()
    total = NOTHING
    for w in rows:
        subject = _window_subject(ctx, w)
        total = total + _generate(ctx, "window.reminder", subject, [Interval(w.start, w.end)], None, window=w)
    return ReminderResult(len(rows), total.created, total.without_email)


# ---------------------------------------------------------------- generation


@dataclass
class _Affected:
    user: User
    reservations: list[tuple[Reservation, str]] = field(default_factory=list)  # (reservation, node)


def _impact_map(impact: list[ImpactLine] | None) -> dict[int, Decimal]:
    return {line.reservation_id: line.delta_hours for line in impact or []}


def _touched(
    ctx: ServiceContext, spans: list[tuple[Interval[datetime], WindowScope]]
) -> list[tuple[Reservation, int]]:
    conds = [(Reservation.start < s.end) & (Reservation.end > s.start) for s, _ in spans]
    rows = ctx.session.execute(
        select(Reservation, Node.node_type_id)
        .join(Node, Reservation.node_id == Node.id)
        .where(Reservation.status.in_(ACTIVE_RESERVATION_STATUSES), or_(*conds))
        .order_by(Reservation.start, Reservation.id)
    ).all()
    out = []
    for res, type_id in rows:
        for span, scope in spans:
            if res.start < span.end and res.end > span.start and scope.applies_to(res.node_id, type_id):
                out.append((res, type_id))
                break
    return out


def _recipients(ctx: ServiceContext, reservations: list[tuple[Reservation, int]]) -> dict[str, _Affected]:
    roles = set(ctx.site.notice_role_list)
    project_ids = {r.project_id for r, _ in reservations}
    if not project_ids or not roles:
        return {}
    members: dict[int, list[User]] = {}
    for m in ctx.session.scalars(
        select(ProjectMember).where(ProjectMember.project_id.in_(project_ids), ProjectMember.role.in_(roles))
    ):
        members.setdefault(m.project_id, []).append(m.user)
    if "owner" in roles:  # the owner always holds the owner role; do not depend on the row
        for p in ctx.session.scalars(select(Project).where(Project.id.in_(project_ids))):
            members.setdefault(p.id, []).append(p.owner)
    affected: dict[str, _Affected] = {}
    for res, _ in reservations:
        for user in members.get(res.project_id, []):
            if not user.active:
                continue
            entry = affected.setdefault(user.username, _Affected(user))
            if all(r.id != res.id for r, _ in entry.reservations):
                entry.reservations.append((res, res.node.name))
    return affected


def fingerprint(*parts: object) -> str:
    text = "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _event_key(event: str, subject: _Subject) -> str:
    if event == "window.reminder":
        tail = ics.format_utc(subject.start)
    else:
        end = ics.format_utc(subject.end) if subject.end else "open"
        tail = fingerprint(ics.format_utc(subject.start), end, subject.where)
    return f"{subject.kind}:{subject.uuid}:{event}:{tail}"


def _generate(
    ctx: ServiceContext,
    event: str,
    subject: _Subject,
    spans: list[Interval[datetime]],
    impact: dict[int, Decimal] | None,
    *,
    window: MaintenanceWindow | None = None,
    cancelled: bool = False,
    extra: list[tuple[Interval[datetime], WindowScope]] | None = None,
    was: tuple[datetime, datetime] | None = None,
) -> GenerationResult:
    all_spans = [(s, subject.scope) for s in spans] + list(extra or [])
    affected = _recipients(ctx, _touched(ctx, all_spans))
    if not affected:
        return GenerationResult(event)
    key = _event_key(event, subject)
    existing = set(ctx.session.scalars(select(Notice.recipient).where(Notice.event_key == key)))
    now = ctx.now()
    attachment = ""
    if window is not None:
        seq = window.version if cancelled else None  # a deletion is one more change
        attachment = ics.calendar([window_event(window, now, cancelled=cancelled, sequence=seq)])
    created = duplicates = 0
    without: list[str] = []
    for username in sorted(affected):
        entry = affected[username]
        email = (entry.user.email or "").strip()
        if not email:
            without.append(username)
            continue
        if username in existing:
            duplicates += 1
            continue
        title, body = _compose(ctx, event, subject, entry, impact, was)
        _queue(ctx, key, event, (subject.kind, subject.id), (username, email), title, body, attachment)
        created += 1
    ctx.session.flush()
    return GenerationResult(event, created, duplicates, tuple(without))


def _queue(
    ctx: ServiceContext,
    key: str,
    event: str,
    about: tuple[str, int],
    to: tuple[str, str],
    title: str,
    body: str,
    attachment: str = "",
) -> None:
    """One pending notice in the outbox: ``about`` (subject type, id) for ``to`` (user, email)."""
    ctx.session.add(
        Notice(
            created_at=ctx.now(),
            event_key=key,
            event=event,
            subject_type=about[0],
            subject_id=about[1],
            recipient=to[0],
            email=to[1],
            subject=title,
            body=body,
            ics=attachment,
            status="pending",
            attempts=0,
            last_error="",
        )
    )


# ---------------------------------------------------------------- wording


def _when(instant: datetime, tz: str) -> str:
    return pendulum.instance(instant).in_timezone(tz).format("ddd YYYY-MM-DD HH:mm zz")


def _span_text(start: datetime, end: datetime | None, tz: str) -> str:
    if end is None:
        return f"since {_when(start, tz)} (still open)"
    length = hours(end - start)
    return f"{_when(start, tz)} → {_when(end, tz)} ({length:.2f} h)"


def _line(text: str | None) -> str:
    return ics.clean(text, multiline=False).strip()


def _compose(
    ctx: ServiceContext,
    event: str,
    s: _Subject,
    entry: _Affected,
    impact: dict[int, Decimal] | None,
    was: tuple[datetime, datetime] | None,
) -> tuple[str, str]:
    tz = ctx.tz
    title = _line(s.title)
    start_text = _when(s.start, tz)
    headline, subject = {
        "window.created": (
            "A maintenance window has been scheduled.",
            f"Maintenance scheduled: {title} — {start_text}",
        ),
        "window.moved": (
            "A maintenance window has been changed.",
            f"Maintenance changed: {title} — now {start_text}",
        ),
        "window.extended": (
            "A maintenance window has been extended.",
            f"Maintenance extended: {title} — now until {_when(s.end, tz) if s.end else ''}",
        ),
        "window.cancelled": (
            "A maintenance window has been cancelled.",
            f"Maintenance cancelled: {title} — was {start_text}",
        ),
        "window.reminder": (
            "Reminder: a maintenance window starts soon.",
            f"Reminder: maintenance {title} starts {start_text}",
        ),
        "outage.opened": ("An outage affects nodes you have reserved.", f"Outage: {title} ({s.where})"),
        "outage.resolved": (
            "An outage on nodes you have reserved is resolved.",
            f"Outage resolved: {title} ({s.where})",
        ),
    }[event]
    if s.emergency and event == "window.created":
        headline = "An emergency maintenance window has started on nodes you have reserved."
        subject = f"EMERGENCY maintenance: {title} — since {start_text}"
    name = _line(entry.user.full_name) or entry.user.username
    lines = [f"Hello {name},", "", headline, "", f"What:   {title}"]
    lines.append(f"When:   {_span_text(s.start, s.end, tz)}")
    if was is not None:
        lines.append(f"Was:    {_span_text(was[0], was[1], tz)}")
    lines.append(f"Nodes:  {s.where}")
    lines.append(f"Times are in the site time zone ({tz}).")
    desc = ics.clean(s.description).strip()
    if desc:
        lines += ["", *desc.splitlines()]
    lines += ["", "Your reservations affected:"]
    for res, node in entry.reservations:
        lines.append(f"  - {_reservation_line(ctx, event, s, res, node, impact)}")
    lines.append("")
    if s.kind == "outage" and not s.credit:
        lines.append("This outage is not credited: its time is billed as usual.")
    else:
        lines.append("Time a node spends in maintenance or in a credited outage is not billed.")
    lines += ["", "-- ", "nodedesk (this message was sent automatically)"]
    subject = _line(subject)
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    return subject, "\n".join(lines) + "\n"


def _reservation_line(
    ctx: ServiceContext,
    event: str,
    s: _Subject,
    res: Reservation,
    node: str,
    impact: dict[int, Decimal] | None,
) -> str:
    tz = ctx.tz
    base = (
        f"#{res.id} {node}, project {_line(res.project.title)} ({res.status}), "
        f"{timeutil.format_short(res.start, tz)} → {timeutil.format_short(res.end, tz)}"
    )
    if impact is not None:
        delta = impact.get(res.id, Decimal(0))
        if delta > 0:
            return f"{base}: {delta:.2f} h not billed"
        if delta < 0:
            return f"{base}: {-delta:.2f} h billable again"
        return f"{base}: billed hours unchanged (already downtime)"
    stop = s.end if s.end is not None else ics.utc(ctx.now())
    overlap = max(min(ics.utc(res.end), stop) - max(ics.utc(res.start), s.start), timedelta(0))
    h = hours(overlap)
    if s.kind == "outage" and not s.credit:
        return f"{base}: {h:.2f} h overlap (billed)"
    if s.end is None:
        return f"{base}: {h:.2f} h so far not billed"
    return f"{base}: {h:.2f} h not billed"


# ---------------------------------------------------------------- listing


@dataclass(frozen=True)
class NoticeView:
    id: int
    uuid: str
    created_at: datetime
    event: str
    event_key: str
    subject_type: str
    subject_id: int
    recipient: str
    email: str
    subject: str
    body: str
    has_ics: bool
    status: str
    attempts: int
    last_error: str
    last_attempt_at: datetime | None
    sent_at: datetime | None

    def to_json(self, tz: str) -> dict[str, object]:
        def iso(value: datetime | None) -> str | None:
            return timeutil.iso_local(value, tz) if value else None

        return {
            "id": self.id,
            "uuid": self.uuid,
            "created_at": iso(self.created_at),
            "event": self.event,
            "event_key": self.event_key,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "recipient": self.recipient,
            "email": self.email,
            "subject": self.subject,
            "body": self.body,
            "has_ics": self.has_ics,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "last_attempt_at": iso(self.last_attempt_at),
            "sent_at": iso(self.sent_at),
        }


def view(n: Notice) -> NoticeView:
    return NoticeView(
        n.id,
        n.uuid,
        n.created_at,
        n.event,
        n.event_key,
        n.subject_type,
        n.subject_id,
        n.recipient,
        n.email,
        n.subject,
        n.body,
        bool(n.ics),
        n.status,
        n.attempts,
        n.last_error,
        n.last_attempt_at,
        n.sent_at,
    )


@dataclass(frozen=True)
class NoticePage:
    items: list[NoticeView]
    total: int
    offset: int
    limit: int


def list_notices(
    ctx: ServiceContext, *, status: str | None = None, offset: int = 0, limit: int = 50
) -> NoticePage:
    """One page of the outbox, newest first."""
    ctx.require("read")
    if limit < 1 or limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    conds = []
    if status:
        conds.append(Notice.status == validate.choice(status, "status", NOTICE_STATUSES))
    total = ctx.session.scalar(select(func.count(Notice.id)).where(*conds)) or 0
    rows = ctx.session.scalars(
        select(Notice)
        .where(*conds)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .offset(max(offset, 0))
        .limit(limit)
    ).all()
    return NoticePage([view(n) for n in rows], total, offset, limit)


def get_notice(ctx: ServiceContext, notice_id: int) -> NoticeView:
    ctx.require("read")
    n = ctx.session.get(Notice, notice_id)
    if n is None:
        from ...errors import NotFoundError

        raise NotFoundError(f"no notice #{notice_id}", field="id")
    return view(n)


def counts(ctx: ServiceContext) -> dict[str, int]:
    """Notices per status (for the dashboard)."""
    ctx.require("read")
    out = dict.fromkeys(NOTICE_STATUSES, 0)
    for status, n in ctx.session.execute(
        select(Notice.status, func.count(Notice.id)).group_by(Notice.status)
    ):
        out[status] = n
    return out


# ---------------------------------------------------------------- delivery


def _due_conditions(now: datetime) -> ColumnElement[bool]:
    return or_(
        Notice.status == "pending",
        (Notice.status == "failed")
        & (Notice.attempts < MAX_ATTEMPTS)
        & (or_(Notice.last_attempt_at.is_(None), Notice.last_attempt_at <= now - RETRY_AFTER)),
    )


def _due(ctx: ServiceContext, limit: int | None) -> list[Notice]:
    stmt = select(Notice).where(_due_conditions(ctx.now())).order_by(Notice.created_at, Notice.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(ctx.session.scalars(stmt))


@dataclass(frozen=True)
class SendReport:
    dry_run: bool
    reminders: int
    items: tuple[NoticeView, ...]  # the notices attempted (or that would be, in a dry run)
    sent: int = 0
    failed: int = 0
    errors: tuple[tuple[int, str], ...] = ()  # (notice id, error) of the failures

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "reminders_queued": self.reminders,
            "attempted": len(self.items),
            "sent": self.sent,
            "failed": self.failed,
            "errors": [{"id": i, "error": e} for i, e in self.errors],
            "notices": [{k: v for k, v in n.to_json(tz).items() if k not in ("body",)} for n in self.items],
        }


def send_pending(
    runtime: Runtime,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    config: mailer.SmtpConfig | None = None,
    environ: dict[str, str] | None = None,
) -> SendReport:
    """Queue reminders, then deliver what is due over one SMTP connection.

    The database is not held during SMTP: one transaction picks the batch, another records the
    outcome (and the run's single audit entry ``notices.sent``)."""
    if limit is not None and limit < 1:
        raise ValidationError("must be 1 or more", field="limit")
    if not dry_run and config is None:
        config = mailer.config_from_env(environ)  # refuse a bad configuration before any change
    with runtime.write(dry_run=dry_run) as ctx:
        ctx.require("manage_windows")
        reminders = _queue_reminders(ctx)
        batch = _due(ctx, limit)
        items = tuple(view(n) for n in batch)
        outgoing = [mailer.Outgoing(n.id, n.uuid, n.email, n.subject, n.body, n.ics) for n in batch]
        if dry_run:
            return SendReport(True, reminders.created, items)
        if not outgoing:
            if reminders.created:
                _audit_run(ctx, reminders.created, 0, 0, "")
            return SendReport(False, reminders.created, items)
        stamp = ctx.now()
    assert config is not None
    sent, failed, errors = _deliver(runtime, config, outgoing, stamp, reminders.created)
    return SendReport(False, reminders.created, items, sent, failed, tuple(errors))


def _deliver(
    runtime: Runtime,
    config: mailer.SmtpConfig,
    outgoing: list[mailer.Outgoing],
    stamp: datetime,
    reminders: int,
    *,
    failed_status: str = "failed",
    token: Presented | None = None,
) -> tuple[int, int, list[tuple[int, str]]]:
    """Send ``outgoing`` over one SMTP connection (no transaction held), then record each
    outcome and the run's audit entry in one transaction. A notice that fails takes
    ``failed_status``: ``failed`` (retried after ``RETRY_AFTER``) or ``pending`` (sent by the
    next run)."""
    outcome = mailer.deliver(config, outgoing, now=stamp)
    with runtime.write(token=token) as ctx:
        now = ctx.now()
        sent = failed = 0
        errors = []
        for item in outgoing:
            n = ctx.session.get(Notice, item.id)
            if n is None:  # pragma: no cover - rows are never deleted
                continue
            error = outcome.errors.get(item.id, "")
            n.attempts += 1
            n.last_attempt_at = now
            if error:
                n.status, n.last_error = failed_status, ics.clean(error)[:2000]  # server text: no controls
                failed += 1
                errors.append((item.id, error))
            else:
                n.status, n.last_error, n.sent_at = "sent", "", now
                sent += 1
        ctx.session.flush()
        _audit_run(ctx, reminders, sent, failed, outcome.connection_error)
    return sent, failed, errors


@dataclass(frozen=True)
class ImmediateSend:
    """What happened to one subject's notices sent at once (an emergency window's)."""

    configured: bool  # SMTP is configured (NODEDESK_SMTP_HOST set)
    queued: int  # the subject's pending notices
    sent: int = 0
    failed: int = 0
    error: str = ""  # one line: why some stay queued

    def line(self) -> str:
        if self.queued == 0:
            return "Notices: none (no affected renter with an email address)."
        if not self.configured:
            return (
                f"Notices: {self.queued} queued; SMTP is not configured, so `nodedesk notices send` "
                "delivers them."
            )
        if not self.failed:
            return f"Notices: {self.sent} sent at once."
        return (
            f"Notices: {self.sent} sent, {self.failed} not sent ({_line(self.error)}); left queued "
            "for the next `nodedesk notices send`."
        )

    def to_json(self) -> dict[str, object]:
        return {
            "smtp_configured": self.configured,
            "queued": self.queued,
            "sent": self.sent,
            "failed": self.failed,
            "error": self.error,
        }


def send_now(
    runtime: Runtime,
    subject_type: str,
    subject_id: int,
    *,
    config: mailer.SmtpConfig | None = None,
    environ: Mapping[str, str] | None = None,
    token: Presented | None = None,
) -> ImmediateSend:
    """Deliver the pending notices about one subject now, by the same path as
    :func:`send_pending`, when SMTP is configured (``config`` given or ``NODEDESK_SMTP_HOST``
    set). Call it after the subject's transaction committed. Nothing here raises for a mail
    problem: a bad configuration or a failed delivery leaves the notices pending (the next
    ``notices send`` run sends them) and is said in :meth:`ImmediateSend.line`. ``token``: act
    as an API token's user, as the request that created the subject."""
    with runtime.read(token=token) as ctx:
        ctx.require("manage_windows")
        rows = list(
            ctx.session.scalars(
                select(Notice)
                .where(
                    Notice.subject_type == subject_type,
                    Notice.subject_id == subject_id,
                    Notice.status == "pending",
                )
                .order_by(Notice.created_at, Notice.id)
            )
        )
        outgoing = [mailer.Outgoing(n.id, n.uuid, n.email, n.subject, n.body, n.ics) for n in rows]
        stamp = ctx.now()
    env = os.environ if environ is None else environ
    configured = config is not None or bool(env.get("NODEDESK_SMTP_HOST", "").strip())
    if not outgoing or not configured:
        return ImmediateSend(configured, len(outgoing))
    if config is None:
        try:
            config = mailer.config_from_env(env)
        except ValidationError as exc:
            return ImmediateSend(True, len(outgoing), failed=len(outgoing), error=str(exc))
    try:
        sent, failed, errors = _deliver(
            runtime, config, outgoing, stamp, 0, failed_status="pending", token=token
        )
    except ValidationError as exc:  # refused before connecting (credentials in clear text)
        return ImmediateSend(True, len(outgoing), failed=len(outgoing), error=str(exc))
    return ImmediateSend(True, len(outgoing), sent, failed, errors[0][1] if errors else "")


def _audit_run(ctx: ServiceContext, reminders: int, sent: int, failed: int, connection_error: str) -> None:
    ctx.record(
        "notices.sent",
        "notices",
        "",
        "outbox",
        after={
            "reminders_queued": reminders,
            "sent": sent,
            "failed": failed,
            "connection_error": connection_error,
        },
    )


def iter_all(ctx: ServiceContext, status: str | None = None, page: int = 500) -> Iterator[NoticeView]:
    """Every notice (newest first), fetched a page at a time."""
    offset = 0
    while True:
        result = list_notices(ctx, status=status, offset=offset, limit=page)
        yield from result.items
        offset += page
        if offset >= result.total:
            return
