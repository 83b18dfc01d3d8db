"""The calendar feed: maintenance windows (and optionally outages) as an RFC 5545 calendar.

Identity of events, so that a calendar that imports the feed again updates instead of duplicating:
- a window: UID ``{window.uuid}@nodedesk``;
- a window a recurring schedule materialised: UID
  ``schedule-{schedule.uuid}-{occurrence_start:%Y%m%dT%H%M%SZ}@nodedesk`` (the UTC start the rule
  gave the occurrence, kept when the occurrence is moved), so that a *skipped* occurrence (a
  schedule exception of kind ``skip``) is exported with the same UID and ``STATUS:CANCELLED``;
- an outage: UID ``outage-{uuid}@nodedesk``.

``SEQUENCE`` is the row's version − 1 (the version counts every saved change). A skipped
occurrence has no row left to count, so it gets the schedule's version (≥ 1, above a never
edited occurrence's 0). ``DTSTAMP`` is the export time. Times are UTC.

Default range: from 30 days before today to 12 months after today, or further when the recurring
schedules materialise further ahead (``schedule_horizon_months``). ``--to`` is inclusive.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pendulum
from sqlalchemy import ColumnElement, or_, select

from ... import ics, timeutil
from ...context import ServiceContext
from ...errors import NotFoundError, ValidationError
from ...models import MaintenanceSchedule, MaintenanceWindow, Node, NodeType, Outage, ScheduleException

PAST_DAYS = 30
AHEAD_MONTHS = 12


def window_uid(window: MaintenanceWindow) -> str:
    schedule_uuid = _schedule_uuid(window)
    if schedule_uuid and window.occurrence_start is not None:
        return occurrence_uid(schedule_uuid, window.occurrence_start)
    return f"{window.uuid}@nodedesk"


def occurrence_uid(schedule_uuid: str, occurrence_start: datetime) -> str:
    return f"schedule-{schedule_uuid}-{ics.format_utc(occurrence_start)}@nodedesk"


def outage_uid(outage_uuid: str) -> str:
    return f"outage-{outage_uuid}@nodedesk"


def _schedule_uuid(window: MaintenanceWindow) -> str | None:
    if window.schedule_id is None:
        return None
    from sqlalchemy.orm import object_session

    session = object_session(window)
    if session is None:
        return None
    return session.scalar(
        select(MaintenanceSchedule.uuid).where(MaintenanceSchedule.id == window.schedule_id)
    )


def scope_label(all_nodes: bool, nodes: list[str], node_types: list[str]) -> str:
    if all_nodes or (not nodes and not node_types):
        return "all nodes"
    return ", ".join([*(f"{t} (type)" for t in node_types), *nodes])


def window_event(
    window: MaintenanceWindow, stamp: datetime, *, cancelled: bool = False, sequence: int | None = None
) -> ics.Event:
    """The VEVENT of a window (``cancelled`` for a deleted or skipped one)."""
    where = scope_label(window.all_nodes, [n.name for n in window.nodes], [t.name for t in window.node_types])
    description = window.description or ""
    return ics.Event(
        uid=window_uid(window),
        start=window.start,
        end=window.end,
        summary=f"{'EMERGENCY: ' if window.emergency else ''}Maintenance: {window.title}",
        stamp=stamp,
        sequence=window.version - 1 if sequence is None else sequence,
        description=description,
        location=where,
        status="CANCELLED" if cancelled else "CONFIRMED",
        created=window.created_at,
        last_modified=window.modified_at,
        categories=("MAINTENANCE", "EMERGENCY") if window.emergency else ("MAINTENANCE",),
    )


def outage_event(outage: Outage, stamp: datetime, now: datetime) -> ics.Event:
    start = ics.utc(outage.start)
    if outage.end is not None:
        until = ics.utc(outage.end)
    else:  # an open outage: up to now, or up to its ETR when that is later (as the calendar)
        until = max(ics.utc(now), ics.utc(outage.etr) if outage.etr else ics.utc(now))
        if until <= start:
            until = start + timedelta(minutes=1)
    state = "resolved" if outage.status == "resolved" else f"open, {outage.status}"
    desc = outage.description or ""
    if outage.end is None and outage.etr is not None:
        desc = (desc + "\n" if desc else "") + f"Estimated time to repair: {ics.format_utc(outage.etr)}"
    return ics.Event(
        uid=outage_uid(outage.uuid),
        start=start,
        end=until,
        summary=f"Outage ({state}): {outage.title}",
        stamp=stamp,
        sequence=outage.version - 1,
        description=desc,
        location=", ".join(sorted(n.name for n in outage.nodes)),
        status="CONFIRMED",
        created=outage.created_at,
        last_modified=outage.modified_at,
        categories=("OUTAGE",),
    )


def default_range(ctx: ServiceContext) -> tuple[date, date]:
    """(first day, last day inclusive): 30 days back to 12 months (or the schedule horizon) ahead."""
    today = timeutil.local_day(ctx.now(), ctx.tz)
    months = max(AHEAD_MONTHS, ctx.site.schedule_horizon_months)
    last = pendulum.date(today.year, today.month, today.day).add(months=months)
    return today - timedelta(days=PAST_DAYS), date(last.year, last.month, last.day)


@dataclass(frozen=True)
class Feed:
    text: str
    first: date
    last: date
    windows: int
    cancelled: int
    outages: int


def build_feed(
    ctx: ServiceContext,
    *,
    first: date | None = None,
    last: date | None = None,
    nodes: tuple[str, ...] = (),
    include_outages: bool = False,
) -> Feed:
    """The calendar of windows (and skipped occurrences, and outages when asked) overlapping the
    site-local days ``first``..``last`` (inclusive)."""
    ctx.require("read")
    d_first, d_last = default_range(ctx)
    first = first or d_first
    last = last or d_last
    if last < first:
        raise ValidationError("must not be before --from", field="to")
    start = timeutil.start_of_day(first, ctx.tz)
    end = timeutil.start_of_day(last + timedelta(days=1), ctx.tz)
    node_rows = _nodes(ctx, nodes)
    now = ctx.now()
    events: list[tuple[datetime, str, ics.Event]] = []

    skips = _skips(ctx, start, end)
    skip_keys = {(e.schedule_id, e.occurrence_start) for e, _ in skips}
    W = MaintenanceWindow
    wconds: list[ColumnElement[bool]] = [W.start < end, W.end > start]
    if node_rows:
        wconds.append(
            or_(
                W.all_nodes.is_(True),
                W.nodes.any(Node.id.in_([n.id for n in node_rows])),
                W.node_types.any(NodeType.id.in_({n.node_type_id for n in node_rows})),
            )
        )
    n_windows = n_cancelled = n_outages = 0
    for w in ctx.session.scalars(select(W).where(*wconds).order_by(W.start, W.id)):
        skipped = w.schedule_id is not None and (w.schedule_id, w.occurrence_start) in skip_keys
        events.append((w.start, "w", window_event(w, now, cancelled=skipped)))
        if skipped:
            skip_keys.discard((w.schedule_id, w.occurrence_start))
            n_cancelled += 1
        else:
            n_windows += 1
    for exc, schedule in skips:
        if (exc.schedule_id, exc.occurrence_start) not in skip_keys:
            continue  # already exported with its window
        if node_rows and not _schedule_applies(schedule, node_rows):
            continue
        events.append((exc.occurrence_start, "s", _skipped_event(schedule, exc, now)))
        n_cancelled += 1
    if include_outages:
        oconds: list[ColumnElement[bool]] = [
            Outage.start < end,
            or_(Outage.end.is_(None), Outage.end > start),
        ]
        if node_rows:
            oconds.append(Outage.nodes.any(Node.id.in_([n.id for n in node_rows])))
        for o in ctx.session.scalars(select(Outage).where(*oconds).order_by(Outage.start, Outage.id)):
            event = outage_event(o, now, now)
            if event.end > start:
                events.append((o.start, "o", event))
                n_outages += 1
    events.sort(key=lambda item: (item[0], item[1], item[2].uid))
    text = ics.calendar(e for _, _, e in events)
    return Feed(text, first, last, n_windows, n_cancelled, n_outages)


def _nodes(ctx: ServiceContext, names: tuple[str, ...]) -> list[Node]:
    rows = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        node = ctx.session.scalar(select(Node).where(Node.name == name))
        if node is None:
            raise NotFoundError(f"no node named {name!r}", field="node")
        rows.append(node)
    return rows


def _skips(
    ctx: ServiceContext, start: datetime, end: datetime
) -> list[tuple[ScheduleException, MaintenanceSchedule]]:
    rows = ctx.session.execute(
        select(ScheduleException, MaintenanceSchedule)
        .join(MaintenanceSchedule, ScheduleException.schedule_id == MaintenanceSchedule.id)
        .where(ScheduleException.kind == "skip", ScheduleException.occurrence_start < end)
        .order_by(ScheduleException.occurrence_start, ScheduleException.id)
    ).all()
    out = []
    for exc, schedule in rows:
        if ics.utc(exc.occurrence_start) + timedelta(minutes=schedule.duration_minutes) > start:
            out.append((exc, schedule))
    return out


def _schedule_applies(schedule: MaintenanceSchedule, nodes: list[Node]) -> bool:
    if schedule.all_nodes or (not schedule.nodes and not schedule.node_types):
        return True
    ids = {n.id for n in schedule.nodes}
    type_ids = {t.id for t in schedule.node_types}
    return any(n.id in ids or n.node_type_id in type_ids for n in nodes)


def _skipped_event(schedule: MaintenanceSchedule, exc: ScheduleException, stamp: datetime) -> ics.Event:
    where = scope_label(
        schedule.all_nodes, [n.name for n in schedule.nodes], [t.name for t in schedule.node_types]
    )
    reason = f"Skipped: {exc.reason}" if exc.reason else "This occurrence is skipped."
    return ics.Event(
        uid=occurrence_uid(schedule.uuid, exc.occurrence_start),
        start=exc.occurrence_start,
        end=ics.utc(exc.occurrence_start) + timedelta(minutes=schedule.duration_minutes),
        summary=f"Maintenance: {schedule.title}",
        stamp=stamp,
        sequence=schedule.version,
        description=(schedule.description + "\n\n" if schedule.description else "") + reason,
        location=where,
        status="CANCELLED",
        last_modified=exc.created_at,
        categories=("MAINTENANCE",),
    )


def write_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write the feed to ``path`` via a temporary file in the same directory and a rename, so a
    reader never sees half a calendar."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not str(path).strip():
        raise ValidationError("a file name is required", field="file")
    if target.is_dir():
        raise ValidationError(f"{str(path)!r} is a directory, not a file name", field="file")
    if not directory.is_dir():
        raise ValidationError(f"directory {str(directory)!r} does not exist", field="file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:  # e.g. no permission to write in that directory
        raise ValidationError(f"cannot write in {str(directory)!r}: {exc.strerror}", field="file") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ValidationError(f"cannot write {str(path)!r}: {exc.strerror}", field="file") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
