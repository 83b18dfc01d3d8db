"""A big centre for the scale benchmark (deterministic for a given seed and size).

America/New_York, January 2023 to December 2026, "now" mid-June 2026: 1,000 nodes of eight
types, 400 users, 300 projects with members, 60,000 maintenance windows and 40,000 outages
(node lists, node types, a few all-node windows; some outages still open), 200,000 reservations
that never overlap on a node (past ones approved or cancelled, future ones pending or approved),
and 50,000 activity entries on a valid hash chain (``nodedesk audit verify`` passes).

Rows go in with SQLAlchemy Core ``executemany`` on the migrated schema with explicit ids
(PostgreSQL sequences are moved past them afterwards), so the centre builds in well under a
minute. :func:`cached_sqlite` keeps the SQLite file under ``$XDG_CACHE_HOME/nodedesk-bench``
(default ``~/.cache``), named by a key over this file's source, the schema head, the size and
the seed: it is rebuilt whenever one of them changes. :func:`build` loads the same centre into
any empty database URL (e.g. a PostgreSQL schema).
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from nodedesk.core import audit
from nodedesk.core.auditseal import AuditSeal
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import Database
from nodedesk.core.models import (
    ActivityEntry,
    MaintenanceWindow,
    Node,
    NodeType,
    Outage,
    Project,
    ProjectMember,
    Reservation,
    User,
    outage_nodes,
    window_scope_node_types,
    window_scope_nodes,
)
from nodedesk.core.services.site.setup import initialize
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
# A fixed audit key, so that a given seed and size always give the same chain (help/audit.md).
BENCH_KEY = hashlib.sha256(b"nodedesk big-centre benchmark audit key").digest()
LOGIN = "bench"  # the site admin the benchmark acts as
FIRST_DAY = date(2023, 1, 1)
LAST_DAY = date(2026, 12, 31)
NOW = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)  # 12:00 local
BUSY_MONTH = "2026-06"  # the calendar and invoice month the benchmark opens
INVOICE_MONTH = "2026-05"  # a month that is over
TYPES = ("A100", "H100", "H200", "L40S", "MI300", "EPYC", "GRACE", "XEON")
BATCH = 5_000


@dataclass(frozen=True)
class Size:
    nodes: int = 1_000
    users: int = 400
    projects: int = 300
    windows: int = 60_000
    outages: int = 40_000
    reservations: int = 200_000
    activity: int = 50_000


SMOKE = Size(nodes=20, users=12, projects=6, windows=300, outages=200, reservations=600, activity=300)


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


class _Ids:
    """Deterministic UUIDs and tracking columns."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rnd.getrandbits(128), version=4))

    def tracked(self, at: datetime, by: str = LOGIN) -> dict[str, Any]:
        return {
            "uuid": self.uuid(),
            "version": 1,
            "created_at": at,
            "created_by": by,
            "modified_at": at,
            "modified_by": by,
        }


