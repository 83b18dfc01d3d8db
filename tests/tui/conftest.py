"""Fixtures for pilot and snapshot tests of the full-screen app.

TUI tests run on SQLite only (the ``backend`` fixture is overridden here) because the app talks
to the same core services whose storage behaviour is tested on both back ends; a test that
wants PostgreSQL too parametrizes ``backend`` itself. The clock is frozen at 2026-02-15 10:00
site time (America/New_York).
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from datetime import date

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, reservations
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.sections import Section
from textual.pilot import Pilot

from tests.helpers import local


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (Textual pilots) on a fresh event loop; no plugin needed."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def backend() -> str:
    return "sqlite"


@dataclass(frozen=True)
class Seeded:
    completed: int
    in_progress: int
    upcoming: int
    later: int


def seed_windows(runtime: Runtime) -> Seeded:
    """A node type with two nodes, and a completed, an in-progress and two upcoming windows."""
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "node01", "A100")
        inventory.add_node(ctx, "node02", "A100")

        def make(title: str, start: str, end: str, **kw: object) -> int:
            draft = svc.WindowDraft(title, local(start), local(end), **kw)  # type: ignore[arg-type]
            past = local(start) < ctx.now()
            return svc.create_window(ctx, draft, reason="seeded history" if past else "").window.id

        return Seeded(
            completed=make("Firmware update", "2026-02-10 08:00", "2026-02-10 12:00"),
            in_progress=make(
                "Cooling inspection", "2026-02-15 08:00", "2026-02-15 14:00", scope=svc.Scope(("node01",))
            ),
            upcoming=make(
                "Kernel patch", "2026-02-21 06:00", "2026-02-21 08:00", description="Reboot into 6.12."
            ),
            later=make("Power work", "2026-03-04 00:00", "2026-03-04 06:00", scope=svc.Scope((), ("A100",))),
        )


def seed_reservation(runtime: Runtime) -> int:
    """An approved reservation on node01, 2026-02-20 16:00 → 02-21 09:00 (overlaps 'Kernel patch')."""
    with runtime.write() as ctx:
        projects.add_project(ctx, "Protein Folding", "admin")
        draft = reservations.ReservationDraft("node01", "Protein Folding", date(2026, 2, 20), 2)
        result = reservations.record_reservation(ctx, draft, approve=True, waive_policy=True)
        return result.reservation.id


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    return seed_windows(runtime)


@pytest.fixture
def app(runtime: Runtime) -> NodedeskApp:
    return create_app(runtime)


async def settle(pilot: Pilot) -> None:
    """Let thread workers finish and their results reach the UI.

    A worker hands its result over as a message (tui/kit/workers.py ``JobDone``) that the next
    pause delivers; its callback may start further workers, hence the loop.
    """
    quiet = 0
    for _ in range(20):
        await pilot.pause()
        if all(w.is_finished for w in pilot.app.workers):
            quiet += 1
            if quiet == 2:  # idle twice in a row: a just-mounted screen had its chance to start work
                return
        else:
            quiet = 0
            await pilot.app.workers.wait_for_complete()


def tab(section_id: str, title: str, key: str, help_topic: str = "overview") -> Section:
    """A top-bar tab for a snapshot's pinned section list (the picture stays the same when the
    app gains a section)."""
    return Section(section_id, title, key, help_topic, f"{section_id}.list")


@pytest.fixture(autouse=True)
def _notes_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every toast the app shows is also kept in ``app.notes_seen``: a toast lasts three
    seconds, and on a loaded machine a test may look after it has gone."""
    shown = NodedeskApp.notify

    def notify(self: NodedeskApp, message: str, **kwargs: object) -> None:
        seen: list[str] = self.__dict__.setdefault("notes_seen", [])
        seen.append(str(message))
        shown(self, message, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(NodedeskApp, "notify", notify)


def notifications(app: NodedeskApp) -> list[str]:
    """The messages of every toast shown so far (see ``_notes_kept``)."""
    return list(app.__dict__.get("notes_seen", []))
