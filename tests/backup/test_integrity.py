"""Checksums: a changed byte, an edited manifest, a missing or an extra file are refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nodedesk.core.backup import INCOMPATIBLE, check_import, import_backup
from nodedesk.core.errors import ValidationError
from nodedesk.core.runtime import Runtime
from sqlalchemy import text

from tests.backup.dataset import edit_kind


def _assert_refused(target: Runtime, export_dir: Path, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        import_backup(target, export_dir)
    assert "nothing was imported" in str(info.value)
    report = check_import(target, export_dir)
    assert report.status == INCOMPATIBLE
    assert any(match.replace("\\", "") in p for p in report.problems) or not report.integrity.ok
    with target.database.read() as session:  # nothing written (schema only)
        assert session.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_one_changed_byte_names_the_file(target: Runtime, export_dir: Path) -> None:
    path = export_dir / "nodes.json"
    data = bytearray(path.read_bytes())
    data[data.index(b"rentable") + 2] ^= 0x01
    path.write_bytes(bytes(data))
    _assert_refused(target, export_dir, r"nodes\.json: SHA-256 does not match")


def test_edited_manifest_checksum_is_caught_by_the_root(target: Runtime, export_dir: Path) -> None:
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # Change a data file and "fix" its entry, but not the root checksum.
    (export_dir / "skus.json").write_text((export_dir / "skus.json").read_text().replace("hourly", "HOURLY"))
    from nodedesk.core.backup.jsonstream import file_digest

    for entry in manifest["files"]:
        if entry["name"] == "skus.json":
            entry["size"], entry["sha256"] = file_digest(export_dir / "skus.json")
    manifest_path.write_text(json.dumps(manifest, indent=2))
    _assert_refused(target, export_dir, r"manifest\.json: root SHA-256 does not match")


def test_edited_manifest_count_is_refused(target: Runtime, export_dir: Path) -> None:
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["counts"]["nodes"] += 1
    manifest_path.write_text(json.dumps(manifest, indent=2))
    with pytest.raises(ValidationError, match="counts disagree for nodes"):
        import_backup(target, export_dir)


def test_missing_file_is_named(target: Runtime, export_dir: Path) -> None:
    (export_dir / "rates.json").unlink()
    _assert_refused(target, export_dir, r"rates\.json: listed in the manifest but missing")


def test_extra_file_is_named(target: Runtime, export_dir: Path) -> None:
    (export_dir / "notes.txt").write_text("hello")
    _assert_refused(target, export_dir, r"notes\.txt: not part of this export")


def test_missing_manifest(target: Runtime, export_dir: Path) -> None:
    (export_dir / "manifest.json").unlink()
    with pytest.raises(ValidationError, match=r"manifest\.json: missing"):
        import_backup(target, export_dir)


def test_count_in_file_must_match_records(target: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "nodes", lambda records: records[:-1])
    with pytest.raises(ValidationError, match=r"nodes\.json: holds \d+ records but says"):
        import_backup(target, export_dir)
    with target.database.read() as session:
        assert session.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_no_verify_checksum_still_checks_the_content(target: Runtime, export_dir: Path) -> None:
    def bad_value(records: list[dict]) -> None:
        records[0]["fields"]["rentable"] = "yes"

    edit_kind(export_dir, "nodes", bad_value, reseal=False)
    with pytest.raises(ValidationError, match=r"nodes\.json: SHA-256"):
        import_backup(target, export_dir)
    with pytest.raises(
        ValidationError, match=r"nodes record \"\w+\", field 'rentable': must be true or false"
    ):
        import_backup(target, export_dir, verify_checksums=False)
