"""Keys typed into a form stay in the form: no section switch, no screen action, no quit."""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.outages.outage_form import OutageFormScreen
from nodedesk.tui.features.windows.window_form import WindowFormScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.kit.confirm import ConfirmScreen
from nodedesk.tui.widgets.tickbox import TickBox
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select

from tests.tui.conftest import Seeded, settle
from tests.tui.rentals_seed import Rentals, seed_rentals


@pytest.fixture(autouse=True)
def windows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NodedeskApp, "DEFAULT_MODE", "windows")


async def new_window_form(pilot: Pilot) -> WindowFormScreen:
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, WindowFormScreen)
    return form


async def test_digits_typed_off_an_input_do_not_switch_sections(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        form = await new_window_form(pilot)
        form.query_one("#save", Button).focus()  # Tab has left the last input
        await pilot.pause()
        await pilot.press("2", "6", "q", "y", "n")
        await settle(pilot)
        assert app.screen is form and app.current_mode == "windows" and app.is_running
        form.query_one("#cancel", Button).focus()
        await pilot.press("1")
        await settle(pilot)
        assert app.screen is form


async def test_the_form_background_keeps_typed_keys_too(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        form = await new_window_form(pilot)
        app.set_focus(None)
        await pilot.press("3", "q")
        await settle(pilot)
        assert app.screen is form and app.current_mode == "windows"


async def test_typing_a_date_types_every_digit(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        form = await new_window_form(pilot)
        start = form.query_one("#start", Input)
        start.focus()
        start.value = ""
        await pilot.press(*"2026-02-16 09:00")
        await settle(pilot)
        assert app.screen is form and start.value == "2026-02-16 09:00"


async def test_checkbox_and_select_keep_their_own_keys(runtime: Runtime) -> None:
    seed_rentals(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen)
        tick = form.query_one(TickBox)
        tick.focus()
        before = tick.value
        await pilot.press("space")  # the checkbox's own key still works
        await pilot.pause()
        assert tick.value is not before
        await pilot.press("5", "q")
        await settle(pilot)
        assert app.screen is form and app.current_mode == "outages"
        form.query_one(Select).focus()
        await pilot.press("7")
        await settle(pilot)
        assert app.screen is form


async def test_lists_and_dialogs_keep_their_letter_keys(app: NodedeskApp, seeded: Seeded) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        answers: list[bool | None] = []
        app.push_screen(ConfirmScreen("Sure?"), answers.append)
        await settle(pilot)
        await pilot.press("y")  # the No button has focus: the dialog's own y still answers
        await settle(pilot)
        assert answers == [True]
        assert isinstance(app.screen, WindowsScreen)
        await pilot.press("6")
        await settle(pilot)
        assert app.current_mode == "activity"


_ = Rentals  # (the rentals seed's type, for readers)


async def test_a_path_typed_into_the_export_dialog_is_where_it_writes(runtime: Runtime, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nodedesk.tui.features.backup.backup_export import ExportScreen

    from tests.tui.conftest import seed_windows

    seed_windows(runtime)
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ExportScreen())
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        target = tmp_path / "typed-export"
        box = screen.query_one("#directory", Input)
        assert app.focused is box
        await pilot.press("ctrl+u")  # clear the proposed directory, then type one
        await pilot.press(*str(target))
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)
        assert box.value == str(target)
        assert (target / "manifest.json").exists() or any(target.iterdir())
        app.set_focus(None)  # off the field: a digit of a path is still not a section key
        await pilot.press("2", "0")
        await settle(pilot)
        assert app.screen is screen


def visible_in(widget, container) -> bool:  # type: ignore[no-untyped-def]
    """Whether the widget is inside the container's visible region on screen."""
    box, area = widget.region, container.region
    return box.height > 0 and area.y <= box.y and box.bottom <= area.bottom


async def test_a_failed_save_shows_the_bad_field_and_the_banner_goes_when_fixed(
    app: NodedeskApp, seeded: Seeded
) -> None:
    from textual.containers import VerticalScroll
    from textual.widgets import Static

    async with app.run_test(size=(80, 24)) as pilot:
        form = await new_window_form(pilot)
        form.query_one("#title", Input).value = "Rack move"
        start = form.query_one("#start", Input)
        start.value = "not a time"
        form.query_one("#save", Button).focus()  # scrolled down to the buttons
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = form.query_one("#form-body", VerticalScroll)
        banner = form.query_one("#form-error", Static)
        assert app.focused is start
        assert visible_in(start, body), (start.region, body.region)
        assert banner.display and "fix the marked field" in str(banner.render())
        assert visible_in(banner, body) or banner.region.y >= 2
        start.value = ""
        await pilot.press(*"2026-02-16 09:00")
        await settle(pilot)
        assert not banner.display  # fixed: the banner goes as the field is fixed


@pytest.mark.parametrize("theme", ["textual-dark", "ansi-dark", "ansi-light", "no-color"])
async def test_the_focused_field_is_unmistakable(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, theme: str
) -> None:
    seed_rentals(runtime)
    if theme == "no-color":
        monkeypatch.setenv("NO_COLOR", "1")
    app = create_app(runtime, theme=None if theme == "no-color" else theme)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen)
        title = form.query_one("#title", Input)
        title.focus()
        await pilot.pause()
        label = form.query_one("#title-row .field-label")
        assert label.rich_style.reverse and title.rich_style.underline
        other = form.query_one("#node-row .field-label") if form.query("#node-row") else None
        if other is not None:
            assert not other.rich_style.reverse  # only the focused field's label
        tick = form.query_one(TickBox)
        tick.focus()
        await settle(pilot)
        assert tick.get_component_rich_style("toggle--label").reverse
        assert "reverse" not in str(label.styles.text_style)


async def test_toasts_are_short_and_stay_off_the_list_rows(app: NodedeskApp, seeded: Seeded) -> None:
    from nodedesk.tui.widgets.paged_table import PagedTable

    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, WindowsScreen)
        screen.refused("a long refusal " * 12, "Refused")
        app.notify("second note\nwith\nmany\nlines")
        await settle(pilot)
        table = screen.query_one(PagedTable)
        first_row_y = table.region.y + 1  # below the header row
        await pilot.pause(0.2)
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        print("\n".join(lines[:8]))
        rows = "\n".join(lines[first_row_y - 1 :])
        assert "refusal" not in rows and "note" not in rows and "lines" not in rows
        assert "second note" in "\n".join(lines[: first_row_y - 1])  # the newest shows, on top
        assert all(n.timeout <= 3 for n in app._notifications)
