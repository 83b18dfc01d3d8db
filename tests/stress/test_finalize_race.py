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
from nodedesk.core.errors import ConflictError, LockedError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import drift, invoices
from nodedesk.core.services.rentals import reservations as rsv
from nodedesk.core.services.site import users

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


def test_a_change_holding_the_audit_lock_is_refused_not_deadlocked(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit of work that already wrote an audit entry (so it holds the chain's lock) and then
    touches the month being finalized: waiting would deadlock (finalize waits for the chain's
    lock to record its own entry), so it is refused with a conflict and finalize completes."""
    worker.seed(runtime, 2)
    original = invoices._live

    def slow_live(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "finalize":
            time.sleep(LINGER * 2)  # finalize holds the month while it computes
        return original(*args, **kwargs)

    monkeypatch.setattr(invoices, "_live", slow_live)
    outcome: dict[str, object] = {}

    def finalize() -> None:
        with runtime_as(runtime, worker.login(0)).write() as ctx:
            invoices.finalize(ctx, worker.MONTH)
        outcome["finalize"] = "committed"

    def two_steps() -> None:
        try:
            with runtime_as(runtime, worker.login(1)).write() as ctx:
                users.add_user(ctx, "newcomer", "viewer")  # an audit entry: holds the chain's lock
                draft = rsv.ReservationDraft("n2", worker.PROJECT, date(2026, 1, 20), 2)
                rsv.record_reservation(ctx, draft, approve=True, waive_policy=True)
            outcome["change"] = "committed"
        except ConflictError:
            outcome["change"] = "conflict"
        except LockedError:  # SQLite: it waited for the finalize to commit, then saw the month closed
            outcome["change"] = "locked"

    first = threading.Thread(target=finalize, name="finalize")
    second = threading.Thread(target=two_steps, name="change")
    first.start()
    time.sleep(LINGER / 2)
    second.start()
    first.join(30)
    second.join(30)
    expected = "conflict" if runtime.database.dialect == "postgresql" else "locked"
    assert outcome == {"finalize": "committed", "change": expected}
    with runtime.read() as ctx:
        check = invoices.verify(ctx, worker.MONTH)
        assert not check.items and check.integrity_ok
        assert users.list_users(ctx) and "newcomer" not in {u.username for u in users.list_users(ctx)}
