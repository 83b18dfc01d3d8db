"""The keyed, hash-chained, append-only activity log.

Each entry's ``hash`` is an HMAC-SHA256, under the site's audit key (see :mod:`.auditseal`), of a
canonical JSON document of its fields plus the previous entry's hash; it covers the real write
time (``recorded_at``), the target's uuid and the scheme name too. Editing, re-hashing or deleting
entries breaks verification from that point on; deleting entries at the end is caught by the
anchor kept beside the key. Entries are written by services in the same transaction as the
change they describe, and the anchor is advanced after that transaction commits.

Entries written before the log was keyed carry a plain SHA-256 (``hash_scheme`` 'sha256'). They
may only precede keyed entries: the first keyed entry's MAC covers the last legacy hash, so the
legacy part cannot be rewritten unnoticed either. See help/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from .auditseal import Anchor, AuditSeal, key_id
from .models import ActivityEntry

GENESIS_HASH = "0" * 64
LEGACY_SCHEME = "sha256"
KEYED_SCHEME = "hmac-sha256"
SCHEMES = (LEGACY_SCHEME, KEYED_SCHEME)
# Any fixed 64-bit key; serializes appends across PostgreSQL sessions.
_PG_AUDIT_LOCK_KEY = 0x6E6F64656465736B
# session.info keys: the head written in this transaction, and the seal to anchor it with.
_HEAD = "nodedesk_audit_head"
_RESET = "nodedesk_audit_reset"
_HOOKED = "nodedesk_audit_hooked"
SEAL_INFO = "nodedesk_audit_seal"  # the site's seal, put there by ServiceContext
# The seal last used with each database in this process (by URL): lets a caller holding only
# a session (tools, tests) verify against the right key and anchor.
_KNOWN_SEALS: dict[str, AuditSeal] = {}


def _url_of(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=False)


def remember_seal(session: Session, seal: AuditSeal) -> None:
    session.info[SEAL_INFO] = seal
    _KNOWN_SEALS[_url_of(session)] = seal


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


# Every field of an entry is plain text, a number, a boolean or None once the instants are ISO
# text, so the document needs no generic conversion (which dominates verifying a large log).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

# The columns verification reads, in this order (streamed as plain tuples, never ORM objects).
COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "real_user",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "before_json",
    "after_json",
    "reason",
    "clock_frozen",
    "prev_hash",
    "hash",
    "recorded_at",
    "target_uuid",
    "hash_scheme",
    "via",
)


def _legacy_doc(e: Any) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "occurred_at": e.occurred_at.isoformat(),
        "actor": e.actor,
        "real_user": e.real_user,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "target_label": e.target_label,
        "before": e.before_json,
        "after": e.after_json,
        "reason": e.reason,
        "clock_frozen": e.clock_frozen,
        "prev_hash": e.prev_hash,
    }


def entry_hash(entry: Any) -> str:
    """The unkeyed SHA-256 of an entry written before the log was keyed ('sha256' scheme)."""
    return hashlib.sha256(_ENCODER.encode(_legacy_doc(entry)).encode("utf-8")).hexdigest()


def entry_mac(key: bytes, entry: Any) -> str:
    """The keyed hash ('hmac-sha256' scheme): also covers real time, target uuid and scheme, and
    the channel (``via``) of entries that have one."""
    doc = _legacy_doc(entry)
    recorded = entry.recorded_at
    doc["recorded_at"] = None if recorded is None else recorded.isoformat()
    doc["target_uuid"] = entry.target_uuid
    doc["hash_scheme"] = entry.hash_scheme
    via = getattr(entry, "via", "") or ""
    if via:  # only when set, so entries written before the column verify as they were
        doc["via"] = via
    return hmac.new(key, _ENCODER.encode(doc).encode("utf-8"), hashlib.sha256).hexdigest()


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


def _plain_utc(at: datetime) -> datetime:
    """Exactly what the database gives back: a plain UTC datetime to the microsecond."""
    utc = at.astimezone(UTC)
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)


def real_now(session: Session) -> datetime:
    """The real time of this write: the database server's clock on PostgreSQL (one clock for
    every client), the system clock on SQLite. Never the service clock, which may be frozen."""
    if session.get_bind().dialect.name == "postgresql":
        return _plain_utc(session.execute(text("SELECT clock_timestamp()")).scalar_one())
    return _plain_utc(datetime.now(UTC))


def has_keyed_entries(session: Session) -> bool:
    return (
        session.execute(
            select(ActivityEntry.seq).where(ActivityEntry.hash_scheme != LEGACY_SCHEME).limit(1)
        ).first()
        is not None
    )


def _signing_key(session: Session, seal: AuditSeal) -> bytes:
    """The site key. A site that has never keyed its log (new, or upgraded from unkeyed
    entries) gets one now; once keyed entries exist a missing key refuses the write."""
    key = seal.key()
    if key is not None:
        return key
    if has_keyed_entries(session):
        return seal.require_key()  # raises, naming where the key belongs
    return seal.create_key()


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: nothing is committed yet, the head stays pending
    head = session.info.pop(_HEAD, None)
    reset = session.info.pop(_RESET, False)
    if head is None:
        return
    seal, seq, hash_, extends = head
    try:
        if reset:
            seal.reset(seq, hash_)
        elif extends:
            seal.advance(seq, hash_)
    except OSError:
        # The data is committed; an anchor left behind is caught up by the next write or by
        # 'audit verify' (entries past it are keyed), so this is no reason to fail the command.
        pass


def _extends_anchor(session: Session, seal: AuditSeal, last: Any) -> bool:
    """Does the log (before this entry) still hold the anchored head? If entries were deleted
    or rewritten, the anchor must keep naming the lost head, not move past it."""
    anchor = seal.read_anchor()
    if anchor is None or anchor.seq == 0:
        return True
    last_seq, last_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    if anchor.seq > last_seq:
        return False
    if anchor.seq == last_seq:
        return anchor.hash == last_hash
    return session.scalar(select(ActivityEntry.hash).where(ActivityEntry.seq == anchor.seq)) == anchor.hash


def _hook(session: Session, seal: AuditSeal, seq: int, hash_: str, extends: bool) -> None:
    session.info[_HEAD] = (seal, seq, hash_, extends)
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", lambda s: (s.info.pop(_HEAD, None), s.info.pop(_RESET, None)))
        session.info[_HOOKED] = True


def reset_anchor_on_commit(session: Session) -> None:
    """Let this transaction's head replace the anchor (a fresh init or a restore)."""
    session.info[_RESET] = True


