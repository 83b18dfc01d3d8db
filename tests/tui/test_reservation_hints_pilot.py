"""Pilot tests of availability as you type in the reservation form at 80x24: whether the span is
free on the node, its next free start, other free nodes of its type, and ctrl+o putting one in
the node field (help/reservations.md "Availability as you type"). Seed: tests/tui/rentals_seed.py
plus A100 nodes node04..node07; node04 is rented 2026-03-04 16:00 → 03-05 09:00."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import reservations as res
from nodedesk.tui.app import create_app
from nodedesk.tui.features.reservations.reservation_form import ReservationFormScreen
from textual.pilot import Pilot
from textual.widgets import Input

from tests.helpers import local
from tests.tui.conftest import settle
from tests.tui.rentals_seed import Rentals, seed_rentals
from tests.tui.test_80x24_pilot import check_screen
from tests.tui.test_move_all_pilot import footer
from tests.tui.test_reservations_pilot import checked, open_section, text, type_into

SIZE = (80, 24)


@pytest.fixture
def rentals(runtime: Runtime) -> Rentals:
    seeded = seed_rentals(runtime)
    with runtime.write() as ctx:
        for name in ("node04", "node05", "node06", "node07"):
            inventory.add_node(ctx, name, "A100")
        res.record_reservation(
            ctx,
            res.ReservationDraft("node04", "Climate", date(2026, 3, 4), 2),
            approve=True,
            waive_policy=True,
        )
    return seeded


async def open_form(pilot: Pilot) -> ReservationFormScreen:
    await open_section(pilot)
    await pilot.press("n")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, ReservationFormScreen)
    return form


async def type_draft(pilot: Pilot, node: str, start_date: str, blocks: str) -> None:
    """Node, project Climate, start date and blocks, as if typed."""
    for field, value in (
        ("node", node),
        ("project", "Climate"),
        ("start_date", start_date),
        ("blocks", blocks),
    ):
        await type_into(pilot, f"#{field}", value)


def node_value(pilot: Pilot) -> str:
    return pilot.app.screen.query_one("#node", Input).value


async def test_a_busy_node_shows_its_next_free_start_and_other_free_nodes(
    runtime: Runtime, rentals: Rentals
) -> None:
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await type_draft(pilot, "node04", "2026-03-04", "2")
        check = await checked(pilot)
        assert "✗ Conflict: node04 is already booked then" in check
        assert "◷ Next free start on node04: Thu 5 Mar 2026 16:00 (start date 2026-03-05)" in check
        assert "○ Also free then (A100): node01, node02, node05 · ctrl+o puts one in" in check
        assert "^o Other node" in footer(pilot)
        assert [p for p in check_screen(pilot, "reservation form") if "top bar" not in p] == []

        # Free on another date: no next start, and the other free nodes still named.
        await type_into(pilot, "#start_date", "2026-03-06")
        check = await checked(pilot)
        assert "✓ node04 is free then." in check and "Next free start" not in check
        assert "○ Also free then (A100): node01, node02, node05" in check


async def test_ctrl_o_puts_the_other_free_nodes_in_turn(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        await type_draft(pilot, "node04", "2026-03-04", "2")
        await checked(pilot)
        seen = []
        for _ in range(5):
            await pilot.press("ctrl+o")
            check = await checked(pilot)
            seen.append(node_value(pilot))
            assert f"✓ {seen[-1]} is free then." in check
        # Each press the next free A100 node, never the busy one, then round again.
        assert seen == ["node01", "node02", "node05", "node06", "node01"]
        assert "node04" not in text(app, "#check").split("Also free then")[1]

        # Typing a node by hand starts over.
        await type_into(pilot, "#node", "node04")
        await checked(pilot)
        await pilot.press("ctrl+o")
        await checked(pilot)
        assert node_value(pilot) == "node01"
        await pilot.press("ctrl+s")
        await settle(pilot)
        with runtime.read() as ctx:
            saved = [r for r in res.list_reservations(ctx).items if r.start == local("2026-03-04 16:00")]
        assert sorted(r.node for r in saved) == ["node01", "node04"]  # saved on the node ctrl+o put in


async def test_no_other_free_node_hides_the_key(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot)
        # Feb 20 16:00 → Feb 21 09:00: 'Kernel patch' takes every node down 06:00–08:00.
        await type_draft(pilot, "node01", "2026-02-20", "2")
        check = await checked(pilot)
        assert "○ No other A100 node is free for the whole span." in check
        assert "◷ Next free start on node01: Sat 21 Feb 2026 16:00 (start date 2026-02-21)" in check
        assert "^o Other node" not in footer(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert node_value(pilot) == "node01"
