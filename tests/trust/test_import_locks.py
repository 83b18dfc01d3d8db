"""A merge import respects the history locks the services keep (see help/backup.md).

A completed window, a resolved outage and anything inside a finalized invoice month may only be
changed by a merge as an admin correction (``--correct --reason``); each corrected record then
gets its own audit entry with before and after. A restore into an empty database is unaffected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nodedesk.core.backup import import_backup
from nodedesk.core.errors import LockedError, ValidationError
from nodedesk.core.models import ActivityEntry, InvoicePeriod, InvoiceSnapshot, MaintenanceWindow, Outage
from nodedesk.core.runtime import Runtime
from sqlalchemy import func, select

from tests.backup import conftest as backup_fixtures
from tests.backup.dataset import edit_kind
from tests.cli import conftest as cli_fixtures
from tests.cli.conftest import SiteCli

# The backup and command-line fixtures, shared with those folders.
export_dir = backup_fixtures.export_dir
pg_empty_url = backup_fixtures.pg_empty_url
pg_target_schema_url = backup_fixtures.pg_target_schema_url
rich_export = backup_fixtures.rich_export
rich_sqlite = backup_fixtures.rich_sqlite
sqlite_empty_url = backup_fixtures.sqlite_empty_url
target = backup_fixtures.target
target_url = backup_fixtures.target_url
cli_site = cli_fixtures.cli_site
cli_template = cli_fixtures.cli_template


def _import(rt: Runtime, directory: Path, **kw: Any):  # type: ignore[no-untyped-def]
    """Import leaving the activity log out: these tests are about the other kinds."""
    return import_backup(rt, directory, exclude=["activity_log"], **kw)


def _log_len(rt: Runtime) -> int:
    with rt.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(ActivityEntry)) or 0)


def _set(kind: str, match: Any, **changes: Any):  # type: ignore[no-untyped-def]
    def change(records: list[dict[str, Any]]) -> None:
        hits = [r for r in records if match({**r["fields"], "key": r["natural_key"][0]})]
        assert hits, f"no {kind} record matched"
        hits[0]["fields"].update(changes)

    return change


def _window_title(rt: Runtime, title: str) -> int:
    with rt.database.read() as session:
        return int(session.scalar(select(func.count()).where(MaintenanceWindow.title == title)) or 0)


@pytest.fixture
def merged(target: Runtime, export_dir: Path) -> Runtime:
    """The target holds the export already (a restore); the test then edits the export."""
    assert _import(target, export_dir).restore
    return target


def test_completed_window_is_refused_without_correct(merged: Runtime, export_dir: Path) -> None:
    edit_kind(
        export_dir, "maintenance_windows", _set("w", lambda f: f["title"] == "bk Jan 31", title="bk edited")
    )
    before = _log_len(merged)
    with pytest.raises(LockedError) as err:
        _import(merged, export_dir)
    line = str(err.value)
    assert "maintenance_windows record" in line and "completed" in line and "--correct --reason" in line
    assert "\n" not in line
    assert _window_title(merged, "bk edited") == 0 and _log_len(merged) == before


def test_resolved_outage_is_refused(merged: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "outages", _set("o", lambda f: f["title"] == "bk PSU", description="rewritten"))
    with pytest.raises(LockedError, match=r"outages record .*resolved.*--correct --reason"):
        _import(merged, export_dir)
    with merged.database.read() as session:
        assert session.scalar(select(Outage.description).where(Outage.title == "bk PSU")) != "rewritten"


def test_finalized_snapshot_with_recomputed_hash_is_refused(merged: Runtime, export_dir: Path) -> None:
    def forge(records: list[dict[str, Any]]) -> None:
        import hashlib

        rec = records[-1]["fields"]
        doc = rec["snapshot_json"].replace('"currency":"USD"', '"currency":"EUR"')
        assert doc != rec["snapshot_json"]
        rec["snapshot_json"] = doc
        rec["snapshot_sha256"] = hashlib.sha256(doc.encode()).hexdigest()

    edit_kind(export_dir, "invoice_snapshots", forge)
    with pytest.raises(LockedError, match=r"invoice_snapshots record .*finalized.*--correct --reason"):
        _import(merged, export_dir)
    with merged.database.read() as session:
        assert all('"EUR"' not in s for s in session.scalars(select(InvoiceSnapshot.snapshot_json)))
    edit_kind(export_dir, "invoice_snapshots", lambda rs: None)  # (reseal only)


def test_finalized_invoice_month_is_refused(merged: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "invoice_periods", _set("p", lambda f: f["status"] == "finalized", status="draft"))
    with pytest.raises(LockedError, match=r"invoice_periods record \"2026-01\".*--correct --reason"):
        _import(merged, export_dir)


def test_reservation_in_a_finalized_month_is_refused(merged: Runtime, export_dir: Path) -> None:
    edit_kind(
        export_dir,
        "reservations",
        _set("r", lambda f: f["start_at"].startswith("2026-01-30"), end_at="2026-02-03T14:00:00Z"),
    )
    with pytest.raises(LockedError, match=r"reservations record .*2026-01.*--correct --reason"):
        _import(merged, export_dir)


def test_new_approved_reservation_in_a_finalized_month_is_refused(merged: Runtime, export_dir: Path) -> None:
    def add(records: list[dict[str, Any]]) -> None:
        src = next(r for r in records if r["fields"]["start_at"].startswith("2026-01-30"))
        fields = {**src["fields"], "id": 9999}
        fields.update(start_at="2026-01-10T21:00:00Z", end_at="2026-01-11T14:00:00Z")
        records.append({"natural_key": ["ffffffff-0000-4000-8000-000000000001"], "fields": fields})

    edit_kind(export_dir, "reservations", add, recount=True)
    with pytest.raises(LockedError, match=r"reservations record \"ffffffff.*2026-01"):
        _import(merged, export_dir)


def test_unlocked_changes_still_merge(merged: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "nodes", _set("n", lambda f: f["key"] == "bknode01", description="free to change"))
    result = _import(merged, export_dir)
    assert {c.kind: c.updated for c in result.counts}["nodes"] == 1


def test_correct_with_reason_writes_one_entry_per_record(merged: Runtime, export_dir: Path) -> None:
    edit_kind(
        export_dir, "maintenance_windows", _set("w", lambda f: f["title"] == "bk Jan 31", title="bk edited")
    )
    edit_kind(export_dir, "outages", _set("o", lambda f: f["title"] == "bk PSU", description="rewritten"))
    with pytest.raises(ValidationError, match="reason"):
        _import(merged, export_dir, correct=True, reason="  ")
    result = _import(merged, export_dir, correct=True, reason="restore the vendor's record")
    assert _window_title(merged, "bk edited") == 1
    with merged.database.read() as session:
        entries = list(
            session.scalars(
                select(ActivityEntry)
                .where(ActivityEntry.action.like("%.corrected_by_import"))
                .order_by(ActivityEntry.seq)
            )
        )
        assert [e.action for e in entries] == [
            "maintenance_windows.corrected_by_import",
            "outages.corrected_by_import",
        ]
        win = entries[0]
        assert win.reason == "restore the vendor's record" and win.actor == "admin"
        before, after = json.loads(win.before_json), json.loads(win.after_json)
        assert before["title"] == "bk Jan 31" and after["title"] == "bk edited"
        assert json.loads(entries[1].after_json)["description"] == "rewritten"
        assert entries[-1].seq < result.audit_seq  # the summary entry comes last
        jan = session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == "2026-01"))
        assert jan.drifted  # the corrected window lies in a finalized month


def test_a_correcting_import_records_every_record_it_changes(merged: Runtime, export_dir: Path) -> None:
    """With --correct the whole import is an admin correction: an unlocked change made by it is on
    record with its before and after too, not only in the summary's counts."""
    edit_kind(
        export_dir, "maintenance_windows", _set("w", lambda f: f["title"] == "bk Jan 31", title="bk edited")
    )
    edit_kind(export_dir, "nodes", _set("n", lambda f: f["key"] == "bknode01", description="new rack"))
    _import(merged, export_dir, correct=True, reason="vendor records")
    with merged.database.read() as session:
        entries = {
            e.action: (json.loads(e.before_json), json.loads(e.after_json), e.reason)
            for e in session.scalars(
                select(ActivityEntry).where(ActivityEntry.action.like("%.corrected_by_import"))
            )
        }
    assert set(entries) == {"maintenance_windows.corrected_by_import", "nodes.corrected_by_import"}
    before, after, reason = entries["nodes.corrected_by_import"]
    assert after["description"] == "new rack" and before["description"] != "new rack"
    assert reason == "vendor records"


