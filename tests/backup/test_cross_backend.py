"""Server migration: SQLite → PostgreSQL → SQLite, and a restore onto a brand-new server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nodedesk.core import audit
from nodedesk.core.backup import export_backup, import_backup
from nodedesk.core.clock import FrozenClock

from tests.backup.conftest import RichSource, make_runtime
from tests.backup.dataset import data_files, invoice_docs

pytestmark = pytest.mark.postgres


def _same_but_log(a: Path, b: Path) -> None:
    fa, fb = data_files(a), data_files(b)
    assert fa.keys() == fb.keys()
    for name in fa:
        if name != "activity_log.json":
            assert fa[name] == fb[name], f"{name} differs"
    la = json.loads(fa["activity_log.json"])["records"]
    lb = json.loads(fb["activity_log.json"])["records"]
    assert lb[: len(la)] == la and [r["fields"]["action"] for r in lb[len(la) :]] == ["backup.imported"]


def test_sqlite_to_postgresql_and_back(
    rich_sqlite: RichSource, pg_empty_url: str, sqlite_empty_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    source = rich_sqlite.runtime()
    pg = make_runtime(pg_empty_url, clock)
    back = make_runtime(sqlite_empty_url, clock)
    try:
        a = export_backup(source, tmp_path / "a", timestamp=False)
        assert json.loads((a.directory / "manifest.json").read_text())["source"]["database"] == "sqlite"
        import_backup(pg, a.directory)
        b = export_backup(pg, tmp_path / "b", timestamp=False)
        assert json.loads((b.directory / "manifest.json").read_text())["source"]["database"] == "postgresql"
        _same_but_log(a.directory, b.directory)
        import_backup(back, b.directory)
        c = export_backup(back, tmp_path / "c", timestamp=False)
        _same_but_log(b.directory, c.directory)
        expected = invoice_docs(source, rich_sqlite.months)
        assert invoice_docs(pg, rich_sqlite.months) == expected
        assert invoice_docs(back, rich_sqlite.months) == expected
        for rt in (pg, back):
            with rt.read() as ctx:
                assert audit.verify(ctx.session).ok
    finally:
        for rt in (source, pg, back):
            rt.close()


def test_postgresql_export_equals_sqlite_export(
    rich_pg: RichSource, pg_empty_url: str, sqlite_empty_url: str, clock: FrozenClock, tmp_path: Path
) -> None:
    """The same data exported from either back end gives the same bytes (code-point order)."""
    source = rich_pg.runtime()
    lite = make_runtime(sqlite_empty_url, clock)
    try:
        a = export_backup(source, tmp_path / "a", timestamp=False)
        import_backup(lite, a.directory)
        b = export_backup(lite, tmp_path / "b", timestamp=False)
        _same_but_log(a.directory, b.directory)
    finally:
        source.close()
        lite.close()


def test_restore_onto_a_blank_postgresql_server(
    pg_blank_url: str, export_dir: Path, clock: FrozenClock, tmp_path: Path
) -> None:
    """No schema at all: the import creates it, then restores (a dry run first)."""
    blank = make_runtime(pg_blank_url, clock)
    try:
        dry = import_backup(blank, export_dir, dry_run=True)
        assert dry.restore
        real = import_backup(blank, export_dir)
        assert real.restore and real.audit_seq is not None
        again = export_backup(blank, tmp_path / "again", timestamp=False)
        _same_but_log(export_dir, again.directory)
    finally:
        blank.close()
