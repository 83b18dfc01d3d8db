"""Pilot tests of the Outages section: list with status word/glyph, filters, detail with ETR
history, open / update / resolve through the form, refusals, help."""

from __future__ import annotations

import pytest
from nodedesk.core.models import ActivityEntry, Outage
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.outages.outage_detail import OutageDetailScreen
from nodedesk.tui.features.outages.outage_form import OutageFormScreen
from nodedesk.tui.features.outages.outages import OutagesScreen
from nodedesk.tui.kit.rental_render import OUTAGE_COLOUR
from nodedesk.tui.widgets.paged_table import PagedTable
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Input, Markdown, Select, Static

from tests.helpers import local, runtime_as
from tests.tui.conftest import notifications, settle
from tests.tui.rentals_seed import Rentals, seed_rentals


@pytest.fixture
def rentals(runtime: Runtime) -> Rentals:
    return seed_rentals(runtime)


def cells(app: NodedeskApp, key: str) -> list:  # type: ignore[type-arg]
    t = app.screen.query_one(PagedTable)
    return [t.get_cell(r.key, key) for r in t.ordered_rows]


def column(app: NodedeskApp, key: str) -> list[str]:
    return [str(getattr(c, "plain", c)) for c in cells(app, key)]


def ids(app: NodedeskApp) -> list[int]:
    return [int(x) for x in column(app, "id")]


def text(app: NodedeskApp, selector: str) -> str:
    box = app.screen.query_one(selector, Static)
    return str(box.render()) if box.display else ""



def stored(runtime: Runtime, oid: int) -> outages.OutageView:
    with runtime.read() as ctx:
        row = ctx.session.get(Outage, oid)
        assert row is not None
        return outages.view(row, ctx.now())


def count(runtime: Runtime) -> int:
    with runtime.read() as ctx:
        return ctx.session.scalar(select(func.count(Outage.id))) or 0


def last_action(runtime: Runtime) -> str:
    with runtime.read() as ctx:
        return ctx.session.scalars(select(ActivityEntry.action).order_by(ActivityEntry.seq.desc())).first()


async def open_section(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    assert isinstance(pilot.app.screen, OutagesScreen)


async def type_into(pilot: Pilot, selector: str, value: str) -> None:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = value
    await settle(pilot)


# ---------------------------------------------------------------- list


async def test_list_shows_status_word_glyph_colour_and_etr(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(140, 30)) as pilot:
        await open_section(pilot)
        assert ids(app) == [rentals.open, rentals.resolved]  # newest first
        status = cells(app, "status")
        assert [s.plain for s in status] == ["◐ investigating", "✓ resolved"]
        assert str(status[0].style) == OUTAGE_COLOUR["investigating"] == "bold dark_orange"
        assert str(status[1].style) == OUTAGE_COLOUR["resolved"] == "green"
        assert column(app, "end") == ["open", "2026-02-10 09:00"]
        assert column(app, "duration") == ["4h", "3h"]
        assert column(app, "etr") == ["2026-02-16 12:00", ""]
        assert column(app, "credit") == ["yes", "no"]
        preview = text(app, "#preview")
        assert "open for 4h" in preview and "ETR Mon 16 Feb 2026 12:00" in preview
        assert "credited: renters are not billed" in preview


async def test_overdue_etr_is_flagged_and_filters_work(runtime: Runtime, rentals: Rentals) -> None:
    with runtime.write() as ctx:
        outages.revise_etr(ctx, rentals.open, local("2026-02-15 09:00"))  # an hour ago
    app = create_app(runtime)
    async with app.run_test(size=(140, 30)) as pilot:
        await open_section(pilot)
        assert column(app, "etr")[0] == "⚠ 2026-02-15 09:00"
        await pilot.press("f")  # open
        await settle(pilot)
        assert ids(app) == [rentals.open] and "status: open" in text(app, "#list-status")
        await pilot.press("f")  # reported: none
        await settle(pilot)
        assert ids(app) == [] and "No outages match." in text(app, "#preview")
        await pilot.press("escape", "slash", *"node01")
        await pilot.pause(0.4)
        await settle(pilot)
        assert ids(app) == [rentals.resolved] and "node: node01" in text(app, "#list-status")
        await pilot.press("escape")
        await settle(pilot)
        assert len(ids(app)) == 2


# ---------------------------------------------------------------- detail and ETR history


async def test_detail_shows_the_etr_history(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OutageDetailScreen)
        fields = text(app, "#detail-fields")
        assert "◐ investigating  · open: counts as downtime up to now" in fields
        assert "4h so far" in fields and "2026-02-16 12:00 -05:00" in fields
        history = text(app, "#etr-history").splitlines()
        assert history[0] == "ETR history (from the activity log)"
        assert history[1].split() == ["Feb", "15", "10:00", "admin", "set", "Feb", "15", "08:00"]
        assert history[2].split()[3:] == ["admin", "revised", "Feb", "15", "08:00", "→", "Feb", "16", "12:00"]
        assert "GPU 2 fell off the bus" in text(app, "#detail-description")


# ---------------------------------------------------------------- the form


async def test_open_an_outage_with_inline_validation(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen)
        assert form.value("start") == "2026-02-15 10:00" and form.value("status") == "reported"
        assert not form.query_one("#end-row").display  # only when resolved
        await type_into(pilot, "#title", "[b]PSU[/b] fan alarm")  # user text stays inert
        await type_into(pilot, "#nodes", "node01, node99,")
        assert "no node named 'node99'" in text(app, "#nodes-error")
        await type_into(pilot, "#nodes", "node01, node02")
        await type_into(pilot, "#start", "2026-02-15 12:00")
        assert "an outage has already begun" in text(app, "#start-error")
        await type_into(pilot, "#start", "2026-02-15 07:30")
        await type_into(pilot, "#etr", "2026-02-15 07:00")
        assert "must be after the start" in text(app, "#etr-error")
        await type_into(pilot, "#etr", "2026-02-15 18:00")
        assert "in 8h" in text(app, "#etr-hint")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, OutagesScreen)
        assert count(runtime) == 3 and last_action(runtime) == "outage.created"
        new = stored(runtime, 3)
        assert (new.status, new.nodes, new.start, new.credit) == (
            "reported",
            ("node01", "node02"),
            local("2026-02-15 07:30"),
            True,
        )
        assert column(app, "status")[0] == "● reported"
        assert column(app, "title")[0] == "[b]PSU[/b] fan alarm"
        assert "#3 [b]PSU[/b] fan alarm" in text(app, "#preview")


