"""Maintenance windows service (help/windows.md) on SQLite and PostgreSQL.

The ``runtime`` fixture is an America/New_York site acting as ``admin`` with a FrozenClock at
2026-02-15 10:00 local; tests move that clock to put windows exactly on their boundaries.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from nodedesk.core import audit
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import (
    ConflictError,
    LockedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from nodedesk.core.models import (
    ActivityEntry,
    InvoicePeriod,
    MaintenanceWindow,
    Node,
    Project,
    Reservation,
    User,
)
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.downtime.windows import Scope, WindowChanges, WindowDraft, WindowQuery
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.site import users
from sqlalchemy import select

from tests.helpers import local, runtime_as

# ---------------------------------------------------------------- helpers


def add_users(runtime: Runtime, **roles: str) -> None:
    with runtime.write() as ctx:
        for name, role in roles.items():
            users.add_user(ctx, name, role)


def add_inventory(runtime: Runtime) -> None:
    """Types A100 (nodes a1, a2) and EPYC (node c1)."""
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node_type(ctx, "EPYC", "CPU")
        for name, nt in (("a1", "A100"), ("a2", "A100"), ("c1", "EPYC")):
            inventory.add_node(ctx, name, nt)


def create(runtime: Runtime, title: str, start: str, end: str, *, reason: str = "", **kw) -> svc.WindowView:  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        return svc.create_window(
            ctx, WindowDraft(title, local(start), local(end), **kw), reason=reason
        ).window


def get(runtime: Runtime, window_id: int) -> svc.WindowView:
    with runtime.read() as ctx:
        return svc.get_window(ctx, window_id)


def update(runtime: Runtime, window_id: int, **kw) -> svc.SaveResult:  # type: ignore[no-untyped-def]
    opts = {k: kw.pop(k) for k in ("expected_version", "correction", "reason") if k in kw}
    with runtime.write() as ctx:
        return svc.update_window(ctx, window_id, WindowChanges(**kw), **opts)


def delete(runtime: Runtime, window_id: int, **kw) -> svc.DeleteResult:  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        return svc.delete_window(ctx, window_id, **kw)


def audit_count(runtime: Runtime) -> int:
    with runtime.read() as ctx:
        return audit.count(ctx.session)


def last_entry(runtime: Runtime) -> ActivityEntry:
    """The newest activity entry, detached with its values loaded."""
    with runtime.read() as ctx:
        entry = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq.desc()).limit(1)).one()
        ctx.session.expunge(entry)
        return entry


def snapshot(runtime: Runtime) -> list[dict[str, object]]:
    """Every window as JSON, plus the audit length: 'nothing changed' means this is equal."""
    with runtime.read() as ctx:
        items = svc.list_windows(ctx, WindowQuery(limit=1000)).items
        return [w.to_json("UTC") for w in items] + [{"audit": audit.count(ctx.session)}]


def set_now(clock: FrozenClock, text: str) -> None:
    clock.set(local(text))


# ---------------------------------------------------------------- create and validate


def test_create_defaults_and_view(runtime: Runtime) -> None:
    w = create(runtime, "  Firmware  ", "2026-02-20 08:00", "2026-02-20 20:00", description="BIOS")
    assert w.title == "Firmware"  # trimmed
    assert w.description == "BIOS"
    assert w.status == "upcoming" and not w.locked and not w.backdated
    assert w.scope.all_nodes and w.scope.label() == "all nodes"
    assert w.created_by == w.modified_by == "admin"
    assert w.version == 1
    assert w.duration == timedelta(hours=12)
    assert len(w.uuid) == 36 and isinstance(w.id, int)
    doc = w.to_json("America/New_York")
    assert doc["start"] == "2026-02-20T08:00:00-05:00"
    assert doc["duration_hours"] == "12.00"
    assert get(runtime, w.id) == w


@pytest.mark.parametrize(
    ("title", "ok"),
    [("x", True), ("x" * 200, True), ("", False), ("   ", False), ("x" * 201, False), ("bad\x1b[31m", False)],
)
def test_title_rules(runtime: Runtime, title: str, ok: bool) -> None:
    if ok:
        assert create(runtime, title, "2026-02-20 08:00", "2026-02-20 09:00").title == title
        return
    before = snapshot(runtime)
    with pytest.raises(ValidationError) as err:
        create(runtime, title, "2026-02-20 08:00", "2026-02-20 09:00")
    assert err.value.field == "title"
    assert snapshot(runtime) == before


@pytest.mark.parametrize("end", ["2026-02-20 08:00", "2026-02-20 07:59"])
def test_end_must_be_after_start(runtime: Runtime, end: str) -> None:
    with pytest.raises(ValidationError) as err:
        create(runtime, "Empty", "2026-02-20 08:00", end)
    assert err.value.field == "end"
    assert "after the start" in str(err.value)


def test_naive_datetimes_refused(runtime: Runtime) -> None:
    with runtime.write() as ctx, pytest.raises(ValidationError) as err:
        svc.create_window(ctx, WindowDraft("Naive", datetime(2026, 2, 20, 8), local("2026-02-20 09:00")))
    assert err.value.field == "start"


def test_scope_nodes_and_types(runtime: Runtime) -> None:
    add_inventory(runtime)
    w = create(
        runtime, "Scoped", "2026-02-20 08:00", "2026-02-20 09:00", scope=Scope(("c1", "a1", "a1"), ("A100",))
    )
    assert not w.scope.all_nodes
    assert w.scope.nodes == ("a1", "c1")  # de-duplicated, ordered by name
    assert w.scope.node_types == ("A100",)
    assert w.scope.label() == "A100, a1, c1"
    # scope can be changed back to all nodes
    res = update(runtime, w.id, scope=Scope())
    assert res.window.scope.all_nodes


@pytest.mark.parametrize(
    ("scope", "field"), [(Scope(("nope",)), "node"), (Scope((), ("NOPE",)), "node_type")]
)
def test_unknown_scope_refused(runtime: Runtime, scope: Scope, field: str) -> None:
    add_inventory(runtime)
    before = snapshot(runtime)
    with pytest.raises(NotFoundError) as err:
        create(runtime, "Scoped", "2026-02-20 08:00", "2026-02-20 09:00", scope=scope)
    assert err.value.field == field
    assert snapshot(runtime) == before


def test_dry_run_saves_nothing(runtime: Runtime) -> None:
    before = snapshot(runtime)
    with runtime.write(dry_run=True) as ctx:
        res = svc.create_window(ctx, WindowDraft("Dry", local("2026-02-20 08:00"), local("2026-02-20 09:00")))
        assert res.window.title == "Dry"
    assert snapshot(runtime) == before


# ---------------------------------------------------------------- derived status and boundaries


def test_status_at_boundaries() -> None:
    s, e = local("2026-02-20 08:00"), local("2026-02-20 09:00")
    tick = timedelta(microseconds=1)
    assert svc.status_at(s, e, s - tick) == "upcoming"
    assert svc.status_at(s, e, s) == "in_progress"  # starting exactly now
    assert svc.status_at(s, e, e - tick) == "in_progress"
    assert svc.status_at(s, e, e) == "completed"  # ending exactly now


def test_window_starting_exactly_now_is_in_progress_and_locked(runtime: Runtime, clock: FrozenClock) -> None:
    w = create(runtime, "Boundary", "2026-02-20 08:00", "2026-02-20 12:00")
    set_now(clock, "2026-02-20 08:00")
    v = get(runtime, w.id)
    assert v.status == "in_progress" and v.locked
    assert "only its end may move" in v.lock_reason("America/New_York")
    for changes in ({"title": "New"}, {"description": "x"}, {"start": local("2026-02-20 09:00")}):
        with pytest.raises(LockedError) as err:
            update(runtime, w.id, **changes)
        assert err.value.field == next(iter(changes))
    with pytest.raises(LockedError):
        delete(runtime, w.id)
    # its end may move, to any instant >= now
    res = update(runtime, w.id, end=local("2026-02-20 14:00"))
    assert res.window.end == local("2026-02-20 14:00")
    assert last_entry(runtime).action == "window.end_moved"


def test_in_progress_end_moves(runtime: Runtime, clock: FrozenClock) -> None:
    w = create(runtime, "Overrun", "2026-02-20 08:00", "2026-02-20 12:00")
    set_now(clock, "2026-02-20 10:00")
    before = snapshot(runtime)
    with pytest.raises(LockedError) as err:
        update(runtime, w.id, end=local("2026-02-20 09:59"))  # history before now is never rewritten
    assert err.value.field == "end"
    assert snapshot(runtime) == before
    # finished early: end moved to exactly now -> completed
    res = update(runtime, w.id, end=local("2026-02-20 10:00"))
    assert res.window.status == "completed"
    # a form that re-sends unchanged fields alongside the new end is accepted
    w2 = create(runtime, "Form", "2026-02-20 10:30", "2026-02-20 12:00")
    set_now(clock, "2026-02-20 11:00")
    res = update(runtime, w2.id, title="Form", start=w2.start, scope=Scope(), end=local("2026-02-20 13:00"))
    assert res.window.end == local("2026-02-20 13:00")
    assert res.window.title == "Form"


def test_window_ending_exactly_now_is_completed_and_locked(runtime: Runtime, clock: FrozenClock) -> None:
    w = create(runtime, "Done", "2026-02-20 08:00", "2026-02-20 12:00")
    set_now(clock, "2026-02-20 12:00")
    v = get(runtime, w.id)
    assert v.status == "completed" and v.locked
    before = snapshot(runtime)
    for changes in ({"title": "New"}, {"end": local("2026-02-20 13:00")}):
        with pytest.raises(LockedError) as err:
            update(runtime, w.id, **changes)
        assert err.value.field == "window"
        assert "completed" in str(err.value)
    with pytest.raises(LockedError):
        delete(runtime, w.id)
    assert snapshot(runtime) == before


def test_upcoming_fully_editable_and_deletable(runtime: Runtime, clock: FrozenClock) -> None:
    add_inventory(runtime)
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    set_now(clock, "2026-02-20 07:59")  # one minute before start: still upcoming
    res = update(
        runtime,
        w.id,
        title="Plan B",
        description="moved",
        start=local("2026-02-21 08:00"),
        end=local("2026-02-21 10:00"),
        scope=Scope(("a1",)),
        expected_version=1,
    )
    v = res.window
    assert (v.title, v.description, v.start, v.end, v.scope.nodes) == (
        "Plan B",
        "moved",
        local("2026-02-21 08:00"),
        local("2026-02-21 10:00"),
        ("a1",),
    )
    assert v.version == 2 and v.status == "upcoming"
    entry = last_entry(runtime)
    assert entry.action == "window.updated"
    res = delete(runtime, w.id, expected_version=2)
    assert res.window.id == w.id
    with pytest.raises(NotFoundError) as err:
        get(runtime, w.id)
    assert err.value.field == "id"


def test_update_needs_a_change_and_an_existing_window(runtime: Runtime) -> None:
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    with pytest.raises(ValidationError) as err:
        update(runtime, w.id)
    assert err.value.field == "changes"
    with pytest.raises(NotFoundError):
        update(runtime, 9999, title="x")
    with pytest.raises(NotFoundError):
        delete(runtime, 9999)
    with pytest.raises(ValidationError) as err:
        update(runtime, w.id, end=local("2026-02-20 08:00"))
    assert err.value.field == "end"


# ---------------------------------------------------------------- backdating


def test_backdated_creation_needs_a_reason(runtime: Runtime) -> None:
    before = snapshot(runtime)
    with pytest.raises(ValidationError) as err:
        create(runtime, "Late entry", "2026-02-14 08:00", "2026-02-14 12:00")
    assert err.value.field == "start"
    assert "reason" in str(err.value)
    with pytest.raises(ValidationError):
        create(runtime, "Late entry", "2026-02-14 08:00", "2026-02-14 12:00", reason="   ")
    assert snapshot(runtime) == before
    w = create(runtime, "Late entry", "2026-02-14 08:00", "2026-02-14 12:00", reason="forgot to log it")
    assert w.backdated and w.status == "completed"
    entry = last_entry(runtime)
    assert entry.action == "window.backdated"
    assert entry.reason == "forgot to log it"
    assert entry.target_id == str(w.id)


def test_window_starting_exactly_now_is_not_backdated(runtime: Runtime) -> None:
    w = create(runtime, "Now", "2026-02-15 10:00", "2026-02-15 11:00")
    assert not w.backdated and w.status == "in_progress"
    assert last_entry(runtime).action == "window.created"


def test_moving_an_upcoming_window_into_the_past_backdates_it(runtime: Runtime) -> None:
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    with pytest.raises(ValidationError) as err:
        update(runtime, w.id, start=local("2026-02-15 09:00"))
    assert err.value.field == "start"
    res = update(runtime, w.id, start=local("2026-02-15 09:00"), reason="it really started earlier")
    assert res.window.backdated and res.window.status == "in_progress"
    assert last_entry(runtime).action == "window.backdated"


def finalize(runtime: Runtime, period: str) -> None:
    now = runtime.clock_for("America/New_York").now()
    with runtime.write() as ctx:
        ctx.session.add(
            InvoicePeriod(
                period=period,
                status="finalized",
                finalized_by="admin",
                finalized_at=now,
                created_at=now,
                created_by="admin",
                modified_at=now,
                modified_by="admin",
            )
        )


def test_backdated_window_into_finalized_month_refused(runtime: Runtime) -> None:
    finalize(runtime, "2026-01")
    before = snapshot(runtime)
    with pytest.raises(LockedError) as err:
        create(runtime, "Old", "2026-01-31 20:00", "2026-02-01 04:00", reason="late")
    assert "2026-01" in str(err.value)
    assert snapshot(runtime) == before
    # a backdated window entirely in the open month is fine
    assert create(runtime, "Recent", "2026-02-01 00:00", "2026-02-01 04:00", reason="late").backdated


# ---------------------------------------------------------------- admin corrections


def test_admin_correction_of_completed_window(runtime: Runtime) -> None:
    w = create(runtime, "Old", "2026-02-10 08:00", "2026-02-10 12:00", reason="late")
    res = update(
        runtime,
        w.id,
        end=local("2026-02-10 14:00"),
        title="Old (fixed)",
        correction=True,
        reason="ran 2h longer",
    )
    assert res.window.end == local("2026-02-10 14:00") and res.window.title == "Old (fixed)"
    entry = last_entry(runtime)
    assert entry.action == "window.corrected"
    assert entry.reason == "ran 2h longer"
    assert '"2026-02-10T12:00:00+00:00"' not in entry.before_json  # stored in site-time ISO
    assert "2026-02-10T12:00:00-05:00" in entry.before_json
    assert "2026-02-10T14:00:00-05:00" in entry.after_json
    assert '"title":"Old"' in entry.before_json and '"title":"Old (fixed)"' in entry.after_json


def test_correction_needs_reason_and_admin(runtime: Runtime) -> None:
    add_users(runtime, bob="rental_manager")
    w = create(runtime, "Old", "2026-02-10 08:00", "2026-02-10 12:00", reason="late")
    before = snapshot(runtime)
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as err:
            update(runtime, w.id, title="x", correction=True, reason=reason)
        assert err.value.field == "reason"
        with pytest.raises(ValidationError):
            delete(runtime, w.id, correction=True, reason=reason)
    bob = runtime_as(runtime, "bob")
    with pytest.raises(PermissionDenied):
        update(bob, w.id, title="x", correction=True, reason="because")
    with pytest.raises(PermissionDenied):
        delete(bob, w.id, correction=True, reason="because")
    assert snapshot(runtime) == before
    # the admin may delete it as a correction
    res = delete(runtime, w.id, correction=True, reason="duplicate entry")
    assert res.window.id == w.id
    entry = last_entry(runtime)
    assert (entry.action, entry.reason) == ("window.deleted", "duplicate entry")
    assert '"correction":true' in entry.after_json


def test_correction_flags_finalized_month_as_drifted(runtime: Runtime) -> None:
    w = create(runtime, "January work", "2026-01-20 08:00", "2026-01-20 12:00", reason="late")
    finalize(runtime, "2026-01")
    # ordinary edits cannot touch it (completed), corrections can and flag drift
    res = update(runtime, w.id, end=local("2026-01-20 13:00"), correction=True, reason="log said 13:00")
    assert res.drifted_months == ["2026-01"]
    with runtime.read() as ctx:
        period = ctx.session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == "2026-01"))
        assert period is not None and period.drifted
        assert "log said 13:00" in period.drift_note
    # a correction entirely in an open month flags nothing
    w2 = create(runtime, "February work", "2026-02-10 08:00", "2026-02-10 12:00", reason="late")
    assert update(runtime, w2.id, title="Feb", correction=True, reason="typo").drifted_months == []


# ---------------------------------------------------------------- re-check at save time


def test_recheck_at_save_time(runtime: Runtime, clock: FrozenClock) -> None:
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    set_now(clock, "2026-02-20 07:55")
    opened = get(runtime, w.id)  # the form opens: upcoming, fully editable
    assert opened.status == "upcoming"
    set_now(clock, "2026-02-20 08:01")  # ...the window starts while the form is open
    before = snapshot(runtime)
    with pytest.raises(LockedError) as err:
        update(runtime, w.id, title="Renamed", expected_version=opened.version)
    assert "in progress" in str(err.value)
    with pytest.raises(LockedError):
        delete(runtime, w.id, expected_version=opened.version)
    assert snapshot(runtime) == before
    assert get(runtime, w.id).title == "Plan"


# ---------------------------------------------------------------- optimistic locking


def test_second_save_of_stale_version_refused(runtime: Runtime, clock: FrozenClock) -> None:
    add_users(runtime, bob="rental_manager")
    bob = runtime_as(runtime, "bob")
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    mine, theirs = get(runtime, w.id), get(bob, w.id)
    assert mine.version == theirs.version == 1
    set_now(clock, "2026-02-15 10:05")
    first = update(runtime, w.id, title="Admin's title", expected_version=mine.version)
    assert first.window.version == 2
    before = snapshot(runtime)
    with pytest.raises(ConflictError) as err:
        update(bob, w.id, description="Bob's note", expected_version=theirs.version)
    message = str(err.value)
    assert "admin" in message and "2026-02-15 10:05 -05:00" in message
    assert "since you opened it" in message
    with pytest.raises(ConflictError):
        delete(bob, w.id, expected_version=theirs.version)
    assert snapshot(runtime) == before  # nothing lost, nothing half-saved
    v = get(runtime, w.id)
    assert (v.title, v.description, v.version) == ("Admin's title", "", 2)
    # after reloading, bob's save goes through
    assert update(bob, w.id, description="Bob's note", expected_version=2).window.version == 3


def test_scope_only_change_moves_the_version(runtime: Runtime) -> None:
    """Same user, same frozen instant, only the scope tables change: the version must still move
    on, or a concurrent stale save would be accepted (regression test)."""
    add_inventory(runtime)
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00", scope=Scope(("a1",)))
    assert update(runtime, w.id, scope=Scope(("a2",)), expected_version=1).window.version == 2
    with pytest.raises(ConflictError):
        update(runtime, w.id, scope=Scope(("c1",)), expected_version=1)
    assert get(runtime, w.id).scope.nodes == ("a2",)


def test_concurrent_saves_race(runtime: Runtime) -> None:
    """Two transactions both pass the version check before either commits: the second one must
    still be refused with a ConflictError (not a crash) and nothing of it saved."""
    add_users(runtime, bob="rental_manager")
    bob = runtime_as(runtime, "bob")
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    a_flushed = threading.Event()
    errors: dict[str, BaseException] = {}

    def first() -> None:
        try:
            with runtime.write() as ctx:
                svc.update_window(ctx, w.id, WindowChanges(title="A"), expected_version=1)
                a_flushed.set()
                time.sleep(0.5)  # hold the transaction open while the second save starts
        except BaseException as exc:  # pragma: no cover - reported below
            errors["a"] = exc
            a_flushed.set()

    def second() -> None:
        a_flushed.wait(10)
        try:
            with bob.write() as ctx:
                svc.update_window(ctx, w.id, WindowChanges(description="B"), expected_version=1)
        except BaseException as exc:
            errors["b"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert "a" not in errors
    assert isinstance(errors.get("b"), ConflictError), errors.get("b")
    v = get(runtime, w.id)
    assert (v.title, v.description, v.version) == ("A", "", 2)
    with runtime.read() as ctx:
        assert audit.verify(ctx.session).ok


# ---------------------------------------------------------------- listing


def seed_list(runtime: Runtime) -> dict[str, int]:
    ids = {}
    ids["past"] = create(runtime, "Past PSU swap", "2026-02-10 08:00", "2026-02-10 10:00", reason="late").id
    ids["now"] = create(
        runtime, "Cooling inspection", "2026-02-15 09:00", "2026-02-15 13:00", reason="late"
    ).id
    ids["soon"] = create(runtime, "kernel patch", "2026-02-17 07:00", "2026-02-17 08:00").id
    ids["later"] = create(
        runtime, "Big power work", "2026-03-05 00:00", "2026-03-06 06:00", description="feed A 100% drained"
    ).id
    ids["touch"] = create(runtime, "Aa BIOS_rollout", "2026-02-17 08:00", "2026-02-17 09:00").id
    return ids


def listing(runtime: Runtime, **kw) -> svc.WindowPage:  # type: ignore[no-untyped-def]
    with runtime.read() as ctx:
        return svc.list_windows(ctx, WindowQuery(**kw))


def titles(page: svc.WindowPage) -> list[str]:
    return [w.title for w in page.items]


def test_list_sorting(runtime: Runtime) -> None:
    seed_list(runtime)
    by_start = ["Past PSU swap", "Cooling inspection", "kernel patch", "Aa BIOS_rollout", "Big power work"]
    assert titles(listing(runtime)) == by_start
    assert titles(listing(runtime, descending=True)) == by_start[::-1]
    assert titles(listing(runtime, sort="title")) == sorted(by_start, key=str.lower)
    assert titles(listing(runtime, sort="duration"))[-1] == "Big power work"
    assert titles(listing(runtime, sort="duration", descending=True))[:2] == [
        "Big power work",
        "Cooling inspection",
    ]
    assert titles(listing(runtime, sort="end"))[0] == "Past PSU swap"
    with pytest.raises(ValidationError) as err:
        listing(runtime, sort="colour")
    assert err.value.field == "sort"


def test_list_paging(runtime: Runtime) -> None:
    seed_list(runtime)
    everything = titles(listing(runtime))
    seen: list[str] = []
    for offset in range(0, 6, 2):
        page = listing(runtime, offset=offset, limit=2)
        assert page.total == 5
        assert len(page.items) == min(2, 5 - offset)
        seen += titles(page)
    assert seen == everything
    for bad in (0, 1001):
        with pytest.raises(ValidationError) as err:
            listing(runtime, limit=bad)
        assert err.value.field == "limit"


def test_list_status_filter(runtime: Runtime) -> None:
    ids = seed_list(runtime)
    assert [w.id for w in listing(runtime, status="completed").items] == [ids["past"]]
    assert [w.id for w in listing(runtime, status="in_progress").items] == [ids["now"]]
    assert [w.id for w in listing(runtime, status="upcoming").items] == [
        ids["soon"],
        ids["touch"],
        ids["later"],
    ]
    assert listing(runtime, status="upcoming").total == 3
    with pytest.raises(ValidationError) as err:
        listing(runtime, status="broken")
    assert err.value.field == "status"


def test_list_status_filter_at_boundaries(runtime: Runtime, clock: FrozenClock) -> None:
    """The SQL filter agrees with the derived status exactly at start and end."""
    ids = seed_list(runtime)
    set_now(clock, "2026-02-17 08:00")  # 'soon' ends and 'touch' starts exactly now
    for status in svc.STATUSES:
        page = listing(runtime, status=status)
        assert all(w.status == status for w in page.items)
    assert ids["soon"] in [w.id for w in listing(runtime, status="completed").items]
    assert ids["touch"] in [w.id for w in listing(runtime, status="in_progress").items]
    assert sum(listing(runtime, status=s).total for s in svc.STATUSES) == 5


def test_list_time_range_is_half_open(runtime: Runtime) -> None:
    ids = seed_list(runtime)
    # windows overlapping [Feb 17 08:00, Feb 17 09:00): 'soon' ends exactly at the start -> out
    page = listing(runtime, start_from=local("2026-02-17 08:00"), end_before=local("2026-02-17 09:00"))
    assert [w.id for w in page.items] == [ids["touch"]]
    # [.., Feb 17 08:00): 'touch' starts exactly at the end -> out
    page = listing(runtime, start_from=local("2026-02-17 07:00"), end_before=local("2026-02-17 08:00"))
    assert [w.id for w in page.items] == [ids["soon"]]
    assert listing(runtime, start_from=local("2026-03-01 00:00")).total == 1
    assert listing(runtime, end_before=local("2026-02-11 00:00")).total == 1


def test_list_text_filter(runtime: Runtime) -> None:
    ids = seed_list(runtime)
    assert [w.id for w in listing(runtime, text="KERNEL").items] == [ids["soon"]]  # case-insensitive
    assert [w.id for w in listing(runtime, text="100%").items] == [ids["later"]]  # description, literal %
    assert [w.id for w in listing(runtime, text="S_r").items] == [ids["touch"]]  # literal _
    assert listing(runtime, text="%").total == 1
    assert listing(runtime, text="admin").total == 5  # created_by
    assert listing(runtime, text="zzz").total == 0


# ---------------------------------------------------------------- identity and permissions


def test_viewer_cannot_create_edit_or_delete(runtime: Runtime) -> None:
    add_users(runtime, vic="viewer")
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    vic = runtime_as(runtime, "vic")
    before = snapshot(runtime)
    with pytest.raises(PermissionDenied) as err:
        create(vic, "Mine", "2026-02-21 08:00", "2026-02-21 09:00")
    assert "vic may not manage maintenance windows" in str(err.value)
    with pytest.raises(PermissionDenied):
        update(vic, w.id, title="x")
    with pytest.raises(PermissionDenied):
        delete(vic, w.id)
    assert snapshot(runtime) == before
    assert get(vic, w.id).title == "Plan"  # reading is fine


def test_rental_manager_manages_windows(runtime: Runtime) -> None:
    add_users(runtime, rita="rental_manager")
    rita = runtime_as(runtime, "rita")
    w = create(rita, "Rita's", "2026-02-20 08:00", "2026-02-20 12:00")
    assert w.created_by == "rita"
    assert update(rita, w.id, title="Rita's v2").window.modified_by == "rita"
    delete(rita, w.id)


def test_unregistered_login_refused_with_how_to_get_access(runtime: Runtime) -> None:
    stranger = runtime_as(runtime, "mallory")
    with pytest.raises(PermissionDenied) as err, stranger.read():
        pass
    assert "not registered" in str(err.value)
    assert "nodedesk user add mallory" in str(err.value)


def test_deactivated_user_refused(runtime: Runtime) -> None:
    add_users(runtime, bob="rental_manager")
    with runtime.write() as ctx:
        users.update_user(ctx, "bob", active=False)
    with pytest.raises(PermissionDenied), runtime_as(runtime, "bob").read():
        pass


def test_admin_impersonation_is_recorded(runtime: Runtime) -> None:
    add_users(runtime, bob="rental_manager")
    as_bob = runtime_as(runtime, "admin", override="bob")
    w = create(as_bob, "On behalf", "2026-02-20 08:00", "2026-02-20 12:00")
    assert w.created_by == "bob"
    entry = last_entry(runtime)
    assert (entry.actor, entry.real_user) == ("bob", "admin")
    # the impersonated user's roles apply, not the admin's
    with pytest.raises(PermissionDenied):
        update(as_bob, w.id, title="x", correction=True, reason="r")


def test_impersonation_refused_for_non_admins_and_unknown_targets(runtime: Runtime) -> None:
    add_users(runtime, bob="rental_manager")
    with pytest.raises(PermissionDenied) as err, runtime_as(runtime, "bob", override="admin").read():
        pass
    assert "NODEDESK_USER" in str(err.value)
    with pytest.raises(PermissionDenied), runtime_as(runtime, "admin", override="ghost").read():
        pass
    # overriding to yourself is not impersonation
    with runtime_as(runtime, "bob", override="bob").read() as ctx:
        assert ctx.actor.username == ctx.actor.real_user == "bob"


# ---------------------------------------------------------------- billing impact


def add_reservations(runtime: Runtime) -> dict[str, int]:
    """An approved reservation on a1, a pending one on c1 and a cancelled one on a2,
    all Feb 20 16:00 -> Feb 22 09:00 (41 h)."""
    add_inventory(runtime)
    now = runtime.clock_for("America/New_York").now()
    stamp = {"created_at": now, "created_by": "admin", "modified_at": now, "modified_by": "admin"}
    ids = {}
    with runtime.write() as ctx:
        owner = ctx.session.scalar(select(User).where(User.username == "admin"))
        project = Project(title="Protein folding", owner=owner, **stamp)
        ctx.session.add(project)
        for node_name, status in (("a1", "approved"), ("c1", "pending"), ("a2", "cancelled")):
            node = ctx.session.scalar(select(Node).where(Node.name == node_name))
            res = Reservation(
                node=node,
                project=project,
                requested_for="admin",
                start=local("2026-02-20 16:00"),
                end=local("2026-02-22 09:00"),
                blocks=4,
                status=status,
                **stamp,
            )
            ctx.session.add(res)
            ctx.session.flush()
            ids[node_name] = res.id
    return ids


def test_create_and_delete_impact(runtime: Runtime) -> None:
    ids = add_reservations(runtime)
    with runtime.write() as ctx:
        res = svc.create_window(
            ctx, WindowDraft("Fabric", local("2026-02-21 08:00"), local("2026-02-21 20:00"))
        )
    by_res = {line.reservation_id: line for line in res.impact}
    assert set(by_res) == {ids["a1"], ids["c1"]}  # cancelled reservations are not affected
    line = by_res[ids["a1"]]
    assert (line.downtime_before, line.downtime_after, line.delta_hours) == (0, 12, 12)
    assert line.node == "a1" and line.project == "Protein folding" and line.status == "approved"
    assert "12.00 h no longer billed" in line.describe("America/New_York")
    assert line.to_json("America/New_York")["delta_hours"] == "12.00"

    # an overlapping window: deleting the first gives back only the hours not covered by both
    create(runtime, "Overlap", "2026-02-21 06:00", "2026-02-21 10:00", scope=Scope((), ("A100",)))
    with runtime.read() as ctx:
        preview = svc.preview_delete(ctx, res.window.id)
    by_res = {line.reservation_id: line for line in preview.impact}
    a1 = by_res[ids["a1"]]
    assert (a1.downtime_before, a1.downtime_after) == (14, 4)
    assert a1.delta_hours == -10
    assert "10.00 h billable again" in a1.describe("America/New_York")
    assert by_res[ids["c1"]].delta_hours == -12  # the overlap window is not in c1's scope
    before = snapshot(runtime)
    assert snapshot(runtime) == before  # preview changed nothing
    deleted = delete(runtime, res.window.id)
    assert {line.reservation_id: line.delta_hours for line in deleted.impact} == {
        ids["a1"]: -10,
        ids["c1"]: -12,
    }


def test_impact_respects_scope_and_time(runtime: Runtime) -> None:
    ids = add_reservations(runtime)
    with runtime.write() as ctx:
        # only node a2 (whose reservation is cancelled): no impact
        res = svc.create_window(
            ctx,
            WindowDraft(
                "a2 only", local("2026-02-21 08:00"), local("2026-02-21 20:00"), scope=Scope(("a2",))
            ),
        )
        assert res.impact == []
        # touching the reservation end (half-open): no impact
        res = svc.create_window(
            ctx, WindowDraft("after", local("2026-02-22 09:00"), local("2026-02-22 12:00"))
        )
        assert res.impact == []
        # moving a window's end changes the impact by the moved hours only
        w = svc.create_window(
            ctx,
            WindowDraft(
                "EPYC", local("2026-02-21 08:00"), local("2026-02-21 10:00"), scope=Scope((), ("EPYC",))
            ),
        ).window
        moved = svc.update_window(ctx, w.id, WindowChanges(end=local("2026-02-21 13:00")))
        assert [(i.reservation_id, i.delta_hours) for i in moved.impact] == [(ids["c1"], 3)]


# ---------------------------------------------------------------- audit of window writes


def test_each_window_write_is_audited_once(runtime: Runtime, clock: FrozenClock) -> None:
    n = audit_count(runtime)
    w = create(runtime, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")
    assert audit_count(runtime) == n + 1
    update(runtime, w.id, title="Plan 2")
    assert audit_count(runtime) == n + 2
    entry = last_entry(runtime)
    assert '"title":"Plan"' in entry.before_json and '"title":"Plan 2"' in entry.after_json
    delete(runtime, w.id)
    assert audit_count(runtime) == n + 3
    assert last_entry(runtime).action == "window.deleted"
    with runtime.read() as ctx:
        assert ctx.session.scalar(select(MaintenanceWindow).where(MaintenanceWindow.id == w.id)) is None
        assert audit.verify(ctx.session).ok
