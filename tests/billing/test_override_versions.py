"""Overrides act on the override the caller showed (``expected_version``), on both back ends."""

from __future__ import annotations

import pytest
from nodedesk.core.errors import ConflictError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import overrides as ovr

from tests.tui.invoice_seed import seed_invoices


def test_set_and_clear_refuse_an_override_changed_since_it_was_shown(runtime: Runtime) -> None:
    rid = seed_invoices(runtime).r[2]
    with runtime.write() as ctx, pytest.raises(ConflictError, match="cleared by someone else") as gone:
        ovr.set_override(ctx, "2026-02", rid, kind="exclude", reason="shown with one", expected_version=1)
    assert gone.value.field == "version"
    with runtime.write() as ctx:
        first = ovr.set_override(
            ctx, "2026-02", rid, kind="exclude", reason="billed elsewhere", expected_version=0
        )
    with runtime.write() as ctx, pytest.raises(ConflictError, match="was set by admin") as newer:
        ovr.set_override(
            ctx, "2026-02", rid, kind="hours", hours="10", reason="shown none", expected_version=0
        )
    assert newer.value.field == "version"
    with runtime.write() as ctx:
        second = ovr.set_override(
            ctx, "2026-02", rid, kind="hours", hours="10", reason="ten hours", expected_version=first.version
        )
    assert second.version == first.version + 1
    with runtime.write() as ctx, pytest.raises(ConflictError):
        ovr.clear_override(ctx, "2026-02", rid, "shown the first", expected_version=first.version)
    with runtime.read() as ctx:
        (kept,) = ovr.list_overrides(ctx, "2026-02")
    assert (kept.kind, kept.version) == ("hours", second.version)  # nothing written by a refusal
    with runtime.write() as ctx:
        ovr.clear_override(ctx, "2026-02", rid, "as shown", expected_version=second.version)
    with runtime.read() as ctx:
        assert ovr.list_overrides(ctx, "2026-02") == []
