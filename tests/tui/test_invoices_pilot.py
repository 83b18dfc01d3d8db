"""Pilot tests of the Invoices section: month picker, a month's projects, a project's lines (paged),
a line's downtime sources down to the window, overrides, finalize/unfinalize, drift, export,
warnings, read-only users, help."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from nodedesk.core.models import ActivityEntry, BillingOverride, InvoicePeriod
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.invoicing import invoice_export, invoices, overrides
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.invoices.invoice_dialogs import (
    ClearOverrideScreen,
    DriftScreen,
    ExportScreen,
    FinalizeScreen,
    OverrideFormScreen,
    UnfinalizeScreen,
)
from nodedesk.tui.features.invoices.invoice_line import InvoiceLineScreen
from nodedesk.tui.features.invoices.invoice_lines import InvoiceLinesScreen
from nodedesk.tui.features.invoices.invoice_month import InvoiceMonthScreen
from nodedesk.tui.features.invoices.invoices import InvoicesScreen
from nodedesk.tui.features.outages.outage_detail import OutageDetailScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Button, Input, RadioButton, Static

from tests.helpers import local, runtime_as
from tests.tui.conftest import notifications as notes
from tests.tui.conftest import settle
from tests.tui.invoice_seed import InvoiceSeed, finalize_and_correct, seed_invoices


@pytest.fixture
def seed(runtime: Runtime) -> InvoiceSeed:
    return seed_invoices(runtime)


def column(app: NodedeskApp, key: str, selector: str = "PagedTable") -> list[str]:
    t = app.screen.query_one(selector, PagedTable)
    return [str(getattr(t.get_cell(r.key, key), "plain", t.get_cell(r.key, key))) for r in t.ordered_rows]


def text(app: NodedeskApp, selector: str) -> str:
    box = app.screen.query_one(selector, Static)
    return str(box.render()) if box.display else ""



def footer(app: NodedeskApp) -> dict[str, str]:
    """Key → description of what the footer shows right now."""
    return {
        key: active.binding.description
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


def actions(runtime: Runtime) -> list[str]:
    with runtime.read() as ctx:
        return list(ctx.session.scalars(select(ActivityEntry.action).order_by(ActivityEntry.seq)))


async def open_section(pilot: Pilot) -> InvoicesScreen:
    await settle(pilot)
    await pilot.press("5")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InvoicesScreen)
    return screen


async def open_month(pilot: Pilot, period: str) -> InvoiceMonthScreen:
    await open_section(pilot)
    table = pilot.app.screen.query_one(PagedTable)
    table.move_cursor(row=column(pilot.app, "month").index(period))
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InvoiceMonthScreen)
    return screen


async def open_project(pilot: Pilot, period: str, project: str) -> InvoiceLinesScreen:
    await open_month(pilot, period)
    table = pilot.app.screen.query_one(PagedTable)
    table.move_cursor(row=column(pilot.app, "project").index(project))
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InvoiceLinesScreen)
    return screen


async def select_line(pilot: Pilot, rid: int) -> None:
    table = pilot.app.screen.query_one(PagedTable)
    table.move_cursor(row=column(pilot.app, "line").index(f"#{rid}"))
    await settle(pilot)


async def type_into(pilot: Pilot, selector: str, value: str) -> None:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = value
    await settle(pilot)


# ---------------------------------------------------------------- month picker and month


async def test_month_picker_lists_months_with_state_and_totals(app: NodedeskApp, seed: InvoiceSeed) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        assert column(app, "month") == ["2026-02", "2026-01"]  # newest first
        assert column(app, "state") == ["◌ draft (open)", "◌ draft"]  # glyph and word, not colour alone
        # Jan: r6 8 h + r7 33 h at $8 = $328 + carol's fee $25
        assert column(app, "amount") == ["1,793.00", "353.00"]
        assert column(app, "downtime") == ["−89.00", "−32.00"]
        assert column(app, "warnings") == ["3", "1"]
        # the cursor starts on the month that ended last
        assert app.screen.query_one(PagedTable).current_key() == "2026-01"
        preview = text(app, "#preview")
        assert "2026-01 ◌ draft" in preview and "the month has ended and may be finalized" in preview
        await pilot.press("k")
        await settle(pilot)
        assert "month still open (ends 2026-03-01 00:00 -05:00)" in text(app, "#preview")
        await pilot.press("slash", *"2026-01")
        await pilot.pause(0.3)
        await settle(pilot)
        assert column(app, "month") == ["2026-01"]
        await pilot.press("escape")
        await settle(pilot)
        assert column(app, "month") == ["2026-02", "2026-01"]


async def test_month_shows_projects_totals_cost_objects_and_warnings(
    app: NodedeskApp, seed: InvoiceSeed
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_month(pilot, "2026-02")
        head = text(app, "#inv-head")
        assert "2026-02 ◌ draft" in head and "live, computed 10:00" in head and "open until" in head
        assert text(app, "#inv-totals") == (
            "Total: gross 310.00 h − downtime 89.00 h = net 221.00 h · 1,793.00 USD"
        )
        assert column(app, "project") == ["Climate", "Genomics"]
        assert column(app, "amount") == ["25.00", "1,768.00"]
        table = app.screen.query_one(PagedTable)
        table.move_cursor(row=1)
        await settle(pilot)
        preview = text(app, "#inv-preview")
        assert "Genomics (owner alice) · 6 line(s) · net 221.00 h · 1,768.00 USD" in preview
        assert "Cost objects: GRANT-A 132.60 h 1,060.80 · GRANT-B 88.40 h 707.20" in preview
        warnings = text(app, "#warnings-text")
        assert warnings.startswith("⚠ 3 warning(s) (w shows): 2026-02 is not over yet")
        await pilot.press("w")
        await settle(pilot)
        full = text(app, "#warnings-text")
        assert "Climate" in full and "(w hides the warnings)" in full
        assert text(app, "#drift-banner") == ""  # a draft has no snapshot to drift from


async def test_follow_a_line_from_its_amount_to_the_window(app: NodedeskApp, seed: InvoiceSeed) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_project(pilot, "2026-02", "Genomics")
        order = (6, 1, 2, 3, 5, 4)  # by the start of the billed part
        assert column(app, "line") == [f"#{seed.r[i]}" for i in order]
        assert column(app, "downtime") == [
            "0.00",
            "0.00",
            "−12.00 maint.",
            "−24.00 maint.",
            "−36.00 maint.",
            "−17.00 maint.",
        ]
        assert column(app, "gross")[2] == "41.00" and column(app, "net")[2] == "29.00"
        assert column(app, "rate")[2] == "8.00" and column(app, "amount")[2] == "232.00"
        await select_line(pilot, seed.r[2])
        preview = text(app, "#inv-preview")
        assert f"−12.00 h maintenance (enter shows it): maintenance #{seed.firmware} 'Firmware'" in preview
        assert "Split: GRANT-A 17.40 h 139.20 · GRANT-B 11.60 h 92.80" in preview
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceLineScreen)
        fields = text(app, "#line-fields")
        assert "Gross     41.00 h" in fields
        assert "Downtime  −12.00 h maintenance" in fields
        assert "Net       29.00 h" in fields and "Amount    29.00 h × 8.00 = 232.00 USD" in fields
        assert column(app, "title", "#sources-table") == ["Firmware"]
        assert column(app, "hours", "#sources-table") == ["−12.00"]
        assert column(app, "when", "#sources-table") == ["02-15 08:00 → 02-15 20:00"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WindowDetailScreen) and app.screen.window_id == seed.firmware
        assert "Invoices" in str(app.screen.query_one("TopBar").render())  # still the Invoices section
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceLineScreen)
        assert "Net       29.00 h" in text(app, "#line-fields")


async def test_overlapping_downtime_is_counted_once_and_outages_open(
    app: NodedeskApp, seed: InvoiceSeed
) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await open_project(pilot, "2026-01", "Genomics")
        await select_line(pilot, seed.r[7])
        assert column(app, "downtime")[column(app, "line").index(f"#{seed.r[7]}")] == "−8.00 both"
        await pilot.press("enter")
        await settle(pilot)
        fields = text(app, "#line-fields")
        assert "Downtime  −8.00 h maintenance + outage (the sources below overlap; counted once)" in fields
        assert column(app, "source", "#sources-table") == ["outage", "maintenance"]  # by start
        assert column(app, "hours", "#sources-table") == ["−6.00", "−4.00"]
        assert column(app, "when", "#sources-table") == [
            "01-11 00:00 → 01-11 06:00",
            "01-11 04:00 → 01-11 08:00",
        ]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OutageDetailScreen) and app.screen.outage_id == seed.outage


async def test_large_project_is_paged(runtime: Runtime) -> None:
    seed = seed_invoices(runtime, extra_lines=130)
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_project(pilot, "2026-02", "Genomics")
        table = app.screen.query_one(PagedTable)
        assert table.row_count == 100 and table.page_total == 136  # one page mounted, not 136 rows
        await pilot.press("G")
        await settle(pilot)
        assert table.page_offset == 100 and table.row_count == 36
        assert "(101–136 of 136)" in text(app, "#inv-preview").splitlines()[0]
        await pilot.press("g")
        await settle(pilot)
        assert table.page_offset == 0 and table.cursor_row == 0
        await pilot.press("slash", *"firmware")
        await pilot.pause(0.3)
        await settle(pilot)
        assert column(app, "line") == [f"#{seed.r[2]}"]  # the line reduced by the 'Firmware' window


# ---------------------------------------------------------------- overrides


async def test_set_and_clear_an_override_with_a_reason(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    async with app.run_test(size=(100, 34)) as pilot:
        await open_project(pilot, "2026-02", "Genomics")
        await select_line(pilot, seed.r[1])
        assert footer(app)["o"] == "Override" and "c" not in footer(app)  # nothing to clear yet
        await pilot.press("o")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, OverrideFormScreen)
        form.query_one("#kind-hours", RadioButton).value = True
        await settle(pilot)
        await type_into(pilot, "#value", "20")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # a reason is required
        assert text(app, "#reason-error") == "a reason is required (kept in the activity log)"
        await type_into(pilot, "#value", "99")
        await type_into(pilot, "#reason", "ran short jobs only")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # the service refuses more hours than the line has
        assert "more than the reservation's 41.00 h" in text(app, "#value-error")
        await type_into(pilot, "#value", "20")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceLinesScreen)
        row = column(app, "line").index(f"#{seed.r[1]}")
        assert column(app, "net")[row] == "20.00" and column(app, "amount")[row] == "160.00"
        assert column(app, "mark")[row] == "✎"
        assert "✎ billed for 20.00 h: ran short jobs only (by admin)" in text(app, "#inv-preview")
        assert actions(runtime)[-1] == "override.set"

        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ClearOverrideScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "a reason is required" in text(app, "#dialog-error")
        await type_into(pilot, "#reason", "billed normally after all")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceLinesScreen)
        assert column(app, "net")[row] == "41.00" and column(app, "mark")[row] == ""
        with runtime.read() as ctx:
            assert ctx.session.scalars(select(BillingOverride)).all() == []
        # back on the month screen the totals follow without another trip to the database
        await pilot.press("escape")
        await settle(pilot)
        assert "1,793.00 USD" in text(app, "#inv-totals")


async def test_override_from_the_line_screen_split_and_charge_to(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    async with app.run_test(size=(100, 34)) as pilot:
        await open_project(pilot, "2026-02", "Genomics")
        await select_line(pilot, seed.r[2])
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        app.screen.query_one("#kind-split", RadioButton).value = True
        await settle(pilot)
        await type_into(pilot, "#value", "GRANT-A=70 GRANT-B=20")
        await type_into(pilot, "#reason", "agreed with the PI")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, OverrideFormScreen)
        assert "100" in text(app, "#value-error")  # the parts must sum to 100
        await type_into(pilot, "#value", "GRANT-A=70 GRANT-B=30")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceLineScreen)
        fields = text(app, "#line-fields")
        assert "Override  ✎ split GRANT-A 70.00%, GRANT-B 30.00%: agreed with the PI (by admin)" in fields
        assert "Split     GRANT-A 20.30 h 162.40 · GRANT-B 8.70 h 69.60" in fields

        await pilot.press("o")
        await settle(pilot)
        app.screen.query_one("#kind-charge_to", RadioButton).value = True
        await settle(pilot)
        await type_into(pilot, "#value", "Climate")
        await type_into(pilot, "#reason", "Climate used it")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceLineScreen)
        fields = text(app, "#line-fields")
        assert f"#{seed.r[2]} node2432 · Climate" in fields  # the line moved to Climate
        assert "charged here from 'Genomics'" in fields


# ---------------------------------------------------------------- finalize, unfinalize, drift


async def test_finalize_explains_itself_and_unfinalize_needs_a_reason(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-02")
        assert footer(app)["f"] == "Finalize 🔒"  # February is not over
        await pilot.press("f")
        await settle(pilot)
        assert "2026-02 is not over yet (it ends 2026-03-01 00:00 -05:00)" in notes(app)[-1]
        await pilot.press("escape")
        await settle(pilot)

        table = app.screen.query_one(PagedTable)
        table.move_cursor(row=1)
        await pilot.press("enter")
        await settle(pilot)
        assert footer(app)["f"] == "Finalize"
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FinalizeScreen)
        words = " ".join(str(s.render()) for s in dialog.query(Static))
        assert "immutable snapshot" in words and "SHA-256" in words
        assert "shown from the snapshot" in words and "except admin corrections" in words
        assert "1 warning(s)" in words and "353.00 USD" in words
        await pilot.press("escape")  # cancel: nothing happens
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen) and "invoice.finalized" not in actions(runtime)
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        head = text(app, "#inv-head")
        assert "2026-01 ✓ finalized · 2026-02-15 10:00 by admin · sha256" in head
        assert "✓ live data matches" in head
        assert text(app, "#inv-totals").startswith("Snapshot: gross")
        assert footer(app)["u"] == "Unfinalize" and "f" not in footer(app)
        await pilot.press("f")
        await settle(pilot)
        assert "2026-01 is already finalized (by admin)" in notes(app)[-1]

        # overrides of a finalized month are refused, and say what to do
        await pilot.press("j", "enter")  # Genomics
        await settle(pilot)
        assert footer(app)["o"] == "Override 🔒"
        await pilot.press("o")
        await settle(pilot)
        assert "2026-01 is finalized: its overrides cannot change" in notes(app)[-1]
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, UnfinalizeScreen)
        assert "stays in the history" in " ".join(str(s.render()) for s in app.screen.query(Static))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "a reason is required" in text(app, "#dialog-error")
        await type_into(pilot, "#reason", "wrong split on one line")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        assert "2026-01 ◌ draft" in text(app, "#inv-head")
        assert actions(runtime)[-2:] == ["invoice.finalized", "invoice.unfinalized"]
        # the month list shows the new state when we come back
        await pilot.press("escape")
        await settle(pilot)
        assert column(app, "state") == ["◌ draft (open)", "◌ draft"]


async def test_drift_banner_after_an_admin_correction(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    finalize_and_correct(runtime, seed)
    async with app.run_test(size=(100, 34)) as pilot:
        await open_section(pilot)
        assert column(app, "state") == ["◌ draft (open)", "⚠ drifted"]
        await pilot.press("enter")
        await settle(pilot)
        assert "2026-01 ⚠ drifted · finalized 2026-02-15 10:00 by admin" in text(app, "#inv-head")
        banner = text(app, "#drift-banner")
        assert banner.startswith("⚠ DRIFTED: live data differs from this snapshot in")
        assert "(live 449.00 USD, snapshot 353.00)" in banner  # 12 more hours of r6 at $8
        assert text(app, "#inv-totals").endswith("353.00 USD")  # still shown from the snapshot
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        items = text(app, "#drift-items")
        assert f"reservation #{seed.r[6]} (node2436, Genomics): downtime_hours 24.00 → 12.00" in items
        tail = text(app, "#drift-tail")
        assert "Flagged by:" in tail and "unfinalize (u, with a reason), then finalize (f) again" in tail
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter")  # Genomics: its screens say so too
        await settle(pilot)
        assert text(app, "#drift-banner").startswith("⚠ DRIFTED")
        assert "⚠ drifted" in text(app, "#inv-head")


# ---------------------------------------------------------------- export


async def test_export_writes_the_same_csv_and_json_as_the_cli(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed, tmp_path: Path
) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-02")
        await pilot.press("x")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportScreen)
        assert dialog.query_one("#path", Input).value == "~/nodedesk-invoice-2026-02.csv"
        await type_into(pilot, "#path", str(out / "feb.csv"))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        assert notes(app)[-1] == f"Wrote the 2026-02 invoice (CSV) to {out / 'feb.csv'}"
        with runtime.read() as ctx:
            inv = invoices.compute_invoice(ctx, "2026-02")
        written = (out / "feb.csv").read_text(encoding="utf-8")
        assert written == invoice_export.render(inv, "csv")
        rows = list(csv.DictReader(io.StringIO(written)))
        assert {r["cost_object"] for r in rows if r["reservation_id"] == str(seed.r[2])} == {
            "GRANT-A",
            "GRANT-B",
        }

        # JSON: the extension follows the format; an existing file needs a second ctrl+s
        await pilot.press("x")
        await settle(pilot)
        await type_into(pilot, "#path", str(out / "feb.csv"))
        app.screen.query_one("#format-json", RadioButton).value = True
        await settle(pilot)
        assert app.screen.query_one("#path", Input).value == str(out / "feb.json")
        (out / "feb.json").write_text("old", encoding="utf-8")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        assert "already exists. Press ctrl+s again to overwrite it" in text(app, "#dialog-error")
        assert (out / "feb.json").read_text(encoding="utf-8") == "old"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        assert json.loads((out / "feb.json").read_text(encoding="utf-8")) == json.loads(
            invoice_export.render(inv, "json")
        )
        # a folder that does not exist is refused in the dialog
        await pilot.press("x")
        await settle(pilot)
        await type_into(pilot, "#path", str(out / "nope" / "x.csv"))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Not written: path: folder" in text(app, "#dialog-error")


# ---------------------------------------------------------------- two admins: act on what was shown

STALE = "the month changed since it was shown: review again"


def dialog_words(app: NodedeskApp) -> str:
    return " ".join(str(s.render()) for s in app.screen.query(Static) if s.display)


def confirm_label(app: NodedeskApp) -> str:
    return str(app.screen.query_one("#confirm", Button).label)


def month_now(runtime: Runtime, period: str = "2026-01") -> invoices.Invoice:
    with runtime.read() as ctx:
        return invoices.compute_invoice(ctx, period)


def exclude_r7(second: Runtime, seed: InvoiceSeed) -> None:
    with second.write() as ctx:  # January: 353.00 → 89.00 (r7's 264.00 excluded)
        overrides.set_override(ctx, "2026-01", seed.r[7], kind="exclude", reason="booked twice")


def restore_r7(second: Runtime, seed: InvoiceSeed) -> None:
    with second.write() as ctx:
        overrides.clear_override(ctx, "2026-01", seed.r[7], reason="it was not booked twice")


async def test_finalize_shows_the_month_as_it_is_and_refuses_once_it_changed(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    second = runtime_as(runtime, "bmgr")  # another admin, on another connection
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-01")
        assert text(app, "#inv-totals").endswith("353.00 USD")
        exclude_r7(second, seed)  # changed while the month is open here
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FinalizeScreen)
        shown = month_now(second)
        words = dialog_words(app)
        assert "89.00 USD" in words and "353.00" not in words
        assert f"digest {shown.digest[:16]}" in words

        restore_r7(second, seed)  # changed again after the dialog was shown
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FinalizeScreen)
        assert text(app, "#dialog-error") == f"Refused, nothing changed: period: {STALE}"
        assert "invoice.finalized" not in actions(runtime)
        assert confirm_label(app) == "Review again (ctrl+s)"

        await pilot.press("ctrl+s")  # review again: the dialog reads the month afresh
        await settle(pilot)
        again = month_now(second)
        words = dialog_words(app)
        assert "353.00 USD" in words and f"digest {again.digest[:16]}" in words
        assert text(app, "#dialog-error") == "" and confirm_label(app) == "Finalize (ctrl+s)"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        assert text(app, "#inv-totals").endswith("353.00 USD")
    with runtime.read() as ctx:
        row = ctx.session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == "2026-01"))
        assert row.status == "finalized" and row.snapshot_sha256 == again.digest


async def test_export_writes_the_figures_it_shows_or_refuses(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed, tmp_path: Path
) -> None:
    second = runtime_as(runtime, "bmgr")
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-01")
        exclude_r7(second, seed)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        shown = month_now(second)
        words = dialog_words(app)
        assert "as computed now" in words and "89.00 USD" in words and shown.digest[:16] in words
        await type_into(pilot, "#path", str(tmp_path / "jan.csv"))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        written = (tmp_path / "jan.csv").read_text(encoding="utf-8")
        assert written == invoice_export.render(shown, "csv") and ",264.00," not in written
        assert text(app, "#inv-totals").endswith("89.00 USD")  # the month behind follows what was read

        await pilot.press("x")
        await settle(pilot)
        await type_into(pilot, "#path", str(tmp_path / "jan2.csv"))
        restore_r7(second, seed)  # changed after the dialog showed 89.00
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        assert text(app, "#dialog-error") == f"Not written: period: {STALE}"
        assert not (tmp_path / "jan2.csv").exists()
        assert confirm_label(app) == "Review again (ctrl+s)"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "353.00 USD" in dialog_words(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        written = (tmp_path / "jan2.csv").read_text(encoding="utf-8")
        assert written == invoice_export.render(month_now(second), "csv")


async def test_drift_check_reads_live_data_again(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-01")
        assert "✓ live data matches (checked 10:00)" in text(app, "#inv-head")
        with runtime_as(runtime, "admin").write() as ctx:  # a second admin corrects January
            window_svc.update_window(
                ctx,
                seed.jan31,
                window_svc.WindowChanges(end=local("2026-01-31 12:00")),
                correction=True,
                reason="the work ended at noon",
            )
        assert "✓ live data matches" in text(app, "#inv-head")  # as checked at 10:00, it says
        await pilot.press("enter")  # a project's lines, and back: the month is compared again
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert "live data matches" not in text(app, "#inv-head")
        assert text(app, "#drift-banner").startswith("⚠ DRIFTED")
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        assert "live data differs from the finalized snapshot" in dialog_words(app)
        assert f"reservation #{seed.r[6]} (node2436, Genomics): downtime_hours 24.00 → 12.00" in text(
            app, "#drift-items"
        )
        await pilot.press("escape")
        await settle(pilot)
        assert "live data matches" not in text(app, "#inv-head")
        assert text(app, "#drift-banner").startswith("⚠ DRIFTED")


async def test_finalize_dialog_says_when_another_admin_finalized_meanwhile(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-01")
        with runtime_as(runtime, "bmgr").write() as ctx:
            invoices.finalize(ctx, "2026-01")
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FinalizeScreen)
        assert "2026-01 was finalized meanwhile (by bmgr)" in text(app, "#dialog-error")
        assert app.screen.query_one("#confirm", Button).disabled
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        assert "2026-01 ✓ finalized" in text(app, "#inv-head") and "by bmgr" in text(app, "#inv-head")
    assert actions(runtime).count("invoice.finalized") == 1


async def test_a_tampered_snapshot_is_flagged_in_the_app(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
        row = ctx.session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == "2026-01"))
        row.snapshot_json = row.snapshot_json.replace('"353.00"', '"35.00"')
    async with app.run_test(size=(100, 34)) as pilot:
        await open_section(pilot)
        assert "altered" in column(app, "state")[1]
        await open_month(pilot, "2026-01")
        assert "SNAPSHOT ALTERED" in text(app, "#inv-head")


# ---------------------------------------------------------------- roles and help


async def test_read_only_user_sees_everything_and_is_told_why_not(
    runtime: Runtime, seed: InvoiceSeed
) -> None:
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-01")
        assert footer(app)["f"] == "Finalize 🔒" and footer(app)["x"] == "Export"
        await pilot.press("f")
        await settle(pilot)
        assert notes(app)[-1] == (
            "vic may not manage invoices and overrides (needs role admin or billing_manager)"
        )
        assert not isinstance(app.screen, FinalizeScreen)
        await pilot.press("j", "enter")  # Genomics
        await settle(pilot)
        await select_line(pilot, seed.r[6])
        assert footer(app)["o"] == "Override 🔒"
        await pilot.press("o")
        await settle(pilot)
        assert "vic may not manage invoices" in notes(app)[-1]
        await pilot.press("enter")  # the detail is open to everyone
        await settle(pilot)
        assert "Downtime  −24.00 h maintenance" in text(app, "#line-fields")
    with runtime.read() as ctx:
        assert ctx.session.scalars(select(InvoicePeriod)).all() == []

    readonly = create_app(runtime, readonly=True)
    async with readonly.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-01")
        await pilot.press("f")
        await settle(pilot)
        assert "started with --readonly" in notes(readonly)[-1]


async def test_billing_manager_may_finalize(runtime: Runtime, seed: InvoiceSeed) -> None:
    app = create_app(runtime_as(runtime, "bmgr"))
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-01")
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "2026-01 ✓ finalized · 2026-02-15 10:00 by bmgr" in text(app, "#inv-head")


async def test_help_shows_the_invoice_topic_and_live_keys(app: NodedeskApp, seed: InvoiceSeed) -> None:
    async with app.run_test(size=(100, 34)) as pilot:
        await open_month(pilot, "2026-02")
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.topic == "invoices"
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Finalize the month: store its immutable snapshot" in keys  # the tooltip, dimmed: not now
        assert "Export the month as CSV or JSON" in keys
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)


async def test_coming_back_from_a_window_recomputes_the_month(
    app: NodedeskApp, runtime: Runtime, seed: InvoiceSeed
) -> None:
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    async with app.run_test(size=(100, 34)) as pilot:
        await open_project(pilot, "2026-01", "Genomics")
        await select_line(pilot, seed.r[6])
        await pilot.press("enter")
        await settle(pilot)
        assert column(app, "when", "#sources-table") == ["01-31 00:00 → 02-01 00:00"]
        assert text(app, "#drift-banner") == ""
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WindowDetailScreen) and app.screen.window_id == seed.jan31
        with runtime.write() as ctx:  # an admin corrects the window meanwhile (C on this screen)
            changes = window_svc.WindowChanges(end=local("2026-01-31 12:00"))
            window_svc.update_window(ctx, seed.jan31, changes, correction=True, reason="ended at noon")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceLineScreen)
        assert text(app, "#drift-banner").startswith("⚠ DRIFTED: live data differs from this snapshot")
        assert "Downtime  −24.00 h maintenance" in text(app, "#line-fields")  # the snapshot's figure
        assert column(app, "when", "#sources-table") == ["01-31 00:00 → 01-31 12:00"]  # today's window
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, InvoiceMonthScreen)
        assert "⚠ drifted" in text(app, "#inv-head")
