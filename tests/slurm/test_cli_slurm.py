"""``nodedesk slurm sync|status``, the dashboard and doctor, through the real ``nodedesk``
entry point against a real slurmctld (help/slurm.md)."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.site import settings

from tests.cli.conftest import SITE_TZ, SiteCli, cli_site, cli_template  # noqa: F401
from tests.slurm.conftest import NODES, SlurmCluster, _free_port, real_now


@pytest.fixture
def site(cli_site: SiteCli, slurm: SlurmCluster) -> SiteCli:  # noqa: F811
    """A CLI site with the controller's nodes, pointed at it (seeded in-process, as its admin,
    with the site's private dir: its audit key)."""
    config = Config(database_url=cli_site.database_url, private_dir=cli_site.home / "nodedesk")
    runtime = Runtime(config, login=cli_site.admin, clock=FrozenClock(real_now()))
    try:
        with runtime.write() as ctx:
            inventory.add_node_type(ctx, "CPU", "CPU")
            for node in NODES:
                inventory.add_node(ctx, node, "CPU")
            settings.set_setting(ctx, "slurm_conf", str(slurm.conf))
    finally:
        runtime.close()
    return cli_site


def now(site: SiteCli) -> SiteCli:
    """The site with its clock at the real now (Slurm's)."""
    return SiteCli(site.database_url, site.home, real_now().isoformat())


def local(hours: int) -> str:
    return pendulum.now(SITE_TZ).add(hours=hours).format("YYYY-MM-DD HH:00")


def test_a_planned_window_shows_in_slurm_and_a_drained_node_on_the_dashboard(
    site: SiteCli, slurm: SlurmCluster
) -> None:
    site.ok(
        "window", "add", "--title", "Firmware", "--start", local(30), "--end", local(34), "--node", "node2433"
    )
    slurm.drain("node2435", "PSU failure")

    plan = now(site).ok("slurm", "sync", "--dry-run")
    assert "scontrol create reservation ReservationName=nodedesk-" in plan
    assert "open    node2435: new outage → reported" in plan
    assert plan.rstrip().endswith("Dry run: nothing changed (2 change(s) planned).")
    assert slurm.reservations() == {}

    out = now(site).ok("slurm", "sync")
    assert out.rstrip().endswith("Done: 2 change(s), 0 failure(s).")
    window = site.json("window", "list")[0]
    shown = slurm.scontrol("show", "reservation", f"nodedesk-{window['uuid']}", tz=SITE_TZ)
    assert "Nodes=node2433" in shown and "MAINT" in shown
    assert f"StartTime={local(30).replace(' ', 'T')}:00" in shown  # the window's own local hour

    dash = now(site).json("dashboard")
    assert [o["nodes"] for o in dash["in_progress"]["outages"]["items"]] == [["node2435"]]
    assert dash["in_progress"]["outages"]["items"][0]["source"] == "slurm"
    assert dash["slurm"]["drift"]["total"] == 0 and dash["slurm"]["last_sync"]["outcome"] == "ok"
    text = now(site).ok("dashboard")
    assert "Slurm (last sync " in text and ": ok, drift 0)" in text

    shown = now(site).ok("window", "show", str(window["id"]))
    assert f"in Slurm:  yes (nodedesk-{window['uuid']})" in shown
    assert now(site).json("window", "show", str(window["id"]))["in_slurm"] == "yes"

    assert "source:   Slurm sync (help: slurm)" in now(site).ok("outage", "show", "1")
    nodes = {n["name"]: n for n in now(site).json("node", "list")}
    assert nodes["node2435"]["status"] == "outage" and nodes["node2433"]["slurm"] is None
    in_slurm = nodes["node2435"]["slurm"]
    assert in_slurm.startswith("DRAIN") and "outage #1 reported" in in_slurm
    listed = now(site).ok("node", "list")
    assert "Slurm: last sync " in listed and "  node2435: DRAIN" in listed

    status = now(site).json("slurm", "status")
    assert [(w["id"], w["in_slurm"]) for w in status["windows"]["items"]] == [(window["id"], "yes")]
    assert status["nodes_out_of_service"][0]["node"] == "node2435"
    again = now(site).json("slurm", "sync")
    assert (again["push"], again["pull"], again["changes"]) == ([], [], 0)

    doctor = now(site).run("doctor")
    assert "OK  Slurm connection: Slurmctld(primary) at " in doctor.stdout
    assert "OK  Slurm sync: last sync " in doctor.stdout


