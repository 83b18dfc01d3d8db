"""Can this export be imported here? The rules, and the readable report ``check-import`` prints.

Rules (help/backup.md):
- format name other than ``nodedesk-export``, or format major version differs → INCOMPATIBLE;
- format minor version differs → warning;
- export schema newer than this instance (unknown revision, or a descendant of ours) → INCOMPATIBLE;
- export schema older than this instance → warning;
- this database's schema is not current (needs ``nodedesk db upgrade``) → INCOMPATIBLE;
- a kind this nodedesk does not know → warning (it is ignored);
- merging into a database whose site timezone differs from the export's → warning;
- checksum problems and a diverged activity log → INCOMPATIBLE (the import would refuse).
Warnings need ``--force`` on import; INCOMPATIBLE is never imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from .. import site as site_settings
from ..db import migrate
from ..errors import NotInitializedError, ValidationError
from ..models import ActivityEntry
from ..runtime import Runtime
from .jsonstream import JsonShapeError, KindFileReader, NotPlainFile, check_plain_files
from .kinds import registry
from .manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    IntegrityReport,
    Manifest,
    parse_semver,
    read_manifest,
    software_versions,
    verify_files,
)
from .rows import KindRows

COMPATIBLE = "COMPATIBLE"
WARNINGS = "COMPATIBLE_WITH_WARNINGS"
INCOMPATIBLE = "INCOMPATIBLE"


def _ancestors(revision: str) -> set[str]:
    if not migrate.is_known_revision(revision):
        return set()
    from alembic.script import ScriptDirectory  # only here: alembic is slow to import

    script = ScriptDirectory.from_config(migrate.alembic_config())
    return {rev.revision for rev in script.iterate_revisions(revision, "base")}


def revision_relation(
    export_rev: str, instance_rev: str, ancestors: Callable[[str], set[str]] | None = None
) -> str:
    """``same``, ``older`` (an ancestor of ours) or ``newer`` (unknown to us, or not an ancestor)."""
    if export_rev == instance_rev:
        return "same"
    if not migrate.is_known_revision(export_rev) and ancestors is None:
        return "newer"
    return "older" if export_rev in (ancestors or _ancestors)(instance_rev) else "newer"


@dataclass
class InstanceInfo:
    """This nodedesk and its database, as far as the import is concerned."""

    database: str
    schema_revision: str  # the database's revision, or head when it has no schema yet
    schema_current: bool
    nodedesk: str
    format_version: str
    empty: bool
    site_timezone: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    log_divergence: str | None = None  # first activity-log entry that differs, if any

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "schema_revision": self.schema_revision,
            "schema_current": self.schema_current,
            "nodedesk": self.nodedesk,
            "format_version": self.format_version,
            "empty": self.empty,
            "site_timezone": self.site_timezone,
            "counts": self.counts,
        }


@dataclass
class CompatReport:
    directory: Path
    manifest: Manifest
    instance: InstanceInfo
    integrity: IntegrityReport
    status: str
    problems: list[str]
    warnings: list[str]
    kinds: list[str]  # kinds that would be imported, in order
    recommendation: str

    def to_json(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "status": self.status,
            "problems": self.problems,
            "warnings": self.warnings,
            "recommendation": self.recommendation,
            "export": {
                "directory": str(self.directory),
                "format": m.format,
                "format_version": m.format_version,
                "created_at": m.created_at,
                "source": m.source,
                "schema_revision": m.schema_revision,
                "software": m.software,
                "counts": m.counts,
                "root_sha256": m.root_sha256,
            },
            "integrity": self.integrity.to_json(),
            "instance": self.instance.to_json(),
            "kinds": [
                {"kind": k, "in_export": m.counts.get(k, 0), "here_now": self.instance.counts.get(k, 0)}
                for k in self.kinds
            ],
        }


def assess(
    manifest: Manifest,
    instance: InstanceInfo,
    *,
    kinds: Sequence[str] | None = None,
    ancestors: Callable[[str], set[str]] | None = None,
) -> tuple[str, list[str], list[str]]:
    """Apply the rules: (status, problems, warnings)."""
    problems: list[str] = []
    warnings: list[str] = []
    if manifest.format != FORMAT:
        problems.append(f"format {manifest.format!r} is not {FORMAT!r}")
    theirs, ours = parse_semver(manifest.format_version), parse_semver(FORMAT_VERSION)
    assert ours is not None
    if theirs is None:
        problems.append(f"format version {manifest.format_version!r} is not a version number")
    elif theirs[0] != ours[0]:
        problems.append(
            f"format version {manifest.format_version} has a different major version than this "
            f"nodedesk reads ({FORMAT_VERSION})"
        )
    elif theirs[1] != ours[1]:
        warnings.append(
            f"format version {manifest.format_version} differs in minor version from this nodedesk's "
            f"({FORMAT_VERSION}); "
            + ("fields added since may be ignored" if theirs[1] > ours[1] else "it predates some fields")
        )
    if not instance.schema_current:
        problems.append(
            f"this database's schema ({instance.schema_revision}) is not current; "
            "run 'nodedesk db upgrade' first"
        )
    relation = (
        revision_relation(manifest.schema_revision, instance.schema_revision, ancestors)
        if instance.schema_current
        else "unknown"
    )
    if relation == "newer":
        problems.append(
            f"the export's schema {manifest.schema_revision} is newer than this instance's "
            f"({instance.schema_revision}); upgrade nodedesk here first"
        )
    elif relation == "older":
        warnings.append(
            f"the export's schema {manifest.schema_revision} is older than this instance's "
            f"({instance.schema_revision}); columns added since get their defaults"
        )
    known = registry()
    for kind in manifest.kinds:
        if kind not in known:
            warnings.append(f"kind {kind!r} is unknown to this nodedesk and will be ignored")
    chosen = kinds if kinds is not None else manifest.kinds
    tz = manifest.source.get("site_timezone")
    if (
        "settings" in chosen
        and not instance.empty
        and tz
        and instance.site_timezone
        and tz != instance.site_timezone
    ):
        warnings.append(
            f"the export's site timezone {tz} differs from this instance's {instance.site_timezone}; "
            "importing settings changes it"
        )
    if instance.log_divergence and "activity_log" in chosen:
        problems.append(instance.log_divergence)
    status = INCOMPATIBLE if problems else (WARNINGS if warnings else COMPATIBLE)
    return status, problems, warnings


def recommendation(status: str, instance: InstanceInfo, integrity_ok: bool) -> str:
    if status == INCOMPATIBLE:
        if not integrity_ok:
            return "do not import: the export is damaged or was changed; take a fresh export"
        if instance.log_divergence:
            return (
                "restore into an empty database (see 'nodedesk help backup'), or merge the other data "
                "with 'nodedesk import DIR --exclude activity_log'"
            )
        return "cannot import here; see the problems above"
    target = "an empty database: a full restore" if instance.empty else "merge into the existing data"
    if status == WARNINGS:
        return f"{target}; review the warnings, try --dry-run, then import with --force"
    return f"{target}; try 'nodedesk import DIR --dry-run', then import"


def _log_divergence(conn: Connection, path: Path, batch: int = 2000) -> str | None:
    """Compare this database's activity log with the export's, entry by entry (streamed)."""
    last_seq = 0
    try:
        with KindFileReader(path) as reader:
            records = reader.records()
            while True:
                ours = conn.execute(
                    select(ActivityEntry.seq, ActivityEntry.hash)
                    .where(ActivityEntry.seq > last_seq)
                    .order_by(ActivityEntry.seq)
                    .limit(batch)
                ).all()
                if not ours:
                    return None
                for seq, digest in ours:
                    rec = next(records, None)
                    if rec is None:
                        return None  # our log is longer: the export's is a prefix of ours
                    theirs_seq = (rec.get("natural_key") or [None])[0] if isinstance(rec, dict) else None
                    theirs_hash = (rec.get("fields") or {}).get("hash") if isinstance(rec, dict) else None
                    if theirs_seq != seq or theirs_hash != digest:
                        return (
                            f"activity log: entry #{seq} here differs from the export's; the two logs have "
                            "diverged, so the export's log cannot be added to this one"
                        )
                    last_seq = seq
    except (JsonShapeError, OSError) as exc:
        return f"activity_log.json: cannot be read ({exc})"


def instance_info(runtime: Runtime, export_log: Path | None = None) -> InstanceInfo:
    """Describe this database without changing it (works on a blank database too)."""
    engine = runtime.database.engine
    head = migrate.head_revision()
    current = migrate.current_revision(engine)
    info = InstanceInfo(
        database=engine.dialect.name,
        schema_revision=current or head,
        schema_current=current is None or current == head,
        nodedesk=software_versions()["nodedesk"],
        format_version=FORMAT_VERSION,
        empty=True,
    )
    if current is None:
        if migrate.has_tables(engine):
            info.schema_current = False
            info.schema_revision = "(tables that are not nodedesk's)"
        return info
    if not info.schema_current:
        info.empty = False
        return info
    with runtime.database.read() as session:
        conn = session.connection()
        for spec in registry():
            n = KindRows(spec, conn).count()
            if n:
                info.counts[spec.name] = n
        info.empty = not info.counts
        if not info.empty:
            try:
                info.site_timezone = site_settings.load(session).site_timezone
            except NotInitializedError:
                info.site_timezone = None
            else:
                with runtime.read() as ctx:  # reading another site's backup needs the admin role
                    ctx.require("backup")
            if export_log is not None and export_log.is_file() and info.counts.get("activity_log"):
                info.log_divergence = _log_divergence(conn, export_log)
    return info


def _check_plain(path: Path) -> None:
    """A link or special file inside the export is refused before anything is read."""
    if not os.path.lexists(path / MANIFEST):
        return  # not an export at all: read_manifest says so
    try:
        check_plain_files(path)
    except NotPlainFile as exc:
        raise ValidationError(str(exc), field="export") from None
    except (FileNotFoundError, NotADirectoryError):
        return  # read_manifest names what is missing


def check_import(
    runtime: Runtime,
    directory: str | Path,
    *,
    models: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    verify_checksums: bool = True,
    ancestors: Callable[[str], set[str]] | None = None,
) -> CompatReport:
    """The full pre-import report: integrity, compatibility and what is here already."""
    path = Path(directory).expanduser()
    _check_plain(path)
    manifest = read_manifest(path)
    integrity = verify_files(path, manifest, checksums=verify_checksums)
    kinds = selected_kinds(manifest, models, exclude)
    log = path / "activity_log.json" if "activity_log" in kinds and integrity.ok else None
    instance = instance_info(runtime, log)
    status, problems, warnings = assess(manifest, instance, kinds=kinds, ancestors=ancestors)
    problems = integrity.problems + problems
    warnings = integrity.warnings + warnings
    if problems:
        status = INCOMPATIBLE
    return CompatReport(
        directory=path,
        manifest=manifest,
        instance=instance,
        integrity=integrity,
        status=status,
        problems=problems,
        warnings=warnings,
        kinds=kinds,
        recommendation=recommendation(status, instance, integrity.ok),
    )


def selected_kinds(
    manifest: Manifest, models: Sequence[str] | None = None, exclude: Sequence[str] | None = None
) -> list[str]:
    """Kinds to import, in import order: known kinds in the export, filtered by the options."""
    from ..errors import ValidationError

    reg = registry()
    chosen = reg.select(models, exclude)
    present = set(manifest.kinds)
    missing = [m for m in models or () if m not in present]
    if missing:
        raise ValidationError(f"kind {missing[0]!r} is not in this export", field="models")
    return [k for k in chosen if k in present]