def _chunks(rows: Iterable[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(session: Session, table: Any, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    target = getattr(table, "__table__", table)  # Core insert: rows are keyed by column name
    for batch in _chunks(rows):
        session.execute(insert(target), batch)
        n += len(batch)
    return n


def _next_id(session: Session, column: Any) -> int:
    return int(session.scalar(select(func.max(column))) or 0) + 1


def _span_minutes() -> int:
    return int((_utc(LAST_DAY, 23) - _utc(FIRST_DAY, 0)).total_seconds() // 60)


def site_dir(url: str) -> Path:
    """The centre's private dir (audit key and anchor): beside its SQLite file, or per schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        db = Path(parsed.database)
        return db.parent / f"{db.stem}.site"
    schema = str(parsed.query.get("options", "")).rpartition("=")[2] or "public"
    return Path(tempfile.gettempdir()) / "nodedesk-bench-sites" / schema


def seal_for(url: str) -> AuditSeal:
    """The centre's seal holding the benchmark key; the anchor is made from the log's head
    when missing (a cached centre file is copied or renamed without its private dir)."""
    seal = AuditSeal(site_dir(url))
    if seal.key() != BENCH_KEY:
        seal.install_key(BENCH_KEY)
    if seal.read_anchor() is None:
        database = Database.from_url(url)
        try:
            with database.read() as session:
                head = audit.head(session)
        finally:
            database.dispose()
        if head is not None:
            seal.reset(head.seq, head.hash)
    return seal


def config(url: str) -> Config:
    """A configuration for the centre at ``url`` with its private dir."""
    seal_for(url)
    return Config(database_url=url, private_dir=site_dir(url))


def _reseal_init_entries(session: Session) -> None:
    """``initialize`` stamps its entries with the real time and its admin with a random uuid;
    fix both, so the chain (and its head) depend only on the seed and size."""
    admin = session.scalars(select(User).where(User.username == LOGIN)).one()
    admin.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"nodedesk-bench-{LOGIN}"))  # init's is random
    prev = audit.GENESIS_HASH
    for e in session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq)):
        if e.target_type == "user":
            e.target_uuid = admin.uuid
        e.recorded_at, e.prev_hash = e.occurred_at, prev
        e.hash = prev = audit.entry_mac(BENCH_KEY, e)


def build(url: str, size: Size = Size(), seed: int = 7) -> dict[str, int]:
    """Initialize an empty database at ``url`` and load the centre into it; returns row counts."""
    rnd = random.Random(seed)
    ids = _Ids(rnd)
    database = Database.from_url(url)
    start_clock = FrozenClock(_utc(FIRST_DAY, 0) - timedelta(days=1))
    try:
        seal = AuditSeal(site_dir(url))
        seal.install_key(BENCH_KEY)
        initialize(database, LOGIN, timezone=TZ, clock=start_clock, seal=seal)
        with database.write() as session:
            _reseal_init_entries(session)
            counts = _load(session, size, rnd, ids)
            if session.get_bind().dialect.name == "postgresql":
                _move_sequences(session)
    finally:
        database.dispose()
    return counts


def _load(session: Session, size: Size, rnd: random.Random, ids: _Ids) -> dict[str, int]:
    t0 = _utc(FIRST_DAY, 0) - timedelta(days=1)
    counts: dict[str, int] = {}

    uid = _next_id(session, User.id)
    users = [
        {
            "id": uid + i,
            "username": f"user{i:03d}",
            "full_name": f"User {i:03d}",
            "email": f"user{i:03d}@example.org",
            "active": True,
            **ids.tracked(t0),
        }
        for i in range(size.users)
    ]
    counts["users"] = _insert(session, User, users)
    user_ids = [u["id"] for u in users]
    usernames = {u["id"]: u["username"] for u in users}

    tid = _next_id(session, NodeType.id)
    types = [
        {"id": tid + i, "name": t, "category": "GPU", "description": "", "active": True, **ids.tracked(t0)}
        for i, t in enumerate(TYPES)
    ]
    _insert(session, NodeType, types)
    type_ids = [t["id"] for t in types]
    nid = _next_id(session, Node.id)
    nodes = [
        {
            "id": nid + i,
            "name": f"n{i:04d}",
            "node_type_id": type_ids[i % len(type_ids)],
            "rentable": i % 50 != 49,
            "description": "",
            **ids.tracked(t0),
        }
        for i in range(size.nodes)
    ]
    counts["nodes"] = _insert(session, Node, nodes)
    node_ids = [n["id"] for n in nodes]

    pid = _next_id(session, Project.id)
    projects, members = [], []
    for i in range(size.projects):
        owner = user_ids[i % len(user_ids)]
        projects.append(
            {
                "id": pid + i,
                "title": f"Project {i:03d}",
                "owner_id": owner,
                "status": "archived" if i % 37 == 36 else "active",
                "description": "",
                **ids.tracked(t0),
            }
        )
        members.append({"project_id": pid + i, "user_id": owner, "role": "owner"})
        others = rnd.sample([u for u in user_ids if u != owner], rnd.randrange(2, 7))
        for k, user in enumerate(others):
            role = ("financial_admin", "technical_admin", "member", "member")[k % 4]
            members.append({"project_id": pid + i, "user_id": user, "role": role})
    counts["projects"] = _insert(session, Project, projects)
    counts["members"] = _insert(
        session,
        ProjectMember,
        ({**m, "added_at": t0, "added_by": LOGIN} for m in members),
    )
    project_ids = [p["id"] for p in projects if p["status"] == "active"]
    project_users = {p["id"]: [p["owner_id"]] for p in projects}
    for m in members:
        project_users[m["project_id"]].append(m["user_id"])

    counts["reservations"] = _insert(
        session, Reservation, _reservations(size, rnd, ids, node_ids, project_ids, project_users, usernames)
    )
    counts["windows"], scope_nodes, scope_types = _windows(session, size, rnd, ids, node_ids, type_ids)
    counts["window_scope_rows"] = scope_nodes + scope_types
    counts["outages"] = _outages(session, size, rnd, ids, node_ids)
    counts["activity"] = _activity(session, size, rnd, usernames, node_ids)
    return counts


def _reservations(
    size: Size,
    rnd: random.Random,
    ids: _Ids,
    node_ids: list[int],
    project_ids: list[int],
    project_users: dict[int, list[int]],
    usernames: dict[int, str],
) -> Iterator[dict[str, Any]]:
    """Per node, one after the other from 2023 on: they never overlap on a node."""
    per_node, extra = divmod(size.reservations, len(node_ids))
    days = (LAST_DAY - FIRST_DAY).days
    now_day = NOW.date()
    for k, node in enumerate(node_ids):
        n = per_node + (1 if k < extra else 0)
        mean_gap = max(days / max(n, 1), 1.5)
        day = FIRST_DAY + timedelta(days=rnd.randrange(0, 3))
        for _ in range(n):
            blocks = rnd.choice((1, 1, 2, 2, 3, 4))
            start = _utc(day, 16)
            end_day = day + timedelta(days=(blocks + 1) // 2)
            end = _utc(end_day, 4 if blocks % 2 else 9)
            project = rnd.choice(project_ids)
            r = rnd.random()
            if day < now_day:
                status = "cancelled" if r < 0.08 else ("declined" if r < 0.1 else "approved")
            else:
                status = "pending" if r < 0.35 else ("cancelled" if r < 0.4 else "approved")
            decided = status in ("approved", "declined")
            made = start - timedelta(days=rnd.randrange(1, 30))
            yield {
                "node_id": node,
                "project_id": project,
                "requested_for": usernames.get(rnd.choice(project_users[project]), LOGIN),
                "start_at": start,
                "end_at": end,
                "blocks": blocks,
                "status": status,
                "notes": "",
                "policy_waived": False,
                "decided_by": LOGIN if decided else None,
                "decided_at": made + timedelta(hours=2) if decided else None,
                "decision_reason": "",
                **ids.tracked(made),
            }
            gap = (end_day - day).days + max(1, int(rnd.expovariate(1 / (mean_gap - 1))))
            day += timedelta(days=gap)  # (a node's last few may run past December: counts stay exact)


def _windows(
    session: Session,
    size: Size,
    rnd: random.Random,
    ids: _Ids,
    node_ids: list[int],
    type_ids: list[int],
) -> tuple[int, int, int]:
    first = _next_id(session, MaintenanceWindow.id)
    span = _span_minutes()
    base = _utc(FIRST_DAY, 0)
    rows, scope_nodes, scope_types = [], [], []
    for i in range(size.windows):
        wid = first + i
        start = base + timedelta(minutes=rnd.randrange(0, span, 15))
        end = start + timedelta(minutes=rnd.randrange(30, 10 * 60, 15))
        kind = rnd.random()
        all_nodes = kind < 0.002
        made = start - timedelta(days=rnd.randrange(2, 40))
        rows.append(
            {
                "id": wid,
                "title": f"{rnd.choice(('Firmware', 'Kernel', 'Cooling', 'Network', 'Storage'))} "
                f"maintenance {i}",
                "description": "planned work" if i % 3 else "",
                "start_at": start,
                "end_at": end,
                "all_nodes": all_nodes,
                "backdated": False,
                **ids.tracked(made, f"user{i % 7:03d}"),
            }
        )
        if all_nodes:
            continue
        if kind < 0.1:
            scope_types.append({"window_id": wid, "node_type_id": rnd.choice(type_ids)})
        else:
            for node in rnd.sample(node_ids, min(len(node_ids), rnd.randrange(1, 6))):
                scope_nodes.append({"window_id": wid, "node_id": node})
    n = _insert(session, MaintenanceWindow, rows)
    return (
        n,
        _insert(session, window_scope_nodes, scope_nodes),
        _insert(session, window_scope_node_types, scope_types),
    )


def _outages(session: Session, size: Size, rnd: random.Random, ids: _Ids, node_ids: list[int]) -> int:
    first = _next_id(session, Outage.id)
    span = int((NOW - _utc(FIRST_DAY, 0)).total_seconds() // 60)  # outages are in the past
    base = _utc(FIRST_DAY, 0)
    rows, affected = [], []
    for i in range(size.outages):
        oid = first + i
        start = base + timedelta(minutes=rnd.randrange(0, span - 60, 5))
        end: datetime | None = start + timedelta(minutes=rnd.randrange(20, 8 * 60, 5))
        if end is not None and end > NOW:
            end = None
        if i % 2000 == 1999:
            end = None  # still open
        rows.append(
            {
                "id": oid,
                "title": f"{rnd.choice(('GPU fault', 'PSU failure', 'Link down', 'ECC errors'))} {i}",
                "description": "",
                "start_at": start,
                "end_at": end,
                "etr": None,
                "status": "resolved" if end else "investigating",
                "credit": rnd.random() < 0.9,
                **ids.tracked(start + timedelta(minutes=5)),
            }
        )
        for node in rnd.sample(node_ids, min(len(node_ids), rnd.randrange(1, 4))):
            affected.append({"outage_id": oid, "node_id": node})
    n = _insert(session, Outage, rows)
    _insert(session, outage_nodes, affected)
    return n


ACTIONS = (
    ("reservation.created", "reservation"),
    ("reservation.approved", "reservation"),
    ("window.created", "window"),
    ("window.updated", "window"),
    ("outage.created", "outage"),
    ("outage.resolved", "outage"),
    ("project.member_added", "project"),
)


def _activity(
    session: Session, size: Size, rnd: random.Random, usernames: dict[int, str], node_ids: list[int]
) -> int:
    """Append hash-chained entries after the ones ``initialize`` wrote, spread up to now."""
    seq, prev, last_at = session.execute(
        select(ActivityEntry.seq, ActivityEntry.hash, ActivityEntry.occurred_at)
        .order_by(ActivityEntry.seq.desc())
        .limit(1)
    ).one()
    names = list(usernames.values())
    step = (NOW - timedelta(hours=1) - last_at) / max(size.activity, 1)

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal seq, prev
        for i in range(size.activity):
            seq += 1
            action, target = ACTIONS[i % len(ACTIONS)]
            actor = names[rnd.randrange(len(names))] if i % 3 else LOGIN
            entry = SimpleNamespace(
                seq=seq,
                occurred_at=(last_at + step * (i + 1)).replace(microsecond=0),
                actor=actor,
                real_user=actor,
                action=action,
                target_type=target,
                target_id=str(rnd.randrange(1, 50_000)),
                target_label=f"n{rnd.randrange(len(node_ids)):04d}",
                before_json="null" if action.endswith("created") else audit.canonical_json({"status": "a"}),
                after_json=audit.canonical_json({"n": i, "status": "approved", "note": "bench"}),
                reason="",
                clock_frozen=False,
                prev_hash=prev,
            )
            entry.recorded_at = entry.occurred_at
            entry.target_uuid = ""
            entry.hash_scheme = audit.KEYED_SCHEME
            entry.hash = prev = audit.entry_mac(BENCH_KEY, entry)
            yield vars(entry)

    return _insert(session, ActivityEntry, rows())


def _move_sequences(session: Session) -> None:
    """Explicit ids do not advance PostgreSQL's sequences: move each past its table's max id."""
    from nodedesk.core.models import Base

    for table in Base.metadata.sorted_tables:
        assert isinstance(table, Table)
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )


# ---------------------------------------------------------------------- the cache


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nodedesk-bench"


def cache_key(size: Size, seed: int) -> str:
    """Changes when this generator, the schema head, the size or the seed change."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(migrate.head_revision().encode())
    h.update(repr(sorted(asdict(size).items())).encode())
    h.update(str(seed).encode())
    return h.hexdigest()[:16]


def cached_sqlite(size: Size = Size(), seed: int = 7, directory: Path | None = None) -> tuple[Path, bool]:
    """The centre as a SQLite file, built on first use; returns (path, built_now)."""
    folder = directory or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f"bigcentre-{size.nodes}n-"
    path = folder / f"{prefix}{cache_key(size, seed)}.db"
    if path.exists():
        return path, False
    for stale in folder.glob(f"{prefix}*.db"):  # an older generator's or schema's centre
        stale.unlink(missing_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.unlink(missing_ok=True)
    build(f"sqlite:///{partial}", size, seed)
    partial.replace(path)
    return path, True
