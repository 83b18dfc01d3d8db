"""The hash-chained, append-only activity log.

Each entry's hash is SHA-256 over a canonical JSON document of its fields plus the previous
entry's hash, so editing or deleting any entry breaks verification from that point on.
Entries are written by services in the same transaction as the change they describe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .models import ActivityEntry

GENESIS_HASH = "0" * 64
# Any fixed 64-bit key; serializes appends across PostgreSQL sessions.
_PG_AUDIT_LOCK_KEY = 0x6E6F64656465736B


def to_jsonable(value: Any) -> Any:
    """Make before/after values JSON-safe and stable (Decimals and instants as strings)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: ActivityEntry) -> str:
    doc = {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.isoformat(),
        "actor": entry.actor,
        "real_user": entry.real_user,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "target_label": entry.target_label,
        "before": entry.before_json,
        "after": entry.after_json,
        "reason": entry.reason,
        "clock_frozen": entry.clock_frozen,
        "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


CHAIN_LOCKED = "nodedesk_audit_chain_locked"  # session.info flag: this transaction holds the lock


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # database-wide lock, keyed per schema so sites in different schemas do not serialize
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:k AS bigint) # hashtextextended(current_schema(), 0))"),
            {"k": _PG_AUDIT_LOCK_KEY},
        )
        session.info[CHAIN_LOCKED] = True
    # SQLite: write units of work already hold the database write lock (BEGIN IMMEDIATE).


def append(
    session: Session,
    *,
    occurred_at: datetime,
    actor: str,
    real_user: str,
    action: str,
    target_type: str,
    target_id: str | int = "",
    target_label: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
    clock_frozen: bool = False,
) -> ActivityEntry:
    _lock_chain(session)
    # Hash exactly what the database will give back: a plain UTC datetime.
    utc = occurred_at.astimezone(UTC)
    occurred_at = datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)
    last = session.execute(
        select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    entry = ActivityEntry(
        seq=seq,
        occurred_at=occurred_at,
        actor=actor,
        real_user=real_user,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        target_label=target_label[:300],
        before_json=canonical_json(before),
        after_json=canonical_json(after),
        reason=reason,
        clock_frozen=clock_frozen,
        prev_hash=prev,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def verify_entries(entries: Iterable[ActivityEntry]) -> VerifyResult:
    """Check sequence continuity, the predecessor links and every entry's own hash."""
    problems: list[str] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for entry in entries:
        checked += 1
        if entry.seq != expected_seq:
            problems.append(
                f"entry #{expected_seq}"
                + (f"..#{entry.seq - 1}" if entry.seq - 1 > expected_seq else "")
                + " is missing (deleted?)"
            )
        if entry.prev_hash != prev_hash:
            problems.append(f"entry #{entry.seq} does not follow its predecessor (chain broken)")
        if entry_hash(entry) != entry.hash:
            problems.append(f"entry #{entry.seq} ({entry.action}) was altered after it was written")
        expected_seq = entry.seq + 1
        prev_hash = entry.hash
    return VerifyResult(ok=not problems, checked=checked, problems=problems)


def verify(session: Session, batch: int = 2000) -> VerifyResult:
    """Verify the whole log, streaming it in batches (memory does not grow with its size)."""

    def stream() -> Iterable[ActivityEntry]:
        last_seq = 0
        while True:
            rows: Sequence[ActivityEntry] = session.scalars(
                select(ActivityEntry)
                .where(ActivityEntry.seq > last_seq)
                .order_by(ActivityEntry.seq)
                .limit(batch)
            ).all()
            if not rows:
                return
            yield from rows
            last_seq = rows[-1].seq
            session.expunge_all()

    return verify_entries(stream())


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ActivityEntry)) or 0
