"""Benchmark: what the live console's change feed costs on a big centre.

Run with ``.venv/bin/python -m pytest -m benchmark -s tests/benchmarks/test_feed_benchmark.py``.
Every open console reads the activity log's head once a second (core/changes.py): one indexed
query for the newest entry. This reads it many times over the big centre's 50,000 entries
(each read in its own read unit, as the poller does) and prints the median and 95th percentile,
and the cost of naming what changed after a hundred new entries. Figures are printed, not
asserted; what is asserted is that a read touches the index, not the table.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nodedesk.core import changes
from nodedesk.core.db.engine import Database
from nodedesk.core.models import ActivityEntry
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.benchmarks import bigcentre
from tests.benchmarks.bigcentre_url import centre_url

pytestmark = pytest.mark.benchmark

READS = 2_000


def _timed(database: Database, work: Callable[[Session], Any], n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        with database.read() as session:
            work(session)
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times) * 1e3, times[int(n * 0.95)] * 1e3


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_change_feed_benchmark(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url, _source, cleanup = centre_url(backend, request)
    database = Database.from_url(url)
    try:
        with database.read() as session:
            now = changes.head(session)
            older = session.execute(
                select(ActivityEntry.hash).where(ActivityEntry.seq == now.seq - 100)
            ).scalar()
            if backend == "sqlite":
                plan = session.execute(
                    text("EXPLAIN QUERY PLAN SELECT seq, hash FROM activity_log ORDER BY seq DESC LIMIT 1")
                ).all()
                assert "INDEX" in " ".join(str(row[-1]) for row in plan)
        assert now.seq >= bigcentre.Size().activity
        seen = changes.ChangeHead(now.seq - 100, older or "")
        load = os.getloadavg()
        head_median, head_p95 = _timed(database, changes.head, READS)
        kinds_median, kinds_p95 = _timed(database, lambda s: changes.kinds_between(s, seen, now), READS // 10)
    finally:
        database.dispose()
        if cleanup is not None:
            cleanup()
    print(
        f"\nchange feed on {backend}, {now.seq} activity entries, load {load[0]:.2f}:\n"
        f"  head (each poll, read unit included): median {head_median:.3f} ms, p95 {head_p95:.3f} ms\n"
        f"  kinds of the last 100 entries (once a change is seen): median {kinds_median:.3f} ms, "
        f"p95 {kinds_p95:.3f} ms"
    )
