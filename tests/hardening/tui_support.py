"""Running the full-screen app on a copy of the demo centre (pilot tests of the hardening suite)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.runtime import Runtime
from nodedesk.tui.app import NodedeskApp, create_app
from textual.pilot import Pilot

from tests.hardening.conftest import ADMIN_LOGIN
from tests.helpers import DEFAULT_NOW


def demo_runtime(template: Path, tmp_path: Path, *, prepare: Callable[[str], None] | None = None) -> Runtime:
    path = tmp_path / "tui.db"
    shutil.copy(template, path)
    if prepare is not None:
        prepare(str(path))
    return Runtime(
        Config(database_url=f"sqlite:///{path}"), clock=FrozenClock(DEFAULT_NOW), login=ADMIN_LOGIN
    )


def run_app(
    runtime: Runtime,
    body: Callable[[NodedeskApp, Pilot], Awaitable[None]],
    *,
    readonly: bool = False,
    size=(80, 24),
) -> None:  # type: ignore[no-untyped-def]
    async def main() -> None:
        app = create_app(runtime, readonly=readonly)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await body(app, pilot)

    try:
        asyncio.run(main())
    finally:
        runtime.close()


async def settle(pilot: Pilot) -> None:
    """Let thread workers finish and their results reach the UI."""
    quiet = 0
    for _ in range(30):
        await pilot.pause()
        if all(w.is_finished for w in pilot.app.workers):
            quiet += 1
            if quiet == 2:
                return
        else:
            quiet = 0
            await pilot.app.workers.wait_for_complete()


def screen_lines(app: NodedeskApp) -> list[str]:
    """What the terminal shows right now, one string per row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def notes(app: NodedeskApp) -> list[str]:
    return [n.message for n in app._notifications]
