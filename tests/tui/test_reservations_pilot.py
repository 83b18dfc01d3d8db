"""Pilot tests of the Reservations section: list and filters, detail with downtime, the form's
live preview and conflict check, approve/decline/cancel with confirmation, refusals, help."""

from __future__ import annotations

import pytest
from nodedesk.core.models import ActivityEntry, Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.help.help import HelpScreen
from nodedesk.tui.features.reservations.reservation_decide import DecideReservationScreen
from nodedesk.tui.features.reservations.reservation_detail import ReservationDetailScreen
from nodedesk.tui.features.reservations.reservation_form import ReservationFormScreen
from nodedesk.tui.features.reservations.reservations import ReservationsScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from nodedesk.tui.widgets.tickbox import TickBox
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Input, Markdown, Static

from tests.helpers import runtime_as
from tests.rentals.support import finalize_month
from tests.tui.conftest import notifications, settle
from tests.tui.rentals_seed import Rentals, seed_rentals


@pytest.fixture
def rentals(runtime: Runtime) -> Rentals:
    return seed_rentals(runtime)


def column(app: NodedeskApp, key: str) -> list[str]:
    t = app.screen.query_one(PagedTable)
    return [str(getattr(t.get_cell(r.key, key), "plain", t.get_cell(r.key, key))) for r in t.ordered_rows]


def ids(app: NodedeskApp) -> list[int]:
    return [int(x) for x in column(app, "id")]


def text(app: NodedeskApp, selector: str) -> str:
    box = app.screen.query_one(selector, Static)
    return str(box.render()) if box.display else ""



def stored(runtime: Runtime, rid: int) -> tuple[str, str]:
    with runtime.read() as ctx:
        r = ctx.session.get(Reservation, rid)
        assert r is not None
        return r.status, r.decision_reason


def count(runtime: Runtime) -> int:
    with runtime.read() as ctx:
        return ctx.session.scalar(select(func.count(Reservation.id))) or 0


def last_action(runtime: Runtime) -> str:
    with runtime.read() as ctx:
        return ctx.session.scalars(select(ActivityEntry.action).order_by(ActivityEntry.seq.desc())).first()


async def open_section(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReservationsScreen)


async def select_row(pilot: Pilot, rid: int) -> None:
    pilot.app.screen.query_one(PagedTable).move_cursor(row=ids(pilot.app).index(rid))  # type: ignore[arg-type]
    await settle(pilot)


async def type_into(pilot: Pilot, selector: str, value: str) -> None:
    box = pilot.app.screen.query_one(selector, Input)
    box.focus()
    box.value = value
    await settle(pilot)


async def checked(pilot: Pilot) -> str:
    """The form's availability panel once the debounced database check has run."""
    await pilot.pause(0.4)
    await settle(pilot)
    return text(pilot.app, "#check")  # type: ignore[arg-type]


# ---------------------------------------------------------------- list


async def test_list_shows_status_words_hours_and_downtime(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(140, 30)) as pilot:
        await open_section(pilot)
        assert ids(app) == [rentals.later, rentals.declined, rentals.climate, rentals.folding]
        assert column(app, "status") == ["… pending", "✗ declined", "… pending", "✓ approved"]
        assert column(app, "hours")[2:] == ["41.00", "17.00"]
        assert column(app, "downtime")[3] == "−2.00 h"  # the Kernel patch window inside it
        assert column(app, "project")[2] == "Climate"
        assert "Reservations 1–4 of 4" in text(app, "#list-status")
        await select_row(pilot, rentals.folding)
        preview = text(app, "#preview")
        assert "overlaps downtime, 2.00 h not billed" in preview and "Kernel patch" in preview


async def test_status_node_project_and_current_filters(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await pilot.press("f")  # pending
        await settle(pilot)
        assert ids(app) == [rentals.later, rentals.climate]
        assert "status: pending" in text(app, "#list-status")
        await pilot.press("escape")
        await settle(pilot)
        assert len(ids(app)) == 4
        await pilot.press("slash", *"node01")
        await pilot.pause(0.4)  # applied once it names a known node (debounced)
        await settle(pilot)
        assert ids(app) == [rentals.later, rentals.declined, rentals.folding]
        await pilot.press("tab", *"climate", "enter")  # project titles match ignoring case
        await settle(pilot)
        assert ids(app) == [rentals.declined]
        assert app.screen.focused is app.screen.query_one(PagedTable)
        await pilot.press("escape")
        await settle(pilot)
        assert len(ids(app)) == 4 and not app.screen.query_one("#filters").display
        await pilot.press("slash", *"node99", "enter")  # an unknown name is said, not hidden
        await settle(pilot)
        assert ids(app) == [] and "no node named 'node99'" in text(app, "#list-status")
        await pilot.press("escape", "u")  # only reservations not over yet: all of these
        await settle(pilot)
        assert len(ids(app)) == 4 and "not over yet" in text(app, "#list-status")


# ---------------------------------------------------------------- detail


async def test_detail_shows_fields_and_the_downtime_inside(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.folding)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ReservationDetailScreen)
        fields = text(app, "#detail-fields")
        assert "✓ approved  (upcoming)" in fields and "node01 (A100)" in fields
        assert "Fri 2026-02-20 16:00 -05:00" in fields and "2 block(s) · 17.00 h elapsed" in fields
        assert "waived by a rental manager" in fields
        down = text(app, "#detail-downtime")
        assert "2.00 h of 17.00 h will not be billed" in down
        assert f"maintenance window #{rentals.window} 'Kernel patch'" in down
        assert "2026-02-21 06:00 → 2026-02-21 08:00" in down
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)


