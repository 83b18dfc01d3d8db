"""Fixtures for the rentals tests (projects, splits, SKUs and rates, fee subscriptions)."""

from __future__ import annotations

import pytest
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.site import users


@pytest.fixture
def centre(runtime: Runtime) -> Runtime:
    """Users with each system role, two researchers, node type A100 and project "Genomics".

    Genomics: owner ``pi``; ``ann`` is member; ``fin`` is only financial_admin.
    """
    with runtime.write() as ctx:
        for name, role in (
            ("bmgr", "billing_manager"),
            ("rmgr", "rental_manager"),
            ("ratemgr", "rate_manager"),
            ("vic", "viewer"),
            ("pi", "viewer"),
            ("ann", "viewer"),
            ("fin", "viewer"),
        ):
            users.add_user(ctx, name, role)
        inventory.add_node_type(ctx, "A100", "GPU")
        projects.add_project(ctx, "Genomics", "pi", "Sequencing pipelines")
        projects.add_member(ctx, "Genomics", "ann", "member")
        projects.add_member(ctx, "Genomics", "fin", "financial_admin")
    return runtime
