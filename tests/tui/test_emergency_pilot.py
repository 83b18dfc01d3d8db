"""Pilot tests of the emergency window at 80x24: ``!`` on the Nodes list and on a node's detail
opens the short form with the node filled in; the service's checks mark the fields; a declared
window starts now, is marked in the lists and says what happened to its notices; a viewer is
told why not; the palette offers it everywhere (help/windows.md "Emergency windows").
Clock: 2026-02-20 20:00 New York (node01's approved reservation runs until Feb 21 09:00)."""

from __future__ import annotations

from nodedesk.core.clock import FrozenClock
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.tui.app import create_app
from nodedesk.tui.features.nodes.node_detail import NodeDetailScreen
from nodedesk.tui.features.nodes.nodes import NodesScreen
from nodedesk.tui.features.windows.emergency_form import EmergencyFormScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.widgets.impact_panel import ImpactPanel
from nodedesk.tui.widgets.topbar import TopBar
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from tests.helpers import local, runtime_as
from tests.tui.conftest import settle
from tests.tui.rentals_seed import seed_rentals
from tests.tui.test_80x24_pilot import check_screen
from tests.tui.test_nodes_pilot import cell, notifications, open_nodes, select, text_of

SIZE = (80, 24)
NOW = "2026-02-20 20:00"


def whole(pilot: Pilot, where: str) -> list[str]:
    """The sweep's footer and top bar checks, the top bar at this test's clock."""
    problems = [p for p in check_screen(pilot, where) if "top bar cut" not in p]
    first = pilot.app.screen.query_one(TopBar).render_line(0).text.rstrip()
    if not first.endswith("admin") or NOW not in first:
        problems.append(f"{where}: top bar cut: {first!r}")
    return problems


async def bang(pilot: Pilot, node: str) -> EmergencyFormScreen:
    """Press ! and find the emergency form with ``node`` filled in."""
    await pilot.press("exclamation_mark")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, EmergencyFormScreen)
    assert form.query_one("#nodes", Input).value == node
    return form


def emergencies(runtime: Runtime) -> list[windows.WindowView]:
    with runtime.read() as ctx:
        return [w for w in windows.list_windows(ctx).items if w.emergency]


async def test_bang_on_the_nodes_list_declares_an_emergency_window(
    runtime: Runtime, clock: FrozenClock
) -> None:
    seed_rentals(runtime)
    clock.set(local(NOW))
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        await select(pilot, "node01")
        form = await bang(pilot, "node01")
        assert form.query_one("#reason", Input).has_focus
        assert whole(pilot, "emergency form") == []
        await pilot.pause(0.4)  # the impact panel is debounced
        await settle(pilot)
        assert "1 reservation(s) affected" in str(form.query_one("#impact-summary", Static).render())
        assert "until Fri 20 Feb 2026 22:00" in text_of(app, "#duration-hint")

        await pilot.press("ctrl+s")  # no reason: refused by the service, the field marked
        await settle(pilot)
        assert app.screen is form
        assert text_of(app, "#reason-error") == "an emergency window needs a reason (what failed)"
        assert text_of(app, "#form-error") == "Not saved: fix the marked field."
        assert emergencies(runtime) == []

        await pilot.press(*"PSU failed")
        form.query_one("#duration", Input).value = "3h"
        await settle(pilot)
        assert "until Fri 20 Feb 2026 23:00" in text_of(app, "#duration-hint")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, NodesScreen)
        [w] = emergencies(runtime)
        assert (w.start, w.end, w.scope.nodes, w.title) == (
            local(NOW),
            local("2026-02-20 23:00"),
            ("node01",),
            "PSU failed",
        )
        said = notifications(app)[-1]
        assert said.startswith(f"Declared emergency window #{w.id} on node01 until 2026-02-20 23:00")
        assert "Notices:" in said.splitlines()[1]
        assert cell(app, "node01", "state") == "⚒ maintenance"

        await pilot.press("1")  # the Windows list marks it with a word and a glyph
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        table = app.screen.table
        title = table.get_cell(str(w.id), "title")
        assert str(getattr(title, "plain", title)).startswith("‼ EMERGENCY PSU failed")

        await pilot.press("0")  # the dashboard's "in progress now" says so too
        await settle(pilot)
        now = app.screen.query_one("#now", OptionList)
        prompts = [str(now.get_option_at_index(i).prompt) for i in range(now.option_count)]
        assert any("‼ EMERGENCY PSU failed" in p for p in prompts), prompts


async def test_bang_on_a_node_detail_opens_the_form_for_that_node(
    runtime: Runtime, clock: FrozenClock
) -> None:
    seed_rentals(runtime)
    clock.set(local(NOW))
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        await select(pilot, "node02")
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, NodeDetailScreen)
        form = await bang(pilot, "node02")
        assert whole(pilot, "emergency form from a node") == []
        assert form.query_one(ImpactPanel).display
        await pilot.press(*"Fan failure", "ctrl+s")
        await settle(pilot)
        assert app.screen is detail
        [w] = emergencies(runtime)
        assert w.scope.nodes == ("node02",) and w.start == local(NOW)


async def test_a_viewer_is_told_why_not(runtime: Runtime, clock: FrozenClock) -> None:
    seed_rentals(runtime)
    clock.set(local(NOW))
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=SIZE) as pilot:
        await open_nodes(pilot)
        await select(pilot, "node01")
        await pilot.press("exclamation_mark")
        await settle(pilot)
        assert isinstance(app.screen, NodesScreen)
        assert notifications(app)[-1].startswith("vic may not ")
        await pilot.press("enter")  # what a viewer may do: read the node
        await settle(pilot)
        assert isinstance(app.screen, NodeDetailScreen)
        await pilot.press("exclamation_mark")
        await settle(pilot)
        assert isinstance(app.screen, NodeDetailScreen)
    assert emergencies(runtime) == []


async def test_the_palette_offers_it_on_every_screen(runtime: Runtime) -> None:
    seed_rentals(runtime)
    app = create_app(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        [command] = [c for c in app.get_system_commands(app.screen) if c.title == "Emergency window…"]
        command.callback()
        await settle(pilot)
        form = app.screen
        assert isinstance(form, EmergencyFormScreen)
        assert form.query_one("#nodes", Input).has_focus and form.query_one("#nodes", Input).value == ""
        assert not [c for c in app.get_system_commands(form) if c.title == "Emergency window…"]
