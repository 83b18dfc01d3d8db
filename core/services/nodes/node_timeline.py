"""One node's timeline: what it is doing over a range, as consecutive segments.

Each instant of ``[start, end)`` belongs to exactly one segment whose state is, by precedence
(core/services/node_status.py): ``outage``, ``maintenance``, ``rented`` (an approved
reservation), ``pending`` (a reservation awaiting approval) or ``free``. Adjacent instants with
the same state (and, for reservations, the same reservation) form one segment; segments are
clipped to the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ... import timeutil
from ...context import ServiceContext
from ...errors import ValidationError
from . import availability
from .inventory import get_node

STATES = ("outage", "maintenance", "rented", "pending", "retired", "free")
DEFAULT_DAYS = 30
MAX_DAYS = 400


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    piece: availability.Segment

    def to_json(self, tz: str) -> dict[str, object]:
        p = self.piece
        reservation = p.subject_type == "reservation"
        return {
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz),
            "state": p.kind,
            "detail": p.describe(tz) if p.busy else "",
            "subject": {"type": p.subject_type, "id": p.subject_id} if p.subject_id else None,
            "project": p.label if reservation else None,
        }


@dataclass(frozen=True)
class Timeline:
    node: str
    node_type: str
    start: datetime
    end: datetime
    segments: tuple[Segment, ...]

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "node": self.node,
            "type": self.node_type,
            "from": timeutil.iso_local(self.start, tz),
            "to": timeutil.iso_local(self.end, tz),
            "segments": [s.to_json(tz) for s in self.segments],
        }


def default_start(ctx: ServiceContext) -> datetime:
    """The start of today, site time."""
    return timeutil.start_of_day(timeutil.local_day(ctx.now(), ctx.tz), ctx.tz)


def _days(instant: datetime, tz: str, days: int) -> datetime:
    """``days`` site-local calendar days later (the same wall-clock time across DST)."""
    moved = timeutil.to_local(instant, tz).add(days=days).in_timezone("UTC")
    return datetime.fromtimestamp(moved.timestamp(), UTC)


def node_timeline(
    ctx: ServiceContext, name: str, start: datetime | None = None, end: datetime | None = None
) -> Timeline:
    """The segments of node ``name`` over ``[start, end)``; without a start, from today
    (site time); without an end, :data:`DEFAULT_DAYS` days after the start."""
    ctx.require("read")
    node = get_node(ctx, name, field="name")
    if start is None:
        start = default_start(ctx) if end is None else _days(end, ctx.tz, -DEFAULT_DAYS)
    if end is None:
        end = _days(start, ctx.tz, DEFAULT_DAYS)
    if end <= start:
        raise ValidationError("must be after from", field="to")
    if end - start > timedelta(days=MAX_DAYS):
        raise ValidationError(f"the range may span at most {MAX_DAYS} days", field="to")
    # the one segmentation of a node's time (core/services/nodes/availability.py)
    found = availability.timeline(ctx, availability.TimelineQuery(start, end, nodes=(node.name,)))
    pieces = found.rows[0].segments if found.rows else ()
    segments = [Segment(p.start, p.end, p) for p in pieces]
    return Timeline(node.name, node.node_type.name, start, end, tuple(segments))
