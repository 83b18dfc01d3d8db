"""Hardening: how non-existent (DST gap) and ambiguous (DST overlap) local times are handled, the
same way everywhere a time is typed (help/times.md): a gap time is refused with one line naming
the field and the gap; an overlap time is the first occurrence unless an offset is given."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nodedesk.core.errors import ValidationError
from nodedesk.core.timeutil import parse_date, parse_instant

from tests.cli.conftest import NODEDESK
from tests.hardening.conftest import InProcessCli, db_digest


@pytest.mark.parametrize(
    ("text", "tz", "gap"),
    [
        ("2026-03-08 02:30", "America/New_York", "from 02:00 straight to 03:00"),
        ("2026-03-08T02:00", "America/New_York", "from 02:00 straight to 03:00"),
        ("2026-03-29 02:59", "Europe/Berlin", "from 02:00 straight to 03:00"),
        ("2026-10-04 02:15", "Australia/Lord_Howe", "from 02:00 straight to 02:30"),  # a 30-minute gap
    ],
)
def test_gap_time_is_refused_naming_field_and_gap(text: str, tz: str, gap: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_instant(text, tz, field="start")
    message = str(err.value)
    assert err.value.field == "start" and message.startswith("start: ")
    assert gap in message and "does not exist" in message and "\n" not in message


def test_overlap_time_is_the_first_occurrence_unless_an_offset_is_given() -> None:
    tz = "America/New_York"
    assert parse_instant("2026-11-01 01:30", tz) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # EDT
    assert parse_instant("2026-11-01T01:30-04:00", tz) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert parse_instant("2026-11-01T01:30-05:00", tz) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # EST


@pytest.mark.parametrize("text", ["9999-12-31 23:59", "0001-01-01", "1899-12-31T23:00Z", "3000-01-01 00:00"])
def test_out_of_range_years_are_refused_not_crashing(text: str) -> None:
    with pytest.raises(ValidationError, match="year must be between 1900 and 2999"):
        parse_instant(text, "America/New_York", field="end")
    with pytest.raises(ValidationError):
        parse_date(text[:10], field="from")


def _window_add(site: InProcessCli, start: str, end: str) -> tuple[int, str, str]:
    o = site.run(["window", "add", "--title", "DST test", "--start", start, "--end", end, "--json"])
    return o.rc, o.stdout, o.stderr


def test_cli_refuses_a_gap_time_and_writes_nothing(demo_site: InProcessCli) -> None:
    before = db_digest(demo_site.database_url)
    rc, out, err = _window_add(demo_site, "2026-03-08 02:30", "2026-03-08 04:00")
    assert rc == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("nodedesk: error: start: 2026-03-08 02:30 does not exist in America/New_York")
    assert "clocks go from 02:00 straight to 03:00" in err
    assert db_digest(demo_site.database_url) == before
    # the same rule for an outage's ETR and a window's end
    o = demo_site.run(["outage", "add", "--title", "x", "--node", "node2433", "--start", "2026-03-08 01:00",
                       "--etr", "2026-03-08 02:10"])  # fmt: skip
    assert o.rc == 1 and "etr: 2026-03-08 02:10 does not exist" in o.stderr
    rc, _, err = _window_add(demo_site, "2026-03-08 01:00", "2026-03-08 02:45")
    assert rc == 1 and "end: 2026-03-08 02:45 does not exist" in err
    assert db_digest(demo_site.database_url) == before


def test_cli_reads_an_overlap_time_as_the_first_and_an_offset_exactly(demo_site: InProcessCli) -> None:
    rc, out, err = _window_add(demo_site, "2026-11-01 01:30", "2026-11-01 03:00")
    assert rc == 0, err
    assert json.loads(out)["start"] == "2026-11-01T01:30:00-04:00"  # first occurrence, daylight time
    rc, out, err = _window_add(demo_site, "2026-11-01T01:30-05:00", "2026-11-01 03:00")
    assert rc == 0, err
    assert json.loads(out)["start"] == "2026-11-01T01:30:00-05:00"  # the second, as asked


def test_frozen_clock_in_a_gap_is_refused(demo_site: InProcessCli) -> None:
    demo_site.now = "2026-03-08T02:30"
    o = demo_site.run(["window", "list"])
    assert o.rc == 1 and "NODEDESK_NOW: 2026-03-08 02:30 does not exist" in o.stderr


def test_real_entry_point_gap_time_and_undecodable_bytes(demo_template: Path, tmp_path: Path) -> None:
    """Through the installed console script: a DST gap, and argv bytes that are not UTF-8."""
    db = tmp_path / "nodedesk.db"
    db.write_bytes(demo_template.read_bytes())
    env = InProcessCli(f"sqlite:///{db}", tmp_path).environ()
    before = db_digest(f"sqlite:///{db}")

    def run(*argv: str | bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [os.fsencode(str(NODEDESK)), *(a if isinstance(a, bytes) else a.encode() for a in argv)],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
        )  # fmt: skip

    gap = run("window", "add", "--title", "x", "--start", "2026-03-08 02:30", "--end", "2026-03-08 04:00")
    assert gap.returncode == 1 and gap.stdout == b""
    assert gap.stderr.count(b"\n") == 1 and b"clocks go from 02:00 straight to 03:00" in gap.stderr
    bad = run(
        "window",
        "add",
        "--title",
        b"caf\xe9 \xff",
        "--start",
        "2026-03-20 08:00",
        "--end",
        "2026-03-20 09:00",
    )
    assert bad.returncode == 2 and b"Traceback" not in bad.stderr
    assert b"is not valid UTF-8" in bad.stderr.splitlines()[-1]
    bad.stderr.decode("utf-8")  # what reached the terminal is itself valid UTF-8
    huge = run("window", "list", "--search", "x" * 100_000, "--bogus")
    assert huge.returncode == 2 and max(len(line) for line in huge.stderr.splitlines()) < 600
    assert db_digest(f"sqlite:///{db}") == before
