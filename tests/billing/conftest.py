"""Fixtures for the billing tests: the reference centre of help/billing-rules.md on both back ends."""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime

from tests.billing.factory import Builder, reference_centre


@pytest.fixture
def reference(runtime: Runtime) -> dict[str, object]:
    """The reference scenarios in the database (ids of the rows created)."""
    with runtime.write() as ctx:
        made = reference_centre(Builder(ctx.session, ctx.now()))
        ids = {k: v.id for k, v in made["reservations"].items()}  # type: ignore[attr-defined]
    return {"reservation_ids": ids, "project": "Genomics"}
