"""Benchmark: migrating a synthetic ORCD export of 5,000 reservations, then computing its month.

The export is written in the plugin's own format by tests/orcd/exportgen.py (``big_centre``):
5,000 two-block reservations in March 2027 on 200 GPU nodes, 400 users, 200 projects with
members and splits, 200 account maintenance fees, weekly maintenance windows. Run with
``.venv/bin/python -m pytest -m benchmark -s tests/benchmarks/test_orcd_benchmark.py`` (or
``make bench``). It prints, per back end: reading and verifying the export, the migration (one
transaction), the month's invoice (median of 3) and the comparison with the plugin's own figures
for that month, each with wall and CPU seconds and the machine's load. For scale: the plugin's
invoice API needs about 20 s for a 5,000-reservation month on this machine.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nodedesk.core.backup.importer import prepare_target
from nodedesk.core.clock import FrozenClock
from nodedesk.core.orcd.compare import compare_invoice
from nodedesk.core.orcd.export import read_export
from nodedesk.core.orcd.migrator import migrate_orcd
from nodedesk.core.orcd.plugin_model import plugin_invoice
from nodedesk.core.orcd.source import read_source
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoices

from tests.backup.conftest import make_runtime
from tests.conftest import BACKENDS
from tests.orcd.conftest import new_database
from tests.orcd.exportgen import big_centre

pytestmark = pytest.mark.benchmark
RESERVATIONS = 5000
PERIOD = "2027-03"
NOW = datetime(2027, 4, 10, 15, 0, tzinfo=UTC)


@contextmanager
def timed(label: str, figures: dict[str, tuple[float, float]]) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    figures[label] = (time.perf_counter() - wall, time.process_time() - cpu)


def median_of(n: int, fn: Callable[[], Any]) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), min(cpus)


@pytest.fixture(params=BACKENDS)
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    with new_database(request, request.param, tmp_path) as url:
        rt = make_runtime(url, FrozenClock(NOW))
        yield rt
        rt.close()


def test_migrate_5000_reservations_and_their_month(blank: Runtime, tmp_path: Path) -> None:
    figures: dict[str, tuple[float, float]] = {}
    with timed("write the export (plugin format)", figures):
        folder = big_centre(RESERVATIONS).write(tmp_path / "export")
    prepare_target(blank)  # the schema, as for any new site (not part of the migration's figure)
    with timed("read and verify the export", figures):
        export = read_export(folder)
        source = read_source(export)
    with timed("migrate (one transaction)", figures):
        report = migrate_orcd(blank, export)
    assert report.kinds["reservations"].created == RESERVATIONS
    assert report.unaccounted() == []

    def month() -> invoices.Invoice:
        with blank.read() as ctx:
            return invoices.compute_invoice(ctx, PERIOD)

    figures["the month's invoice (median of 3)"] = median_of(3, month)
    inv = month()
    with timed("the plugin's month from the export (model)", figures):
        orcd = plugin_invoice(source, "America/New_York", PERIOD)
    with timed("compare it with nodedesk's, line by line", figures), blank.read() as ctx:
        result = compare_invoice(ctx, orcd)
    lines = sum(1 for _ in inv.lines())
    backend = blank.database.engine.dialect.name
    print(f"\nORCD migration, {backend}, load {os.getloadavg()[0]:.2f} (2 cores)")
    amount = inv.totals["amount"]
    print(f"  {report.read} records read, {report.created} created; {lines} invoice lines, {amount}")
    for label, (wall, cpu) in figures.items():
        print(f"  {label:45s} {wall:7.2f} s wall {cpu:7.2f} s cpu")
    summary = {code: str(v["lines"]) for code, v in result.summary().items()}
    print(f"  differences by cause: {summary}")
    print("  (the plugin's own invoice API: about 20 s for a 5,000-reservation month on this machine)")