def test_correct_needs_the_correct_capability(merged: Runtime, export_dir: Path) -> None:
    from tests.helpers import runtime_as

    edit_kind(
        export_dir, "maintenance_windows", _set("w", lambda f: f["title"] == "bk Jan 31", title="bk edited")
    )
    with pytest.raises(Exception, match=r"may not|not allowed|permission|admin"):
        _import(runtime_as(merged, "bk-bob"), export_dir, correct=True, reason="x")
    assert _window_title(merged, "bk edited") == 0


# ---------------------------------------------------------------- the command line


def test_cli_merge_refuses_then_corrects(cli_site: SiteCli, tmp_path: Path) -> None:
    cli_site.ok(
        "window",
        "add",
        "--title",
        "Past",
        "--start",
        "2026-02-01 06:00",
        "--end",
        "2026-02-01 18:00",
        "--reason",
        "recorded late",
    )
    cli_site.ok("export", str(tmp_path / "b"), "--source-name", "hpc1")
    (export,) = (tmp_path / "b").glob("nodedesk-export-*")
    edit_kind(export, "maintenance_windows", _set("w", lambda f: f["title"] == "Past", title="Rewritten"))
    before = cli_site.state()
    line = cli_site.refused("import", str(export), "--exclude", "activity_log")
    assert "maintenance_windows record" in line and "--correct --reason" in line
    assert cli_site.state() == before
    assert "--reason" in cli_site.refused("import", str(export), "--exclude", "activity_log", "--correct")
    cli_site.ok("import", str(export), "--exclude", "activity_log", "--correct", "--reason", "vendor copy")
    assert [w["title"] for w in cli_site.json("window", "list")] == ["Rewritten"]
    rows = cli_site.sql("SELECT action, reason FROM activity_log WHERE action LIKE '%corrected_by_import'")
    assert rows == [("maintenance_windows.corrected_by_import", "vendor copy")]


def test_rate_in_effect_in_a_finalized_month_is_refused(merged: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "rates", _set("r", lambda f: f["amount"] == "8.000000", amount="7.000000"))
    with pytest.raises(LockedError, match=r"rates record .*2026-01.*--correct --reason"):
        _import(merged, export_dir)


def test_override_of_a_finalized_month_is_refused(merged: Runtime, export_dir: Path) -> None:
    edit_kind(
        export_dir, "billing_overrides", _set("o", lambda f: f["period"] == "2026-01", reason="rewritten")
    )
    with pytest.raises(LockedError, match=r"billing_overrides record .*2026-01.*--correct --reason"):
        _import(merged, export_dir)
