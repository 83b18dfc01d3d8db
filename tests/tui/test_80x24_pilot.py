"""Every section, and the detail and form screens they open, at 80x24: footer and top bar whole."""

from __future__ import annotations

from datetime import UTC, datetime

from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import create_app
from nodedesk.tui.kit import render
from nodedesk.tui.kit.base import NodedeskScreen
from nodedesk.tui.sections import SECTIONS
from nodedesk.tui.widgets.footer import FooterEntry, KeyFooter, choose
from nodedesk.tui.widgets.topbar import TopBar
from textual.pilot import Pilot

from tests.tui.conftest import settle
from tests.tui.rentals_seed import seed_rentals


def check_screen(pilot: Pilot, where: str) -> list[str]:
    """The problems on the current screen's footer and top bar (empty when all is whole)."""
    screen = pilot.app.screen
    if not isinstance(screen, NodedeskScreen):
        return []
    problems = []
    footer = screen.query_one(KeyFooter)
    line = footer.render_line(0).text  # what the terminal shows, cut to the footer's width
    if len(line) > 80:
        problems.append(f"{where}: footer wider than the screen")
    bindings = {
        pilot.app.get_key_display(a.binding): a.binding.description for a in screen.active_bindings.values()
    }
    for entry in footer.shown:
        pair = f"{entry.display} {entry.description}"
        if pair not in line:
            problems.append(f"{where}: footer label {pair!r} cut in {line!r}")
        if entry.description not in (bindings.get(entry.display), "palette"):
            problems.append(f"{where}: {pair!r} is not the binding's own words")
    if not any(e.description == "Help" for e in footer.shown):
        problems.append(f"{where}: no Help in the footer {line!r}")
    top = screen.query_one(TopBar)
    first = top.render_line(0).text.rstrip()
    if not first.endswith("admin") or "2026-02-15 10:00" not in first:
        problems.append(f"{where}: top bar cut: {first!r}")
    return problems


async def visit(pilot: Pilot, keys: str, where: str) -> list[str]:
    await pilot.press(keys)
    await settle(pilot)
    return check_screen(pilot, where)


async def test_every_screen_keeps_its_footer_and_top_bar_whole_at_80x24(runtime: Runtime) -> None:
    seed_rentals(runtime)
    app = create_app(runtime)
    problems: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for sec in SECTIONS:
            problems += await visit(pilot, sec.key, sec.title)
            home = app.screen
            for key, what in (("enter", "detail"), ("n", "form"), ("exclamation_mark", "emergency form")):
                problems += await visit(pilot, key, f"{sec.title} {what}")
                if app.screen is not home:
                    await pilot.press("escape")
                    await settle(pilot)
                    if app.screen is not home:  # a second level (a form asking first): back again
                        await pilot.press("escape")
                        await settle(pilot)
    assert problems == [], "\n".join(problems)


def entry(word: str, rank: int) -> FooterEntry:
    return FooterEntry(word[0].lower(), word[0].lower(), word, True, rank)


def test_keys_that_do_not_fit_are_dropped_whole_least_important_first() -> None:
    keys = [entry("Open", 1), entry("Filter", 11), entry("Status", 12), entry("Help", 0), entry("Quit", 1000)]
    palette = FooterEntry("ctrl+p", "^p", "palette", True, 900)
    kept, with_palette = choose(keys, 80, palette)
    assert [e.description for e in kept] == ["Open", "Filter", "Status", "Help", "Quit"] and with_palette
    kept, with_palette = choose(keys, 33, palette)
    assert [e.description for e in kept] == ["Open", "Filter", "Status", "Help"] and not with_palette
    kept, _ = choose(keys, 24, palette)
    assert [e.description for e in kept] == ["Open", "Filter", "Help"]


def test_times_in_another_year_keep_their_time_of_day() -> None:
    now = datetime(2026, 2, 15, 15, 0, tzinfo=UTC)
    tz = "America/New_York"
    this_year = datetime(2026, 3, 4, 5, 0, tzinfo=UTC)
    last_year = datetime(2025, 12, 31, 14, 30, tzinfo=UTC)
    assert render.when(this_year, tz, compact=True, now=now) == "Mar 04 00:00"
    assert render.when(last_year, tz, compact=True, now=now) == "2025-12-31 09:30"
    assert render.when(last_year, tz, compact=False, now=now) == "2025-12-31 09:30"
    assert len(render.when(last_year, tz, compact=True, now=now)) <= render.WHEN_WIDTH


async def test_list_headers_are_whole_and_other_years_keep_their_time_at_80x24(runtime: Runtime) -> None:
    """No column shows a cut header (a stray "D" at the right edge) and a time in another year
    than today's keeps its hour in the narrow Start/End columns."""
    from nodedesk.core.services.downtime import windows as windows_svc

    from tests.helpers import local

    seed_rentals(runtime)
    with runtime.write() as ctx:
        windows_svc.create_window(
            ctx,
            windows_svc.WindowDraft(
                title="Next year's work", start=local("2027-03-02 06:00"), end=local("2027-03-02 18:00")
            ),
        )
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("1", "2", "3", "D"):
            await pilot.press(key)
            await settle(pilot)
            table = app.screen.table  # type: ignore[attr-defined]
            labels = {str(c.label) for c in table.columns.values()}
            header = table.render_line(0).text
            shown = [word for word in header.split("  ") if word.strip()]
            assert shown, header
            for word in shown:
                assert word.strip() in labels, f"section {key}: header {word.strip()!r} cut in {header!r}"
        await pilot.press("1")
        await settle(pilot)
        rows = [app.screen.table.render_line(y).text for y in range(1, 12)]  # type: ignore[attr-defined]
        assert any("2027-03-02 06:00" in r and "2027-03-02 18:00" in r for r in rows), rows


async def test_the_activity_target_fills_the_row_and_ends_in_an_ellipsis_at_80x24(runtime: Runtime) -> None:
    """The activity list's Target column takes the room left at 80 columns and a long target ends
    in "…" on screen (not cut at the edge); Reason and Written scroll into view with right."""
    from nodedesk.core.services.downtime import windows as windows_svc

    from tests.helpers import local

    with runtime.write() as ctx:
        windows_svc.create_window(
            ctx,
            windows_svc.WindowDraft(
                title="Datacentre chilled-water loop inspection and pump replacement",
                start=local("2026-03-02 06:00"),
                end=local("2026-03-02 18:00"),
            ),
        )
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        header = table.render_line(0).text
        assert header.rstrip().endswith("Target"), header
        first = table.render_line(1).text
        assert "window:" in first and first.rstrip().endswith("…"), first
        assert len(first.rstrip()) >= 76, first  # the column fills the row
