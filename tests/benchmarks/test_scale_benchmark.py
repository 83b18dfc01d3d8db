"""Benchmark: the app on a big centre (``make bench``, or ``pytest -m benchmark -s
tests/benchmarks/test_scale_benchmark.py``).

The centre (:mod:`tests.benchmarks.bigcentre`): 1,000 nodes, 100,000 windows and outages,
200,000 reservations, 50,000 activity entries over four years. On SQLite it is built once
(~30 s) and cached under ``$XDG_CACHE_HOME/nodedesk-bench``; on PostgreSQL it is loaded into a
fresh schema each run. The figures (:mod:`tests.benchmarks.scale`) are printed as a table with the
targets (``scale.TARGETS``) and the figures before the last round of speed work
(``scale.BEFORE``): first frame < 0.5 s, dashboard loaded < 0.6 s, every section's open, later
visit and filter < 0.25 s, the calendar's busy month < 0.4 s, every key < 30 ms.
Wall-clock figures depend on the machine's load (printed with them); the CPU column (all threads
of the process) is what load disturbs least. Timings are reported, not asserted; what is
asserted is that no table ever holds more than one page of rows.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tests.benchmarks import bigcentre, scale

pytestmark = pytest.mark.benchmark


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_scale_benchmark(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    t0 = time.perf_counter()
    cleanup = None
    if backend == "sqlite":
        path, built = bigcentre.cached_sqlite()
        url = scale.prepare(path, tmp_path)
        source = f"{'built' if built else 'cached'} {path}"
    else:
        from tests.backup.conftest import _pg_schema, drop_pg_schema

        request.getfixturevalue("pg_worker_url")  # skips when PostgreSQL is unreachable
        schema, url = _pg_schema(migrated=False)
        cleanup = lambda: drop_pg_schema(schema)  # noqa: E731
        bigcentre.build(url)
        scale.register_login(url)
        source = f"built in schema {schema}"
    prepared = time.perf_counter() - t0
    try:
        load_before = os.getloadavg()
        report = scale.Report(backend=backend)
        asyncio.run(scale.measure_app(url, report, filter_text="Cooling", node="n0007"))
        try:
            scale.measure_cold(url, report)
        except (RuntimeError, TimeoutError) as exc:  # the in-app figures are still worth printing
            report.notes.append(f"cold start not measured: {exc}")
        load_after = os.getloadavg()
    finally:
        if cleanup is not None:
            cleanup()
    size = bigcentre.Size()
    print(
        f"\nscale benchmark on {backend}: {size.nodes} nodes, {size.windows + size.outages} windows and "
        f"outages, {size.reservations} reservations, {size.activity} activity entries ({source}, "
        f"ready in {prepared:.0f} s)\nmachine: {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after\n"
    )
    print(report.table())
    missed = [f.name for f in report.figures if not f.ok]
    print(f"\ntargets missed: {len(missed)} of {sum(1 for f in report.figures if f.target)}")
    assert report.max_rows_held <= report.page_size, "a screen held more than a page of rows"
