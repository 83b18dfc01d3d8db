"""Import applies the console's field rules, reads only regular files inside the export, and
never writes two overlapping active reservations on one node (see help/backup.md)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from nodedesk.core.backup import import_backup, registry
from nodedesk.core.backup.jsonstream import KindFileReader
from nodedesk.core.errors import ValidationError
from nodedesk.core.models import Reservation
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


def _total_rows(rt: Runtime) -> int:
    with rt.database.read() as session:
        return sum(session.scalar(select(func.count()).select_from(s.table)) or 0 for s in registry())


def _set(match: Any, **changes: Any):  # type: ignore[no-untyped-def]
    def change(records: list[dict[str, Any]]) -> None:
        hits = [r for r in records if match({**r["fields"], "key": r["natural_key"][0]})]
        assert hits
        hits[0]["fields"].update(changes)

    return change


# ---------------------------------------------------------------- field rules


@pytest.mark.parametrize(
    ("kind", "match", "changes", "expect"),
    [
        ("users", lambda f: f["key"] == "bk-alice", {"email": "bk\x01alice@example.org"}, "email"),
        ("users", lambda f: f["key"] == "bk-alice", {"email": "not-an-address"}, "email"),
        ("users", lambda f: f["key"] == "bk-alice", {"username": "bk alice"}, "username"),
        ("nodes", lambda f: f["key"] == "bknode01", {"description": "x" * 10_001}, "description"),
        ("maintenance_windows", lambda f: f["title"] == "bk Jan 31", {"title": "t" * 201}, "title"),
        ("maintenance_windows", lambda f: f["title"] == "bk Jan 31", {"title": "  "}, "title"),
        ("outages", lambda f: f["title"] == "bk PSU", {"status": "exploded"}, "status"),
        ("reservations", lambda f: f["status"] == "pending", {"status": "maybe"}, "status"),
        ("projects", lambda f: f["key"] == "bk Physics", {"status": "paused"}, "status"),
        ("rates", lambda f: f["amount"] == "8.000000", {"amount": "-1.000000"}, "amount"),
    ],
)
def test_import_applies_the_console_field_rules(
    target: Runtime, export_dir: Path, kind: str, match: Any, changes: dict[str, Any], expect: str
) -> None:
    edit_kind(export_dir, kind, _set(match, **changes))
    with pytest.raises(ValidationError) as err:
        _import(target, export_dir)
    line = str(err.value)
    assert f"{kind} record" in line and f"field {expect!r}" in line and "\n" not in line
    assert _total_rows(target) == 0


def test_a_huge_field_is_refused_quickly_and_in_linear_time(target: Runtime, export_dir: Path) -> None:
    """48 MiB in one description: refused naming the rule. Figures are printed, never asserted."""
    figures = []
    for mib in (3, 12, 48):
        edit_kind(export_dir, "nodes", _set(lambda f: f["key"] == "bknode01", description="d" * (mib << 20)))
        started = time.perf_counter()
        with pytest.raises(ValidationError, match=r"nodes record .*field 'description'.*at most 2000"):
            _import(target, export_dir)
        figures.append((mib, round(time.perf_counter() - started, 2)))
    print("huge description refused in (MiB, s):", figures)
    assert _total_rows(target) == 0


def test_reader_reads_a_long_value_in_linear_time(tmp_path: Path) -> None:
    """The reader's cost per byte stays flat as one value grows (counted, not timed)."""
    reads = []
    for mib in (1, 4, 16):
        path = tmp_path / f"k{mib}.json"
        path.write_text('{"model": "x", "count": 1, "records": [["' + "a" * (mib << 20) + '"]]}')
        with KindFileReader(path) as reader:
            for rec in reader.records():
                assert len(rec[0]) == mib << 20
            reads.append(reader.parsed_chars / (mib << 20))
    assert max(reads) < 4, reads  # characters parsed per character of input


# ---------------------------------------------------------------- files inside the export