def test_only_and_json(site: SiteCli, slurm: SlurmCluster) -> None:
    site.ok(
        "window", "add", "--title", "Firmware", "--start", local(30), "--end", local(34), "--node", "node2433"
    )
    slurm.drain("node2434", "fan")
    pulled = now(site).json("slurm", "sync", "--only", "pull")
    assert pulled["scope"] == "pull" and pulled["push"] == [] and slurm.reservations() == {}
    assert [(p["action"], p["node"], p["done"]) for p in pulled["pull"]] == [("open", "node2434", True)]
    pushed = now(site).json("slurm", "sync", "--only", "push")
    assert [(p["action"], p["done"]) for p in pushed["push"]] == [("create", True)]
    bad = site.run("slurm", "sync", "--only", "both")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_slurmctld_down_is_one_line_exit_1_and_nothing_changes(
    site: SiteCli, slurm: SlurmCluster, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    site.ok(
        "window", "add", "--title", "Firmware", "--start", local(30), "--end", local(34), "--node", "node2433"
    )
    dead = tmp_path / "dead.conf"
    slurm.write_conf(dead, _free_port())
    site.ok("settings", "set", "slurm_conf", str(dead))
    before = site.state(), site.sql("SELECT count(*) FROM slurm_sync_runs")
    for args in (("slurm", "sync"), ("slurm", "sync", "--dry-run"), ("slurm", "sync", "--json")):
        line = now(site).refused(*args)
        assert line.startswith("nodedesk: error: slurmctld not reachable: Slurmctld(primary) at ")
    assert (site.state(), site.sql("SELECT count(*) FROM slurm_sync_runs")) == before
    assert slurm.reservations() == {}
    doctor = now(site).run("doctor")
    assert "FIX Slurm connection: slurmctld not reachable: " in doctor.stdout and doctor.returncode == 1


def test_bad_settings_are_one_line(site: SiteCli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert site.refused("settings", "set", "slurm_conf", "relative/slurm.conf") == (
        "nodedesk: error: slurm_conf: must be an absolute path to slurm.conf, or empty for Slurm's default"
    )
    assert "slurm_node_map: 'gpu[01-02]=node1': 2 nodedesk name(s) but 1 Slurm name(s)" in site.refused(
        "settings", "set", "slurm_node_map", "gpu[01-02]=node1"
    )
    site.ok("settings", "set", "slurm_conf", str(tmp_path / "missing.conf"))
    assert site.refused("slurm", "sync") == (
        f"nodedesk: error: slurm_conf: {tmp_path / 'missing.conf'} does not exist or is not a file"
    )
    site.ok("settings", "set", "slurm_scontrol", "/nonexistent/scontrol")
    site.ok("settings", "set", "slurm_conf", "")
    assert site.refused("slurm", "sync").startswith(
        "nodedesk: error: slurm_scontrol: '/nonexistent/scontrol' not found (install the Slurm client"
    )


def test_a_command_that_hangs_is_cut_at_the_timeout(site: SiteCli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nsleep 30\n")
    hang.chmod(0o755)
    site.ok("settings", "set", "slurm_scontrol", str(hang))
    site.ok("settings", "set", "slurm_timeout_seconds", "1")
    started = pendulum.now()
    line = site.refused("slurm", "sync")
    assert line == (
        "nodedesk: error: slurmctld not reachable: 'hang ping' did not answer within 1 s "
        "(slurm_timeout_seconds)"
    )
    assert pendulum.now() - started < timedelta(seconds=20)
