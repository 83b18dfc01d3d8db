"""Pilot tests of a project's invoice lines as the kit's list (tui/kit/list_screen.py, ``LOCAL``):
what every field of the filter matches, escape, ``r`` and another admin's change recomputing the
month with the page, cursor and filter kept, and the keys with their ids (help/invoices.md).

The month opened here is February 2026 of tests/tui/invoice_seed.py: Genomics has the reference
lines r1…r6 (r2, r3, r4, r5 reduced by maintenance windows, r2 by 'Firmware'); Climate has
carol's MAINT_STANDARD fee.
"""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import overrides
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.invoices.invoice_lines import InvoiceLinesScreen
from nodedesk.tui.features.invoices.invoice_month import InvoiceMonthScreen
from nodedesk.tui.kit import bindings
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.widgets import Input

from tests.helpers import runtime_as
from tests.tui.conftest import settle
from tests.tui.invoice_seed import InvoiceSeed, seed_invoices
from tests.tui.test_invoices_pilot import column, footer, open_project, select_line, text

FAR = 3600.0  # the change feed's own timers, out of the way: the tests poll by hand
GENOMICS = (6, 1, 2, 3, 5, 4)  # February's Genomics lines, by the start of the billed part


@pytest.fixture
def seed(runtime: Runtime) -> InvoiceSeed:
    return seed_invoices(runtime)


def quiet_app(runtime: Runtime) -> NodedeskApp:
    app = create_app(runtime)
    app.feed.poll_seconds = app.feed.clock_seconds = FAR
    return app


def lines(seed: InvoiceSeed, *numbers: int) -> list[str]:
    return [f"#{seed.r[n]}" for n in numbers]


async def filter_by(pilot: Pilot, value: str) -> None:
    """Type into the filter box and wait out its pause."""
    await pilot.press("slash")
    await settle(pilot)
    box = pilot.app.screen.query_one("#filter", Input)
    assert box.display and box.has_focus
    box.value = value
    await pilot.pause(0.35)
    await settle(pilot)


async def other_admin_overrides(pilot: Pilot, runtime: Runtime, rid: int, **override: str) -> None:
    """A second admin (own runtime) overrides line ``rid``; then one tick of the change feed."""
    with runtime_as(runtime, "bmgr").write() as ctx:
        overrides.set_override(ctx, "2026-02", rid, reason="agreed with the PI", **override)
    await settle(pilot)
    pilot.app.feed.poll()  # type: ignore[attr-defined]
    await settle(pilot)


async def test_the_filter_matches_id_node_user_sku_override_and_window(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    with runtime.write() as ctx:
        overrides.set_override(ctx, "2026-02", seed.r[4], kind="exclude", reason="billed twice")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "2026-02", "Genomics")
        assert column(app, "line") == lines(seed, *GENOMICS)
        node = column(app, "who")[GENOMICS.index(3)]
        for value, expected in [
            (f"#{seed.r[5]}", lines(seed, 5)),  # the reservation's id
            (node, lines(seed, 3)),  # its node
            ("firmware", lines(seed, 2)),  # the title of the window that reduced it
            ("override billed twice", lines(seed, 4)),  # its override and the reason
            ("maintenance", lines(seed, 2, 3, 5, 4)),  # the kind of downtime
            ("maintenance grant-a", lines(seed, 2, 3, 5)),  # every word: r4 charges nothing now
        ]:
            await filter_by(pilot, value)
            assert column(app, "line") == expected, value
            assert f"filter: {value}" in text(app, "#list-status")
        await filter_by(pilot, "no such line")
        assert column(app, "line") == []
        assert text(app, "#list-state") == "No line matches the filter."
        assert not screen.query_one("#inv-preview").display  # nothing selected, nothing to preview
        await pilot.press("escape")
        await settle(pilot)
        assert column(app, "line") == lines(seed, *GENOMICS)
        assert screen.query_one("#inv-preview").display

        await pilot.press("escape")  # back to the month, and into Climate: carol's fee
        await settle(pilot)
        table = app.screen.query_one(PagedTable)
        table.move_cursor(row=column(app, "project").index("Climate"))
        await pilot.press("enter")
        await settle(pilot)
        for value in ("carol", "maint_standard", "fee"):  # the fee's user and SKU
            await filter_by(pilot, value)
            assert column(app, "line") == ["fee"], value
        assert text(app, "#inv-preview").startswith("fee MAINT_STANDARD of carol · 2026-02-01 → ")


