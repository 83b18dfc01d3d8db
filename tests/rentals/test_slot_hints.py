"""Availability as a reservation is typed: free or not on the node, its next free start, other
free nodes of its type (core/services/rentals/slot_hints.py), on both back ends.

Site policy defaults: starts 16:00, blocks of 12 h, ends cut back to 09:00. Clock 2026-02-15."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.errors import NotFoundError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.nodes import inventory, node_lifecycle
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.rentals import slot_hints

from tests.helpers import local

D = date.fromisoformat


@pytest.fixture
def site(centre: Runtime) -> Runtime:
    """A100 nodes a1..a5 (a5 not rentable), H100 node h1. Genomics books a1 Mar 2 (2 blocks,
    16:00 → Mar 3 09:00, approved) and a2 Mar 2 (pending); a window takes a3 down Mar 2 18:00–20:00;
    h1 is free throughout."""
    with centre.write() as ctx:
        inventory.add_node_type(ctx, "H100", "GPU")
        for name in ("a1", "a2", "a3", "a4"):
            inventory.add_node(ctx, name, "A100")
        inventory.add_node(ctx, "a5", "A100", rentable=False)
        inventory.add_node(ctx, "h1", "H100")
        for node, approve in (("a1", True), ("a2", False)):
            res.record_reservation(
                ctx,
                res.ReservationDraft(node, "Genomics", D("2026-03-02"), 2),
                approve=approve,
                waive_policy=True,
            )
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Fan swap", local("2026-03-02 18:00"), local("2026-03-02 20:00"), scope=windows.Scope(("a3",))
            ),
        )
    return centre


def test_a_free_span_names_other_free_nodes_of_the_type(site: Runtime) -> None:
    with site.read() as ctx:
        h = slot_hints.slot_hints(ctx, "a4", D("2026-03-02"), 2)
    assert h.free and h.busy == () and h.next_start is None
    assert (h.span.start, h.span.end) == (local("2026-03-02 16:00"), local("2026-03-03 09:00"))
    assert h.node_type == "A100"
    assert h.others == ()  # a1 rented, a2 pending, a3 in maintenance, a5 not rentable


def test_a_busy_span_gives_the_next_free_start_and_the_free_nodes(site: Runtime) -> None:
    with site.read() as ctx:
        h = slot_hints.slot_hints(ctx, "a1", D("2026-03-02"), 2)
        pending = slot_hints.slot_hints(ctx, "a2", D("2026-03-02"), 2)
        before = slot_hints.slot_hints(ctx, "a2", D("2026-03-01"), 2)
        window = slot_hints.slot_hints(ctx, "a3", D("2026-03-02"), 1)
    assert not h.free and [s.kind for s in h.busy] == ["rented"]
    # Mar 3 16:00 would start after a1's reservation ends (Mar 3 09:00): the next free start.
    assert h.next_start == D("2026-03-03") and h.next_span is not None
    assert h.next_span.start == local("2026-03-03 16:00")
    assert h.others == ("a4",)
    assert not pending.free and [s.kind for s in pending.busy] == ["pending"]  # a booking would clash
    # Mar 1 16:00 → Mar 2 09:00 ends before every booking and the window: all are free then.
    assert before.free and before.others == ("a1", "a3", "a4")
    assert not window.free and [s.kind for s in window.busy] == ["maintenance"]
    assert window.next_start == D("2026-03-03")
    doc = h.to_json(ctx.tz)
    assert (
        doc["free"] is False and doc["next_start"] == "2026-03-03T16:00:00-05:00" and doc["others"] == ["a4"]
    )


def test_at_most_the_asked_number_of_other_nodes(site: Runtime) -> None:
    with site.write() as ctx:
        for i in range(6, 11):
            inventory.add_node(ctx, f"a{i}", "A100")
        h = slot_hints.slot_hints(ctx, "a1", D("2026-03-02"), 2)
        two = slot_hints.slot_hints(ctx, "a1", D("2026-03-02"), 2, alternatives=2)
    assert h.others == ("a10", "a4", "a6")  # by name, never the node itself, never another type
    assert two.others == ("a10", "a4")


def test_no_free_start_within_the_search(site: Runtime) -> None:
    with site.write() as ctx:
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Long rebuild",
                local("2026-03-01 00:00"),
                local("2026-05-30 00:00"),
                scope=windows.Scope(("h1",)),
            ),
        )
        h = slot_hints.slot_hints(ctx, "h1", D("2026-03-02"), 1, search_days=10)
    assert not h.free and h.next_start is None and h.searched_until == D("2026-03-12")
    assert h.others == ()


def test_a_retired_node_is_never_free(site: Runtime) -> None:
    with site.write() as ctx:
        node_lifecycle.retire_node(ctx, "a4")
        h = slot_hints.slot_hints(ctx, "a4", D("2026-03-09"), 1)
    assert not h.free and h.next_start is None and h.busy[0].kind == "retired"


def test_bad_input_is_one_line_naming_the_field(site: Runtime) -> None:
    with site.read() as ctx:
        with pytest.raises(NotFoundError) as err:
            slot_hints.slot_hints(ctx, "nope", D("2026-03-02"), 2)
        assert err.value.field == "node"
        with pytest.raises(ValidationError) as bad:
            slot_hints.slot_hints(ctx, "a1", D("2026-03-02"), 0)
        assert bad.value.field == "blocks"
