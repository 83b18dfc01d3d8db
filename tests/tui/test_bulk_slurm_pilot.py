"""Marks on the Reservations and Windows lists acting through one confirmation
(core/services/rentals/bulk.py), their export, and whether Slurm has each window (the list's
column, the detail, the dashboard line) from a stored sync state, at 80x24."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from nodedesk.core.models import MaintenanceWindow, Reservation, SlurmSyncRun
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.slurm import hostlist, state
from nodedesk.core.slurm.config import RESERVATION_PREFIX, SlurmConfig
from nodedesk.core.slurm.parse import SlurmReservation
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.features.dashboard.dashboard import DashboardScreen
from nodedesk.tui.features.reservations.reservations import ReservationsScreen
from nodedesk.tui.features.windows.window_detail import WindowDetailScreen
from nodedesk.tui.features.windows.windows import WindowsScreen
from nodedesk.tui.kit.bulk import BulkConfirmScreen
from nodedesk.tui.kit.export import ExportListScreen
from nodedesk.tui.widgets.paged_table import PagedTable
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.helpers import runtime_as
from tests.tui.conftest import Seeded, settle
from tests.tui.rentals_seed import Rentals, seed_rentals


def column(app: NodedeskApp, key: str) -> dict[str, str]:
    t = app.screen.query_one(PagedTable)
    return {str(r.key.value): str(getattr(t.get_cell(r.key, key), "plain", "")) for r in t.ordered_rows}


def text(app: NodedeskApp, selector: str) -> str:
    box = app.screen.query_one(selector, Static)
    return str(box.render()) if box.display else ""


def status_of(runtime: Runtime, rid: int) -> str:
    with runtime.read() as ctx:
        r = ctx.session.get(Reservation, rid)
        assert r is not None
        return r.status


async def select(pilot: Pilot, key: int) -> None:
    t = pilot.app.screen.query_one(PagedTable)
    t.move_cursor(row=[str(r.key.value) for r in t.ordered_rows].index(str(key)))
    await settle(pilot)


# ---------------------------------------------------------------- reservations


@dataclass(frozen=True)
class Pending:
    rentals: Rentals
    gone: int  # pending on node04, which is no longer rentable: approving it is refused


@pytest.fixture
def pending(runtime: Runtime) -> Pending:
    rentals = seed_rentals(runtime)
    with runtime.write() as ctx:
        inventory.add_node(ctx, "node04", "A100")
        draft = res.ReservationDraft("node04", "Climate", date(2026, 3, 16), 1)
        gone = res.record_reservation(ctx, draft, approve=False, waive_policy=True).reservation.id
        inventory.update_node(ctx, "node04", rentable=False)
    return Pending(rentals, gone)


async def open_reservations(pilot: Pilot) -> ReservationsScreen:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ReservationsScreen)
    return screen


async def mark(pilot: Pilot, *keys: int) -> None:
    for key in keys:
        await select(pilot, key)
        await pilot.press("space")


async def test_approve_three_marked_reservations_with_one_confirmation_one_refused(
    runtime: Runtime, pending: Pending
) -> None:
    r = pending.rentals
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reservations(pilot)
        await mark(pilot, r.climate, r.later, pending.gone)
        await select(pilot, r.folding)  # the cursor on an approved one: "a" still acts on the marks
        await pilot.press("a")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, BulkConfirmScreen)
        assert "Approve 3 reservations?" in str(dialog.query_one(".dialog-title", Static).render())
        listing = text(app, "#bulk-items-text")
        assert f"✓ reservation #{r.climate} node02 Climate" in listing
        assert f"✓ reservation #{r.later} node01 Protein Folding" in listing
        assert "pending → approved" in listing
        refused = next(line for line in listing.splitlines() if f"#{pending.gone} " in line)
        assert refused.startswith(f"✗ reservation #{pending.gone} node04 Climate")
        assert "refused: node: node04 is not rentable" in refused
        assert "2 reservations will be approved" in text(app, "#bulk-summary")
        assert "1 refused" in text(app, "#bulk-summary")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert status_of(runtime, r.climate) == "approved" and status_of(runtime, r.later) == "approved"
        assert status_of(runtime, pending.gone) == "pending"
        assert screen.marked_keys() == [str(pending.gone)]  # the refused one stays marked
        line = text(app, "#list-status")
        assert f"Approved 2 reservations (#{r.climate}, #{r.later}) in one transaction" in line
        assert "1 refused" in line


async def test_decline_on_marks_needs_the_reason_and_viewers_get_no_bulk_keys(
    runtime: Runtime, pending: Pending
) -> None:
    r = pending.rentals
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reservations(pilot)
        await mark(pilot, r.climate, r.later)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirmScreen)
        assert "2 reservations will be declined" in text(app, "#bulk-summary")
        await pilot.press("ctrl+s")  # no reason: the service refuses, nothing changes
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirmScreen)
        refusal = text(app, "#bulk-error")
        assert refusal == f"Refused: reason: reservation #{r.climate}: is required; nothing was changed"
        assert status_of(runtime, r.climate) == "pending"
        app.screen.query_one("#reason", Input).value = "no budget this quarter"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReservationsScreen)
        assert status_of(runtime, r.climate) == "declined" and status_of(runtime, r.later) == "declined"

    viewer = create_app(runtime_as(runtime, "vic"))
    async with viewer.run_test(size=(80, 24)) as pilot:
        screen = await open_reservations(pilot)
        await mark(pilot, pending.gone)
        assert screen.marked_keys() == [str(pending.gone)]  # marking is reading
        shown = {b.binding.description for b in screen.active_bindings.values() if b.enabled}
        assert "Approve 🔒" in shown and "Approve" not in shown
        await pilot.press("a")
        await settle(pilot)
        assert viewer.screen is screen  # no dialog: the lock says why
        assert status_of(runtime, pending.gone) == "pending"


# ---------------------------------------------------------------- windows


async def open_windows(pilot: Pilot) -> WindowsScreen:
    await settle(pilot)
    await pilot.press("1")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, WindowsScreen)
    return screen


def window_ids(runtime: Runtime) -> set[int]:
    with runtime.read() as ctx:
        return {w.id for w in ctx.session.query(MaintenanceWindow)}


async def test_delete_marked_windows_in_one_confirmation_locked_ones_refused(
    runtime: Runtime, seeded: Seeded
) -> None:
    with runtime.write() as ctx:
        extra = win.create_window(
            ctx, win.WindowDraft("Rack move", *(ctx.now() + timedelta(days=d) for d in (20, 21)))
        ).window.id
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_windows(pilot)
        for key in (seeded.upcoming, extra, seeded.in_progress):
            await select(pilot, key)
            await pilot.press("space")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, BulkConfirmScreen)
        listing = text(app, "#bulk-items-text")
        assert f"✓ window #{seeded.upcoming} 'Kernel patch'" in listing
        assert f"✓ window #{extra} 'Rack move'" in listing
        assert f"✗ window #{seeded.in_progress} 'Cooling inspection'" in listing
        assert "2 windows will be deleted" in text(app, "#bulk-summary")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert window_ids(runtime) == {seeded.completed, seeded.in_progress, seeded.later}
        assert screen.marked_keys() == [str(seeded.in_progress)]
        assert "Deleted 2 windows" in text(app, "#list-status")


async def test_windows_export_has_full_dates_and_slurm_words(
    runtime: Runtime, seeded: Seeded, tmp_path: Path
) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_windows(pilot)
        await pilot.press("f")  # upcoming only
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert isinstance(app.screen, ExportListScreen)
        app.screen.query_one("#path", Input).value = str(tmp_path / "w.csv")
        await pilot.press("ctrl+s")
        await settle(pilot)
    with open(tmp_path / "w.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:5] == ["#", "Status", "Slurm", "Title", "Start"]
    assert [r[3] for r in rows[1:]] == ["Power work", "Kernel patch"]  # start, newest first
    assert rows[2][1:3] == ["upcoming", "no sync"] and rows[2][4] == "2026-02-21 06:00"


# ---------------------------------------------------------------- Slurm presence


def seed_sync(runtime: Runtime, seeded: Seeded) -> None:
    """What a sync leaves behind, stored through the core: its run, and the reservations as it
    left them in Slurm: "Kernel patch" exactly, "Power work" with another end, and nothing for
    the window in progress."""
    with runtime.write() as ctx:
        side = state.nodedesk_side(ctx, SlurmConfig.from_site(ctx.site).node_map)
        wanted = {w.window_id: w for w in side.wanted}
        kept = [wanted[seeded.upcoming], wanted[seeded.later]]
        seen = [
            SlurmReservation(
                w.name,
                w.start,
                w.end + (timedelta(hours=1) if w.window_id == seeded.later else timedelta()),
                w.nodes,
                frozenset({"MAINT", "IGNORE_JOBS"}),
                "INACTIVE",
            )
            for w in kept
        ]
        state.remember(ctx, seen, RESERVATION_PREFIX)
        ctx.session.add(
            SlurmSyncRun(
                started_at=ctx.now() - timedelta(minutes=5),
                finished_at=ctx.now() - timedelta(minutes=5),
                actor="admin",
                scope="both",
                outcome="ok",
                changes=2,
                problems=0,
                summary_json=json.dumps({"slurm_nodes": hostlist.compress(["node01", "node02"])}),
            )
        )


async def test_windows_list_detail_and_dashboard_say_whether_slurm_has_each_window(
    runtime: Runtime, seeded: Seeded
) -> None:
    app = create_app(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert text(app, "#dash-slurm") == ""  # never synced: no Slurm line
        await open_windows(pilot)
        assert set(column(app, "slurm").values()) == {"—"}  # never synced
        await select(pilot, seeded.upcoming)
        await pilot.press("enter")
        await settle(pilot)
        assert "In Slurm   no Slurm sync has run on this site" in text(app, "#detail-fields")
        await pilot.press("escape")
        await settle(pilot)

        seed_sync(runtime, seeded)
        app.screen.refresh_from_feed()
        await settle(pilot)
        assert column(app, "slurm") == {
            str(seeded.later): "≠",
            str(seeded.upcoming): "✓",
            str(seeded.in_progress): "✗",
            str(seeded.completed): "–",
        }
        assert "Slurm: ✓ present" in text(app, "#preview")
        await select(pilot, seeded.later)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WindowDetailScreen)
        fields = text(app, "#detail-fields")
        differs = "≠ differs from the window (end 2026-03-04 07:00 -05:00 in Slurm, 2026-03-04 06:00 -05:00"
        assert f"In Slurm   {differs}" in fields
        await pilot.press("escape")
        await settle(pilot)
        await select(pilot, seeded.in_progress)
        await pilot.press("enter")
        await settle(pilot)
        assert "In Slurm   ✗ missing (not in Slurm at the last sync" in text(app, "#detail-fields")
        await pilot.press("escape", "0")
        await settle(pilot)
        await pilot.press("r")  # (the seeded sync wrote no activity entry for the feed to see)
        await settle(pilot)
        line = text(app, "#dash-slurm")
        assert line.startswith("⇄ Slurm last sync Sun 15 Feb 09:55 by admin: ok · 2 drift items")
        assert len(line) <= 80
