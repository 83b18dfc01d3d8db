"""Pilot tests of the Rates section: SKU list, filter, rate history, setting a rate (checked as you
type, confirmed, corrections need notes), append-only refusals, roles, fee subscriptions, help."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import rates
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.rates.rate_form import RateFormScreen
from nodedesk.tui.features.rates.rates import RatesScreen
from nodedesk.tui.features.rates.sku_detail import SkuDetailScreen
from nodedesk.tui.features.rates.subscriptions import SubscriptionsScreen
from nodedesk.tui.kit.confirm import ConfirmScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.helpers import runtime_as
from tests.tui.conftest import notifications as notes
from tests.tui.conftest import settle
from tests.tui.ledger_seed import Ledger, cells, footer_keys, seed_ledger, text_of, type_into


@pytest.fixture
def ledger(runtime: Runtime) -> Ledger:
    return seed_ledger(runtime)


async def open_rates(pilot: Pilot) -> PagedTable:
    await settle(pilot)
    await pilot.press("8")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RatesScreen)
    return pilot.app.screen.query_one(PagedTable)


def history(runtime: Runtime, code: str) -> list[tuple[Decimal, date, str]]:
    with runtime.read() as ctx:
        return [(r.amount, r.effective_date, r.notes) for r in rates.rate_history(ctx, code)]


async def test_sku_list_shows_rate_today_and_filters(app: NodedeskApp, ledger: Ledger) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_rates(pilot)
        codes = cells(table, "code")
        assert codes[0] == "NODE_A100" and "MAINT_STANDARD" in codes and "QOS_PRIORITY" in codes
        by_code = dict(zip(codes, cells(table, "rate"), strict=True))
        assert by_code["NODE_A100"] == "4.50 /h"
        assert by_code["MAINT_STANDARD"] == "25.00 /mo"
        assert by_code["MAINT_ADVANCED"] == "⚠ no rate"  # words and glyph, not only colour
        assert cells(table, "node_type")[0] == "A100"
        assert "Today 4.50 per hour since 2025-03-01" in text_of(app, "#preview")
        await pilot.press("slash", *"qos")
        await pilot.pause(0.4)
        await settle(pilot)
        assert all(c.startswith("QOS_") for c in cells(table, "code"))
        await pilot.press("escape")  # leaves the filter box and clears it
        await settle(pilot)
        await pilot.press("f")  # hourly only
        await settle(pilot)
        assert cells(table, "code") == ["NODE_A100"] and "kind: hourly" in text_of(app, "#list-status")
        await pilot.press("f")
        await settle(pilot)
        assert set(cells(table, "kind")) == {"monthly"}


async def test_detail_shows_history_states_and_refuses_edits(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    with runtime.write() as ctx:
        rates.set_rate(ctx, "NODE_A100", "5.00", date(2026, 3, 1))
        rates.set_rate(ctx, "NODE_A100", "4.80", date(2026, 3, 1), "typo: 4.80 was agreed")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SkuDetailScreen)
        summary = text_of(app, "#sku-summary")
        assert "NODE_A100" in summary and "Today 4.50 per hour since 2025-03-01" in summary
        assert "Planned: 4.80 from 2026-03-01" in summary
        t = app.screen.query_one(PagedTable)
        assert cells(t, "amount") == ["4.80", "5.00", "4.50"]
        assert cells(t, "state")[0] == "◷ upcoming"
        assert cells(t, "state")[1].startswith("⊘ corrected by #")
        assert cells(t, "state")[2] == "✓ in force"
        assert "typo: 4.80 was agreed" in text_of(app, "#preview")
        await pilot.press("e")
        await settle(pilot)
        assert any("append-only history" in m for m in notes(app))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RatesScreen)


async def test_set_rate_checks_as_you_type_and_confirms(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, RateFormScreen)
        assert app.screen.query_one("#amount", Input).value == "4.50"
        assert app.screen.query_one("#effective_date", Input).value == "2026-03-01"
        hint = str(app.screen.query_one("#amount-hint", Static).render())
        assert "same as in force then" in hint
        for bad, message in (
            ("", "is required (e.g. 4.80)"),
            ("abc", "'abc' is not an amount (e.g. 8.00 or 2.125)"),
            ("-1", "must not be negative (got -1)"),
            ("1.1234567", "1.1234567 has more than 6 decimal places"),
        ):
            await type_into(pilot, "#amount", bad)
            assert text_of(app, "#amount-error") == message
        await type_into(pilot, "#amount", "4.875")
        assert "was 4.50 that day" in str(app.screen.query_one("#amount-hint", Static).render())
        await type_into(pilot, "#effective_date", "2026-13-01")
        assert "not a real calendar date" in text_of(app, "#effective_date-error")
        await type_into(pilot, "#effective_date", "2026-03-01")
        await type_into(pilot, "#notes", "FY26 power cost")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one(".dialog-text", Static).render())
        assert "Set NODE_A100 to 4.875 per hour from 2026-03-01?" in question
        await pilot.press("n")  # back to the form, nothing saved
        await settle(pilot)
        assert isinstance(app.screen, RateFormScreen)
        assert len(history(runtime, "NODE_A100")) == 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, RatesScreen)
        assert any("NODE_A100: 4.875 per hour from 2026-03-01" in m for m in notes(app))
    assert history(runtime, "NODE_A100")[0] == (Decimal("4.875"), date(2026, 3, 1), "FY26 power cost")


async def test_a_correction_needs_notes(app: NodedeskApp, ledger: Ledger, runtime: Runtime) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        await pilot.press("enter", "n")
        await settle(pilot)
        assert isinstance(app.screen, RateFormScreen)
        await type_into(pilot, "#effective_date", "2025-03-01")  # the date of the row in force
        assert "corrects #" in str(app.screen.query_one("#effective_date-hint", Static).render())
        await type_into(pilot, "#amount", "4.40")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RateFormScreen)
        assert "a correction needs notes" in text_of(app, "#notes-error")  # the service's rule
        await type_into(pilot, "#notes", "contract says 4.40")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Correct NODE_A100 to 4.40" in str(app.screen.query_one(".dialog-text", Static).render())
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, SkuDetailScreen)
        t = app.screen.query_one(PagedTable)
        assert cells(t, "amount") == ["4.40", "4.50"] and cells(t, "state")[0] == "✓ in force"
    assert history(runtime, "NODE_A100")[0][0] == Decimal("4.40")


async def test_service_refusal_is_shown_on_the_form(
    app: NodedeskApp, ledger: Ledger, runtime: Runtime
) -> None:
    from tests.rentals.projects_helpers import finalize_month

    finalize_month(runtime, "2026-01")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#effective_date", "2026-01-15")
        await type_into(pilot, "#amount", "9.99")
        await settle(pilot)
        # the service's finalized-month rule marks the date as it is typed, before any save
        assert "finalized" in text_of(app, "#effective_date-error")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RateFormScreen)  # no question: nothing may be saved
        assert "finalized" in text_of(app, "#effective_date-error")
        assert "fix the marked field" in text_of(app, "#form-error")
    assert len(history(runtime, "NODE_A100")) == 1


async def test_only_rate_managers_set_rates(runtime: Runtime, ledger: Ledger) -> None:
    app = create_app(runtime_as(runtime, "bmgr"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        assert "n" not in footer_keys(app)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, RatesScreen)
        assert any("bmgr may not manage rates (needs role admin or rate_manager)" in m for m in notes(app))
    app = create_app(runtime_as(runtime, "ratemgr"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        assert footer_keys(app)["n"] == "Set rate"
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, RateFormScreen)


async def test_fee_subscriptions_list(app: NodedeskApp, ledger: Ledger) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SubscriptionsScreen)
        t = app.screen.query_one(PagedTable)
        assert cells(t, "user") == ["ann"] and cells(t, "sku") == ["MAINT_STANDARD"]
        assert cells(t, "status") == ["● active"] and cells(t, "project") == ["Genomics"]
        assert "periods: MAINT_STANDARD → Genomics 2026-01-01–open" in text_of(app, "#preview")
        await pilot.press("f", "f")  # active, upcoming
        await settle(pilot)
        assert cells(t, "user") == [] and "No subscriptions match." in text_of(app, "#preview")
        await pilot.press("escape")  # clears the filter first
        await settle(pilot)
        assert cells(t, "user") == ["ann"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RatesScreen)


async def test_help_shows_the_rates_topic(app: NodedeskApp, ledger: Ledger) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rates(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and app.screen.topic == "rates"
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Set a new rate for the SKU" in keys and "Fee subscriptions" in keys
