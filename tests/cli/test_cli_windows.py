"""``nodedesk window ...`` through the real console script: exit codes, JSON, stderr messages,
and the database unchanged whenever an action is refused. Clock: 2026-02-15 10:00 New York."""

from __future__ import annotations

import re
from typing import Any

from tests.cli.conftest import SiteCli

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")
DECIMAL = re.compile(r"^-?\d+\.\d{2}$")

WINDOW_KEYS = {
    "id", "uuid", "title", "description", "start", "end", "duration_hours", "status", "locked",
    "scope", "backdated", "emergency", "created_by", "created_at", "modified_by", "modified_at", "version",
}  # fmt: skip


def add(
    site: SiteCli, title: str, start: str, end: str, *extra: str, env: dict[str, str] | None = None
) -> Any:
    return site.json("window", "add", "--title", title, "--start", start, "--end", end, *extra, env=env)


def assert_window_json(doc: dict[str, Any]) -> None:
    assert set(doc) >= WINDOW_KEYS
    for key in ("start", "end", "created_at", "modified_at"):
        assert ISO.match(doc[key]), (key, doc[key])
    assert DECIMAL.match(doc["duration_hours"])
    assert isinstance(doc["id"], int) and isinstance(doc["version"], int)
    assert set(doc["scope"]) == {"all_nodes", "nodes", "node_types"}


def refused(site: SiteCli, *args: str, field: str, env: dict[str, str] | None = None) -> str:
    """Exit 1, nothing on stdout, exactly one stderr line that names ``field``."""
    result = site.run(*args, env=env)
    assert result.returncode == 1, (args, result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"nodedesk: error: {field}: "), lines[0]
    return lines[0]


def test_window_lifecycle(cli_site: SiteCli) -> None:
    created = add(cli_site, "Firmware", "2026-02-20 08:00", "2026-02-20 20:00", "--description", "BIOS")
    assert_window_json(created)
    assert created["start"] == "2026-02-20T08:00:00-05:00"
    assert created["end"] == "2026-02-20T20:00:00-05:00"
    assert created["duration_hours"] == "12.00"
    assert created["status"] == "upcoming" and created["created_by"] == cli_site.admin
    assert created["impact"] == [] and created["dry_run"] is False
    wid = str(created["id"])

    listed = cli_site.json("window", "list")
    assert isinstance(listed, list) and [w["id"] for w in listed] == [created["id"]]
    assert_window_json(listed[0])

    shown = cli_site.json("window", "show", wid)
    assert shown["title"] == "Firmware" and shown["lock_reason"] == ""
    text = cli_site.ok("window", "show", wid)
    assert "2026-02-20 08:00 -05:00" in text and "upcoming" in text

    edited = cli_site.json(
        "window", "edit", wid, "--title", "Firmware v2", "--end", "2026-02-20T22:00:00-05:00"
    )
    assert edited["title"] == "Firmware v2" and edited["end"] == "2026-02-20T22:00:00-05:00"
    assert edited["version"] == 2 and edited["drifted_months"] == []

    out = cli_site.ok("window", "delete", wid, "--yes")
    assert f"Deleted window #{wid}" in out
    refused(cli_site, "window", "show", wid, field="id")
    actions = [e["action"] for e in cli_site.json("audit", "list", "--limit", "3")]
    assert actions == ["window.deleted", "window.updated", "window.created"]


