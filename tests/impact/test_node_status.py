"""Node status from the clock: outage > maintenance > rented > free, since when, what next."""

from __future__ import annotations

from nodedesk.core.clock import FrozenClock
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes.node_status import node_statuses
from sqlalchemy import event

from tests.billing.factory import Builder
from tests.helpers import local


def _site(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("alice")
        gen = b.project("Genomics", "alice")
        cli = b.project("Climate", "alice")
        n1, n2, n3 = b.node("n1"), b.node("n2"), b.node("n3")
        b.node("h1", "H100")
        b.reservation(n1, gen, "2026-02-20 16:00", "2026-02-22 09:00", blocks=4)
        b.reservation(n1, cli, "2026-02-22 09:00", "2026-02-23 09:00")  # back to back, other project
        b.reservation(n2, gen, "2026-02-20 16:00", "2026-02-21 09:00", status="pending")  # not rented
        b.window("Firmware", "2026-02-21 08:00", "2026-02-21 12:00", nodes=(n1, n2))
        b.window("Racks", "2026-02-21 11:00", "2026-02-21 14:00", types=(b.node_type("H100"),))
        b.outage("PSU", "2026-02-21 10:00", "2026-02-21 11:00", nodes=(n1,), credit=False)
        o = b.outage("Fan", "2026-02-21 13:00", None, nodes=(n3,))
        o.etr = local("2026-02-21 18:00")


def _at(runtime: Runtime, clock: FrozenClock, when: str) -> dict[str, object]:
    clock.set(local(when))
    with runtime.read() as ctx:
        return {s.node: s for s in node_statuses(ctx)}


def test_status_transitions_at_several_times(runtime: Runtime, clock: FrozenClock) -> None:
    _site(runtime)
    s = _at(runtime, clock, "2026-02-20 12:00")
    assert [(n, x.state) for n, x in s.items()] == [
        ("h1", "free"),
        ("n1", "free"),
        ("n2", "free"),
        ("n3", "free"),
    ]
    n1 = s["n1"]
    assert n1.since is None  # nothing before
    assert (n1.next_at, n1.next_state.state, n1.next_state.project) == (
        local("2026-02-20 16:00"),
        "rented",
        "Genomics",
    )

    s = _at(runtime, clock, "2026-02-21 07:00")
    n1 = s["n1"]
    assert (n1.state, n1.now.project, n1.since) == ("rented", "Genomics", local("2026-02-20 16:00"))
    assert n1.detail.startswith("Genomics (reservation #")
    assert (n1.next_at, n1.next_state.state) == (local("2026-02-21 08:00"), "maintenance")
    assert "'Firmware'" in n1.next_state.detail
    assert s["n2"].state == "free"  # a pending reservation does not rent the node

    s = _at(runtime, clock, "2026-02-21 10:30")  # outage (not credited) beats the window
    n1 = s["n1"]
    assert (n1.state, n1.since) == ("outage", local("2026-02-21 10:00"))
    assert "outage #" in n1.detail and "'PSU' (resolved)" in n1.detail
    assert (n1.next_at, n1.next_state.state) == (local("2026-02-21 11:00"), "maintenance")
    assert (s["n2"].state, s["n2"].since) == ("maintenance", local("2026-02-21 08:00"))
    assert (s["n2"].next_at, s["n2"].next_state.state) == (local("2026-02-21 12:00"), "free")

    s = _at(runtime, clock, "2026-02-21 11:30")
    assert (s["n1"].state, s["n1"].since) == ("maintenance", local("2026-02-21 11:00"))
    assert (s["h1"].state, s["h1"].since) == ("maintenance", local("2026-02-21 11:00"))  # by node type
    assert s["n1"].next_at == local("2026-02-21 12:00") and s["n1"].next_state.project == "Genomics"

    s = _at(runtime, clock, "2026-02-21 15:00")
    n1 = s["n1"]
    assert (n1.state, n1.since) == (
        "rented",
        local("2026-02-21 12:00"),
    )  # rented again since the window ended
    assert (n1.next_at, n1.next_state.project) == (local("2026-02-22 09:00"), "Climate")  # back to back
    n3 = s["n3"]
    assert (n3.state, n3.since, n3.next_at) == ("outage", local("2026-02-21 13:00"), None)
    assert "ETR 2026-02-21 18:00" in n3.detail
    assert n3.next_text("America/New_York") == "open outage, end unknown"
    assert (s["h1"].state, s["h1"].since, s["h1"].next_at) == ("free", local("2026-02-21 14:00"), None)
    assert s["h1"].next_text("America/New_York") == "no change scheduled"

    s = _at(runtime, clock, "2026-02-22 10:00")
    assert (s["n1"].state, s["n1"].now.project, s["n1"].since) == (
        "rented",
        "Climate",
        local("2026-02-22 09:00"),
    )
    doc = s["n1"].to_json("America/New_York")
    assert doc["status"] == "rented" and doc["project"] == "Climate"
    assert doc["since"] == "2026-02-22T09:00:00-05:00"
    assert doc["next_change"] == {
        "at": "2026-02-23T09:00:00-05:00",
        "state": "free",
        "detail": "",
        "project": None,
    }


def test_a_fixed_number_of_queries(runtime: Runtime, clock: FrozenClock) -> None:
    _site(runtime)
    clock.set(local("2026-02-21 10:30"))
    with runtime.write(dry_run=True) as ctx:
        count = [0]

        def counter(*_a) -> None:  # type: ignore[no-untyped-def]
            count[0] += 1

        bind = ctx.session.get_bind()
        event.listen(bind, "before_cursor_execute", counter)
        try:
            node_statuses(ctx)
            few = count[0]
            b = Builder(ctx.session, ctx.now())
            proj = b.project("More", "alice")
            for i in range(15):
                node = b.node(f"x{i:02d}")
                b.reservation(node, proj, "2026-02-20 16:00", "2026-02-22 09:00", blocks=4)
                b.window(f"w{i}", "2026-02-21 10:00", "2026-02-21 11:00", nodes=(node,))
            count[0] = 0
            many = node_statuses(ctx)
            assert count[0] == few
            assert sum(1 for s in many if s.state == "maintenance") == 16  # 15 new + n2
        finally:
            event.remove(bind, "before_cursor_execute", counter)