# ---------------------------------------------------------------- the form


async def test_form_previews_end_and_hours_as_you_type(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ReservationFormScreen)
        assert form.value("start_date") == "2026-02-22"  # the earliest date the lead time allows
        await type_into(pilot, "#blocks", "4")
        assert "ends Tue 24 Feb 2026 09:00 (cut back to 09:00) · 41.00 h" in text(app, "#blocks-hint")
        await type_into(pilot, "#blocks", "3")
        assert "ends Tue 24 Feb 2026 04:00 · 36.00 h" in text(app, "#blocks-hint")
        await type_into(pilot, "#start_date", "2026-10-31")  # a DST night: 18 h, not 17
        await type_into(pilot, "#blocks", "2")
        assert "ends Sun 1 Nov 2026 09:00 (cut back to 09:00) · 18.00 h" in text(app, "#blocks-hint")
        await type_into(pilot, "#blocks", "15")
        assert "between 1 and 14 blocks" in text(app, "#blocks-error")
        assert text(app, "#blocks-hint") == ""
        await type_into(pilot, "#start_date", "2026-02-31")
        assert "not a real calendar date" in text(app, "#start_date-error")
        await type_into(pilot, "#node", "node03")
        assert "node03 is not rentable" in text(app, "#node-error")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Not saved" in text(app, "#form-error")
        assert count(runtime) == 4


async def test_form_names_the_clashing_reservation_and_refuses_it(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#node", "node01")
        await type_into(pilot, "#project", "Climate")
        await type_into(pilot, "#start_date", "2026-02-20")
        await type_into(pilot, "#blocks", "1")
        assert "requests need 7 days' notice" in text(app, "#start_date-error")
        assert "Waive booking policy" in text(app, "#start_date-error")
        check = await checked(pilot)
        assert "✗ Conflict: node01 is already booked then" in check
        assert f"#{rentals.folding} Protein Folding (approved)" in check
        assert "Kernel patch" not in check  # 16:00 → 04:00 ends before the window
        await pilot.click("#waive")
        await settle(pilot)
        assert text(app, "#start_date-error") == ""
        assert "⚠ Policy waived: starts 2026-02-20" in text(app, "#check")
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = text(app, "#node-error")
        assert f"already booked then by reservation #{rentals.folding}" in error
        assert "'Protein Folding' (approved)" in error
        assert "Not saved" in text(app, "#form-error")
        assert isinstance(app.screen, ReservationFormScreen) and count(runtime) == 4
        # Touching the clashing reservation is fine: from 02-21 (it ends 02-21 09:00).
        await type_into(pilot, "#start_date", "2026-02-21")
        check = await checked(pilot)
        assert "✓ node01 is free then." in check and "Policy waived" in check
        await pilot.click("#approve")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
        assert count(runtime) == 5 and last_action(runtime) == "reservation.recorded"
        assert any("Recorded reservation #5 (approved)" in n for n in notifications(app))
        assert any("Policy waived" in n for n in notifications(app))
        assert ids(app)[app.screen.query_one(PagedTable).cursor_row] == 5  # the new one is selected


async def test_form_shows_downtime_the_draft_overlaps(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#node", "node02")
        await type_into(pilot, "#start_date", "2026-02-20")
        check = await checked(pilot)
        assert "✓ node02 is free then." in check
        assert "Overlaps downtime (allowed; that time is not billed)" in check
        assert (
            f"maintenance window #{rentals.window} 'Kernel patch'" in check and "2.00 h not billed" in check
        )


async def test_requesters_get_the_policy_enforced_and_no_manager_options(
    runtime: Runtime, rentals: Rentals
) -> None:
    app = create_app(runtime_as(runtime, "carol"))
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert "Request a reservation" in text(app, "#form-heading")
        assert not app.screen.query_one("#options-row").display
        assert not app.screen.query_one("#requested_for-row").display
        await type_into(pilot, "#node", "node02")
        await type_into(pilot, "#project", "Climate")
        await type_into(pilot, "#start_date", "2026-02-18")
        assert "7 days' notice" in text(app, "#start_date-error")
        assert "Waive" not in text(app, "#start_date-error")
        await type_into(pilot, "#start_date", "2026-03-02")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
        assert last_action(runtime) == "reservation.requested"
        assert any("Requested reservation #5 (pending)" in n for n in notifications(app))


async def test_viewers_cannot_request_approve_or_cancel(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime_as(runtime, "vic"))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.climate)
        footer = {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}
        assert "Approve 🔒" in footer and "Cancel 🔒" in footer and "Approve" not in footer
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
        assert (
            "vic may not manage reservations (needs role admin or rental_manager)" in notifications(app)[-1]
        )
        await pilot.press("d")
        await settle(pilot)
        assert "viewers are read-only" in notifications(app)[-1]
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
        # Defense in depth: even if the dialog were reached, the service refuses and says why.
        view = app.screen.current_reservation()
        assert view is not None
        app.push_screen(DecideReservationScreen("approve", view))
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Refused, nothing changed" in text(app, "#decide-error")
        assert "vic may not" in text(app, "#decide-error")
        assert stored(runtime, rentals.climate)[0] == "pending"


# ---------------------------------------------------------------- decisions


async def test_approve_is_confirmed_and_audited(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.climate)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, DecideReservationScreen)
        dialog = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert f"Approve reservation #{rentals.climate}?" in dialog and "41.00 h" in dialog
        await pilot.press("escape")  # backing out changes nothing
        await settle(pilot)
        assert stored(runtime, rentals.climate)[0] == "pending"
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")  # the Approve button has the focus
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
        assert stored(runtime, rentals.climate)[0] == "approved"
        assert last_action(runtime) == "reservation.approved"
        assert column(app, "status")[ids(app).index(rentals.climate)] == "✓ approved"
        assert any(f"Approved reservation #{rentals.climate}" in n for n in notifications(app))


