"""A recurring schedule's skipped occurrences (``ScheduleException`` rows of kind "skip").

Both the windows service (a schedule's window deleted by hand) and the schedules service (skip,
edit, delete) record them here, so neither has to import the other for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import select

from ...context import ServiceContext
from ...models import MaintenanceWindow, ScheduleException

# Set while the schedules service deletes its own windows (skip, edit, delete): those deletions
# record their exceptions themselves, so the windows service's hook must not add one.
_managing: ContextVar[bool] = ContextVar("schedules_managing", default=False)


@contextmanager
def own_changes() -> Iterator[None]:
    """Mark the schedules service's own window deletions (see ``_managing``)."""
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
