"""Benchmark: the least-impact slot finder on the big centre (1,000 nodes, 200,000 reservations,
100,000 windows and outages; :mod:`tests.benchmarks.bigcentre`).

Run with ``.venv/bin/python -m pytest -m benchmark -s tests/benchmarks/test_suggest_benchmark.py``.
The target is under a second for two weeks on every node (help/windows.md): the data is read
once and one sweep judges every quarter hour, then the impact preview runs for the returned
candidates only. Printed: median and best wall time, the process CPU time of the median run,
the SQL statements and the answer; figures are printed, never asserted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.context import ServiceContext
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import suggest

from tests.benchmarks import bigcentre
from tests.benchmarks.bigcentre_url import centre_url
from tests.benchmarks.test_centre_benchmark import _measure

pytestmark = pytest.mark.benchmark

TARGET_MS = 1000


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_suggest_benchmark(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url, source, cleanup = centre_url(backend, request)
    runtime = Runtime(bigcentre.config(url), clock=FrozenClock(bigcentre.NOW), login=bigcentre.LOGIN)
    now = bigcentre.NOW
    two_weeks = (now, now + timedelta(days=14))
    cases: list[tuple[str, Callable[[ServiceContext], suggest.Suggestion]]] = [
        ("12 h, every node, 14 days", lambda c: suggest.suggest(c, "12h", *two_weeks)),
        (
            "12 h, every node, 14 days, 06:00-18:00 mon-fri",
            lambda c: suggest.suggest(c, "12h", *two_weeks, between="06:00-18:00", weekdays="mon-fri"),
        ),
        ("4 h, H200 nodes, 14 days", lambda c: suggest.suggest(c, "4h", *two_weeks, node_types=("H200",))),
        ("2 h, one node, 14 days", lambda c: suggest.suggest(c, "2h", *two_weeks, nodes=("n0007",))),
        (
            "12 h, every node, 60 days, count 20",
            lambda c: suggest.suggest(c, "12h", now, now + timedelta(days=60), count=20),
        ),
    ]
    load_before = os.getloadavg()
    rows = []
    try:
        for name, work in cases:
            median, best, cpu, statements, found = _measure(runtime, work)
            top = found.candidates[0] if found.candidates else None
            what = (
                f"{found.considered} starts; best {top.not_billed} {top.impact.currency}, {top.hours:.1f} h"
                if top
                else "no start"
            )
            rows.append((name, median, best, cpu, statements, what))
    finally:
        if cleanup is not None:
            cleanup()
    load_after = os.getloadavg()
    size = bigcentre.Size()
    print(
        f"\nsuggest benchmark on {backend}: {size.nodes} nodes, {size.reservations} reservations, "
        f"{size.windows + size.outages} windows and outages ({source})\nmachine: {os.cpu_count()} CPUs, "
        f"load {' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after; target < {TARGET_MS} ms\n"
    )
    print(f"{'case':<50} {'median':>8} {'best':>8} {'cpu':>8} {'sql':>5}  answer")
    for name, median, best, cpu, statements, what in rows:
        flag = "" if median < TARGET_MS else "  (over target)"
        print(f"{name:<50} {median:>6.0f}ms {best:>6.0f}ms {cpu:>6.0f}ms {statements:>5}  {what}{flag}")
