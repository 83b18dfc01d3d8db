"""``nodedesk export``: the whole database (or chosen kinds) to a directory of JSON files.

Everything is read in one snapshot (see :mod:`.snapshot`), streamed kind by kind in batches, and
written to a temporary directory that is renamed into place only when complete, so a failed or
interrupted export never leaves a half-written export behind under the final name.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ValidationError
from ..runtime import Runtime
from . import auditlog
from .codec import iso_utc
from .jsonstream import HashingWriter, KindFileWriter
from .kinds import registry
from .manifest import (
    FORMAT,
    FORMAT_VERSION,
    FileEntry,
    Manifest,
    root_sha256,
    software_versions,
    write_manifest,
)
from .rows import KindRows
from .snapshot import read_snapshot

Progress = Callable[[str, int, int], None]  # (kind, records done, records in kind)
BATCH = 1000


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    manifest: Manifest
    dry_run: bool
    seconds: float

    @property
    def records(self) -> int:
        return sum(self.manifest.counts.values())


def _check_destination(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ValidationError(f"{path} already exists and is not an empty directory", field="directory")
    if not path.parent.exists():
        raise ValidationError(f"{path.parent} does not exist", field="directory")


def export_backup(
    runtime: Runtime,
    directory: str | Path,
    *,
    models: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    source_name: str | None = None,
    timestamp: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> ExportResult:
    """Export to ``directory`` (or a timestamped directory inside it). Needs the admin role."""
    started = time.perf_counter()
    reg = registry()
    names = reg.select(models, exclude)
    if not names:
        raise ValidationError("nothing to export: every kind is excluded", field="models")
    base = Path(directory).expanduser()
    with read_snapshot(runtime) as snap:
        now = snap.ctx.now()
        created_at = iso_utc(now)
        target = base / f"nodedesk-export-{now:%Y%m%dT%H%M%SZ}" if timestamp else base
        if timestamp and not base.exists() and not dry_run:
            base.mkdir(parents=True)
        _check_destination(target)
        work = (
            None if dry_run else Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        )
        try:
            entries: list[FileEntry] = []
            for name in names:
                spec = reg[name]
                rows = KindRows(spec, snap.conn)
                total = rows.count()
                fh = None if work is None else (work / spec.file_name).open("wb")
                try:
                    sink = HashingWriter(fh)
                    writer = KindFileWriter(sink, name, total)
                    for part in rows.stream(batch):
                        for _rid, key, fields in part:
                            writer.record(rows.encode_key(key), fields)
                        if progress:
                            progress(name, writer.written, total)
                    writer.close()
                finally:
                    if fh is not None:
                        fh.close()
                if progress and total == 0:
                    progress(name, 0, 0)
                entries.append(FileEntry(spec.file_name, name, total, sink.size, sink.sha256))
            manifest = Manifest(
                format=FORMAT,
                format_version=FORMAT_VERSION,
                created_at=created_at,
                source={
                    "name": source_name or socket.gethostname(),
                    "database": snap.conn.dialect.name,
                    "site_timezone": snap.ctx.tz,
                    "exported_by": snap.ctx.actor.audit_name,
                },
                schema_revision=snap.revision,
                software=software_versions(),
                kinds=list(names),
                counts={e.kind: e.count for e in entries},
                files=entries,
                root_sha256=root_sha256(entries),
                audit=(
                    auditlog.export_section(runtime.seal, snap.conn, work)
                    if auditlog.LOG_KIND in names
                    else None
                ),
            )
            if work is not None:
                write_manifest(work, manifest)
                if target.exists():
                    target.rmdir()  # empty (checked); rename needs the name free on every OS
                os.replace(work, target)
                work = None
        finally:
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
    return ExportResult(target, manifest, dry_run, time.perf_counter() - started)
