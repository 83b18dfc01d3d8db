"""``manifest.json``: what an export holds, and the checksums that prove it is intact.

Root checksum (framed, so no two different file lists hash alike): SHA-256 of the UTF-8 text made
of one line per data file, sorted by file name, each ``<name>\\t<size in bytes>\\t<sha256 hex>\\n``.
File names never contain tabs or newlines (they are ``<kind>.json``). Anyone can recompute it::

    for f in sorted(files): line = f"{name}\\t{size}\\t{sha256}\\n"   # then sha256 of all lines

The manifest itself is not covered by a checksum of its own; the root checksum covers the file
list it states, and the counts it states are checked against the files during import.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..auditseal import KEY_FILE
from ..errors import ValidationError
from . import auditlog
from .jsonstream import dumps, file_digest

FORMAT = "nodedesk-export"
FORMAT_VERSION = "1.0.0"
MANIFEST = "manifest.json"
ROOT_METHOD = "sha256 of lines '<name>\\t<size>\\t<sha256>\\n' for every data file, sorted by name"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.json$")


def parse_semver(text: str) -> tuple[int, int, int] | None:
    m = _SEMVER.match(text or "")
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _version_of(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def software_versions() -> dict[str, str]:
    """Versions that wrote the export (read from package metadata: nothing is imported)."""
    return {
        "nodedesk": _version_of("nodedesk"),
        "python": platform.python_version(),
        "sqlalchemy": _version_of("sqlalchemy"),
        "alembic": _version_of("alembic"),
        "textual": _version_of("textual"),
    }


@dataclass(frozen=True)
class FileEntry:
    name: str
    kind: str
    count: int
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "count": self.count,
            "size": self.size,
            "sha256": self.sha256,
        }


def root_sha256(files: list[FileEntry] | list[dict[str, Any]]) -> str:
    rows = [f.to_json() if isinstance(f, FileEntry) else f for f in files]
    text = "".join(
        f"{r['name']}\t{r['size']}\t{r['sha256']}\n" for r in sorted(rows, key=lambda r: r["name"])
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Manifest:
    """A parsed manifest (also built by the exporter)."""

    format: str
    format_version: str
    created_at: str
    source: dict[str, Any]
    schema_revision: str
    software: dict[str, str]
    kinds: list[str]
    counts: dict[str, int]
    files: list[FileEntry]
    root_sha256: str
    extra: dict[str, Any] = field(default_factory=dict)
    # The activity log's head and key fingerprint (core/backup/auditlog.py); None without a log.
    audit: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "created_at": self.created_at,
            "source": self.source,
            "schema_revision": self.schema_revision,
            "software": self.software,
            "kinds": self.kinds,
            "counts": self.counts,
            "files": [f.to_json() for f in self.files],
            "root_sha256": self.root_sha256,
            "root_sha256_method": ROOT_METHOD,
        } | ({"audit": self.audit} if self.audit is not None else {})

    def text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def file_for(self, kind: str) -> FileEntry | None:
        return next((f for f in self.files if f.kind == kind), None)


def _bad(message: str) -> ValidationError:
    return ValidationError(message, field=MANIFEST)


def read_manifest(directory: Path) -> Manifest:
    """Parse and shape-check ``manifest.json`` (not the checksums: see :func:`verify_files`)."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ValidationError(f"{directory} is not a directory", field="directory")
    if not path.is_file():
        raise _bad(f"missing in {directory}: this is not a nodedesk export directory")
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(f"not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise _bad("must be a JSON object")
    if doc.get("format") != FORMAT:
        raise _bad(f"format is {doc.get('format')!r}, not {FORMAT!r}: not a nodedesk export")
    try:
        files = [
            FileEntry(str(f["name"]), str(f["kind"]), int(f["count"]), int(f["size"]), str(f["sha256"]))
            for f in doc["files"]
        ]
        manifest = Manifest(
            format=doc["format"],
            format_version=str(doc["format_version"]),
            created_at=str(doc.get("created_at", "")),
            source=dict(doc.get("source") or {}),
            schema_revision=str(doc["schema_revision"]),
            software={str(k): str(v) for k, v in (doc.get("software") or {}).items()},
            kinds=[str(k) for k in doc.get("kinds", [f.kind for f in files])],
            counts={str(k): int(v) for k, v in (doc.get("counts") or {}).items()},
            files=files,
            root_sha256=str(doc["root_sha256"]),
            audit=auditlog.parse_section(doc.get("audit")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # e.g. a list where a map belongs
        raise _bad(f"is malformed (missing or bad entry {exc})") from exc
    names = [f.name for f in files]
    for f in files:
        if not _NAME.match(f.name) or f.name != f"{f.kind}.json":
            raise _bad(f"bad file entry {f.name!r} for kind {f.kind!r}")
        if manifest.counts.get(f.kind, f.count) != f.count:
            raise _bad(f"counts disagree for {f.kind}: {manifest.counts.get(f.kind)} vs {f.count}")
    if len(set(names)) != len(names):
        raise _bad("lists a file twice")
    missing = sorted(set(manifest.kinds) - {f.kind for f in files})
    if missing:
        raise _bad(f"lists kind {missing[0]!r} without its file entry")
    return manifest


@dataclass(frozen=True)
class IntegrityReport:
    ok: bool
    problems: list[str]
    warnings: list[str]
    checked: int

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": self.problems,
            "warnings": self.warnings,
            "checked_files": self.checked,
        }


def verify_files(directory: Path, manifest: Manifest, *, checksums: bool = True) -> IntegrityReport:
    """Missing or extra files, sizes and per-file and root SHA-256 (each problem names its file).

    Without ``checksums`` only missing files are problems; extra files become warnings.
    """
    problems: list[str] = []
    warnings: list[str] = []
    listed = {f.name for f in manifest.files}
    # the audit key travels beside the data files; auditlog checks it against the manifest
    present = {p.name for p in directory.iterdir() if p.name not in (MANIFEST, KEY_FILE)}
    for name in sorted(present - listed):
        (problems if checksums else warnings).append(f"{name}: not part of this export (extra file)")
    for entry in manifest.files:
        path = directory / entry.name
        if entry.name not in present or not path.is_file():
            problems.append(f"{entry.name}: listed in the manifest but missing")
            continue
        if not checksums:
            continue
        size, sha = file_digest(path)
        if size != entry.size or sha != entry.sha256:
            problems.append(f"{entry.name}: SHA-256 does not match the manifest (file changed or damaged)")
    if checksums and root_sha256(manifest.files) != manifest.root_sha256:
        problems.append(f"{MANIFEST}: root SHA-256 does not match its file list (manifest edited or damaged)")
    return IntegrityReport(not problems, problems, warnings, len(manifest.files))


def write_manifest(directory: Path, manifest: Manifest) -> None:
    (directory / MANIFEST).write_text(manifest.text(), "utf-8")


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "FileEntry",
    "IntegrityReport",
    "Manifest",
    "dumps",
    "parse_semver",
    "read_manifest",
    "root_sha256",
    "software_versions",
    "verify_files",
    "write_manifest",
]
