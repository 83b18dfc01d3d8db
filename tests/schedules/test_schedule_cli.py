"""``nodedesk schedule`` through the real entry point (a few; subprocesses are slow)."""

from __future__ import annotations

from tests.cli.conftest import SiteCli

ADD = (
    "schedule",
    "add",
    "--title",
    "Patch Tuesday",
    "--rule",
    "3rd Tuesday of every month",
    "--start-time",
    "06:00",
    "--end-time",
    "18:00",
)


def test_add_preview_show_skip_extend(cli_site: SiteCli) -> None:
    preview = cli_site.json(
        "schedule",
        "preview",
        "--rule",
        "3rd Tuesday of every month",
        "--start-time",
        "06:00",
        "--duration",
        "12h",
        "--count",
        "3",
    )
    assert [o["start"] for o in preview["occurrences"]] == [
        "2026-02-17T06:00:00-05:00",
        "2026-03-17T06:00:00-04:00",
        "2026-04-21T06:00:00-04:00",
    ]
    assert preview["rule"] == "3rd Tuesday of every month"
    assert cli_site.json("schedule", "list") == []  # preview saved nothing
    out = cli_site.ok(*ADD)
    assert "Created schedule #1 'Patch Tuesday': 3rd Tuesday of every month, 06:00–18:00 (12h)" in out
    assert "3 window(s) created ahead" in out
    windows = cli_site.json("window", "list")
    assert [w["start"] for w in windows] == [o["start"] for o in preview["occurrences"]]
    listed = cli_site.json("schedule", "list")
    assert [(s["id"], s["rule"], s["materialised_ahead"]) for s in listed] == [
        (1, "3rd Tuesday of every month", 3)
    ]
    assert "skipped" not in cli_site.ok("schedule", "show", "1")
    assert "window #2 deleted" in cli_site.ok("schedule", "skip", "1", "2026-03-17", "--reason", "freeze")
    shown = cli_site.json("schedule", "show", "1", "--count", "3")
    assert [o["status"] for o in shown["occurrences"]] == ["scheduled", "skipped", "scheduled"]
    assert cli_site.json("schedule", "extend", "--months", "6")["total"] == 3
    assert cli_site.json("schedule", "extend", "--months", "6")["total"] == 0


def test_bad_input_is_one_line_and_writes_nothing(cli_site: SiteCli) -> None:
    before = cli_site.state()
    line = cli_site.refused(
        "schedule", "add", "--title", "x", "--rule", "sometimes", "--start-time", "06:00", "--duration", "12h"
    )
    assert (
        line.startswith("nodedesk: error: rule: cannot read 'sometimes'")
        and "3rd Tuesday of every month" in line
    )
    line = cli_site.refused(
        "schedule",
        "add",
        "--title",
        "x",
        "--rule",
        "last Friday",
        "--start-time",
        "06:00",
        "--duration",
        "forever",
    )
    assert "duration:" in line
    assert "start_time:" in cli_site.refused(*ADD[:-4], "--start-time", "6pm", "--duration", "1h")
    assert cli_site.state() == before
