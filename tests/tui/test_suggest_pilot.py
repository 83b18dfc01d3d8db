"""The window form's "suggest" key: the least-impact starts of the next two weeks, one picked
into the form's start and end (80×24)."""

from __future__ import annotations

import pytest
from nodedesk.core import timeutil
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.features.windows.window_suggest import WindowSuggestScreen
from textual.widgets import Input, OptionList, Static

from tests.helpers import SITE_TZ
from tests.tui.conftest import Seeded, seed_reservation, settle


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")


async def test_suggest_fills_start_and_end(runtime: Runtime, seeded: Seeded) -> None:
    seed_reservation(runtime)  # node01, 2026-02-20 16:00 -> 02-21 09:00, approved
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, WindowFormScreen)
        form.query_one("#nodes", Input).value = "node01"
        form.query_one("#start", Input).value = "2026-02-20 08:00"
        form.query_one("#end", Input).value = "2026-02-21 08:00"  # 24 h
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, WindowSuggestScreen)
        assert dialog.found is not None and dialog.found.candidates
        first = dialog.found.candidates[0]
        # The clock says 2026-02-15 10:00: the first free 24 h on node01 starts now, on the
        # quarter hour, and hits nobody (the in-progress 'Cooling inspection' window is marked).
        assert first.free and first.end - first.start == form._time("end") - form._time("start")
        options = dialog.query_one(OptionList)
        assert options.option_count == len(dialog.found.candidates)
        line = str(options.get_option_at_index(0).prompt)
        assert "free · no reservation hit" in line and len(line) <= 76
        status = str(dialog.query_one("#suggest-status", Static).render())
        assert "start(s) judged" in status
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.screen is form
        chosen = dialog.found.candidates[1]
        assert form.query_one("#start", Input).value == timeutil.to_local(chosen.start, SITE_TZ).format(
            "YYYY-MM-DD HH:mm"
        )
        assert form._time("end") == chosen.end
        # Escape leaves the form as it was.
        await pilot.press("ctrl+g")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is form and form._time("start") == chosen.start