async def test_decline_needs_a_reason(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.later)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, DecideReservationScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "a reason is required" in text(app, "#decide-error")
        assert stored(runtime, rentals.later)[0] == "pending"
        await pilot.press(*"no GPUs free", "enter")
        await settle(pilot)
        assert stored(runtime, rentals.later) == ("declined", "no GPUs free")
        assert last_action(runtime) == "reservation.declined"


async def test_cancel_from_the_detail_screen(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.declined)
        footer = {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}
        assert not {"Approve", "Decline", "Cancel"} & footer  # declined is final
        await select_row(pilot, rentals.folding)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DecideReservationScreen)
        assert "It will no longer be billed" in " ".join(str(s.render()) for s in app.screen.query(Static))
        await pilot.press(*"run moved", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ReservationDetailScreen)
        assert "⊘ cancelled" in text(app, "#detail-fields") and "run moved" in text(app, "#detail-fields")
        assert stored(runtime, rentals.folding) == ("cancelled", "run moved")
        await pilot.press("escape")
        await settle(pilot)
        assert column(app, "status")[ids(app).index(rentals.folding)] == "⊘ cancelled"


async def test_a_stale_decision_is_refused_and_named(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.climate)
        await pilot.press("a")
        await settle(pilot)
        with runtime_as(runtime, "rmgr").write() as ctx:  # another admin acts first
            from nodedesk.core.services.rentals import reservations

            reservations.cancel_reservation(ctx, rentals.climate, reason="plans changed")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DecideReservationScreen)
        error = text(app, "#decide-error")
        assert "Refused, nothing changed" in error and "changed by rmgr" in error
        assert stored(runtime, rentals.climate)[0] == "cancelled"


async def test_finalized_month_is_refused_unless_an_admin_corrects(
    runtime: Runtime, rentals: Rentals
) -> None:
    finalize_month(runtime, "2026-02")
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.folding)
        await pilot.press("d", "enter")
        await settle(pilot)
        error = text(app, "#decide-error")
        assert "Refused, nothing changed" in error and "finalized invoice for 2026-02" in error
        assert "tick 'Admin correction'" in error and "--correct" not in error
        assert stored(runtime, rentals.folding)[0] == "approved"
        box = app.screen.query_one("#correction", TickBox)
        assert box.display
        box.value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "a reason is required for an admin correction" in text(app, "#decide-error")
        await type_into(pilot, "#reason", "booked by mistake")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
        assert stored(runtime, rentals.folding) == ("cancelled", "booked by mistake")
        assert any("Finalized invoices now drifted: 2026-02" in n for n in notifications(app))


# ---------------------------------------------------------------- help


async def test_help_shows_the_reservations_topic_and_keys(runtime: Runtime, rentals: Rentals) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_section(pilot)
        await select_row(pilot, rentals.climate)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Approve the pending reservation" in keys and "Decline the pending" in keys
        assert "Status filter: all → pending" in keys and "not over yet" in keys
        topic = app.screen.query_one("#help-topic", Markdown).source
        assert topic.startswith("# Reservations") and "## In the app" in topic
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
