"""The race the stress run found on PostgreSQL: a change that passed its "month is open" check
commits just after a concurrent finalize took its snapshot, so the finalized invoice silently
differs from the live data. Finalize must wait for such a change (or the change must be refused).
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest
from nodedesk.core.errors import LockedError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services import drift, invoices
from nodedesk.core.services import reservations as rsv

from tests.helpers import runtime_as
from tests.stress import worker

LINGER = 0.6  # seconds the change waits between its check and its commit


def test_finalize_waits_for_a_change_that_checked_the_month(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker.seed(runtime, 2)
    original = drift.ensure_months_open

    def slow_check(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        if threading.current_thread().name == "change":
            time.sleep(LINGER)  # inside the transaction, after the check passed

    monkeypatch.setattr(drift, "ensure_months_open", slow_check)
    outcome: dict[str, object] = {}

    def change() -> None:
        try:
            with runtime_as(runtime, worker.login(1)).write() as ctx:
                draft = rsv.ReservationDraft("n1", worker.PROJECT, date(2026, 1, 12), 4)
                rsv.record_reservation(ctx, draft, approve=True, waive_policy=True)
            outcome["change"] = "committed"
        except LockedError:
            outcome["change"] = "refused"

    def finalize() -> None:
        with runtime_as(runtime, worker.login(0)).write() as ctx:
            invoices.finalize(ctx, worker.MONTH)
        outcome["finalize"] = "committed"

    first = threading.Thread(target=change, name="change")
    second = threading.Thread(target=finalize, name="finalize")
    first.start()
    time.sleep(LINGER / 3)  # the change has passed its check and is lingering
    second.start()
    first.join(30)
    second.join(30)
    assert outcome == {"change": "committed", "finalize": "committed"}
    with runtime.read() as ctx:
        check = invoices.verify(ctx, worker.MONTH)
    assert check.integrity_ok
    assert not check.items, [i.to_json() for i in check.items]  # the snapshot includes the change
