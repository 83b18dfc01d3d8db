"""Benchmark: export and import of a large centre, on SQLite and PostgreSQL.

The centre is the billing benchmark's synthetic generator (500 nodes, 10,000+ reservations,
2,000 windows and outages, splits, rates, subscriptions) plus 100,000 hash-chained activity-log
entries, all bulk-inserted. Run with ``.venv/bin/python -m pytest -m benchmark -s
tests/benchmarks/test_backup_benchmark.py`` (or ``make bench``). It prints records/s each way and
the peak Python memory (tracemalloc) of each direction for this centre and for one a fifth of
its size: the peaks should be about the same (memory is bounded by one batch, not by the
number of records). Target: 100k records each way in under 10 s.
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nodedesk.core import audit
from nodedesk.core.auditseal import AuditSeal
from nodedesk.core.backup import export_backup, import_backup
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config, default_data_dir
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import Database, make_engine
from nodedesk.core.models import ActivityEntry
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site.setup import initialize
from sqlalchemy import insert, select

from tests.benchmarks import synthetic

pytestmark = pytest.mark.benchmark
LOGIN = "bench"
ACTIONS = ("reservation.created", "reservation.approved", "window.updated", "invoice.finalized")


def add_log(database: Database, n: int, batch: int = 10_000) -> None:
    """Append ``n`` valid, keyed, hash-chained activity entries with bulk inserts (under the
    key ``initialize`` made in this test's data dir)."""
    key = AuditSeal(default_data_dir()).require_key()
    with database.write() as session:
        seq, prev = session.execute(
            select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
        ).one()
        t0 = synthetic.NOW - timedelta(days=400)
        rows: list[dict[str, Any]] = []
        for i in range(n):
            seq += 1
            user = f"u{i % 250:03d}"
            entry = SimpleNamespace(
                seq=seq,
                occurred_at=t0 + timedelta(seconds=300 * i),
                actor=user,
                real_user=user,
                action=ACTIONS[i % len(ACTIONS)],
                target_type="reservation",
                target_id=str(i),
                target_label=f"node{i % 500:04d}",
                before_json="null",
                after_json=audit.canonical_json({"n": i, "status": "approved", "note": "bench"}),
                reason="",
                clock_frozen=False,
                prev_hash=prev,
                recorded_at=t0 + timedelta(seconds=300 * i),
                target_uuid="",
                hash_scheme=audit.KEYED_SCHEME,
            )
            entry.hash = prev = audit.entry_mac(key, entry)
            rows.append(vars(entry))
            if len(rows) == batch:
                session.execute(insert(ActivityEntry), rows)
                rows = []
        if rows:
            session.execute(insert(ActivityEntry), rows)


@dataclass
class Db:
    url: str
    cleanup: Callable[[], None]


@contextmanager
def databases(backend: str, tmp: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[], Db]]:
    """A factory of fresh, migrated, empty databases on ``backend``; dropped afterwards."""
    made: list[Db] = []

    def new() -> Db:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
            db = Db(url, lambda: None)
        else:
            from tests.backup.conftest import _pg_schema, drop_pg_schema

            request.getfixturevalue("pg_worker_url")  # skips when PostgreSQL is unreachable
            schema, url = _pg_schema(migrated=False)
            db = Db(url, lambda s=schema: drop_pg_schema(s))
        engine = make_engine(db.url)
        migrate.upgrade(engine)
        engine.dispose()
        made.append(db)
        return db

    try:
        yield new
    finally:
        for db in made:
            db.cleanup()


def build_centre(url: str, size: synthetic.Size, log_entries: int) -> Runtime:
    database = Database.from_url(url)
    clock = FrozenClock(synthetic.NOW)
    initialize(database, LOGIN, timezone=synthetic.TZ, clock=clock)
    with database.write() as session:
        synthetic.build(session, size)
    add_log(database, log_entries)
    return Runtime(Config(database_url=url), clock=clock, login=LOGIN, database=database)


def _target(url: str) -> Runtime:
    return Runtime(Config(database_url=url), clock=FrozenClock(synthetic.NOW), login=LOGIN)


def _traced(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak MiB of Python allocations during the call)."""
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
    finally:
        elapsed = time.perf_counter() - t0
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, elapsed, peak / 2**20


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process: the figure load on the box disturbs least)."""
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - t0, time.process_time() - c0


def _measure(
    new_db: Callable[[], Db], tmp: Path, size: synthetic.Size, log: int, label: str
) -> dict[str, float]:
    source = build_centre(new_db().url, size, log)
    out: dict[str, float] = {}
    try:
        exp, out["export_s"], out["export_cpu"] = _timed(
            lambda: export_backup(source, tmp / f"{label}-a", timestamp=False)
        )
        records = out["records"] = exp.records
        target = _target(new_db().url)
        res, out["import_s"], out["import_cpu"] = _timed(lambda: import_backup(target, exp.directory))
        assert res.restore and sum(c.created for c in res.counts) == records
        with target.read() as ctx:
            assert audit.verify(ctx.session).ok
        target.close()
        # The same again under tracemalloc (slower; only the peaks are used from these runs).
        _r, _s, out["export_peak_mib"] = _traced(
            lambda: export_backup(source, tmp / f"{label}-b", timestamp=False)
        )
        target2 = _target(new_db().url)
        _r, _s, out["import_peak_mib"] = _traced(lambda: import_backup(target2, exp.directory))
        target2.close()
    finally:
        source.close()
    return out


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_backup_benchmark(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    with databases(backend, tmp_path, request) as new_db:
        small = _measure(
            new_db,
            tmp_path,
            synthetic.Size(nodes=100, projects=40, cancelled=100, windows=240, outages=160, fees=60),
            20_000,
            "small",
        )
        large = _measure(new_db, tmp_path, synthetic.Size(), 100_000, "large")
    print(f"\nbackup benchmark on {backend} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for name, m in (("small", small), ("large", large)):
        print(
            f"  {name}: {int(m['records']):>7} records | export {m['export_s']:6.2f} s "
            f"(cpu {m['export_cpu']:5.2f} s, {m['records'] / m['export_s']:>6.0f} rec/s), "
            f"peak {m['export_peak_mib']:4.1f} MiB | import {m['import_s']:6.2f} s "
            f"(cpu {m['import_cpu']:5.2f} s, {m['records'] / m['import_s']:>6.0f} rec/s), "
            f"peak {m['import_peak_mib']:4.1f} MiB"
        )
    growth = large["records"] / small["records"]
    print(
        f"  records x{growth:.1f}: export peak x{large['export_peak_mib'] / small['export_peak_mib']:.2f}, "
        f"import peak x{large['import_peak_mib'] / small['import_peak_mib']:.2f}"
    )
    # Memory is bounded by a batch, not by the record count (generous margin for noise).
    assert large["export_peak_mib"] < 1.5 * small["export_peak_mib"] + 5
    assert large["import_peak_mib"] < 1.5 * small["import_peak_mib"] + 5
