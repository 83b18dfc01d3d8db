"""Benchmark: ``audit verify`` over 100,000 keyed entries, on SQLite and PostgreSQL.

Run with ``.venv/bin/python -m pytest -m benchmark -s tests/benchmarks/test_audit_benchmark.py``.
Prints the wall and CPU time of a full verification (entries streamed as plain tuples, one
HMAC-SHA256 each), the entries per second, the share spent computing MACs alone, and the peak
Python memory, which stays flat because the log is read in batches. No timing is asserted.
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nodedesk.core import audit
from nodedesk.core.auditseal import AuditSeal
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db.engine import Database
from nodedesk.core.models import ActivityEntry
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site.setup import initialize
from sqlalchemy import insert, select

pytestmark = pytest.mark.benchmark
ENTRIES = 100_000
NOW = datetime(2026, 2, 15, 15, 0, tzinfo=UTC)


def fill(database: Database, key: bytes, n: int, batch: int = 10_000) -> None:
    """Append ``n`` keyed entries after the ones ``initialize`` wrote (bulk inserts)."""
    with database.write() as session:
        seq, prev = session.execute(
            select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
        ).one()
        t0 = NOW - timedelta(days=400)
        rows: list[dict[str, Any]] = []
        for i in range(n):
            seq += 1
            at = t0 + timedelta(seconds=300 * i)
            entry = SimpleNamespace(
                seq=seq,
                occurred_at=at,
                recorded_at=at + timedelta(milliseconds=3),
                actor=f"u{i % 250:03d}",
                real_user=f"u{i % 250:03d}",
                action="reservation.approved",
                target_type="reservation",
                target_id=str(i),
                target_label=f"node{i % 500:04d} Protein Folding",
                target_uuid=f"00000000-0000-4000-8000-{i:012d}",
                before_json=audit.canonical_json({"status": "pending", "n": i}),
                after_json=audit.canonical_json({"status": "approved", "n": i, "note": "bench"}),
                reason="",
                clock_frozen=False,
                prev_hash=prev,
                hash_scheme=audit.KEYED_SCHEME,
            )
            entry.hash = prev = audit.entry_mac(key, entry)
            rows.append(vars(entry))
            if len(rows) == batch:
                session.execute(insert(ActivityEntry), rows)
                rows = []
        if rows:
            session.execute(insert(ActivityEntry), rows)


def _run(runtime: Runtime, *, traced: bool = False) -> tuple[audit.VerifyResult, float, float, float]:
    """(result, wall s, cpu s, peak MiB) of one full verification. Timings come from untraced
    runs (tracemalloc slows Python several times); the peak from a traced one."""
    gc.collect()
    if traced:
        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    with runtime.read() as ctx:
        result = audit.verify(ctx.session, ctx.seal)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = 0.0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, wall, cpu, peak


def _mac_only(runtime: Runtime, key: bytes) -> float:
    """CPU seconds to compute every entry's MAC over rows already in memory."""
    with runtime.read() as ctx:
        rows = list(audit.stream_entries(ctx.session))
    c0 = time.process_time()
    for row in rows:
        audit.entry_mac(key, row)
    return time.process_time() - c0


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_audit_verify_benchmark(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("database_url") if backend == "postgresql" else None
    if url is None:
        from nodedesk.core.db import migrate
        from nodedesk.core.db.engine import make_engine

        url = f"sqlite:///{tmp_path / 'audit.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
    database = Database.from_url(url)
    seal = AuditSeal(tmp_path / "site")
    clock = FrozenClock(NOW)
    initialize(database, "bench", timezone="UTC", clock=clock, seal=seal)
    t0 = time.perf_counter()
    fill(database, seal.require_key(), ENTRIES)
    build_s = time.perf_counter() - t0
    runtime = Runtime(
        Config(database_url=url, private_dir=seal.directory), clock=clock, login="bench", database=database
    )
    try:
        first, wall, cpu, _ = _run(runtime)  # moves the anchor up to the bulk-inserted head
        assert first.ok, first.problems[:3]
        again, wall2, cpu2, _ = _run(runtime)
        assert again.ok and again.checked == ENTRIES + 2
        _r, _w, _c, peak = _run(runtime, traced=True)
        mac_cpu = _mac_only(runtime, seal.require_key())
    finally:
        runtime.close()
    n = again.checked
    print(
        f"\naudit verify on {backend}: {n} entries (built in {build_s:.1f} s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n"
        f"  first run  {wall:6.2f} s wall, {cpu:5.2f} s cpu, {n / wall:>8.0f} entries/s\n"
        f"  second run {wall2:6.2f} s wall, {cpu2:5.2f} s cpu, {n / wall2:>8.0f} entries/s\n"
        f"  peak Python memory {peak:5.1f} MiB (streamed in batches: flat in the log's length)\n"
        f"  MACs alone {mac_cpu:6.2f} s cpu ({mac_cpu / cpu2:.0%} of a verification's cpu)"
    )
