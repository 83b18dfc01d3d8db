"""A damaged or foreign export is refused with one line, before the database is touched: nothing
is written, not even the schema of a blank database. Both back ends."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import ValidationError
from nodedesk.core.orcd.export import read_export
from nodedesk.core.orcd.migrator import migrate_orcd
from nodedesk.core.orcd.source import read_source
from nodedesk.core.runtime import Runtime

from tests.backup.conftest import make_runtime
from tests.orcd.conftest import REFERENCE_EXPORT, has_tables, is_empty
from tests.orcd.exportgen import reseal


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "export"
    shutil.copytree(REFERENCE_EXPORT, dest)
    for path in dest.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    return dest


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    doc = json.loads(path.read_text("utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2), "utf-8")


def _one_blocks_more(d: Path) -> None:
    path = d / "orcd_plugin" / "reservations.json"
    path.write_text(path.read_text("utf-8").replace('"num_blocks": 2', '"num_blocks": 3', 1), "utf-8")


def _drop_file(d: Path) -> None:
    (d / "orcd_plugin" / "maintenance_windows.json").unlink()


def _future_version(d: Path) -> None:
    _edit_json(d / "manifest.json", lambda doc: doc.update(export_version="3.0.0"))


def _link_inside(d: Path) -> None:
    target = d / "orcd_plugin" / "maintenance_windows.json"
    target.unlink()
    os.symlink("/etc/hostname", target)


def _not_orcd(d: Path) -> None:
    _edit_json(d / "manifest.json", lambda doc: doc.update(export_format="nodedesk-export"))


def _bad_field(d: Path) -> None:
    """A record of the wrong shape, in an export whose checksums are right again."""

    def change(doc: dict) -> None:
        doc["records"][0]["fields"]["start_date"] = "14 Dec 2026"

    _edit_json(d / "orcd_plugin" / "reservations.json", change)
    reseal(d)


def _wrong_count(d: Path) -> None:
    def change(doc: dict) -> None:
        doc["records"].pop()

    _edit_json(d / "orcd_plugin" / "reservations.json", change)
    reseal(d)


DAMAGES = {
    "bad checksum": (_one_blocks_more, "checksum: the files of orcd_plugin/ do not match the checksum"),
    "missing file": (_drop_file, "orcd_plugin/maintenance_windows.json: is missing (the manifest lists it)"),
    "unknown version": (_future_version, "export_version '3.0.0' is not a format this nodedesk reads"),
    "symbolic link": (_link_inside, "is a symbolic link"),
    "not an ORCD export": (_not_orcd, "export_format is 'nodedesk-export', not 'orcd-portal-export'"),
    "malformed field": (_bad_field, "field 'start_date' must be a date YYYY-MM-DD"),
    "count differs": (_wrong_count, "holds 1 records but says 2"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_export_is_refused_before_anything_is_written(
    damage: str, tmp_path: Path, target: Runtime, blank_url: str, clock: FrozenClock
) -> None:
    change, message = DAMAGES[damage]
    export = _copy(tmp_path)
    change(export)
    with pytest.raises(ValidationError) as caught:
        migrate_orcd(target, export)
    line = str(caught.value)
    assert message in line and "\n" not in line and line.endswith("nothing was migrated")
    assert is_empty(target)
    blank = make_runtime(blank_url, clock)
    try:
        with pytest.raises(ValidationError):
            migrate_orcd(blank, export, dry_run=True)
        assert not has_tables(blank)  # the schema is created only for a sound export
    finally:
        blank.close()


def test_each_damage_is_caught_by_the_reader_alone(tmp_path: Path) -> None:
    for i, (change, message) in enumerate(DAMAGES.values()):
        export = _copy(tmp_path / str(i))
        change(export)
        with pytest.raises(ValidationError, match="nothing was migrated") as caught:
            read_source(read_export(export))  # no database at all
        assert message in str(caught.value)


def test_not_a_directory_and_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a directory"):
        read_export(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match=r"has no manifest\.json: not an ORCD portal export"):
        read_export(tmp_path / "empty")


def test_an_export_without_a_time_zone_is_refused(tmp_path: Path, target: Runtime) -> None:
    export = _copy(tmp_path)

    def drop(doc: dict) -> None:
        del doc["settings"]["TIME_ZONE"]

    _edit_json(export / "config" / "django_config.json", drop)
    _edit_json(export / "config" / "manifest.json", lambda doc: doc["categories"].update(django_config=6))
    _edit_json(
        export / "manifest.json",
        lambda doc: doc["components"]["config"]["data_counts"].update(django_config=6),
    )
    reseal(export)
    with pytest.raises(ValidationError, match="TIME_ZONE: the export's config holds no TIME_ZONE"):
        migrate_orcd(target, export)
    assert is_empty(target)
