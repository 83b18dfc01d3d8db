"""Availability as a reservation is typed (help/reservations.md, "Availability as you type").

For a node, a start date and a number of blocks: whether the node is free for the whole span,
the next start (the policy's start time on a later day, same blocks) from which it is, and a few
other rentable nodes of the same type free for the whole span. *Free* is the availability
timeline's word (core/services/nodes/availability.py): no outage, no maintenance, no pending or
approved reservation. Read-only: one timeline of the node and one ``free_nodes`` of its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ... import timeutil
from ...context import ServiceContext
from ...errors import NotFoundError
from ...models import Node
from ..nodes.availability import Segment, TimelineQuery, free_nodes, timeline
from .reservation_policy import Span, reservation_span
from .reservations import policy

ALTERNATIVES = 3  # other free nodes named
SEARCH_DAYS = 60  # how far after the typed date the next free start is looked for


@dataclass(frozen=True)
class SlotHints:
    node: str
    node_type: str
    span: Span
    busy: tuple[Segment, ...]  # what is on the node during the span (empty: free)
    next_start: date | None  # the next start date from which the node is free for as long
    next_span: Span | None
    others: tuple[str, ...]  # other rentable nodes of the same type free for the whole span
    searched_until: date  # the last start date the search for ``next_start`` tried

    @property
    def free(self) -> bool:
        return not self.busy

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "node": self.node,
            "type": self.node_type,
            "start": timeutil.iso_local(self.span.start, tz),
            "end": timeutil.iso_local(self.span.end, tz),
            "free": self.free,
            "busy": [s.to_json(tz) for s in self.busy],
            "next_start": self.next_span and timeutil.iso_local(self.next_span.start, tz),
            "others": list(self.others),
        }


def _free_within(segments: tuple[Segment, ...], start: datetime, end: datetime) -> bool:
    return all(not s.busy for s in segments if s.start < end and s.end > start)


def slot_hints(
    ctx: ServiceContext,
    node: str,
    start_date: date,
    blocks: int,
    *,
    alternatives: int = ALTERNATIVES,
    search_days: int = SEARCH_DAYS,
) -> SlotHints:
    """The hints for a reservation of ``blocks`` on ``node`` from ``start_date`` (the policy's
    start time). An unknown node or a bad number of blocks is refused with one line naming it."""
    ctx.require("read")
    rules = policy(ctx)
    span = reservation_span(rules, start_date, blocks)
    row = ctx.session.scalar(select(Node).where(Node.name == (node or "").strip()))
    if row is None:
        raise NotFoundError(f"no node named {node!r}", field="node")
    type_name = row.node_type.name
    last = start_date + timedelta(days=search_days)
    until = reservation_span(rules, last, blocks).end
    found = timeline(ctx, TimelineQuery(span.start, until, nodes=(row.name,)))
    # A node retired before the span has no row: retired all along.
    segments = (
        found.rows[0].segments if found.rows else (Segment(span.start, until, "retired", label="retired"),)
    )
    busy = tuple(s for s in segments if s.busy and s.start < span.end and s.end > span.start)
    next_start: date | None = None
    next_span: Span | None = None
    if busy:
        day = start_date + timedelta(days=1)
        while day <= last:
            candidate = reservation_span(rules, day, blocks)
            if _free_within(segments, candidate.start, candidate.end):
                next_start, next_span = day, candidate
                break
            day += timedelta(days=1)
    others = tuple(
        r.node for r in free_nodes(ctx, span.start, span.end, type_name).free if r.node != row.name
    )[: max(alternatives, 0)]
    return SlotHints(row.name, type_name, span, busy, next_start, next_span, others, last)
