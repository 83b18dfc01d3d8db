"""THE concurrency test: contenders race to book overlapping slots on one node.

Exactly one wins, every other one gets a ConflictError naming the winner, and the database holds
no overlapping pending/approved pair afterwards. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest
from nodedesk.core.models import Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import reservations as svc
from sqlalchemy import func, select

from tests.helpers import runtime_as
from tests.rentals import race
from tests.rentals.support import overlapping_pairs, seed

THREADS = 8
PROCESSES = 6
DELAY = 0.05  # seconds each contender lingers after its clash check, inside its transaction


def _check(runtime: Runtime, outcomes: list[str], mode: str, backend: str) -> None:
    tally = Counter(outcomes)
    other = len(outcomes) - tally["won"] - tally["conflict"]
    print(
        f"\n[reservation race] back end={backend} mode={mode} attempts={len(outcomes)} "
        f"winners={tally['won']} conflicts={tally['conflict']} other={other}"
    )
    assert tally["won"] == 1, outcomes
    assert tally["conflict"] == len(outcomes) - 1, outcomes
    with runtime.read() as ctx:
        active = ctx.session.scalar(
            select(func.count(Reservation.id)).where(Reservation.status.in_(svc.ACTIVE))
        )
    assert active == 1
    assert overlapping_pairs(runtime) == 0


def test_threads_race_for_one_node(runtime: Runtime, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(runtime)
    original = svc.find_clashes
    monkeypatch.setattr(svc, "find_clashes", original)  # restored after the test
    race.widen_race_window(DELAY)
    slots = race.slots(THREADS)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = [""] * THREADS

    def run(i: int) -> None:
        contender = runtime_as(runtime, race.login_for(i))
        with contender.read():
            pass
        barrier.wait(timeout=30)
        outcomes[i] = race.contend(contender, i, *slots[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    _check(runtime, outcomes, "threads", backend)


def test_processes_race_for_one_node(runtime: Runtime, backend: str, database_url: str) -> None:
    seed(runtime)
    mp = multiprocessing.get_context("spawn")
    barrier = mp.Barrier(PROCESSES)
    results = mp.Queue()
    slots = race.slots(PROCESSES)
    procs = [
        mp.Process(target=race.process_main, args=(database_url, i, *slots[i], DELAY, barrier, results))
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    _check(runtime, [outcomes[i] for i in range(PROCESSES)], "processes", backend)
