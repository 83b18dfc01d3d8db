"""Pilot: the notices outbox screen (palette entry, paging/filter by status, a notice's text)."""

from __future__ import annotations

from nodedesk.core.models import Notice
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.tui.app import create_app
from nodedesk.tui.features.notices.notices import NoticeDetailScreen, NoticesScreen
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Static

from tests.helpers import local
from tests.notices.conftest import centre  # noqa: F401
from tests.tui.conftest import settle


def _seed(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        windows.create_window(
            ctx, windows.WindowDraft("GPU firmware", local("2026-02-21 06:00"), local("2026-02-21 18:00"))
        )
        tech = ctx.session.scalars(select(Notice).where(Notice.recipient == "tech")).one()
        tech.status, tech.attempts, tech.last_error = "failed", 1, "recipient refused: 550 no such mailbox"


async def palette(pilot: Pilot, command: str) -> None:
    await settle(pilot)
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*command)
    await pilot.pause(0.5)
    await pilot.press("enter")
    await settle(pilot)


def _status(screen: NoticesScreen) -> str:
    return str(screen.query_one("#list-status", Static).render())


async def test_outbox_from_the_palette_filters_and_shows_a_notice(centre: Runtime) -> None:  # noqa: F811
    _seed(centre)
    app = create_app(centre)
    async with app.run_test(size=(100, 30)) as pilot:
        await palette(pilot, "Notices outbox")
        screen = app.screen
        assert isinstance(screen, NoticesScreen)
        assert screen.table.row_count == 2
        assert "1 pending, 1 failed, 0 sent" in _status(screen)
        cells = [str(c) for c in screen.table.get_row_at(0)]
        assert "tech" in cells and "✗ failed" in cells
        assert any("Maintenance scheduled: GPU firmware" in c for c in cells)

        await pilot.press("s")  # pending only
        await settle(pilot)
        assert screen.table.row_count == 1 and "pending" in _status(screen)
        assert "pi" in [str(c) for c in screen.table.get_row_at(0)]
        await pilot.press("s")  # failed only
        await settle(pilot)
        assert [str(c) for c in screen.table.get_row_at(0)][3] == "tech"

        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, NoticeDetailScreen)
        body = str(detail.query_one("#notice-body", Static).render())
        assert "Hello Tess Tech," in body and "12.00 h not billed" in body
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, NoticesScreen)


async def test_empty_outbox_says_so(centre: Runtime) -> None:  # noqa: F811
    app = create_app(centre)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(NoticesScreen())
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, NoticesScreen)
        assert screen.table.row_count == 0
        assert "the outbox is empty" in _status(screen)
