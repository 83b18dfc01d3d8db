"""No import writes two overlapping active reservations on one node (see help/backup.md).

The rule is the booking service's (core/services/reservations.py): pending and approved
reservations on a node may touch but never overlap. The import checks each batch *before*
writing it, so an edited export is refused with one line naming both reservations, and the
database's own guarantee (which would refuse the row anyway) is never the first to speak.

- Restore (the database was empty): every reservation written so far is this import's, so they
  are kept in memory per node, sorted by start; a new one is compared with its neighbours.
- Merge: each node is locked first, as the booking service does (``lock_node``), so a booking
  made meanwhile cannot slip in between the check and the write; then each record is compared
  with the rows here (``find_clashes``) and with the other records of its batch.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..intervals import Interval
from ..models import Node, Reservation
from ..services.rentals import reservations
from .codec import iso_utc


@dataclass(frozen=True)
class Booking:
    """One active reservation as the import would leave it."""

    uuid: str
    row_id: int | None  # its row here (an update), or None (a create)
    node_id: int
    span: Interval[datetime]


class Clash(Exception):
    """``str()``: the reason, naming the other reservation (the importer adds the record)."""


def booking(uuid: str, row_id: int | None, values: dict[str, Any], old: Reservation | None) -> Booking | None:
    """The active booking a record makes (None when inactive or its times are not a span)."""

    def val(attr: str, column: str) -> Any:
        return values[column] if column in values else getattr(old, attr, None)

    status, node_id = val("status", "status"), val("node_id", "node_id")
    start, end = val("start", "start_at"), val("end", "end_at")
    if status not in reservations.ACTIVE or node_id is None or start is None or end is None:
        return None
    if not start < end:
        return None  # the database's own check refuses it
    return Booking(uuid, row_id, node_id, Interval(start, end))


class ClashGuard:
    def __init__(self, session: Session, restore: bool) -> None:
        self.session = session
        self.restore = restore
        # node id -> non-overlapping (start, end, uuid), sorted: the restore's reservations so far
        self._placed: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)

    def _node(self, node_id: int) -> str:
        node = self.session.get(Node, node_id)
        return node.name if node is not None else f"#{node_id}"

    def _says(self, node_id: int, other: str, span: Interval[datetime], status: str = "") -> str:
        state = f" ({status})" if status else ""
        return (
            f"overlaps reservation {other}{state} on node {self._node(node_id)} "
            f"({iso_utc(span.start)} → {iso_utc(span.end)}); "
            "reservations on a node may touch but never overlap"
        )

    def _against(
        self, placed: list[tuple[datetime, datetime, str]], b: Booking
    ) -> tuple[str, Interval[datetime]] | None:
        """The neighbour ``b`` overlaps in a sorted non-overlapping list (None if none); inserts it."""
        i = bisect.bisect_left(placed, (b.span.start, b.span.end, b.uuid))
        for j in (i - 1, i):
            if 0 <= j < len(placed):
                other = Interval(placed[j][0], placed[j][1])
                if other.overlaps(b.span):
                    return placed[j][2], other
        placed.insert(i, (b.span.start, b.span.end, b.uuid))
        return None

    def check(self, batch: list[Booking], moving: set[int]) -> tuple[Booking, str] | None:
        """The first booking of the batch that overlaps another, and why; None if all fit.

        ``moving``: the rows here this batch updates (their new state is what counts)."""
        if self.restore:
            for b in batch:
                hit = self._against(self._placed[b.node_id], b)
                if hit is not None:
                    return b, self._says(b.node_id, hit[0], hit[1])
            return None
        for node_id in sorted({b.node_id for b in batch}):
            reservations.lock_node(self.session, node_id)
        here: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
        for b in batch:
            found = reservations.find_clashes(self.session, b.node_id, b.span.start, b.span.end, b.row_id)
            found = [r for r in found if r.id not in moving]  # those are compared as they will be
            if found:
                r = found[0]
                return b, self._says(b.node_id, r.uuid, Interval(r.start, r.end), r.status)
            hit = self._against(here[b.node_id], b)
            if hit is not None:
                return b, self._says(b.node_id, hit[0], hit[1])
        return None

    def explain(self, b: Booking) -> str | None:
        """Why the database refused ``b`` (a clash with a row here), if that is why."""
        found = reservations.find_clashes(self.session, b.node_id, b.span.start, b.span.end, b.row_id)
        found = [r for r in found if r.uuid != b.uuid]
        if not found:
            return None
        r = found[0]
        return self._says(b.node_id, r.uuid, Interval(r.start, r.end), r.status)
