"""One contender in the reservation race (importable, so spawned processes can run it too)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.errors import ConflictError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import reservations as svc

from tests.helpers import DEFAULT_NOW


def slots(n: int) -> list[tuple[str, int]]:
    """``n`` (start date, blocks) slots on one node that all overlap each other pairwise: they
    start within 4 days of each other and each lasts at least 6 days."""
    return [(date(2026, 3, 2 + i % 4).isoformat(), 14 - 2 * ((i // 4) % 2)) for i in range(n)]


def widen_race_window(delay: float) -> None:
    """Sleep right after the clash query, inside the transaction, so that without the node lock
    every contender would pass the check before any of them commits."""
    original = svc.find_clashes

    def slow(*args: Any, **kwargs: Any) -> list[Any]:
        found = original(*args, **kwargs)
        time.sleep(delay)
        return found

    svc.find_clashes = slow  # type: ignore[assignment]


def contend(runtime: Runtime, index: int, start_date: str, blocks: int) -> str:
    """Even contenders are members requesting, odd ones rental managers recording approved."""
    draft = svc.ReservationDraft("n1", "Climate", date.fromisoformat(start_date), blocks)
    try:
        with runtime.write() as ctx:
            if index % 2:
                svc.record_reservation(ctx, draft, approve=True)
            else:
                svc.request_reservation(ctx, draft)
    except ConflictError as exc:
        return "conflict" if "already booked" in str(exc) else f"other conflict: {exc}"
    except Exception as exc:  # reported, and the test fails on it
        return f"error: {type(exc).__name__}: {exc}"
    return "won"


def login_for(index: int) -> str:
    return "rmgr" if index % 2 else "carol"


def process_main(
    url: str, index: int, start_date: str, blocks: int, delay: float, barrier: Any, results: Any
) -> None:
    """Entry point of a spawned contender process: its own engine, same frozen clock."""
    widen_race_window(delay)
    runtime = Runtime(Config(database_url=url), clock=FrozenClock(DEFAULT_NOW), login=login_for(index))
    try:
        with runtime.read():
            pass  # connect and load settings before the start signal
        barrier.wait(timeout=60)
        results.put((index, contend(runtime, index, start_date, blocks)))
    finally:
        runtime.close()