@dataclass(frozen=True)
class Pending:
    """One entry for :func:`append_many`: what changed (who and when are the batch's)."""

    action: str
    target_type: str
    target_id: str | int = ""
    target_label: str = ""
    target_uuid: str = ""
    before: Any = None
    after: Any = None
    reason: str = ""


def append(
    session: Session,
    *,
    seal: AuditSeal,
    occurred_at: datetime,
    actor: str,
    real_user: str,
    action: str,
    target_type: str,
    target_id: str | int = "",
    target_label: str = "",
    target_uuid: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
    clock_frozen: bool = False,
    via: str = "",
) -> ActivityEntry:
    item = Pending(action, target_type, target_id, target_label, target_uuid, before, after, reason)
    return append_many(
        session,
        [item],
        seal=seal,
        occurred_at=occurred_at,
        actor=actor,
        real_user=real_user,
        clock_frozen=clock_frozen,
        via=via,
    )[0]


def append_many(
    session: Session,
    items: list[Pending],
    *,
    seal: AuditSeal,
    occurred_at: datetime,
    actor: str,
    real_user: str,
    clock_frozen: bool = False,
    via: str = "",
) -> list[ActivityEntry]:
    """Append entries in order, chained one to the next, with one read of the head and one
    flush (a migration records thousands of records at once; core/orcd/migrator.py)."""
    _lock_chain(session)
    key = _signing_key(session, seal)
    last = session.execute(
        select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    at, recorded = _plain_utc(occurred_at), real_now(session)
    entries = []
    for item in items:
        entry = ActivityEntry(
            seq=seq,
            occurred_at=at,
            recorded_at=recorded,
            actor=actor,
            real_user=real_user,
            action=item.action,
            target_type=item.target_type,
            target_id=str(item.target_id),
            target_label=item.target_label[:300],
            target_uuid=item.target_uuid,
            before_json=canonical_json(item.before),
            after_json=canonical_json(item.after),
            reason=item.reason,
            clock_frozen=clock_frozen,
            prev_hash=prev,
            hash_scheme=KEYED_SCHEME,
            via=via,
        )
        entry.hash = entry_mac(key, entry)
        entries.append(entry)
        seq, prev = seq + 1, entry.hash
    if not entries:
        return entries
    if len(entries) == 1:
        session.add(entries[0])
        session.flush()
    else:  # one executemany; the entries returned are plain copies (nothing reads them back)
        table = ActivityEntry.__table__
        names = [c.name for c in table.columns if c.name != "id"]
        session.execute(insert(ActivityEntry), [{n: getattr(e, n) for n in names} for e in entries])
    held = session.info.get(_HEAD)
    extends = held[3] if held is not None else _extends_anchor(session, seal, last)
    _hook(session, seal, entries[-1].seq, entries[-1].hash, extends)
    return entries


# ------------------------------------------------------------------------------------------
# Verification


class ChainProblem(str):
    """A problem line, with the entry field it concerns (for the importer's record errors)."""

    field: str = ""


def _problem(message: str, field: str = "") -> ChainProblem:
    p = ChainProblem(message)
    p.field = field
    return p


class ChainChecker:
    """Checks entries one by one, in order: numbering, links, scheme order and hash or MAC.

    ``check`` returns the problems of one entry (empty when it is sound). Shared by
    ``audit verify`` and the import of a backup's log.
    """

    def __init__(self, key: bytes | None, *, key_path: str = "") -> None:
        self.key = key
        self.key_path = key_path
        self.prev_seq = 0
        self.prev_hash = GENESIS_HASH
        self.keyed_seen = False
        self._told_no_key = False
        self.first_bad: int | None = None

    def follow(self, seq: int, hash_: str, scheme: str) -> None:
        """Continue after an entry already known to be sound (one already in the database)."""
        self.prev_seq, self.prev_hash = seq, hash_
        self.keyed_seen = self.keyed_seen or scheme != LEGACY_SCHEME

    def check(self, e: Any) -> list[ChainProblem]:
        problems: list[ChainProblem] = []
        seq = e.seq
        expected = self.prev_seq + 1
        if seq != expected:
            problems.append(
                _problem(
                    f"entry #{expected}"
                    + (f"..#{seq - 1}" if seq - 1 > expected else "")
                    + " is missing (deleted?)",
                    "seq",
                )
            )
        if e.prev_hash != self.prev_hash:
            problems.append(
                _problem(f"entry #{seq} does not follow its predecessor (chain broken)", "prev_hash")
            )
        scheme = e.hash_scheme or LEGACY_SCHEME
        if scheme == LEGACY_SCHEME:
            if self.keyed_seen:
                problems.append(
                    _problem(
                        f"entry #{seq} ({e.action}) carries an unkeyed hash after keyed entries "
                        "(the log was re-hashed without the key)",
                        "hash_scheme",
                    )
                )
            elif entry_hash(e) != e.hash:
                problems.append(
                    _problem(f"entry #{seq} ({e.action}) was altered after it was written", "hash")
                )
        elif scheme == KEYED_SCHEME:
            self.keyed_seen = True
            if self.key is None:
                if not self._told_no_key:
                    self._told_no_key = True
                    problems.append(
                        _problem(
                            f"entry #{seq} and later are keyed but the audit key {self.key_path} is "
                            "missing: they cannot be verified (restore the key; see 'nodedesk help audit')"
                        )
                    )
            elif not hmac.compare_digest(entry_mac(self.key, e), e.hash or ""):
                problems.append(
                    _problem(
                        f"entry #{seq} ({e.action}) fails its keyed check "
                        "(altered after it was written, or sealed with another key)",
                        "hash",
                    )
                )
        else:
            problems.append(_problem(f"entry #{seq} has an unknown hash scheme {scheme!r}", "hash_scheme"))
        if problems and self.first_bad is None:
            self.first_bad = expected if seq != expected else seq
        self.prev_seq, self.prev_hash = seq, e.hash
        return problems


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]
    first_bad: int | None = None  # number of the first entry found bad
    notes: list[str] = field(default_factory=list)  # facts that are not problems
    head: Anchor | None = None  # the log's last entry


