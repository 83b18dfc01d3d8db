"""Export → import into an empty database → export again, on both back ends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from nodedesk.core import audit
from nodedesk.core.backup import export_backup, import_backup, registry
from nodedesk.core.backup.manifest import read_manifest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.models import MaintenanceWindow
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.nodes import inventory
from sqlalchemy import select

from tests.backup.conftest import RichSource
from tests.backup.dataset import AWKWARD_LINE, data_files, invoice_docs
from tests.helpers import local


def _records(path: Path) -> list[dict]:
    return json.loads(path.read_text("utf-8"))["records"]


def test_round_trip_is_lossless(rich_source: RichSource, target: Runtime, tmp_path: Path) -> None:
    runtime = rich_source.runtime()
    first = export_backup(runtime, tmp_path / "a", timestamp=False)
    counts = first.manifest.counts
    assert all(counts[k] > 0 for k in counts), counts  # the dataset has every kind

    result = import_backup(target, first.directory)
    assert result.restore and not result.dry_run
    assert {c.kind: c.created for c in result.counts} == counts
    assert result.audit_seq == counts["activity_log"] + 1

    second = export_backup(target, tmp_path / "b", timestamp=False)
    a, b = data_files(first.directory), data_files(second.directory)
    assert a.keys() == b.keys()
    for name in a:
        if name != "activity_log.json":
            assert a[name] == b[name], f"{name} differs after the round trip"
    # The log is the exported log plus exactly the restore's own summary entry.
    before, after = (
        _records(first.directory / "activity_log.json"),
        _records(second.directory / "activity_log.json"),
    )
    assert after[:-1] == before
    assert after[-1]["fields"]["action"] == "backup.imported"

    with target.read() as ctx:
        assert audit.verify(ctx.session).ok
    assert invoice_docs(target, rich_source.months) == invoice_docs(runtime, rich_source.months)
    # Awkward text survives byte for byte.
    with target.read() as ctx:
        titles = set(ctx.session.scalars(select(MaintenanceWindow.title)))
    assert "bk scoped " + AWKWARD_LINE in titles


def test_restore_keeps_ids_and_new_rows_get_fresh_ones(
    rich_source: RichSource, target: Runtime, tmp_path: Path
) -> None:
    runtime = rich_source.runtime()
    with runtime.read() as ctx:
        ids = {w.uuid: w.id for w in ctx.session.scalars(select(MaintenanceWindow))}
    exported = export_backup(runtime, tmp_path / "x", timestamp=False)
    import_backup(target, exported.directory)
    with target.read() as ctx:
        assert {w.uuid: w.id for w in ctx.session.scalars(select(MaintenanceWindow))} == ids
    # The id sequence moved past the restored ids (PostgreSQL): a new window saves fine.
    with target.write() as ctx:
        res = windows.create_window(
            ctx, windows.WindowDraft("after restore", local("2026-03-20 08:00"), local("2026-03-20 10:00"))
        )
    assert res.window.id > max(ids.values())


def test_two_exports_differ_only_in_created_at(
    rich_source: RichSource, clock: FrozenClock, tmp_path: Path
) -> None:
    runtime = rich_source.runtime(clock)
    one = export_backup(runtime, tmp_path, source_name="hpc1")
    clock.set(clock.now() + timedelta(minutes=5))
    two = export_backup(runtime, tmp_path, source_name="hpc1")
    assert one.directory != two.directory  # timestamped names
    assert data_files(one.directory) == data_files(two.directory)
    m1 = json.loads((one.directory / "manifest.json").read_text())
    m2 = json.loads((two.directory / "manifest.json").read_text())
    assert m1.pop("created_at") != m2.pop("created_at")
    assert m1 == m2


def test_reimport_changes_nothing(rich_source: RichSource, target: Runtime, tmp_path: Path) -> None:
    exported = export_backup(rich_source.runtime(), tmp_path / "a", timestamp=False)
    import_backup(target, exported.directory)
    after_first = export_backup(target, tmp_path / "b", timestamp=False)

    again = import_backup(target, exported.directory)
    assert again.changed == 0 and again.audit_seq is None
    assert all(c.unchanged == c.total for c in again.counts)
    after_second = export_backup(target, tmp_path / "c", timestamp=False)
    assert data_files(after_first.directory) == data_files(after_second.directory)

    # Importing the restored database's own export into itself is a no-op too.
    self_import = import_backup(target, after_second.directory)
    assert self_import.changed == 0


def test_dry_run_writes_nothing(target: Runtime, export_dir: Path) -> None:
    dry = import_backup(target, export_dir, dry_run=True)
    assert (
        dry.dry_run and dry.audit_seq == read_manifest(export_dir).counts["activity_log"] + 1
    )  # then rolled back
    assert sum(c.created for c in dry.counts) == sum(read_manifest(export_dir).counts.values())
    with target.database.read() as session:
        assert all(session.execute(select(spec.table).limit(1)).first() is None for spec in registry())


def test_export_dry_run_writes_no_files(runtime: Runtime, tmp_path: Path) -> None:
    result = export_backup(runtime, tmp_path / "nothing", timestamp=False, dry_run=True)
    assert result.manifest.counts["users"] == 1
    assert not (tmp_path / "nothing").exists()


def test_export_is_one_snapshot(runtime: Runtime, tmp_path: Path) -> None:
    """A change committed while the export runs is in none of its files."""
    from nodedesk.core.services.nodes import inventory

    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "SNAP", "GPU")
    written: list[str] = []

    def meanwhile(kind: str, done: int, total: int) -> None:
        if kind == "settings" and not written:
            with runtime.write() as ctx:  # another transaction, committed mid-export
                inventory.add_node(ctx, "snap-node", "SNAP")
            written.append(kind)

    result = export_backup(runtime, tmp_path / "snap", timestamp=False, progress=meanwhile)
    assert written
    nodes = [r["natural_key"][0] for r in _records(result.directory / "nodes.json")]
    actions = [r["fields"]["action"] for r in _records(result.directory / "activity_log.json")]
    assert "snap-node" not in nodes and "node.created" not in actions
    assert result.manifest.counts["activity_log"] == len(actions)
    with runtime.read() as ctx:  # but it was committed
        assert audit.count(ctx.session) == len(actions) + 1


def test_export_destination_rules(runtime: Runtime, tmp_path: Path) -> None:
    from nodedesk.core.errors import ValidationError

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("x")
    with pytest.raises(ValidationError, match="not an empty directory"):
        export_backup(runtime, tmp_path / "full", timestamp=False)
    (tmp_path / "empty").mkdir()
    result = export_backup(runtime, tmp_path / "empty", timestamp=False)
    assert result.directory == tmp_path / "empty" and (tmp_path / "empty" / "manifest.json").is_file()
    assert oct((tmp_path / "empty").stat().st_mode & 0o777) == "0o700"  # an export is private
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # no leftovers
    stamped = export_backup(runtime, tmp_path / "new" / "dir")
    assert stamped.directory.parent == tmp_path / "new" / "dir"
    assert stamped.directory.name == "nodedesk-export-20260215T150000Z"


def test_an_emergency_window_keeps_its_flag(runtime: Runtime, target: Runtime, tmp_path: Path) -> None:
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "n1", "A100")
        windows.create_emergency_window(
            ctx, windows.EmergencyDraft(scope=windows.Scope(("n1",)), reason="PSU failed")
        )
        windows.create_window(
            ctx, windows.WindowDraft("Planned", local("2026-03-01 08:00"), local("2026-03-01 10:00"))
        )
    exported = export_backup(runtime, tmp_path / "a", timestamp=False)
    records = _records(exported.directory / "maintenance_windows.json")
    assert sorted(r["fields"]["emergency"] for r in records) == [False, True]
    import_backup(target, exported.directory)
    with target.read() as ctx:
        flags = dict(ctx.session.execute(select(MaintenanceWindow.title, MaintenanceWindow.emergency)).all())
    assert flags == {"PSU failed": True, "Planned": False}
