"""Benchmark: the whole-centre reads on the big centre (1,000 nodes, 100,000 windows and
outages, 200,000 reservations): the availability timeline, the free-slot query, the downtime
list, the node list and the reservations at risk.

Run with ``.venv/bin/python -m pytest -m benchmark -s tests/benchmarks/test_centre_benchmark.py``.
Each read runs in its own read unit of work, as the console's workers do, at the centre's "now"
(mid-June 2026). Printed: median and best wall time and the process CPU time of the median run
(the load on the machine disturbs CPU least), the number of SQL statements, and what was read.
Figures are printed, never asserted; what is asserted is that the statement count does not grow
with the number of nodes read (one query per kind of data).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.context import ServiceContext
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import at_risk, downtime_list
from nodedesk.core.services.nodes import availability
from nodedesk.core.services.nodes import node_lifecycle as nodes
from sqlalchemy import event

from tests.benchmarks import bigcentre
from tests.benchmarks.bigcentre_url import centre_url

pytestmark = pytest.mark.benchmark

RUNS = 7


def _measure(runtime: Runtime, work: Callable[[ServiceContext], Any]) -> tuple[float, float, float, int, Any]:
    """(median ms, best ms, cpu ms of a median-like run, statements, last result)."""
    engine = runtime.database.engine
    walls, cpus, statements, result = [], [], [0], None

    def log(*_a: object) -> None:
        statements[0] += 1

    for i in range(RUNS):
        if i == RUNS - 1:
            event.listen(engine, "before_cursor_execute", log)
        t, c = time.perf_counter(), time.process_time()
        with runtime.read() as ctx:
            result = work(ctx)
        walls.append((time.perf_counter() - t) * 1e3)
        cpus.append((time.process_time() - c) * 1e3)
    event.remove(engine, "before_cursor_execute", log)
    return statistics.median(walls), min(walls), statistics.median(cpus), statements[0], result


def _load(values: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in values)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_centre_benchmark(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url, source, cleanup = centre_url(backend, request)
    runtime = Runtime(bigcentre.config(url), clock=FrozenClock(bigcentre.NOW), login=bigcentre.LOGIN)
    now = bigcentre.NOW
    start, end = availability.day_range(
        (now - timedelta(days=3)).date(), (now + timedelta(days=10)).date(), bigcentre.TZ
    )
    load_before = os.getloadavg()
    rows: list[tuple[str, tuple[float, float, float, int, Any], str]] = []

    def run(name: str, work: Callable[[ServiceContext], Any], what: Callable[[Any], str]) -> Any:
        figures = _measure(runtime, work)
        rows.append((name, figures, what(figures[4])))
        return figures[4]

    try:
        whole = run(
            "timeline: 1,000 nodes x 14 days",
            lambda c: availability.timeline(c, availability.TimelineQuery(start, end)),
            lambda t: f"{len(t.rows)} nodes, {sum(len(r.segments) for r in t.rows)} segments",
        )
        days = availability.buckets(start, end, bigcentre.TZ)
        t0 = time.perf_counter()
        grid = [r.cells(days) for r in whole.rows]
        cells_ms = (time.perf_counter() - t0) * 1e3
        page = run(
            "timeline: a screen of 40 nodes x 14 days",
            lambda c: availability.timeline(c, availability.TimelineQuery(start, end, offset=480, limit=40)),
            lambda t: f"{len(t.rows)} of {t.total} nodes",
        )
        run(
            "timeline: next screen (moving down 40 nodes)",
            lambda c: availability.timeline(c, availability.TimelineQuery(start, end, offset=520, limit=40)),
            lambda t: f"{len(t.rows)} nodes",
        )
        one_day = availability.day_range(now.date(), now.date(), bigcentre.TZ)
        run(
            "timeline: 40 nodes x 24 hours (zoomed)",
            lambda c: availability.timeline(c, availability.TimelineQuery(*one_day, limit=40)),
            lambda t: f"{len(t.rows)} nodes",
        )
        run(
            "free: H200 nodes for 4 days",
            lambda c: availability.free_nodes(c, now + timedelta(days=1), now + timedelta(days=5), "H200"),
            lambda f: f.summary(),
        )
        run(
            "free: every node for 4 days",
            lambda c: availability.free_nodes(c, now + timedelta(days=1), now + timedelta(days=5)),
            lambda f: f.summary(),
        )
        run("node list (state now, 1,000 nodes)", nodes.list_nodes, lambda r: f"{len(r)} nodes")
        run(
            "node list: a page of 50 (state now)",
            lambda c: nodes.node_page(c, nodes.NodeQuery(offset=500, limit=50)),
            lambda p: f"{len(p.items)} of {p.total}",
        )
        run(
            "node list: free H200 nodes now",
            lambda c: nodes.list_nodes(c, nodes.NodeQuery(node_type="H200", state="free")),
            lambda r: f"{len(r)} nodes",
        )
        run(
            "downtime list: first page of 50",
            lambda c: downtime_list.list_downtime(c, downtime_list.DowntimeQuery(limit=50)),
            lambda p: f"{len(p.items)} of {p.total}",
        )
        run(
            "downtime list: now and upcoming, page of 50",
            lambda c: downtime_list.list_downtime(c, downtime_list.DowntimeQuery(phase="upcoming", limit=50)),
            lambda p: f"{len(p.items)} of {p.total}",
        )
        run(
            "downtime list: last page of 50 (from the end)",
            lambda c: downtime_list.list_downtime(c, downtime_list.DowntimeQuery(offset=99_950, limit=50)),
            lambda p: f"{len(p.items)} of {p.total}",
        )
        run(
            "reservations at risk, 7 days",
            at_risk.reservations_at_risk,
            lambda r: r.summary(),
        )
        load_after = os.getloadavg()
    finally:
        runtime.close()
        if cleanup is not None:
            cleanup()
    print(
        f"\ncentre benchmark on {backend} ({source}); {os.cpu_count()} CPUs, load "
        f"{_load(load_before)} before, {_load(load_after)} after"
    )
    print(f"{'read':<48} {'median ms':>10} {'best ms':>8} {'cpu ms':>7} {'SQL':>4}  result")
    for name, (median, best, cpu, statements, _r), what in rows:
        print(f"{name:<48} {median:>10.1f} {best:>8.1f} {cpu:>7.1f} {statements:>4}  {what}")
    print(
        f"{'cells: 1,000 nodes x 14 site days (in memory)':<48} {cells_ms:>10.1f}  "
        f"{sum(map(len, grid))} cells"
    )
    statements = {name: figures[3] for name, figures, _w in rows}
    assert (
        statements["timeline: a screen of 40 nodes x 14 days"]
        == statements["timeline: next screen (moving down 40 nodes)"]
    )
    assert (
        statements["timeline: 1,000 nodes x 14 days"]
        <= statements["timeline: a screen of 40 nodes x 14 days"] + 1
    )
    assert len(page.rows) == 40