def test_refused_actions_leave_database_unchanged(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    wid = str(add(cli_site, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")["id"])
    past = str(add(cli_site, "Old", "2026-02-10 08:00", "2026-02-10 12:00", "--reason", "late")["id"])
    before = cli_site.state()
    span = ("--start", "2026-02-20 08:00", "--end", "2026-02-20 09:00")
    cases: list[tuple[tuple[str, ...], str]] = [
        (("--title", "T", "--start", "2026-02-20 08:00", "--end", "2026-02-20 07:00"), "end"),
        (("--title", "T", "--start", "2026-03-08 02:30", "--end", "2026-03-08 04:00"), "start"),  # DST gap
        (("--title", "T", "--start", "2026-02-30 08:00", "--end", "2026-03-01 08:00"), "start"),
        (("--title", "T", "--start", "2026-02-14 08:00", "--end", "2026-02-14 09:00"), "start"),  # backdated
        (("--title", "T", *span, "--node", "ghost"), "node"),
        (("--title", "x" * 201, *span), "title"),
    ]
    cases = [(("window", "add", *args), field) for args, field in cases]
    cases += [
        (("window", "edit", past, "--title", "rewrite history"), "window"),
        (("window", "edit", past, "--title", "x", "--correct"), "reason"),
        (("window", "edit", wid, "--end", "2026-02-20 07:00"), "end"),
        (("window", "delete", past, "--yes"), "window"),
        (("window", "list", "--from", "2026-02-31"), "from"),
    ]
    for args, field in cases:
        refused(cli_site, *args, field=field)
    assert cli_site.state() == before


def test_dry_run_saves_nothing(cli_site: SiteCli) -> None:
    before = cli_site.state()
    doc = add(cli_site, "Maybe", "2026-02-20 08:00", "2026-02-20 09:00", "--dry-run")
    assert doc["dry_run"] is True and doc["title"] == "Maybe"
    text = cli_site.ok(
        "window",
        "add",
        "--title",
        "Maybe",
        "--start",
        "2026-02-20 08:00",
        "--end",
        "2026-02-20 09:00",
        "--dry-run",
    )
    assert text.startswith("Dry run, nothing saved")
    assert cli_site.state() == before


def test_delete_needs_confirmation_without_a_terminal(cli_site: SiteCli) -> None:
    wid = str(add(cli_site, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")["id"])
    for stdin in (None, "y\n"):  # /dev/null, or a pipe: neither is a terminal
        result = cli_site.run("window", "delete", wid, input=stdin)
        assert result.returncode == 1
        assert result.stdout == ""
        last = result.stderr.splitlines()[-1]
        assert last.startswith("nodedesk: error: confirm:") and "--yes" in last
        assert "Delete window #" in result.stderr  # says what it would have deleted
    assert [w["id"] for w in cli_site.json("window", "list")] == [int(wid)]


def test_locked_windows_and_corrections(cli_site: SiteCli) -> None:
    cli_site.ok("user", "add", "rmgr", "--role", "rental_manager")
    running = add(cli_site, "Cooling", "2026-02-15 09:00", "2026-02-15 13:00", "--reason", "entered late")
    assert running["backdated"] is True and running["status"] == "in_progress" and running["locked"] is True
    rid = str(running["id"])
    shown = cli_site.json("window", "show", rid)
    assert "only its end may move" in shown["lock_reason"]
    # in progress: only the end moves, to now or later
    refused(cli_site, "window", "edit", rid, "--title", "x", field="title")
    refused(cli_site, "window", "edit", rid, "--end", "2026-02-15 09:30", field="end")
    moved = cli_site.json("window", "edit", rid, "--end", "2026-02-15 15:00")
    assert moved["end"] == "2026-02-15T15:00:00-05:00"
    # correction: admin only, with a reason
    as_rmgr = {"NODEDESK_USER": "rmgr"}
    result = cli_site.run(
        "window", "edit", rid, "--start", "2026-02-15 08:00", "--correct", "--reason", "r", env=as_rmgr
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["nodedesk: error: rmgr may not make corrections (needs role admin)"]
    corrected = cli_site.json(
        "window", "edit", rid, "--start", "2026-02-15 08:30", "--correct", "--reason", "started earlier"
    )
    assert corrected["start"] == "2026-02-15T08:30:00-05:00"
    entry = cli_site.json("audit", "list", "--limit", "1")[0]
    assert entry["action"] == "window.corrected" and entry["reason"] == "started earlier"
    assert entry["before"]["start"] == "2026-02-15T09:00:00-05:00"
    assert entry["after"]["start"] == "2026-02-15T08:30:00-05:00"
    deleted = cli_site.json("window", "delete", rid, "--yes", "--correct", "--reason", "duplicate")
    assert deleted["deleted"]["id"] == int(rid) and deleted["impact"] == []
    assert cli_site.json("window", "list") == []


def test_list_filters_and_sorting(cli_site: SiteCli) -> None:
    add(cli_site, "Past PSU swap", "2026-02-10 08:00", "2026-02-10 10:00", "--reason", "late")
    add(cli_site, "kernel patch", "2026-02-17 07:00", "2026-02-17 08:00")
    add(cli_site, "Big power work", "2026-03-05 00:00", "2026-03-06 06:00", "--description", "feed A")

    def titles(*args: str) -> list[str]:
        return [w["title"] for w in cli_site.json("window", "list", *args)]

    assert titles() == ["Past PSU swap", "kernel patch", "Big power work"]
    assert titles("--status", "completed") == ["Past PSU swap"]
    assert titles("--status", "upcoming", "--sort", "title") == ["Big power work", "kernel patch"]
    assert titles("--from", "2026-02-17 08:00", "--to", "2026-03-05") == []  # half-open at both ends
    assert titles("--from", "2026-02-11", "--search", "FEED", "--desc") == ["Big power work"]
    table = cli_site.ok("window", "list")
    assert table.splitlines()[0].split()[:3] == ["ID", "STATUS", "START"]
    assert "🔒 completed" in table


def test_stale_version_refused_with_who_and_when(cli_site: SiteCli) -> None:
    wid = str(add(cli_site, "Plan", "2026-02-20 08:00", "2026-02-20 12:00")["id"])
    cli_site.json("window", "edit", wid, "--title", "Plan B", "--expected-version", "1")
    before = cli_site.state()
    line = refused(
        cli_site, "window", "edit", wid, "--title", "Plan C", "--expected-version", "1", field="version"
    )
    assert f"changed by {cli_site.admin} at 2026-02-15 10:00 -05:00 since you opened it" in line
    assert cli_site.state() == before


def test_viewer_cannot_add(cli_site: SiteCli) -> None:
    cli_site.ok("user", "add", "vic", "--role", "viewer")
    before = cli_site.state()
    result = cli_site.run(
        "window", "add", "--title", "T", "--start", "2026-02-20 08:00", "--end", "2026-02-20 09:00",
        env={"NODEDESK_USER": "vic"},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "nodedesk: error: vic may not manage maintenance windows (needs role admin or rental_manager)"
    ]
    assert cli_site.state() == before


def test_emergency_window_from_the_command_line(cli_site: SiteCli) -> None:
    cli_site.ok("node-type", "add", "A100", "--category", "GPU")
    cli_site.ok("node", "add", "n1", "--type", "A100")
    line = refused(cli_site, "window", "add", "--emergency", "--node", "n1", field="reason")
    assert "reason" in line
    emergency = ("window", "add", "--emergency", "--node", "n1", "--reason", "PSU")
    # flags missing or mixed are usage errors (exit 2, one line naming the flag), as argparse's
    for args, flag in [
        ((*emergency, "--start", "2026-02-15 09:00"), "--start"),
        (("window", "add", "--title", "No times"), "--start"),
        (("window", "add", "--title", "T", "--duration", "2h"), "--duration"),
    ]:
        result = cli_site.run(*args)
        assert result.returncode == 2 and result.stdout == "", (args, result)
        assert len(result.stderr.splitlines()) == 1 and flag in result.stderr, result.stderr
    assert cli_site.json("window", "list") == []

    doc = cli_site.json(
        "window", "add", "--emergency", "--node", "n1", "--duration", "90m", "--reason", "PSU failed"
    )
    assert_window_json(doc)
    assert doc["emergency"] is True and doc["backdated"] is False and doc["status"] == "in_progress"
    assert (doc["start"], doc["end"]) == ("2026-02-15T10:00:00-05:00", "2026-02-15T11:30:00-05:00")
    assert doc["notices"]["smtp_configured"] is False
    [listed] = cli_site.json("window", "list")
    assert listed["emergency"] is True
    assert cli_site.json("downtime", "list")[0]["emergency"] is True
    text = cli_site.ok("window", "list")
    assert "! EMERGENCY" in text
    assert re.search(r"^emergency: +yes", cli_site.ok("window", "show", str(doc["id"])), re.M)
    planned = add(cli_site, "Planned", "2026-02-20 08:00", "2026-02-20 10:00")
    assert planned["emergency"] is False
    ics = cli_site.ok("calendar", "export", "-", "--from", "2026-02-15", "--to", "2026-02-28")
    assert "SUMMARY:EMERGENCY: Maintenance: PSU failed" in ics