async def test_update_revises_the_etr_and_the_history_grows(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen)
        options = [str(o[0]) for o in form.query_one("#status", Select)._options]
        assert "● reported" not in options  # nothing moves back to reported
        form.query_one("#status", Select).value = "identified"
        await type_into(pilot, "#etr", "2026-02-17 09:00")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, OutageDetailScreen)
        o = stored(runtime, rentals.open)
        assert (o.status, o.etr) == ("identified", local("2026-02-17 09:00"))
        assert last_action(runtime) == "outage.etr_revised"
        history = text(app, "#etr-history").splitlines()
        assert len(history) == 4 and history[3].split()[-7:] == [
            "Feb",
            "16",
            "12:00",
            "→",
            "Feb",
            "17",
            "09:00",
        ]
        assert "◑ identified" in text(app, "#detail-fields")
        assert any("ETR revised" in n for n in notifications(app))


async def test_resolve_needs_an_end_and_then_resolves(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("r")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen) and form.mode == "resolve"
        assert form.value("end") == "2026-02-15 10:00" and form.query_one("#end-row").display
        assert form.query_one("#status", Select).disabled
        await type_into(pilot, "#end", "")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "is required when the outage is resolved" in text(app, "#end-error")
        assert stored(runtime, rentals.open).status == "investigating"
        await type_into(pilot, "#end", "2026-02-15 05:00")
        assert "must be after the start" in text(app, "#end-error")
        await type_into(pilot, "#end", "2026-02-15 09:40")
        assert "lasted 3h 40m" in text(app, "#end-hint")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, OutagesScreen)
        o = stored(runtime, rentals.open)
        assert (o.status, o.end) == ("resolved", local("2026-02-15 09:40"))
        assert last_action(runtime) == "outage.resolved"
        assert column(app, "status")[0] == "✓ resolved"
        footer = {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}
        assert "Resolve" not in footer and "Update" in footer


async def test_reopening_a_resolved_outage_clears_its_end(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("j", "e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen) and form.query_one("#end-row").display
        form.query_one("#status", Select).value = "investigating"
        await settle(pilot)
        assert not form.query_one("#end-row").display
        assert "reopens the outage" in text(app, "#status-hint")
        await pilot.press("ctrl+s")
        await settle(pilot)
        o = stored(runtime, rentals.resolved)
        assert (o.status, o.end) == ("investigating", None)
        assert last_action(runtime) == "outage.reopened"


async def test_viewers_see_locked_actions_and_a_reason(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        footer = {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}
        assert "Update 🔒" in footer and "Resolve 🔒" in footer and "Update" not in footer
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, OutagesScreen)
        assert "vic may not manage outages (needs role admin or rental_manager)" in notifications(app)[-1]
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, OutagesScreen)


async def test_help_shows_the_outages_topic(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Mark the open outage resolved" in keys and "Filter by affected node" in keys
        topic = app.screen.query_one("#help-topic", Markdown).source
        assert topic.startswith("# Outages") and "ETR history" in topic
