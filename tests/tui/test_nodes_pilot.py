"""Pilot tests of the Nodes section at 80x24: the list and its filters, adding a node, rentable
on/off, retiring with reservations ahead, a node's detail, who may change nodes, and the last
Slurm sync (help/nodes.md). Clock: 2026-02-15 10:00 New York; seed: tests/tui/rentals_seed.py."""

from __future__ import annotations

import pytest
from nodedesk.core.models import SlurmSyncRun
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import node_lifecycle as nodes
from nodedesk.core.services.rentals import reservations as res
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.nodes.node_detail import NodeDetailScreen
from nodedesk.tui.features.nodes.node_form import NodeFormScreen
from nodedesk.tui.features.nodes.node_retire import ReinstateNodeScreen, RetireNodeScreen
from nodedesk.tui.features.nodes.nodes import NodesScreen
from nodedesk.tui.kit.confirm import ConfirmScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.widgets import Input, RadioSet, Static

from tests.helpers import local, runtime_as
from tests.tui.conftest import notifications, settle
from tests.tui.rentals_seed import Rentals, seed_rentals

SIZE = (80, 24)


@pytest.fixture
def rentals(runtime: Runtime) -> Rentals:
    return seed_rentals(runtime)


def names(app: NodedeskApp) -> list[str]:
    t = app.screen.query_one(PagedTable)
    return [str(getattr(t.get_cell(row.key, "name"), "plain", "")) for row in t.ordered_rows]


def cell(app: NodedeskApp, node: str, column: str) -> str:
    t = app.screen.query_one(PagedTable)
    value = t.get_cell(node, column)
    return str(getattr(value, "plain", value))


def text_of(app: NodedeskApp, selector: str) -> str:
    box = app.screen.query_one(selector, Static)
    return str(box.render()) if box.display else ""



async def open_nodes(pilot: Pilot) -> NodesScreen:
    await settle(pilot)
    await pilot.press("N")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, NodesScreen)
    return screen


async def select(pilot: Pilot, node: str) -> None:
    t = pilot.app.screen.query_one(PagedTable)
    t.move_cursor(row=names(pilot.app).index(node))  # type: ignore[arg-type]
    await settle(pilot)


def node_row(runtime: Runtime, name: str) -> nodes.NodeRow:
    with runtime.read() as ctx:
        return nodes.get_node_row(ctx, name)


# ---------------------------------------------------------------- the list


async def test_n_opens_the_list_with_state_and_next_change_and_it_filters(runtime: Runtime) -> None:
    seed_rentals(runtime)
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        assert names(app) == ["node01", "node02", "node03"]
        assert cell(app, "node02", "state") == "✖ outage"
        assert cell(app, "node02", "next") == "expected back 2026-02-16 12:00"
        assert cell(app, "node01", "next") == "Feb 20 16:00 → ● rented by Protein Folding"
        assert [cell(app, n, "rentable") for n in ("node01", "node03")] == ["yes", "no"]
        assert "Nodes 1–3 of 3" in text_of(app, "#list-status")
        assert text_of(app, "#nodes-slurm") == ""  # no Slurm sync has run: nothing said

        await pilot.press("slash", *"node03")
        await pilot.pause(0.4)  # the filter is debounced
        await settle(pilot)
        assert names(app) == ["node03"]
        await pilot.press("enter", "escape")
        await settle(pilot)
        assert names(app) == ["node01", "node02", "node03"]

        await pilot.press("f")  # state: outage
        await settle(pilot)
        assert names(app) == ["node02"] and "state: ✖ outage" in text_of(app, "#list-status")
        await pilot.press("f")  # maintenance: none now
        await settle(pilot)
        assert names(app) == []
        await pilot.press("escape", "t")  # type: A100
        await settle(pilot)
        assert names(app) == ["node01", "node02", "node03"] and "type: A100" in text_of(app, "#list-status")


