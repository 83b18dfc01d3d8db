"""``nodedesk dashboard [--json]`` through the real entry point, on the dashboard seed."""

from __future__ import annotations

from pathlib import Path

from nodedesk.core.identity import os_login
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import users

from tests.cli_helpers import Cli
from tests.tui.dashboard_seed import seed_dashboard


def test_dashboard_text_and_json(runtime: Runtime, database_url: str, tmp_path: Path) -> None:
    seed = seed_dashboard(runtime)
    with runtime.write() as ctx:
        # an admin: NODEDESK_NOW (the frozen clock below) is honoured for admins only
        users.add_user(ctx, os_login(), "admin")
    cli = Cli(database_url, tmp_path)
    doc = cli.json("dashboard")
    assert [w["id"] for w in doc["in_progress"]["windows"]["items"]] == [seed.cooling]
    assert doc["in_progress"]["outages"]["items"][0]["nodes"] == ["node02"]
    assert [w["id"] for w in doc["next_7_days"]["items"]] == [seed.rentals.window, seed.network]
    assert doc["reservations_at_risk"]["items"][0]["hours_affected"] == "2.00"
    assert (doc["invoice"]["status"], doc["invoice"]["amount"]) == ("draft", "60.00")
    assert doc["notices"]["waiting"] == 3
    text = cli.ok("dashboard")
    assert "In progress now\n  outage #" in text and "GPU Xid 79 on node02 · node02" in text
    assert f"window #{seed.power} 2026-03-04 00:00 → 2026-03-04 06:00 Power work · A100 (3 nodes)" in text
    assert f"reservation #{seed.rentals.folding} node01 Protein Folding (approved)" in text
    assert "2026-02 draft · 60.00 USD" in text
    assert text.rstrip().endswith("Notices waiting: 3 (2 pending, 1 failed)")
