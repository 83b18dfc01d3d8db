"""The keyed, hash-chained activity log (help/audit.md) on SQLite and PostgreSQL.

What verification detects:
- an edited field of any entry (its keyed hash no longer matches);
- an edited entry whose hash was recomputed without the key (it fails its keyed check, and the
  next entry's ``prev_hash`` no longer links);
- a deleted entry in the middle (sequence gap and broken link);
- removing the newest entries (the anchor outside the database records the head).
The attacks themselves, one by one, are in tests/trust/test_audit_chain.py.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from nodedesk.core import audit
from nodedesk.core.clock import SystemClock
from nodedesk.core.config import Config
from nodedesk.core.errors import ValidationError
from nodedesk.core.models import ActivityEntry
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.site import users
from nodedesk.core.services.views import activity
from sqlalchemy import select, text

from tests.helpers import local


def entries(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.read() as ctx:
        rows = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq)).all()
        return [
            {
                "seq": e.seq,
                "action": e.action,
                "actor": e.actor,
                "real_user": e.real_user,
                "target": (e.target_type, e.target_id, e.target_label),
                "before": json.loads(e.before_json),
                "after": json.loads(e.after_json),
                "reason": e.reason,
                "clock_frozen": e.clock_frozen,
            }
            for e in rows
        ]


def verify(runtime: Runtime, batch: int = 2000) -> audit.VerifyResult:
    with runtime.read() as ctx:
        return audit.verify(ctx.session, ctx.seal, batch=batch)


def raw(runtime: Runtime, sql: str, **params: object) -> None:
    with runtime.database.engine.begin() as conn:
        conn.execute(text(sql), params)


def populate(runtime: Runtime) -> None:
    """A handful of entries (init already wrote two)."""
    with runtime.write() as ctx:
        users.add_user(ctx, "bob", "rental_manager")
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "a1", "A100")
        svc.create_window(ctx, svc.WindowDraft("Plan", local("2026-02-20 08:00"), local("2026-02-20 12:00")))


# ---------------------------------------------------------------- verification


def test_fresh_chain_verifies(runtime: Runtime) -> None:
    populate(runtime)
    result = verify(runtime)
    assert result.ok and result.problems == []
    assert result.checked == 6
    assert [e["seq"] for e in entries(runtime)] == [1, 2, 3, 4, 5, 6]
    # streaming in small batches gives the same answer
    assert verify(runtime, batch=2) == result


def test_entries_link_to_predecessor(runtime: Runtime) -> None:
    populate(runtime)
    with runtime.read() as ctx:
        rows = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq)).all()
        assert rows[0].prev_hash == audit.GENESIS_HASH
        for prev, cur in itertools.pairwise(rows):
            assert cur.prev_hash == prev.hash
        key = ctx.seal.require_key()
        assert all(e.hash_scheme == audit.KEYED_SCHEME and audit.entry_mac(key, e) == e.hash for e in rows)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("reason", "nothing to see here"),
        ("actor", "mallory"),
        ("action", "window.deleted"),
        ("after_json", '{"title":"Other"}'),
        ("clock_frozen", False),
    ],
)
def test_edited_entry_detected(runtime: Runtime, column: str, value: object) -> None:
    populate(runtime)
    raw(runtime, f"UPDATE activity_log SET {column} = :v WHERE seq = 4", v=value)
    result = verify(runtime)
    assert not result.ok
    assert any("#4" in p and "altered" in p for p in result.problems), result.problems


def test_edited_time_detected(runtime: Runtime) -> None:
    populate(runtime)
    with runtime.write() as ctx:
        entry = ctx.session.scalar(select(ActivityEntry).where(ActivityEntry.seq == 3))
        assert entry is not None
        entry.occurred_at = local("2026-01-01 00:00")
    result = verify(runtime)
    assert not result.ok and any("#3" in p for p in result.problems)


def test_edited_entry_with_recomputed_hash_detected_by_successor(runtime: Runtime) -> None:
    populate(runtime)
    with runtime.write() as ctx:
        entry = ctx.session.scalar(select(ActivityEntry).where(ActivityEntry.seq == 3))
        assert entry is not None
        entry.reason = "forged"
        entry.hash = audit.entry_hash(entry)  # a forger without the key recomputes a plain hash
    result = verify(runtime)
    assert not result.ok and result.first_bad == 3
    assert any("#4" in p and "chain broken" in p for p in result.problems), result.problems


def test_deleted_middle_entry_detected(runtime: Runtime) -> None:
    populate(runtime)
    raw(runtime, "DELETE FROM activity_log WHERE seq = 3")
    result = verify(runtime)
    assert not result.ok
    assert result.checked == 5
    assert any("#3" in p and "missing" in p for p in result.problems), result.problems
    assert any("#4" in p and "chain broken" in p for p in result.problems)


def test_deleted_first_entry_detected(runtime: Runtime) -> None:
    populate(runtime)
    raw(runtime, "DELETE FROM activity_log WHERE seq = 1")
    result = verify(runtime)
    assert not result.ok and any("#1" in p and "missing" in p for p in result.problems)


def test_deleted_last_entry_is_detected_by_the_anchor(runtime: Runtime) -> None:
    populate(runtime)
    raw(runtime, "DELETE FROM activity_log WHERE seq = 6")
    result = verify(runtime)
    assert not result.ok and result.checked == 5 and result.first_bad == 6
    assert any("truncated" in p for p in result.problems), result.problems


def test_verify_service_requires_registered_user_and_reports(runtime: Runtime) -> None:
    populate(runtime)
    raw(runtime, "UPDATE activity_log SET target_label = 'x' WHERE seq = 2")
    with runtime.read() as ctx:
        result = activity.verify(ctx)
    assert not result.ok and len(result.problems) == 1


# ---------------------------------------------------------------- what gets written


WriteFn = Callable[[Any], object]


def _window(ctx: Any) -> int:
    return svc.create_window(
        ctx, svc.WindowDraft("Plan", local("2026-02-20 08:00"), local("2026-02-20 12:00"))
    ).window.id


WRITES: list[tuple[str, WriteFn, bool, bool]] = [
    # (action, write, has before, has after)
    ("user.created", lambda ctx: users.add_user(ctx, "dave", "viewer"), False, True),
    # keeps a role bob already has (regression: used to violate the unique (user, role) key)
    ("user.roles_changed", lambda ctx: users.set_roles(ctx, "bob", "viewer,rental_manager"), True, True),
    ("user.updated", lambda ctx: users.update_user(ctx, "bob", full_name="Bob B"), True, True),
    ("node_type.created", lambda ctx: inventory.add_node_type(ctx, "H100", "GPU"), False, True),
    ("node.created", lambda ctx: inventory.add_node(ctx, "a2", "A100"), False, True),
    ("node.updated", lambda ctx: inventory.update_node(ctx, "a1", rentable=False), True, True),
    ("window.created", _window, False, True),
]


@pytest.mark.parametrize(("action", "write", "has_before", "has_after"), WRITES, ids=[w[0] for w in WRITES])
def test_each_service_write_creates_exactly_one_entry(
    runtime: Runtime, action: str, write: WriteFn, has_before: bool, has_after: bool
) -> None:
    populate(runtime)
    before = entries(runtime)
    with runtime.write() as ctx:
        write(ctx)
    after = entries(runtime)
    assert after[: len(before)] == before  # append-only: nothing earlier changed
    assert len(after) == len(before) + 1
    entry = after[-1]
    assert entry["action"] == action
    assert entry["actor"] == entry["real_user"] == "admin"
    assert (entry["before"] is not None) == has_before
    assert (entry["after"] is not None) == has_after
    if has_before and has_after:
        assert entry["before"] != entry["after"]
    assert verify(runtime).ok


def test_window_lifecycle_entries(runtime: Runtime) -> None:
    populate(runtime)
    n = len(entries(runtime))
    with runtime.write() as ctx:
        wid = _window(ctx)
    with runtime.write() as ctx:
        svc.update_window(ctx, wid, svc.WindowChanges(title="Plan B"))
    with runtime.write() as ctx:
        svc.delete_window(ctx, wid)
    new = entries(runtime)[n:]
    assert [e["action"] for e in new] == ["window.created", "window.updated", "window.deleted"]
    created, updated, deleted = new
    assert created["before"] is None and created["after"]["title"] == "Plan"
    assert created["after"]["start"] == "2026-02-20T08:00:00-05:00"
    assert updated["before"]["title"] == "Plan" and updated["after"]["title"] == "Plan B"
    assert deleted["before"]["title"] == "Plan B"
    assert {e["target"][:2] for e in new} == {("window", str(wid))}


def test_refused_and_dry_run_writes_leave_no_entry(runtime: Runtime) -> None:
    populate(runtime)
    before = entries(runtime)
    with pytest.raises(ValidationError), runtime.write() as ctx:
        users.add_user(ctx, "bob", "viewer")  # already exists
    with runtime.write(dry_run=True) as ctx:
        users.add_user(ctx, "erin", "viewer")
    assert entries(runtime) == before


def test_clock_frozen_recorded(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        users.add_user(ctx, "frozen", "viewer")
    assert entries(runtime)[-1]["clock_frozen"] is True
    live = Runtime(
        Config(database_url=runtime.config.database_url, private_dir=runtime.config.site_dir),
        clock=SystemClock(),
        login="admin",
        database=runtime.database,
    )
    with live.write() as ctx:
        users.add_user(ctx, "live", "viewer")
    assert entries(runtime)[-1]["clock_frozen"] is False
    assert verify(runtime).ok


def test_init_entries(runtime: Runtime) -> None:
    first, second = entries(runtime)[:2]
    assert first["action"] == "site.initialized"
    assert first["after"]["timezone"] == "America/New_York"
    assert second["action"] == "user.created" and second["after"]["roles"] == ["admin"]


def test_activity_listing(runtime: Runtime) -> None:
    populate(runtime)
    with runtime.read() as ctx:
        page = activity.list_activity(ctx, activity.ActivityQuery(limit=2))
        assert page.total == 6 and [e.seq for e in page.items] == [6, 5]  # newest first
        by_prefix = activity.list_activity(ctx, activity.ActivityQuery(action="node"))
        assert by_prefix.total == 0  # exact match unless the filter ends with '.'
        by_prefix = activity.list_activity(ctx, activity.ActivityQuery(action="node."))
        assert {e.action for e in by_prefix.items} == {"node.created"}
        win = activity.list_activity(ctx, activity.ActivityQuery(target="window:1"))
        assert [e.action for e in win.items] == ["window.created"]
        doc = win.items[0].to_json("America/New_York")
        assert doc["time"] == "2026-02-15T10:00:00-05:00"
        assert doc["clock_frozen"] is True
