"""What an activity entry changed (core/services/activity_diff.py, help/activity.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core.errors import NotFoundError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.views import activity
from nodedesk.core.services.views.activity_diff import MISSING, diff, entry_changes, flatten

from tests.helpers import local


def test_changed_added_removed_with_dotted_paths() -> None:
    before = {"title": "Old", "scope": {"nodes": ["n1"], "all_nodes": False}, "etr": None, "n": 1}
    after = {"title": "New", "scope": {"nodes": ["n1", "n2"], "all_nodes": False}, "etr": "", "m": True}
    lines = [c.describe() for c in diff(before, after)]
    assert lines == [
        'title: "Old" → "New"',
        'scope.nodes: ["n1"] → ["n1", "n2"]',
        'etr: null → ""',
        "m: (none) → true",
        "n: 1 → (none)",
    ]
    assert [c.change for c in diff(before, after)] == ["changed", "changed", "changed", "added", "removed"]
    assert diff({"a": 1}, {"a": 1}) == [] and diff({"a": 1}, {"a": True})[0].describe() == "a: 1 → true"
    created = diff(None, {"id": 3, "parts": [{"code": "A", "percent": "60"}]})
    assert [c.describe() for c in created] == [
        "id: (none) → 3",
        'parts.0.code: (none) → "A"',
        'parts.0.percent: (none) → "60"',
    ]
    assert created[0].to_json() == {"field": "id", "change": "added", "before": None, "after": 3}


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=8,
)


@given(
    st.dictionaries(st.sampled_from("xyz"), _json, max_size=3),
    st.dictionaries(st.sampled_from("xyz"), _json, max_size=3),
)
def test_applying_the_changes_to_before_gives_after(before: dict, after: dict) -> None:  # type: ignore[type-arg]
    flat = flatten(before)
    for c in diff(before, after):
        if c.after is MISSING:
            del flat[c.path]
        else:
            flat[c.path] = c.after
    assert flat == flatten(after)


def test_real_entries_and_the_since_filter(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "n1", "A100")
        made = windows.create_window(
            ctx, windows.WindowDraft("Firmware", local("2026-02-20 08:00"), local("2026-02-20 12:00"))
        ).window
    clock.set(local("2026-02-16 09:00"))
    with runtime.write() as ctx:
        windows.update_window(
            ctx,
            made.id,
            windows.WindowChanges(title="BIOS", end=local("2026-02-20 14:00"), scope=windows.Scope(("n1",))),
        )
    with runtime.read() as ctx:
        (entry,) = activity.list_activity(ctx, activity.ActivityQuery(since=local("2026-02-16 00:00"))).items
        assert activity.get_activity(ctx, entry.seq) == entry
        with pytest.raises(NotFoundError, match="seq: no activity entry #999"):
            activity.get_activity(ctx, 999)
        older = activity.list_activity(
            ctx, activity.ActivityQuery(since=local("2026-02-15 10:00") - timedelta(seconds=1))
        )
    assert [c.describe() for c in entry_changes(entry)] == [  # stored documents keep sorted keys
        'end: "2026-02-20T12:00:00-05:00" → "2026-02-20T14:00:00-05:00"',
        "scope.all_nodes: true → false",
        'scope.nodes: [] → ["n1"]',
        'title: "Firmware" → "BIOS"',
    ]
    assert older.total == older.items[0].seq  # every entry of the site is from 02-15 10:00 on