async def test_escape_clears_the_filter_first_then_goes_back(app: NodedeskApp, seed: InvoiceSeed) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "2026-02", "Genomics")
        box = screen.query_one("#filter", Input)
        await filter_by(pilot, "firmware")
        await pilot.press("enter")  # leave the box: the list keeps its filter
        await settle(pilot)
        assert box.display and not box.has_focus and column(app, "line") == lines(seed, 2)
        assert footer(app)["escape"] == "Back"
        await pilot.press("escape")  # first: the filter goes, the list is whole again
        await settle(pilot)
        assert app.screen is screen and not box.display and box.value == ""
        assert column(app, "line") == lines(seed, *GENOMICS)
        await pilot.press("slash")  # an empty box open: escape closes it, nothing else
        await settle(pilot)
        assert box.display
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and not box.display
        await pilot.press("escape")  # then: back to the month
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)


async def test_another_admins_override_shows_with_cursor_and_filter_kept(
    runtime: Runtime, seed: InvoiceSeed
) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "2026-02", "Genomics")
        await filter_by(pilot, "maintenance")
        await pilot.press("enter")
        await select_line(pilot, seed.r[3])
        assert column(app, "mark") == ["", "", "", ""]
        assert column(app, "net")[column(app, "line").index(f"#{seed.r[5]}")] == "101.00"
        await other_admin_overrides(pilot, runtime, seed.r[5], kind="hours", hours="10")
        assert column(app, "line") == lines(seed, 2, 3, 5, 4)  # the filter stays
        row = column(app, "line").index(f"#{seed.r[5]}")
        assert column(app, "net")[row] == "10.00" and column(app, "mark")[row] == "✎"
        assert app.screen.query_one(PagedTable).current_key() == f"r{seed.r[3]}"  # the same line
        assert screen.feed_reads.count == 1 and not screen.feed_reads.running
        assert "filter: maintenance" in text(app, "#list-status")
        totals = text(app, "#inv-totals")
        assert "net 130.00 h" in totals, totals  # 221 h, with r5's 101 h billed as 10


async def test_r_recomputes_the_month(runtime: Runtime, seed: InvoiceSeed) -> None:
    app = quiet_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_project(pilot, "2026-02", "Genomics")
        await select_line(pilot, seed.r[2])
        with runtime_as(runtime, "bmgr").write() as ctx:  # the feed is not polled: r is needed
            overrides.set_override(ctx, "2026-02", seed.r[1], kind="exclude", reason="billed twice")
        row = column(app, "line").index(f"#{seed.r[1]}")
        assert column(app, "mark")[row] == "" and column(app, "amount")[row] == "328.00"
        await pilot.press("r")
        await settle(pilot)
        assert column(app, "mark")[row] == "✎" and column(app, "amount")[row] == "0.00"
        assert app.screen.query_one(PagedTable).current_key() == f"r{seed.r[2]}"
        assert "−12.00 h maintenance" in text(app, "#inv-preview")  # r2's, still selected


async def test_a_large_project_keeps_its_page_and_line_when_the_month_is_recomputed(
    runtime: Runtime,
) -> None:
    seed = seed_invoices(runtime, extra_lines=130)
    app = quiet_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "2026-02", "Genomics")
        table = app.screen.query_one(PagedTable)
        await pilot.press("G")
        await settle(pilot)
        key = table.current_key()
        assert table.page_offset == 100 and key is not None
        await other_admin_overrides(pilot, runtime, seed.r[2], kind="exclude")
        assert table.page_offset == 100 and table.row_count == 36 and table.current_key() == key
        assert screen.feed_reads.count == 1
        assert "Lines 101–136 of 136" in text(app, "#list-status")


async def test_the_lines_keys_keep_their_ids(app: NodedeskApp, seed: InvoiceSeed) -> None:
    ids = {i for i in bindings.catalogue() if i.startswith("invoice_lines.")}
    assert ids == {
        "invoice_lines.back",
        "invoice_lines.clear_override",
        "invoice_lines.export",
        "invoice_lines.filter",
        "invoice_lines.reload",
        "invoice_lines.set_override",
    }
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_project(pilot, "2026-02", "Genomics")
        assert isinstance(screen, InvoiceLinesScreen)
        shown = footer(app)
        assert {k: shown[k] for k in ("escape", "o", "x", "slash")} == {
            "escape": "Back",
            "o": "Override",
            "x": "Export",
            "slash": "Filter",
        }
        assert "r" not in shown and "c" not in shown  # r is in the help; nothing to clear yet
        live = {b.id for b in bindings.live_bindings(screen)}
        assert ids <= live
