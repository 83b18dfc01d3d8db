"""The change feed (core/changes.py) on both back ends: the head moves iff data changed."""

from __future__ import annotations

from nodedesk.core import changes
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.nodes import inventory

from tests.helpers import local


def head(runtime: Runtime) -> changes.ChangeHead:
    with runtime.read() as ctx:
        return changes.head(ctx.session)


def test_the_head_moves_with_each_change_and_names_what_changed(runtime: Runtime) -> None:
    start = head(runtime)
    assert start.seq > 0 and len(start.hash) == 64  # initializing the site wrote entries
    assert head(runtime) == start  # reading changes nothing
    with runtime.read() as ctx:
        svc.list_windows(ctx, svc.WindowQuery())
    assert head(runtime) == start
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "node01", "A100")
    middle = head(runtime)
    with runtime.write() as ctx:
        draft = svc.WindowDraft("Kernel patch", local("2026-02-21 06:00"), local("2026-02-21 08:00"))
        svc.create_window(ctx, draft)
    now = head(runtime)
    assert start < middle < now and now.seq == middle.seq + 1
    with runtime.read() as ctx:
        assert changes.changed_since(ctx.session, start.seq) == {"node_type", "node", "window"}
        assert changes.changed_since(ctx.session, middle.seq) == {"window"}
        assert changes.changed_since(ctx.session, now.seq) == set()
        assert changes.kinds_between(ctx.session, middle, now) == {"window"}
        assert changes.kinds_between(ctx.session, now, now) == frozenset()
        assert changes.kinds_between(ctx.session, changes.EMPTY, now) >= {"window", "node"}


def test_a_replaced_log_means_everything_changed(runtime: Runtime) -> None:
    seen = head(runtime)
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
    with runtime.read() as ctx:
        assert changes.kinds_between(ctx.session, seen, changes.head(ctx.session)) == {"node_type"}
    forged = changes.ChangeHead(seen.seq, "0" * 64)  # what a restored log's entry looks like to us
    gone = changes.ChangeHead(seen.seq + 50, "f" * 64)  # a head the log no longer reaches
    with runtime.read() as ctx:
        now = changes.head(ctx.session)
        assert changes.kinds_between(ctx.session, forged, now) == {changes.EVERYTHING}
        assert changes.kinds_between(ctx.session, gone, now) == {changes.EVERYTHING}


def test_many_entries_since_a_head_read_as_everything(runtime: Runtime) -> None:
    seen = head(runtime)
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        for i in range(3):
            inventory.add_node(ctx, f"node{i:02d}", "A100")
    with runtime.read() as ctx:
        assert changes.changed_since(ctx.session, seen.seq, limit=4) == {"node_type", "node"}
        assert changes.changed_since(ctx.session, seen.seq, limit=3) == {changes.EVERYTHING}
