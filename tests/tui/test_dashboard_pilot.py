"""Pilot tests of the Dashboard: the first screen, its panels, jumps to each item's screen, refresh."""

from __future__ import annotations

import asyncio
import threading

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import reservations
from nodedesk.core.services.views import dashboard as dashboard_service
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.dashboard.dashboard import DashboardScreen
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.invoices.invoice_month import InvoiceMonthScreen
from nodedesk.tui.features.outages.outage_detail import OutageDetailScreen
from nodedesk.tui.features.projects.project_detail import ProjectDetailScreen
from nodedesk.tui.features.projects.split_decision import SplitDecisionScreen
from nodedesk.tui.features.reservations.reservation_detail import ReservationDetailScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from textual.pilot import Pilot
from textual.widgets import Markdown, OptionList, Static

from tests.helpers import runtime_as
from tests.tui.conftest import notifications, settle
from tests.tui.dashboard_seed import DashSeed, seed_dashboard


@pytest.fixture
def seed(runtime: Runtime) -> DashSeed:
    return seed_dashboard(runtime)


def items(app: NodedeskApp, panel: str) -> list[tuple[str | None, str]]:
    options = app.screen.query_one(f"#{panel}", OptionList)
    return [(o.id, str(getattr(o.prompt, "plain", o.prompt))) for o in options.options]


def ids(app: NodedeskApp, panel: str) -> list[str]:
    return [i for i, _ in items(app, panel) if i]


def offered(app: NodedeskApp) -> set[str]:
    """The screen's keys as the footer and the help modal get them (hidden ones left out)."""
    return {b.binding.description for b in app.screen.active_bindings.values()}


async def select(pilot: Pilot, panel: str, item: str) -> None:
    options = pilot.app.screen.query_one(f"#{panel}", OptionList)
    options.focus()
    options.highlighted = [o.id for o in options.options].index(item)
    await pilot.pause()


async def jump(pilot: Pilot, panel: str, item: str) -> None:
    await select(pilot, panel, item)
    await pilot.press("enter")
    await settle(pilot)


async def test_first_screen_is_the_dashboard_with_every_panel(app: NodedeskApp, seed: DashSeed) -> None:
    r = seed.rentals
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.current_mode == "dashboard"
        assert ids(app, "now") == [f"outage:{r.open}", f"window:{seed.cooling}"]
        now = dict(items(app, "now"))
        assert now[f"outage:{r.open}"] == "⚠ GPU Xid 79 on node02\n  ETR Mon 16 12:00 · node02"
        assert now[f"window:{seed.cooling}"] == "⚒ Cooling inspection\n  until 14:00 · node01"
        assert ids(app, "near") == [f"window:{r.window}", f"window:{seed.network}"]
        assert (
            "Sat 21 06:00–08:00 Kernel patch · all nodes (3)"
            in dict(items(app, "near"))[f"window:{r.window}"]
        )
        assert ids(app, "far") == [f"window:{seed.power}"]
        risk = dict(items(app, "risk"))
        assert list(risk) == [f"reservation:{r.folding}"]
        assert risk[f"reservation:{r.folding}"] == "Fri 20 16:00 node01 2.00 h down · ✓ Protein Folding"
        assert ids(app, "approvals") == [
            f"reservation:{r.climate}",
            f"reservation:{r.later}",
            f"split:{app.screen.data.pending_splits.items[0].project_id}:{seed.split}",  # type: ignore[attr-defined]
        ]
        office = dict(items(app, "office"))
        assert office["invoice:2026-02"] == "$ 2026-02 draft (this month)\n  60.00 USD so far"
        assert office["invoice:2026-01"] == "$ 2026-01 draft (last month)\n  no charges"
        assert "3 notices waiting (2 pending, 1 failed)" in office["notices"]
        assert app.screen.query_one("#approvals", OptionList).border_subtitle == "3"


async def test_each_kind_of_item_jumps_to_its_screen(app: NodedeskApp, seed: DashSeed) -> None:
    r = seed.rentals
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        cases = [
            ("now", f"window:{seed.cooling}", WindowDetailScreen, "window_id", seed.cooling),
            ("now", f"outage:{r.open}", OutageDetailScreen, "outage_id", r.open),
            ("near", f"window:{r.window}", WindowDetailScreen, "window_id", r.window),
            ("far", f"window:{seed.power}", WindowDetailScreen, "window_id", seed.power),
            ("risk", f"reservation:{r.folding}", ReservationDetailScreen, "reservation_id", r.folding),
            ("approvals", f"reservation:{r.climate}", ReservationDetailScreen, "reservation_id", r.climate),
        ]
        for panel, item, screen_type, attr, value in cases:
            await jump(pilot, panel, item)
            assert isinstance(app.screen, screen_type), item
            assert getattr(app.screen, attr) == value
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
        await jump(pilot, "office", "invoice:2026-02")
        assert isinstance(app.screen, InvoiceMonthScreen) and app.screen.state.period == "2026-02"
        await pilot.press("escape")
        await settle(pilot)
        split_item = ids(app, "approvals")[-1]
        await jump(pilot, "approvals", split_item)
        assert isinstance(app.screen, ProjectDetailScreen)
        assert app.screen.project_id == int(split_item.split(":")[1])