async def test_the_list_says_when_slurm_last_synced_and_the_detail_what_it_saw(runtime: Runtime) -> None:
    seed_rentals(runtime)
    with runtime.write() as ctx:
        ctx.session.add(
            SlurmSyncRun(
                started_at=local("2026-02-15 09:00"),
                finished_at=local("2026-02-15 09:01"),
                actor="admin",
                outcome="ok",
                summary_json='{"slurm_nodes": "node[01-03]", "pull": [{"node": "node02", "action": "open",'
                ' "outage": 1, "status": "opened", "slurm": {"state": "DRAIN"}}]}',
            )
        )
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        line = text_of(app, "#nodes-slurm")
        # the Kernel patch window (all nodes) was not in Slurm at that sync: drift
        assert (
            line
            == "Slurm: last sync 2026-02-15 09:01 (ok)  ·  drift: 1  ·  1 node(s) out of service in Slurm"
        )
        await select(pilot, "node02")
        await pilot.press("enter")
        await settle(pilot)
        slurm = text_of(app, "#node-slurm")
        assert "last sync 2026-02-15 09:01 by admin (ok)" in slurm
        assert "out of service in Slurm: DRAIN: outage #1 opened" in slurm
        assert "drift: window #1 'Kernel patch' missing in Slurm" in slurm


# ---------------------------------------------------------------- adding, and who may


async def test_an_admin_adds_a_node_through_the_form_checked_by_the_service(runtime: Runtime) -> None:
    seed_rentals(runtime)
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NodeFormScreen)
        form.query_one("#name", Input).value = "node01"
        form.query_one("#node_type", Input).value = "B200"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # nothing saved: both fields marked with the service's words
        assert text_of(app, "#name-error") == "node 'node01' already exists"
        assert text_of(app, "#node_type-error") == "no node type named 'B200'"
        form.query_one("#name", Input).value = "node04"
        form.query_one("#node_type", Input).value = "A100"
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, NodesScreen)
        assert names(app) == ["node01", "node02", "node03", "node04"]
        assert app.screen.current_node() is not None and app.screen.current_node().name == "node04"  # type: ignore[union-attr]
    added = node_row(runtime, "node04")
    assert (added.node.node_type, added.node.rentable) == ("A100", True)


async def test_a_viewer_reads_nodes_but_may_not_add_or_change_one(runtime: Runtime) -> None:
    seed_rentals(runtime)
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_nodes(pilot)
        assert names(app) == ["node01", "node02", "node03"]  # the viewer may read the list
        assert "n" not in {
            b.binding.key for b in screen.active_bindings.values() if b.binding.show and b.enabled
        }
        for key in ("n", "b", "R"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is screen  # no form, no dialog
        assert sum("vic may not manage node types and nodes" in m for m in notifications(app)) == 3
        await pilot.press("enter")  # and open a node's detail
        await settle(pilot)
        assert isinstance(app.screen, NodeDetailScreen)
        assert "History" in text_of(app, "#node-history")
    assert node_row(runtime, "node01").node.rentable is True


# ---------------------------------------------------------------- rentable, retire, reinstate


async def test_rentable_toggle_asks_only_when_reservations_are_ahead(runtime: Runtime) -> None:
    seed_rentals(runtime)
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        await select(pilot, "node03")  # not rentable, nothing booked: no question
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, NodesScreen) and cell(app, "node03", "rentable") == "yes"

        await select(pilot, "node01")  # two reservations ahead: the service says it matters
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "keeps its 2 pending or approved reservation(s)" in app.screen.question
        await pilot.press("n")  # keep it rentable
        await settle(pilot)
        assert cell(app, "node01", "rentable") == "yes"
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert cell(app, "node01", "rentable") == "no"
    assert node_row(runtime, "node01").node.rentable is False
    assert node_row(runtime, "node03").node.rentable is True


async def retire_with(pilot: Pilot, node: str, choice: str, reason: str) -> RetireNodeScreen:
    await select(pilot, node)
    await pilot.press("R")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, RetireNodeScreen)
    radio = dialog.query_one("#reservations", RadioSet)
    assert radio.display  # it has reservations ahead: the dialog asks
    button = next(b for b in radio.query("Choice") if b.name == choice)
    button.value = True  # type: ignore[attr-defined]
    dialog.query_one("#reason", Input).value = reason
    await settle(pilot)
    return dialog