def stream_entries(session: Session, batch: int = 5000) -> Iterator[Any]:
    """Every entry as a plain row tuple (attribute access by column name), in order."""
    cols = [ActivityEntry.__table__.c[name] for name in COLUMNS]
    seq_col = ActivityEntry.__table__.c.seq
    last_seq = 0
    conn = session.connection()
    while True:
        rows = conn.execute(select(*cols).where(seq_col > last_seq).order_by(seq_col).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].seq


def verify_entries(entries: Iterable[Any], key: bytes | None = None, *, key_path: str = "") -> VerifyResult:
    """Check the chain alone (no anchor): numbering, links, schemes and hashes or MACs."""
    checker = ChainChecker(key, key_path=key_path)
    problems: list[str] = []
    checked = 0
    for entry in entries:
        checked += 1
        problems.extend(checker.check(entry))
    head = Anchor(checker.prev_seq, checker.prev_hash) if checked else None
    return VerifyResult(not problems, checked, problems, checker.first_bad, [], head)


def verify(session: Session, seal: AuditSeal | None = None, batch: int = 5000) -> VerifyResult:
    """Verify the whole log against the site's key and anchor (streamed: memory stays flat).

    The anchor is read before the log, so a write committed meanwhile only puts the log ahead
    of it. A sound log ahead of its anchor (a crash between commit and anchor write) moves
    the anchor up; a missing anchor is re-created and reported once.
    """
    seal = seal or session.info.get(SEAL_INFO) or _KNOWN_SEALS.get(_url_of(session))
    key = seal.key() if seal is not None else None
    anchor = seal.read_anchor() if seal is not None else None
    key_path = str(seal.key_path) if seal is not None else "(no site directory)"
    hash_at_anchor: str | None = None
    keyed = False

    def watched(rows: Iterable[Any]) -> Iterator[Any]:
        nonlocal hash_at_anchor, keyed
        for row in rows:
            if anchor is not None and row.seq == anchor.seq:
                hash_at_anchor = row.hash
            if row.hash_scheme != LEGACY_SCHEME:
                keyed = True
            yield row

    result = verify_entries(watched(stream_entries(session, batch)), key, key_path=key_path)
    problems = list(result.problems)
    notes: list[str] = []
    first_bad = result.first_bad
    last = result.head.seq if result.head else 0

    def bad(seq: int, message: str) -> None:
        nonlocal first_bad
        problems.append(message)
        first_bad = seq if first_bad is None else min(first_bad, seq)

    if seal is not None:
        if anchor is None:
            if keyed:
                bad(
                    last + 1,
                    f"the anchor {seal.anchor_path} is missing: entries deleted from the end of the log "
                    f"cannot be ruled out; it now records entry #{last}",
                )
        elif last < anchor.seq:
            if last == 0:
                bad(1, f"the log is empty but the anchor records {anchor.seq} entries: all were deleted")
            else:
                gone = anchor.seq - last
                bad(
                    last + 1,
                    f"the log ends at entry #{last} but the anchor records #{anchor.seq}: the last "
                    f"{gone} entr{'y' if gone == 1 else 'ies'} (#{last + 1}"
                    + (f"..#{anchor.seq}" if gone > 1 else "")
                    + ") were deleted (log truncated)",
                )
        elif hash_at_anchor != anchor.hash:
            bad(anchor.seq, f"entry #{anchor.seq} does not match the anchor: the log was rewritten")
        elif key is not None and anchor.key_id and anchor.key_id != key_id(key):
            bad(anchor.seq, f"the anchor was written under another key than {seal.key_path}")
        if not keyed and anchor is not None and anchor.key_id and last >= 1 and not problems:
            bad(1, "the log has no keyed entries but the anchor was written under a key: it was re-hashed")
        loose = seal.loose_permissions()
        if loose:
            notes.append(f"warning: {loose}")
        # (with no anchor, the only problem added above is that it is missing)
        chain_ok = result.ok and (anchor is None or not problems)
        if chain_ok and result.head is not None and (anchor is None or last > anchor.seq):
            # A sound chain ahead of its anchor: a crash came between commit and anchor write
            # (or the anchor was missing, reported above). Record the head now.
            try:
                if anchor is None:
                    seal.reset(result.head.seq, result.head.hash)
                elif seal.advance(result.head.seq, result.head.hash):
                    notes.append(f"anchor updated: entry #{anchor.seq} -> #{last}")
            except OSError as exc:
                notes.append(f"the anchor could not be written ({exc})")
        if not keyed and result.checked:
            notes.append("the log has no keyed entries yet (the next recorded change starts them)")
    return VerifyResult(not problems, result.checked, problems, first_bad, notes, result.head)


def head(session: Session) -> Anchor | None:
    row = session.execute(
        select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
    ).first()
    return Anchor(row[0], row[1]) if row else None


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ActivityEntry)) or 0


__all__ = [
    "COLUMNS",
    "GENESIS_HASH",
    "KEYED_SCHEME",
    "LEGACY_SCHEME",
    "ChainChecker",
    "VerifyResult",
    "append",
    "canonical_json",
    "count",
    "entry_hash",
    "entry_mac",
    "head",
    "reset_anchor_on_commit",
    "stream_entries",
    "verify",
    "verify_entries",
]
