"""End-to-end smoke of the core on both back ends: init, window CRUD, audit chain."""

from __future__ import annotations

from nodedesk.core import audit
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows

from tests.helpers import local


def test_create_list_and_audit(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        res = windows.create_window(
            ctx, windows.WindowDraft("Firmware", local("2026-02-20 08:00"), local("2026-02-20 20:00"))
        )
    assert res.window.status == "upcoming"
    with runtime.read() as ctx:
        page = windows.list_windows(ctx)
        assert [w.title for w in page.items] == ["Firmware"]
        assert page.items[0].start == local("2026-02-20 08:00")
        assert audit.verify(ctx.session).ok
        assert audit.count(ctx.session) == 3  # init, admin user, window