async def test_retiring_asks_about_reservations_and_does_what_was_chosen(
    runtime: Runtime, rentals: Rentals
) -> None:
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        dialog = await retire_with(pilot, "node01", "cancel", "end of warranty")
        plan = text_of(app, "#retire-plan-text")
        assert f"#{rentals.folding} approved Protein Folding" in plan and f"#{rentals.later} pending" in plan
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is not dialog and "node01" not in names(app)  # retired nodes are hidden

        dialog = await retire_with(pilot, "node02", "keep", "")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is not dialog
        await pilot.press("i")  # show the retired nodes
        await settle(pilot)
        assert names(app) == ["node01", "node02", "node03"]
        assert cell(app, "node01", "state") == "○ free (retired)"
    with runtime.read() as ctx:
        assert res.get_reservation(ctx, rentals.folding).status == "cancelled"
        assert res.get_reservation(ctx, rentals.later).status == "cancelled"
        assert (
            res.get_reservation(ctx, rentals.folding).decision_reason
            == "node node01 retired: end of warranty"
        )
        assert res.get_reservation(ctx, rentals.climate).status == "pending"  # kept
    assert node_row(runtime, "node02").node.retired


async def test_a_refused_choice_is_shown_and_nothing_is_retired_then_reinstate(runtime: Runtime) -> None:
    seed_rentals(runtime)
    with runtime.write() as ctx:  # a reservation running now on node03 (02-14 16:00 → 02-16 09:00)
        nodes.set_rentable(ctx, "node03", True)
        draft = res.ReservationDraft("node03", "Protein Folding", local("2026-02-14 10:00").date(), 4)
        running = res.record_reservation(ctx, draft, approve=True, waive_policy=True).reservation.id
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        dialog = await retire_with(pilot, "node03", "cancel", "")
        assert text_of(app, "#reservations-error").startswith(f"reservation #{running} has started")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog  # refused: still asking
        await pilot.press("escape")
        await settle(pilot)
        assert not node_row(runtime, "node03").node.retired
        with runtime.write() as ctx:
            nodes.retire_node(ctx, "node03", reservations_choice="keep")
        await pilot.press("i")
        await settle(pilot)
        await select(pilot, "node03")
        await pilot.press("R")  # a retired node: R reinstates
        await settle(pilot)
        assert isinstance(app.screen, ReinstateNodeScreen)
        await pilot.press(*"repaired", "enter")
        await settle(pilot)
        assert cell(app, "node03", "state") != "○ free (retired)"
    back = node_row(runtime, "node03")
    assert not back.node.retired and back.node.rentable is False


# ---------------------------------------------------------------- the detail


async def test_the_detail_shows_the_timeline_and_history_and_plans_downtime(runtime: Runtime) -> None:
    rentals = seed_rentals(runtime)
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        await pilot.press("enter")  # node01
        await settle(pilot)
        assert isinstance(app.screen, NodeDetailScreen)
        timeline = text_of(app, "#node-timeline")
        assert timeline.startswith("Availability Feb 15 → Mar 16, a glyph a day")
        assert "  Sun 02-15  ○  ○  ○  ○  ○  ●* ⚒*" in timeline  # rented from Friday 16:00, then the window
        assert (
            f"● Feb 20 16:00 → Feb 21 06:00  rented by Protein Folding (reservation #{rentals.folding})"
            in timeline
        )
        assert "⚒ Feb 21 06:00 → Feb 21 08:00  maintenance: window #1 'Kernel patch'" in timeline
        assert (
            f"◌ Mar 09 16:00 → Mar 10 04:00  pending by Protein Folding (reservation #{rentals.later})"
            in timeline
        )
        history = text_of(app, "#node-history")
        assert "admin node.created" in history
        assert not app.screen.query_one("#node-slurm").display  # no sync has run

        await pilot.press("w")
        await settle(pilot)
        assert app.screen.query_one("#nodes", Input).value == "node01"  # the window form, node filled in
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert app.screen.query_one("#nodes", Input).value == "node01"  # the outage form
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("b", "y")  # stop renting it, from the detail
        await settle(pilot)
        assert isinstance(app.screen, NodeDetailScreen)
        assert "Rentable    no" in text_of(app, "#node-facts")
        assert "admin node.updated" in text_of(app, "#node-history").splitlines()[1]
