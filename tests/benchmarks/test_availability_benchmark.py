"""Benchmark: the Availability screen on the big centre (1,000 nodes, 100,000 windows and
outages, 200,000 reservations), at 80×24 (``pytest -m benchmark -s
tests/benchmarks/test_availability_benchmark.py``).

Measured in the real app (``App.run_test``) at the centre's "now" (mid-June 2026): the open
(``A`` until the visible rows are drawn), cursor moves inside the rows read so far (median of
20; the target is under 100 ms, and no read may start), a screen of nodes down (pgdn, which may
ask for the next block in the background), the last node (``end``: its block read), the next
days (``]``, read ahead), zooming into hours, and a node type. Wall and process CPU time are
printed with the machine's load; nothing about time is asserted. What is asserted: cursor moves
over rows already read start no read, and the screen never holds more than the blocks around
what it showed.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import create_app
from nodedesk.tui.features.availability.availability import AvailabilityScreen
from nodedesk.tui.features.availability.timeline_data import BLOCK
from textual.pilot import Pilot

from tests.benchmarks import bigcentre
from tests.benchmarks.bigcentre_url import centre_url
from tests.benchmarks.scale import painted, send_key, settled

pytestmark = pytest.mark.benchmark

MOVES = 20
TARGET_MS = 100


async def shown(pilot: Pilot, screen: AvailabilityScreen, timeout: float = 30.0) -> None:
    """Until the visible rows are read and drawn."""
    deadline = time.perf_counter() + timeout
    await painted(pilot)
    while not screen._visible_read():
        if time.perf_counter() > deadline:
            raise TimeoutError("the availability grid did not show its rows")
        await asyncio.sleep(0.002)
    await painted(pilot)


async def timed(pilot: Pilot, screen: AvailabilityScreen, key: str) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    send_key(pilot.app, key)  # type: ignore[arg-type]
    await shown(pilot, screen)
    return time.perf_counter() - t0, time.process_time() - c0


async def moves(pilot: Pilot, key: str, n: int = MOVES) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        send_key(pilot.app, key)  # type: ignore[arg-type]
        await painted(pilot)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


async def measure(url: str) -> list[tuple[str, tuple[float, float], int]]:
    runtime = Runtime(bigcentre.config(url), clock=FrozenClock(bigcentre.NOW), login=bigcentre.LOGIN)
    rows: list[tuple[str, tuple[float, float], int]] = []
    try:
        app = create_app(runtime)
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            t0, c0 = time.perf_counter(), time.process_time()
            send_key(app, "A")
            while not isinstance(app.screen, AvailabilityScreen):
                await asyncio.sleep(0.002)
            screen = app.screen
            await shown(pilot, screen)
            rows.append(
                ("open (A to the visible rows)", (time.perf_counter() - t0, time.process_time() - c0), 0)
            )
            await settled(pilot)  # the read-ahead lands

            for key in ("down", "right", "up", "left"):
                before = screen.reads
                rows.append(
                    (f"cursor {key} (median of {MOVES})", await moves(pilot, key), screen.reads - before)
                )
                assert screen.reads == before, f"a cursor move ({key}) over rows already read started a read"
            await settled(pilot)

            before = screen.reads
            rows.append(("a screen of nodes down, pgdn (median of 5)", await moves(pilot, "pagedown", 5), 0))
            await settled(pilot)
            rows[-1] = (rows[-1][0], rows[-1][1], screen.reads - before)
            for name, key in (
                ("last node, end (its block read)", "end"),
                ("the next days, ] (read ahead)", "right_square_bracket"),
                ("zoom into hours, +", "plus"),
                ("back to days, -", "minus"),
                ("node type, t", "t"),
            ):
                before = screen.reads
                rows.append((name, await timed(pilot, screen, key), screen.reads - before))
                await settled(pilot)
            held = sum(len(b.rows) for loaded in screen.cache.values() for b in loaded.blocks.values())
            print(f"\nrows held in {len(screen.cache)} cached views: {held}")
            for loaded in screen.cache.values():  # the blocks around what was shown, never all
                total = loaded.total or 0
                if total > 4 * BLOCK:
                    assert len(loaded.blocks) * BLOCK < total, f"a view of {total} nodes read every block"
    finally:
        runtime.close()
    return rows


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_availability_benchmark(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url, source, cleanup = centre_url(backend, request)
    try:
        load_before = os.getloadavg()
        rows = asyncio.run(measure(url))
        load_after = os.getloadavg()
    finally:
        if cleanup is not None:
            cleanup()
    size = bigcentre.Size()
    print(
        f"\navailability screen on {backend} at 80x24: {size.nodes} nodes, {size.windows + size.outages} "
        f"windows and outages, {size.reservations} reservations ({source})\nmachine: {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in load_before)} before, "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after\n"
    )
    head = f"{'measurement':<46} {'wall':>8} {'cpu':>8} {'reads':>6}"
    print(head + "\n" + "-" * len(head))
    for name, (wall, cpu), reads in rows:
        mark = "" if not name.startswith("cursor") else ("  met" if wall * 1000 < TARGET_MS else "  MISSED")
        print(f"{name:<46} {wall * 1000:>5.1f} ms {cpu * 1000:>5.1f} ms {reads:>6}{mark}")
    print(f"(cursor moves: target < {TARGET_MS} ms each, no read)")