def test_a_symlinked_kind_file_is_refused(target: Runtime, export_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    (export_dir / "nodes.json").rename(outside)
    os.symlink(outside, export_dir / "nodes.json")
    with pytest.raises(ValidationError, match=r"nodes\.json: is a symbolic link"):
        _import(target, export_dir)
    assert _total_rows(target) == 0


def test_a_symlink_to_a_system_file_is_refused(target: Runtime, export_dir: Path) -> None:
    (export_dir / "settings.json").unlink()
    os.symlink("/etc/shadow", export_dir / "settings.json")
    with pytest.raises(ValidationError, match=r"settings\.json: is a symbolic link"):
        _import(target, export_dir)


def test_a_symlinked_manifest_and_other_special_files_are_refused(target: Runtime, export_dir: Path) -> None:
    os.mkfifo(export_dir / "pipe")
    with pytest.raises(ValidationError, match=r"pipe: is not a regular file"):
        _import(target, export_dir)
    (export_dir / "pipe").unlink()
    real = export_dir.parent / "manifest.json"
    (export_dir / "manifest.json").rename(real)
    os.symlink(real, export_dir / "manifest.json")
    with pytest.raises(ValidationError, match=r"manifest\.json: is a symbolic link"):
        _import(target, export_dir)


def test_cli_refuses_a_symlink_in_one_line(cli_site: SiteCli, tmp_path: Path) -> None:
    cli_site.ok("export", str(tmp_path / "b"))
    (export,) = (tmp_path / "b").glob("nodedesk-export-*")
    (export / "nodes.json").unlink()
    os.symlink("/etc/shadow", export / "nodes.json")
    assert "nodes.json: is a symbolic link" in cli_site.refused("import", str(export))
    assert "nodes.json: is a symbolic link" in cli_site.refused("check-import", str(export))


# ---------------------------------------------------------------- overlapping reservations


def _overlap(records: list[dict[str, Any]]) -> None:
    """A second approved reservation on the node of the first, overlapping it by an hour."""
    src = next(
        r for r in records if r["fields"]["status"] == "approved" and r["fields"]["start_at"] >= "2026-02"
    )
    f = {**src["fields"], "id": 9998, "notes": "clash"}
    records.append({"natural_key": ["ffffffff-0000-4000-8000-0000000000aa"], "fields": f})
    records.sort(key=lambda r: r["natural_key"])


def _active_overlaps(rt: Runtime) -> int:
    from sqlalchemy.orm import aliased

    a, b = aliased(Reservation), aliased(Reservation)
    with rt.database.read() as session:
        stmt = select(func.count()).where(
            a.node_id == b.node_id,
            a.id < b.id,
            a.start < b.end,
            b.start < a.end,
            a.status.in_(("pending", "approved")),
            b.status.in_(("pending", "approved")),
        )
        return int(session.scalar(stmt) or 0)


def test_restore_refuses_overlapping_reservations(target: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "reservations", _overlap, recount=True)
    with pytest.raises(ValidationError) as err:
        _import(target, export_dir)
    line = str(err.value)
    assert "reservations record" in line and "overlaps" in line and "\n" not in line
    assert "ffffffff-0000-4000-8000-0000000000aa" in line
    assert _total_rows(target) == 0


def test_merge_refuses_overlapping_reservations(target: Runtime, export_dir: Path) -> None:
    _import(target, export_dir)
    rows = _total_rows(target)
    edit_kind(export_dir, "reservations", _overlap, recount=True)
    with pytest.raises(ValidationError, match=r"reservations record \"ffffffff.*overlaps reservation"):
        _import(target, export_dir)
    assert _total_rows(target) == rows and _active_overlaps(target) == 0


def test_merge_refuses_moving_a_reservation_onto_another(target: Runtime, export_dir: Path) -> None:
    """An update that moves an existing reservation onto another one's node and time."""
    _import(target, export_dir)

    def move(records: list[dict[str, Any]]) -> None:
        approved = [r for r in records if r["fields"]["status"] == "approved"]
        a, b = approved[0]["fields"], approved[1]["fields"]
        b.update(node=a["node"], start_at=a["start_at"], end_at=a["end_at"])

    edit_kind(export_dir, "reservations", move)
    with pytest.raises(ValidationError, match=r"overlaps reservation"):
        _import(target, export_dir, correct=True, reason="test")
    assert _active_overlaps(target) == 0


@pytest.mark.parametrize("restore", [True, False], ids=["restore", "merge"])
def test_the_databases_own_refusal_is_named_too(
    target: Runtime, export_dir: Path, monkeypatch: pytest.MonkeyPatch, restore: bool
) -> None:
    """Were the import's own check bypassed, the database refuses the overlap (schema 0004) and
    the import still says which reservations clash, in one line, writing nothing."""
    from nodedesk.core.backup import clashes

    if not restore:
        _import(target, export_dir)
    rows = _total_rows(target)
    edit_kind(export_dir, "reservations", _overlap, recount=True)
    monkeypatch.setattr(clashes.ClashGuard, "check", lambda self, batch, moving: None)
    with pytest.raises(ValidationError) as err:
        _import(target, export_dir)
    line = str(err.value)
    assert 'reservations record "ffffffff-0000-4000-8000-0000000000aa"' in line, line
    assert "overlaps reservation" in line and "\n" not in line
    assert _total_rows(target) == rows and _active_overlaps(target) == 0
