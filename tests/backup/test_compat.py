"""Every compatibility rule, as a unit and through check-import / import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nodedesk.core.backup import COMPATIBLE, INCOMPATIBLE, WARNINGS, check_import, compat, import_backup
from nodedesk.core.backup.manifest import FORMAT_VERSION, read_manifest
from nodedesk.core.db import migrate
from nodedesk.core.errors import ValidationError
from nodedesk.core.runtime import Runtime
from sqlalchemy import text

HEAD = migrate.head_revision()


def _instance(**kw) -> compat.InstanceInfo:  # type: ignore[no-untyped-def]
    base = dict(
        database="sqlite",
        schema_revision=HEAD,
        schema_current=True,
        nodedesk="0.1.0",
        format_version=FORMAT_VERSION,
        empty=True,
    )
    base.update(kw)
    return compat.InstanceInfo(**base)  # type: ignore[arg-type]


@pytest.fixture
def manifest(rich_export: Path):  # type: ignore[no-untyped-def]
    return read_manifest(rich_export)


def _assess(manifest, **kw):  # type: ignore[no-untyped-def]
    ancestors = kw.pop("ancestors", None)
    return compat.assess(manifest, _instance(**kw), ancestors=ancestors)


def test_same_everything_is_compatible(manifest) -> None:  # type: ignore[no-untyped-def]
    assert _assess(manifest) == (COMPATIBLE, [], [])


@pytest.mark.parametrize("version", ["2.0.0", "0.9.0", "banana"])
def test_format_major_differs_is_incompatible(manifest, version: str) -> None:  # type: ignore[no-untyped-def]
    manifest.format_version = version
    status, problems, _ = _assess(manifest)
    assert status == INCOMPATIBLE and "format version" in problems[0]


@pytest.mark.parametrize("version", ["1.1.0", "1.7.3"])
def test_format_minor_differs_is_a_warning(manifest, version: str) -> None:  # type: ignore[no-untyped-def]
    manifest.format_version = version
    status, problems, warnings = _assess(manifest)
    assert (status, problems) == (WARNINGS, []) and "minor version" in warnings[0]


def test_patch_difference_is_compatible(manifest) -> None:  # type: ignore[no-untyped-def]
    manifest.format_version = "1.0.9"
    assert _assess(manifest)[0] == COMPATIBLE


def test_newer_schema_is_incompatible(manifest) -> None:  # type: ignore[no-untyped-def]
    manifest.schema_revision = "9f9f9f9f"  # unknown to this nodedesk: written by a newer one
    status, problems, _ = _assess(manifest)
    assert status == INCOMPATIBLE and "newer than this instance's" in problems[0]
    # Known to us but a descendant of this database's revision: newer too.
    status, problems, _ = _assess(manifest, ancestors=lambda rev: {HEAD})
    assert status == INCOMPATIBLE


def test_older_schema_is_a_warning(manifest) -> None:  # type: ignore[no-untyped-def]
    manifest.schema_revision = "0000"
    status, problems, warnings = _assess(manifest, ancestors=lambda rev: {"0000", HEAD})
    assert (status, problems) == (WARNINGS, []) and "older than this instance's" in warnings[0]


def test_real_revision_relation() -> None:
    assert compat.revision_relation(HEAD, HEAD) == "same"
    assert compat.revision_relation("ffffffff", HEAD) == "newer"


def test_outdated_database_schema_is_incompatible(manifest) -> None:  # type: ignore[no-untyped-def]
    status, problems, _ = _assess(manifest, schema_current=False)
    assert status == INCOMPATIBLE and "db upgrade" in problems[0]


def test_unknown_kind_and_timezone_are_warnings(manifest) -> None:  # type: ignore[no-untyped-def]
    manifest.kinds.append("gadgets")
    status, _, warnings = _assess(manifest, empty=False, site_timezone="Europe/Berlin")
    assert status == WARNINGS
    assert any("'gadgets' is unknown" in w for w in warnings)
    assert any("site timezone America/New_York differs" in w for w in warnings)


# ---------------------------------------------------------------- through the real functions


def _set_manifest(export_dir: Path, **changes: str) -> None:
    path = export_dir / "manifest.json"
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc, indent=2))


def test_import_refuses_incompatible_major(target: Runtime, export_dir: Path) -> None:
    _set_manifest(export_dir, format_version="2.0.0")
    report = check_import(target, export_dir)
    assert report.status == INCOMPATIBLE and "cannot import" in report.recommendation
    with pytest.raises(ValidationError, match=r"incompatible export: format version 2\.0\.0"):
        import_backup(target, export_dir, force=True)


def test_import_refuses_newer_schema_even_with_force(target: Runtime, export_dir: Path) -> None:
    _set_manifest(export_dir, schema_revision="abcdef012345")
    with pytest.raises(ValidationError, match="newer than this instance"):
        import_backup(target, export_dir, force=True)


def test_warnings_need_force(target: Runtime, export_dir: Path) -> None:
    _set_manifest(export_dir, format_version="1.3.0")
    report = check_import(target, export_dir)
    assert report.status == WARNINGS and "--force" in report.recommendation
    with pytest.raises(ValidationError, match=r"minor version.*--force"):
        import_backup(target, export_dir)
    result = import_backup(target, export_dir, force=True)
    assert result.changed > 0 and result.warnings


def test_older_schema_needs_force(target: Runtime, export_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "revision_relation", lambda *a, **k: "older")
    _set_manifest(export_dir, schema_revision="0000")
    assert check_import(target, export_dir).status == WARNINGS
    with pytest.raises(ValidationError, match="older than this instance"):
        import_backup(target, export_dir)
    assert import_backup(target, export_dir, force=True).restore


def test_database_schema_not_current(target: Runtime, export_dir: Path) -> None:
    with target.database.engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = 'zz99'"))
    try:
        report = check_import(target, export_dir)
        assert report.status == INCOMPATIBLE and any("not current" in p for p in report.problems)
        with pytest.raises(ValidationError, match="not current"):
            import_backup(target, export_dir, force=True)
    finally:  # the PostgreSQL target schema is shared by the tests of this worker
        with target.database.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_report_shape(target: Runtime, export_dir: Path) -> None:
    report = check_import(target, export_dir).to_json()
    assert report["status"] == COMPATIBLE and report["instance"]["empty"]
    assert report["export"]["source"]["name"] == "rich"
    assert report["integrity"]["ok"] and report["integrity"]["checked_files"] == len(report["kinds"])
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert kinds["nodes"]["in_export"] > 0 and kinds["nodes"]["here_now"] == 0
