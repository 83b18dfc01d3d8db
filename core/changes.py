"""The change feed: has anything changed since I last looked, and what kind of thing?

Every change writes exactly one activity-log entry in its own transaction (core/context.py), so
the log's newest entry — its ``seq`` and ``hash`` — moves if and only if data changed. Reading it
is one query on the unique ``seq`` index; a console polls it every second or so and re-reads a
screen only when it moved (help/overview.md, "Live screens").

The hash is kept beside the seq so that a log replaced wholesale (a backup restored over the
site) is noticed even when its newest seq happens to be the same number.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ActivityEntry

# The kind reported when the log no longer holds the entry a reader last saw (a restore
# replaced it): every kind of data may have changed.
EVERYTHING = "*"
MANY = 1000  # more entries than this since a head: reported as everything


@dataclass(frozen=True, order=True)
class ChangeHead:
    """The newest activity entry: ``seq`` 0 and an empty hash for an empty log."""

    seq: int = 0
    hash: str = ""


EMPTY = ChangeHead()


def head(session: Session) -> ChangeHead:
    """The log's newest entry (one indexed query)."""
    row = session.execute(
        select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
    ).first()
    return EMPTY if row is None else ChangeHead(row.seq, row.hash)


def changed_since(session: Session, seq: int, *, limit: int = MANY) -> set[str]:
    """The target types (``window``, ``outage``, ``reservation``, ``invoice_period``, …) of the
    entries written after ``seq``; :data:`EVERYTHING` after more than ``limit`` entries (a big
    import: everything is read again anyway).

    The entries are read in ``seq`` order up to the limit, so the unique index serves the query
    whatever the planner knows of the table.
    """
    after = select(ActivityEntry.target_type).where(ActivityEntry.seq > seq)
    rows = session.execute(after.order_by(ActivityEntry.seq).limit(limit + 1)).scalars().all()
    if len(rows) > limit:
        return {EVERYTHING}
    return set(rows)


def kinds_between(session: Session, seen: ChangeHead, now: ChangeHead) -> frozenset[str]:
    """What changed from ``seen`` to ``now``: empty when the head did not move, the target types
    written after ``seen`` when the log grew, :data:`EVERYTHING` when ``seen`` is no longer in the
    log as it was (the log was replaced)."""
    if now == seen:
        return frozenset()
    if seen == EMPTY:
        return frozenset(changed_since(session, 0)) or frozenset({EVERYTHING})
    if now.seq > seen.seq:
        still = session.execute(select(ActivityEntry.hash).where(ActivityEntry.seq == seen.seq)).scalar()
        if still == seen.hash:
            return frozenset(changed_since(session, seen.seq)) or frozenset({EVERYTHING})
    return frozenset({EVERYTHING})
