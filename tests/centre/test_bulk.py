"""Several reservations or windows at once (core/services/bulk.py): one transaction, all or
nothing, each change audited, a preview that lists every refusal. Both back ends."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.errors import ConflictError, PermissionDenied, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import bulk, projects
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.site import users
from nodedesk.core.services.views import activity

from tests.helpers import local, runtime_as


def _centre(runtime: Runtime) -> list[int]:
    """Four pending reservations on n1..n4 (02-20 16:00 → 02-21 09:00)."""
    with runtime.write() as ctx:
        users.add_user(ctx, "vic", "viewer")
        inventory.add_node_type(ctx, "A100", "GPU")
        projects.add_project(ctx, "Genomics", "admin")
        ids = []
        for i in range(1, 5):
            inventory.add_node(ctx, f"n{i}", "A100")
            draft = res.ReservationDraft(f"n{i}", "Genomics", date(2026, 2, 20), 2)
            ids.append(res.record_reservation(ctx, draft, waive_policy=True).reservation.id)
    return ids


def _statuses(runtime: Runtime, ids: list[int]) -> list[str]:
    with runtime.read() as ctx:
        return [res.get_reservation(ctx, i).status for i in ids]


def test_approve_several_in_one_transaction_each_audited(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        done = bulk.reservations(ctx, "approve", [ids[0], ids[1], ids[0]])  # a repeated id counts once
    assert [(i.id, i.before, i.after) for i in done.items] == [
        (ids[0], "pending", "approved"),
        (ids[1], "pending", "approved"),
    ]
    assert done.ok and _statuses(runtime, ids) == ["approved", "approved", "pending", "pending"]
    with runtime.read() as ctx:
        log = activity.list_activity(ctx, activity.ActivityQuery(action="reservation.approved")).items
    assert sorted(int(e.target_id) for e in log) == ids[:2]


def test_one_refusal_changes_nothing_and_names_the_item(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        res.cancel_reservation(ctx, ids[2])
    with pytest.raises(ValidationError) as refused, runtime.write() as ctx:
        bulk.reservations(ctx, "approve", ids)
    assert str(refused.value) == (
        f"status: reservation #{ids[2]}: reservation #{ids[2]} is cancelled; only a pending one can be "
        "approved; nothing was changed"
    )
    assert _statuses(runtime, ids) == ["pending", "pending", "cancelled", "pending"]
    with (
        pytest.raises(ValidationError, match=f"^reason: reservation #{ids[0]}: is required"),
        runtime.write() as ctx,
    ):
        bulk.reservations(ctx, "decline", ids[:2])
    with runtime.read() as ctx:
        assert activity.list_activity(ctx, activity.ActivityQuery(action="reservation.approved")).total == 0


def test_preview_lists_every_refusal_and_keeps_nothing(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        res.cancel_reservation(ctx, ids[1])
    with runtime.write(dry_run=True) as ctx:
        plan = bulk.reservations(ctx, "approve", [*ids, 999], preview=True)
    assert [(i.id, i.ok) for i in plan.items] == [
        (ids[0], True),
        (ids[1], False),
        (ids[2], True),
        (ids[3], True),
        (999, False),
    ]
    assert [i.problem for i in plan.refused] == [
        f"reservation #{ids[1]} is cancelled; only a pending one can be approved",
        "no reservation #999",
    ]
    assert (
        plan.refused[1].describe("America/New_York") == "reservation #999: refused: id: no reservation #999"
    )
    assert _statuses(runtime, ids) == ["pending", "cancelled", "pending", "pending"]
    with pytest.raises(ValidationError, match=f"^status: reservation #{ids[1]}: "):
        plan.raise_first()
    with runtime.write() as ctx, pytest.raises(RuntimeError, match="dry-run unit of work"):
        bulk.reservations(ctx, "approve", ids, preview=True)


def test_versions_from_the_preview_refuse_a_change_made_meanwhile(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write(dry_run=True) as ctx:
        plan = bulk.reservations(ctx, "cancel", ids[:2], reason="project ended", preview=True)
    with runtime.write() as ctx:  # someone approves one after the confirmation was shown
        res.approve_reservation(ctx, ids[1])
    with (
        pytest.raises(
            ConflictError,
            match=f"^version: reservation #{ids[1]}: reservation #{ids[1]} was changed by admin",
        ),
        runtime.write() as ctx,
    ):
        bulk.reservations(ctx, "cancel", ids[:2], reason="project ended", expected_versions=plan.versions())
    assert _statuses(runtime, ids[:2]) == ["pending", "approved"]


def test_permissions_and_limits(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime_as(runtime, "vic").write() as ctx, pytest.raises(PermissionDenied):
        bulk.reservations(ctx, "approve", ids)
    with runtime.write() as ctx:
        with pytest.raises(ValidationError, match="ids: give at least one reservation id"):
            bulk.reservations(ctx, "approve", [])
        with pytest.raises(ValidationError, match="ids: at most 500 reservations at once"):
            bulk.reservations(ctx, "approve", range(1, 502))
        with pytest.raises(ValidationError, match="action: must be one of approve, decline, cancel"):
            bulk.reservations(ctx, "delete", ids)


def test_delete_several_windows_with_their_impact(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        res.approve_reservation(ctx, ids[0])
        made = [
            windows.create_window(
                ctx, windows.WindowDraft(t, local(f"2026-02-2{d} 06:00"), local(f"2026-02-2{d} 08:00"))
            ).window.id
            for t, d in (("Patch", 1), ("Later", 5))
        ]
    with runtime.write(dry_run=True) as ctx:
        plan = bulk.delete_windows(ctx, made, preview=True)
    assert plan.ok and [len(i.impact) for i in plan.items] == [4, 0]  # 02-21 06:00-08:00 hits all four
    assert plan.items[0].impact[0].delta_hours == -2  # billable again
    with runtime.write() as ctx:
        done = bulk.delete_windows(ctx, made, expected_versions=plan.versions())
    assert [i.after for i in done.items] == ["deleted", "deleted"]
    with runtime.read() as ctx:
        assert windows.list_windows(ctx).total == 0
        assert activity.list_activity(ctx, activity.ActivityQuery(action="window.deleted")).total == 2
    with runtime_as(runtime, "vic").write() as ctx, pytest.raises(PermissionDenied):
        bulk.delete_windows(ctx, made)