async def test_a_opens_the_split_decision_and_approving_refreshes(
    runtime: Runtime, app: NodedeskApp, seed: DashSeed
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select(pilot, "approvals", ids(app, "approvals")[-1])
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, SplitDecisionScreen) and app.screen.pending.id == seed.split
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not [i for i in ids(app, "approvals") if i.startswith("split:")]


async def test_refresh_on_r_on_return_and_on_the_timer(
    runtime: Runtime, app: NodedeskApp, seed: DashSeed
) -> None:
    r = seed.rentals
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        with runtime.write() as ctx:
            reservations.approve_reservation(ctx, r.climate)
        await pilot.press("r")
        await settle(pilot)
        assert f"reservation:{r.climate}" not in ids(app, "approvals")
        # coming back from another screen reloads
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, WindowsScreen)
        with runtime.write() as ctx:
            reservations.approve_reservation(ctx, r.later)
        await pilot.press("0")
        await settle(pilot)
        assert app.screen is screen and ids(app, "approvals")[0].startswith("split:")


async def test_the_change_feed_refreshes_it_on_its_own(
    runtime: Runtime, app: NodedeskApp, seed: DashSeed
) -> None:
    app.feed.poll_seconds = 0.2  # 1 s in the app
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        with runtime.write() as ctx:
            reservations.approve_reservation(ctx, seed.rentals.climate)
        for _ in range(50):
            await asyncio.sleep(0.1)
            await pilot.pause()
            if f"reservation:{seed.rentals.climate}" not in ids(app, "approvals"):
                break
        assert f"reservation:{seed.rentals.climate}" not in ids(app, "approvals")


async def test_cursor_stays_on_its_item_after_a_refresh(app: NodedeskApp, seed: DashSeed) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, "near", f"window:{seed.network}")
        await pilot.press("r")
        await settle(pilot)
        options = app.screen.query_one("#near", OptionList)
        assert (
            options.highlighted_option is not None
            and options.highlighted_option.id == f"window:{seed.network}"
        )
        await pilot.press("tab")
        assert app.screen.focused is app.screen.query_one("#approvals", OptionList)
        await pilot.press("j")


async def test_viewer_sees_the_dashboard_but_may_not_decide_splits(runtime: Runtime, seed: DashSeed) -> None:
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await select(pilot, "approvals", ids(app, "approvals")[-1])
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert any("vic may not" in n for n in notifications(app))


async def test_notices_item_and_help(app: NodedeskApp, seed: DashSeed) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await jump(pilot, "office", "notices")
        try:
            from nodedesk.tui.features.notices.notices import NoticesScreen
        except ImportError:
            assert isinstance(app.screen, DashboardScreen)
            assert any("3 notice(s) waiting" in n for n in notifications(app))
        else:
            assert isinstance(app.screen, NoticesScreen)
            await pilot.press("escape")
            await settle(pilot)
        assert "Approve" not in offered(app)
        await select(pilot, "approvals", ids(app, "approvals")[-1])  # a pending split
        assert {"Approve", "Reject"} <= offered(app)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        topic = app.screen.query_one("#help-topic", Markdown).source
        assert topic.startswith("# Dashboard") and "Reservations at risk" in topic
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Open the selected item's screen" in keys and "Reload the dashboard" in keys
        assert "Approve the selected split" in keys


async def test_a_new_site_says_each_panel_is_empty(app: NodedeskApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert [t for _, t in items(app, "now")] == ["nothing in progress"]
        assert [t for _, t in items(app, "approvals")] == ["nothing waits for approval"]
        assert all(i is None for i, _ in items(app, "near"))  # nothing to select
        await pilot.press("enter")  # nothing selected: stays here
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert "no notices waiting" in dict(items(app, "office"))["notices"]


async def test_palette_refreshes_the_dashboard(app: NodedeskApp, seed: DashSeed) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        loads = screen.loads
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Refresh dashboard")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and screen.loads == loads + 1


async def test_quick_panels_show_before_the_invoices_are_computed(
    app: NodedeskApp, seed: DashSeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big centre's invoices take seconds: the other panels must not wait for them."""
    release = threading.Event()
    real = dashboard_service.slow_parts

    def slow(ctx):  # type: ignore[no-untyped-def]
        release.wait(10)
        return real(ctx)

    monkeypatch.setattr(dashboard_service, "slow_parts", slow)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if ids(app, "now"):
                break
        assert seed.cooling and f"window:{seed.cooling}" in ids(app, "now")
        assert ids(app, "near") and ids(app, "approvals")
        assert [text for _, text in items(app, "risk")] == ["Loading…"]
        assert "Loading invoices…" in [text for _, text in items(app, "office")]
        assert app.screen.loads == 0
        release.set()
        await settle(pilot)
        assert app.screen.loads == 1
        assert f"reservation:{seed.rentals.folding}" in ids(app, "risk")
        assert any(i.startswith("invoice:") for i in ids(app, "office"))
