"""The window form's live impact panel: editing start, end or scope updates it (debounced worker)."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.widgets.impact_panel import DEBOUNCE_SECONDS, ImpactPanel
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.billing.factory import Builder
from tests.tui.conftest import Seeded, seed_reservation, settle


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")


def text(app: NodedeskApp, selector: str) -> str:
    box = app.screen.query_one(selector, Static)
    return str(box.render()) if box.display and box.parent.display else ""  # type: ignore[union-attr]


async def typed(pilot: Pilot, selector: str, value: str, *, keys: bool = False) -> None:
    """Set a field (``keys``: really type it, key by key), then let the debounce timer and the
    worker finish."""
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    if keys:
        box.value = ""
        await pilot.press(*value)
    else:
        box.value = value
    await impact_settled(pilot)


async def impact_settled(pilot: Pilot) -> None:
    """Wait (up to 10 s, for a loaded machine) until the panel shows its latest proposal."""
    await pilot.pause(DEBOUNCE_SECONDS)
    panel = pilot.app.screen.query_one(ImpactPanel)
    for _ in range(200):
        await settle(pilot)
        if panel.proposal is None or (panel.shown == panel.proposal and panel._timer is None):
            return
        await pilot.pause(0.05)
    raise AssertionError("the impact panel never showed the latest proposal")


async def test_typing_a_new_end_updates_the_impact_panel(runtime: Runtime, seeded: Seeded) -> None:
    reservation = seed_reservation(runtime)  # node01, 2026-02-20 16:00 -> 02-21 09:00, approved
    with runtime.write() as ctx:
        Builder(ctx.session, ctx.now()).rate("NODE_A100", "8.00", date(2026, 1, 1))
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, WindowFormScreen)
        await typed(pilot, "#nodes", "node01")
        await typed(pilot, "#start", "2026-02-20 20:00")
        await typed(pilot, "#end", "2026-02-20 22:00")
        panel = app.screen.query_one(ImpactPanel)
        assert text(app, "#impact-summary") == (
            "Impact: 1 reservation(s) affected · 2.00 h · 16.00 USD not billed"
        )
        assert text(app, "#impact-list") == (
            f"#{reservation} node01 Protein Folding (admin, approved): 2.00 h, 16.00 USD"
        )
        assert text(app, "#impact-warnings") == ""

        # A new end over the night: 20:00 -> 09:00 is 13 h, but 'Kernel patch' (06:00-08:00,
        # all nodes) already takes 2 h off: 11 h more, and the overlap is a warning.
        await typed(pilot, "#end", "2026-02-21 09:00", keys=True)
        assert text(app, "#impact-summary") == (
            "Impact: 1 reservation(s) affected · 11.00 h · 88.00 USD not billed"
        )
        assert text(app, "#impact-warnings").startswith(
            f"⚠ overlaps window #{seeded.upcoming} 'Kernel patch' 2026-02-21 06:00→2026-02-21 08:00 on node01"
        )
        assert panel.impact is not None and panel.impact.not_billed == 88

        # An end before the start: no impact, the panel says what it waits for.
        await typed(pilot, "#end", "2026-02-20 19:00")
        assert text(app, "#impact-summary") == "Impact: waiting for a valid start and end"
        assert text(app, "#impact-list") == ""

        # Another node: nobody is hit.
        await typed(pilot, "#end", "2026-02-21 09:00")
        await typed(pilot, "#nodes", "node02")
        assert text(app, "#impact-summary") == "Impact: no pending or approved reservation on these 1 node(s)"


async def test_editing_a_window_does_not_count_its_current_version(runtime: Runtime, seeded: Seeded) -> None:
    seed_reservation(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(WindowFormScreen("edit", _window(runtime, seeded.upcoming)))
        await settle(pilot)
        await impact_settled(pilot)
        # 'Kernel patch' as it stands (06:00-08:00, all nodes) hits the reservation for 2 h; it
        # is not its own conflict. No rate is set: the amount is 0.00 and flagged.
        assert (
            text(app, "#impact-summary") == "Impact: 1 reservation(s) affected · 2.00 h · 0.00 USD not billed"
        )
        assert text(app, "#impact-list").endswith("2.00 h, 0.00 USD (part unpriced)")
        assert text(app, "#impact-warnings") == ""


def _window(runtime: Runtime, window_id: int):  # type: ignore[no-untyped-def]
    from nodedesk.core.services.downtime import windows as svc

    with runtime.read() as ctx:
        return svc.get_window(ctx, window_id)
