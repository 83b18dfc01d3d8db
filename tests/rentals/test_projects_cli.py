"""CLI for projects, splits, SKUs/rates and subscriptions, through the real entry point.

Each command runs ``python -m nodedesk`` in a subprocess with a frozen clock against a SQLite
file (the services under it are tested on both back ends; a subprocess costs ~1 s, so setup is
done in-process as the same OS login). The runner is the shared ``tests/cli_helpers.Cli``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db.engine import Database
from nodedesk.core.identity import os_login
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.site import users
from nodedesk.core.services.site.setup import initialize
from nodedesk.core.timeutil import parse_instant

from tests.cli_helpers import Cli
from tests.helpers import SITE_TZ

NOW = "2026-02-15T10:00"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Runtime]:
    """An initialized SQLite site whose admin is this OS login, with users pi and fin."""
    url = f"sqlite:///{tmp_path / 'nd.db'}"
    database = Database.from_url(url)
    clock = FrozenClock(parse_instant(NOW, SITE_TZ))
    initialize(database, os_login(), timezone=SITE_TZ, clock=clock)
    runtime = Runtime(Config(database_url=url), clock=clock, login=os_login(), database=database)
    with runtime.write() as ctx:
        users.add_user(ctx, "pi", "viewer")
        users.add_user(ctx, "fin", "viewer")
    yield runtime
    database.dispose()


@pytest.fixture
def cli(setup: Runtime, tmp_path: Path) -> Cli:
    return Cli(setup.config.database_url, tmp_path, now=NOW)


def test_project_and_split_commands(cli: Cli, setup: Runtime) -> None:
    assert "Added project #1 'Genomics Lab' owned by pi" in cli.ok(
        "project", "add", "Genomics Lab", "--owner", "pi"
    )
    with setup.write() as ctx:
        projects.add_member(ctx, "Genomics Lab", "fin", "financial_admin")
    [project] = cli.json("project", "list")
    assert project["title"] == "Genomics Lab"
    assert project["members"] == [
        {"user": "pi", "full_name": "", "roles": ["owner"]},
        {"user": "fin", "full_name": "", "roles": ["financial_admin"]},
    ]
    assert project["split_in_force"] is None

    line = cli.refused("split", "set", "Genomics Lab", "A=60", "B=39.99", "--from", "2026-03-01")
    assert line == "nodedesk: error: split: percentages must sum to exactly 100 (they sum to 99.99)"
    assert cli.json("split", "show", "Genomics Lab")["history"] == []  # nothing written

    out = cli.ok("split", "set", "Genomics Lab", "A=33.33", "B=33.33", "C=33.34", "--from", "2026-03-01")
    assert "pending approval" in out
    approved = cli.json("split", "approve", "Genomics Lab")
    assert approved["status"] == "approved"
    after = cli.json("split", "show", "Genomics Lab", "--on", "2026-03-01")
    assert after["in_force"]["effective_date"] == "2026-03-01"
    assert [p["percent"] for p in after["allocation"]] == ["33.33", "33.33", "33.34"]
    assert after["in_force"]["decided_at"] == "2026-02-15T10:00:00-05:00"
    assert after["history"][0]["status"] == "approved"


def test_sku_rate_and_subscription_commands(cli: Cli, setup: Runtime) -> None:
    with setup.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        projects.add_project(ctx, "Climate", "pi")
        projects.add_member(ctx, "Climate", "fin", "financial_admin")
    codes = {s["code"]: s for s in cli.json("sku", "list")}
    assert codes["NODE_A100"]["kind"] == "hourly"
    assert codes["MAINT_STANDARD"]["kind"] == "monthly"

    cli.ok("rate", "set", "NODE_A100", "8.123456", "--from", "2026-01-01")
    assert "more than 6 decimal places" in cli.refused(
        "rate", "set", "NODE_A100", "8.1234567", "--from", "2026-03-01"
    )
    shown = cli.json("rate", "show", "NODE_A100", "--on", "2026-02-01")
    assert shown["sku"]["node_type"] == "A100"
    assert shown["in_force"]["amount"] == "8.123456"
    assert shown["in_force"]["effective_date"] == "2026-01-01"
    assert [r["amount"] for r in shown["history"]] == ["8.123456"]

    line = cli.refused(
        "subscription",
        "add",
        "fin",
        "--sku",
        "MAINT_STANDARD",
        "--project",
        "Climate",
        "--from",
        "2026-02-01",
    )
    assert "fin is only financial_admin on 'Climate'" in line
    sub = cli.json(
        "subscription", "add", "pi", "--sku", "MAINT_STANDARD", "--project", "Climate", "--from", "2026-01-01"
    )
    cli.ok("subscription", "end", str(sub["id"]), "--on", "2026-03-31")
    [listed] = cli.json("subscription", "list")
    assert listed["end_date"] == "2026-03-31"
    assert [(p["start_date"], p["end_date"], p["closed_by"]) for p in listed["periods"]] == [
        ("2026-01-01", "2026-03-31", listed["periods"][0]["closed_by"])
    ]
    assert listed["periods"][0]["closed_by"]  # who closed it is recorded
