"""Reading an ORCD Direct Charge export (``coldfront export_portal_data``), verified first.

The plugin's backup format (help/migrate.md, "What the export must be"):

- ``manifest.json`` at the top: ``export_format`` "orcd-portal-export", ``export_version``
  (semantic), the components with their model counts, and a SHA-256 over every ``*.json`` file
  below it except the manifests, read in path order.
- one directory per component (``coldfront_core/``, ``orcd_plugin/``, ``config/``), each with
  its own ``manifest.json`` (the same kind of checksum over its own files) and one file per model:
  ``{"model": NAME, "count": N, "records": [{"natural_key": [...], "fields": {...}}]}``;
  the config component holds ``{"category": NAME, "settings": {KEY: {"value": ...}}}`` files.

Everything is checked before anything is used: the format and its version, that every file the
manifests name is there and is a regular file (never a symbolic link), both levels of
checksums, and each file's shape and count. Any problem is one line naming the file (and the
record and field) and the rule; nothing is read past it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..backup.jsonstream import NotPlainFile, check_plain_files, open_plain
from ..errors import ValidationError

FORMAT = "orcd-portal-export"
READS_MAJOR, READS_MINOR = 2, 0  # export_version 2.0.x, the plugin's format since its v2 layout
MANIFEST = "manifest.json"
DATA_COMPONENTS = ("coldfront_core", "orcd_plugin")
CONFIG_COMPONENT = "config"
KNOWN_PLUGIN_SCHEMA = "0031"  # the plugin migration whose field meanings this reader follows


class ExportError(ValidationError):
    """The directory is not a sound ORCD export. ``str()`` names the file and the rule."""

    def __init__(self, message: str, *, where: str = "export") -> None:
        super().__init__(f"{message}; nothing was migrated", field=where)


# ------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class OrcdRecord:
    """One record of a model file, with typed readers that refuse a malformed field."""

    model: str
    index: int
    key: tuple[Any, ...]
    fields: Mapping[str, Any]

    @property
    def label(self) -> str:
        """The natural key as written in the export: ``[2]``, ``["orcd_u0_p1", "orcd_u1"]``."""
        return json.dumps(list(self.key), ensure_ascii=False)

    def bad(self, name: str, rule: str) -> ExportError:
        return ExportError(
            f"record {self.label} (#{self.index + 1}): field {name!r} {rule}", where=self.model
        )

    def _raw(self, name: str) -> Any:
        if name not in self.fields:
            raise self.bad(name, "is missing")
        return self.fields[name]

    def has(self, name: str) -> bool:
        return name in self.fields

    def text(self, name: str) -> str:
        """A string field; null reads as ""."""
        value = self._raw(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.bad(name, "must be text")
        return value

    def prose(self, name: str, cleaned: list[str]) -> str:
        """Free text as nodedesk stores it: line ends as "\n" (browsers send "\r\n"), no other
        control character (each removal is noted in ``cleaned`` for the report)."""
        value = self.text(name).replace("\r\n", "\n").replace("\r", "\n")
        kept = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
        if len(kept) != len(value):
            gone = len(value) - len(kept)
            cleaned.append(f"{self.model} {self.label}: {gone} control character(s) removed from {name!r}")
        return kept

    def opt_text(self, name: str) -> str | None:
        if name not in self.fields or self.fields[name] is None:
            return None
        return self.text(name)

    def flag(self, name: str) -> bool:
        value = self._raw(name)
        if not isinstance(value, bool):
            raise self.bad(name, "must be true or false")
        return value

    def integer(self, name: str) -> int:
        value = self._raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.bad(name, "must be a whole number")
        return value

    def day(self, name: str) -> date:
        value = self._raw(name)
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise self.bad(name, "must be a date YYYY-MM-DD") from None

    def instant(self, name: str) -> datetime:
        value = self._raw(name)
        if value is None:
            raise self.bad(name, "is required (null given)")
        return self._instant(name, value)

    def opt_instant(self, name: str) -> datetime | None:
        if name not in self.fields or self.fields[name] is None:
            return None
        return self._instant(name, self.fields[name])

    def _instant(self, name: str, value: Any) -> datetime:
        try:
            if not isinstance(value, str):
                raise ValueError
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.bad(name, "must be an ISO 8601 instant") from None
        if parsed.tzinfo is None:
            raise self.bad(name, "must carry its UTC offset (the plugin writes aware instants)")
        return parsed.astimezone(UTC)

    def decimal(self, name: str) -> Decimal:
        value = self._raw(name)
        try:
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise InvalidOperation
            parsed = Decimal(str(value))
        except InvalidOperation:
            raise self.bad(name, "must be a decimal number written as text") from None
        if not parsed.is_finite():
            raise self.bad(name, "must be a finite number")
        return parsed

    def key_text(self, name: str) -> str:
        """A reference written as a natural key of one text value: ``["node2433"]``."""
        value = self._raw(name)
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            return value[0]
        raise self.bad(name, "must be a natural key of one text value")

    def string_list(self, name: str) -> list[str]:
        value = self._raw(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.bad(name, "must be a list of text values")
        return list(value)

    def json_object(self, name: str) -> dict[str, Any]:
        value = self._raw(name)
        if not isinstance(value, dict):
            raise self.bad(name, "must be a JSON object")
        return value


# ------------------------------------------------------------------------------------------
# The export


@dataclass
class OrcdExport:
    directory: Path
    export_version: str
    created_at: str
    sha256: str  # the root manifest's checksum (verified)
    source_name: str
    software: dict[str, str]
    plugin_schema: str
    counts: dict[str, dict[str, int]]  # component -> model -> records
    models: dict[str, list[OrcdRecord]] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # category -> key -> value
    cleaned: list[str] = field(default_factory=list)  # free text that had control characters

    def records(self, model: str) -> list[OrcdRecord]:
        return self.models.get(model, [])

    def setting(self, category: str, key: str) -> Any:
        return self.settings.get(category, {}).get(key)

    @property
    def label(self) -> str:
        """How the activity log and the report name this export."""
        return f"ORCD export {self.created_at} (sha256 {self.sha256[:12]})"

    def component_of(self, model: str) -> str:
        for component, models in self.counts.items():
            if model in models:
                return component
        return ""


def _load_json(path: Path, where: str) -> Any:
    try:
        with open_plain(path) as fh:
            data = fh.read()
    except NotPlainFile as exc:
        raise ExportError(str(exc), where=where) from None
    except FileNotFoundError:
        raise ExportError("is missing (the manifest lists it)", where=where) from None
    except OSError as exc:
        raise ExportError(f"cannot be read ({exc.strerror})", where=where) from None
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ExportError("is not UTF-8 text", where=where) from None
    except json.JSONDecodeError as exc:
        raise ExportError(f"is not valid JSON ({exc.msg} at line {exc.lineno})", where=where) from None


def _object(value: Any, where: str, what: str = "a JSON object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExportError(f"must be {what}", where=where)
    return value


def _text(doc: dict[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise ExportError(f"has no {key!r}", where=where)
    return value


def _counts(doc: dict[str, Any], key: str, where: str) -> dict[str, int]:
    raw = _object(doc.get(key), f"{where} {key}")
    out: dict[str, int] = {}
    for name, count in raw.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ExportError(f"{key} of {name!r} must be a whole number", where=where)
        if not name or "/" in name or name.startswith(".") or name == "manifest":
            raise ExportError(f"{key} names {name!r}, which is not a model file name", where=where)
        out[name] = count
    return out


def check_version(version: str, where: str = MANIFEST) -> None:
    parts = version.split(".")
    known = len(parts) == 3 and all(p.isascii() and p.isdigit() for p in parts)
    if not known or (int(parts[0]), int(parts[1])) != (READS_MAJOR, READS_MINOR):
        raise ExportError(
            f"export_version {version!r} is not a format this nodedesk reads "
            f"({FORMAT} {READS_MAJOR}.{READS_MINOR}.x)",
            where=where,
        )


def _json_files(directory: Path) -> Iterator[Path]:
    """The files a checksum covers, in the plugin's order (``sorted(rglob('*.json'))``)."""
    found = [p for p in directory.rglob("*.json") if p.name != MANIFEST]
    yield from sorted(found, key=lambda p: p.relative_to(directory).parts)


def checksum(directory: Path) -> str:
    """SHA-256 over the bytes of every ``*.json`` file below ``directory`` except manifests."""
    sha = hashlib.sha256()
    for path in _json_files(directory):
        with open_plain(path) as fh:
            while chunk := fh.read(1 << 20):
                sha.update(chunk)
    return sha.hexdigest()


def _expected_checksum(doc: dict[str, Any], where: str) -> str:
    raw = _object(doc.get("checksum"), f"{where} checksum")
    if raw.get("algorithm") != "sha256":
        raise ExportError(f"checksum algorithm {raw.get('algorithm')!r} is not sha256", where=where)
    value = raw.get("value")
    if not isinstance(value, str) or len(value) != 64:
        raise ExportError("checksum value must be 64 hexadecimal characters", where=where)
    return value.lower()


def _check_tree(root: Path, components: list[str]) -> None:
    """Only regular files and the component directories; no link anywhere (they could make the
    migration read something outside the export)."""
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode) and entry.name in components:
                continue
            if not stat.S_ISREG(mode):
                raise ExportError(str(NotPlainFile(entry.name, mode)), where="export")
    for name in components:
        try:
            check_plain_files(root / name)
        except NotPlainFile as exc:
            raise ExportError(f"{name}/{exc}", where="export") from None


def _records(doc: Any, model: str, count: int, where: str) -> list[OrcdRecord]:
    body = _object(doc, where)
    if body.get("model") != model:
        raise ExportError(f"holds model {body.get('model')!r}, not {model!r}", where=where)
    records = body.get("records")
    if not isinstance(records, list):
        raise ExportError("has no 'records' list", where=where)
    if body.get("count") != len(records) or count != len(records):
        raise ExportError(
            f"holds {len(records)} records but says {body.get('count')!r} (manifest: {count})", where=where
        )
    out = []
    for i, raw in enumerate(records):
        if not isinstance(raw, dict) or not isinstance(raw.get("natural_key"), list):
            raise ExportError(f"record #{i + 1} must be an object with a 'natural_key' list", where=where)
        fields = raw.get("fields")
        if not isinstance(fields, dict):
            raise ExportError(f"record #{i + 1} must have a 'fields' object", where=where)
        out.append(OrcdRecord(model, i, tuple(raw["natural_key"]), fields))
    return out


def _settings(doc: Any, category: str, count: int, where: str) -> dict[str, Any]:
    body = _object(doc, where)
    if body.get("category") != category:
        raise ExportError(f"holds category {body.get('category')!r}, not {category!r}", where=where)
    raw = _object(body.get("settings"), where, "an object with a 'settings' object")
    if len(raw) != count:
        raise ExportError(f"holds {len(raw)} settings but the manifest says {count}", where=where)
    out: dict[str, Any] = {}
    for key, entry in raw.items():
        out[key] = entry.get("value") if isinstance(entry, dict) else entry
    return out


def read_export(directory: str | Path) -> OrcdExport:
    """Verify and load an export directory (see the module docstring). Reads nothing else."""
    root = Path(directory).expanduser()
    if root.is_symlink() or not root.is_dir():
        raise ExportError(f"{str(root)!r} is not a directory (give the export's top directory)")
    if not (root / MANIFEST).exists():
        raise ExportError(f"{str(root)!r} has no {MANIFEST}: not an ORCD portal export")
    top = _object(_load_json(root / MANIFEST, MANIFEST), MANIFEST)
    if top.get("export_format") != FORMAT:
        raise ExportError(
            f"export_format is {top.get('export_format')!r}, not {FORMAT!r}: not an ORCD portal export",
            where=MANIFEST,
        )
    version = _text(top, "export_version", MANIFEST)
    check_version(version)
    created_at = _text(top, "created_at", MANIFEST)
    components = _object(top.get("components"), f"{MANIFEST} components")
    missing = [c for c in DATA_COMPONENTS if c not in components]
    if missing:
        raise ExportError(f"lists no {missing[0]!r} component", where=MANIFEST)
    for name in components:
        if name not in (*DATA_COMPONENTS, CONFIG_COMPONENT):
            raise ExportError(f"lists an unknown component {name!r}", where=MANIFEST)
        if not (root / name).is_dir() or (root / name).is_symlink():
            raise ExportError(f"the {name}/ directory is missing (the manifest lists it)", where="export")
    _check_tree(root, list(components))

    counts: dict[str, dict[str, int]] = {}
    sub_docs: dict[str, dict[str, Any]] = {}
    for name, info in components.items():
        where = f"{name}/{MANIFEST}"
        sub = _object(_load_json(root / name / MANIFEST, where), where)
        if sub.get("export_format") != FORMAT or sub.get("export_version") != version:
            raise ExportError("is not part of this export (format or version differs)", where=where)
        key = "categories" if name == CONFIG_COMPONENT else "data_counts"
        counts[name] = _counts(sub, key, where)
        listed = _counts(_object(info, f"{MANIFEST} components.{name}"), "data_counts", MANIFEST)
        if listed != counts[name]:
            raise ExportError(f"counts of {name} differ from {where}", where=MANIFEST)
        sub_docs[name] = sub
        for model in counts[name]:
            if not (root / name / f"{model}.json").exists():
                raise ExportError("is missing (the manifest lists it)", where=f"{name}/{model}.json")

    for name, sub in sub_docs.items():
        if checksum(root / name) != _expected_checksum(sub, f"{name}/{MANIFEST}"):
            raise ExportError(
                f"the files of {name}/ do not match the checksum in its manifest (changed or damaged)",
                where="checksum",
            )
    expected = _expected_checksum(top, MANIFEST)
    if checksum(root) != expected:
        raise ExportError(
            "the export's files do not match the checksum in manifest.json (changed or damaged)",
            where="checksum",
        )

    source = top.get("source_portal") if isinstance(top.get("source_portal"), dict) else {}
    software = top.get("software_versions") if isinstance(top.get("software_versions"), dict) else {}
    plugin_versions = sub_docs["orcd_plugin"].get("schema_versions")
    plugin_schema = ""
    if isinstance(plugin_versions, dict):
        plugin_schema = str(plugin_versions.get("coldfront_orcd_direct_charge", ""))
    export = OrcdExport(
        directory=root,
        export_version=version,
        created_at=created_at,
        sha256=expected,
        source_name=str(source.get("name") or "ORCD portal"),
        software={str(k): str(v) for k, v in software.items()},
        plugin_schema=plugin_schema,
        counts=counts,
    )
    for name in DATA_COMPONENTS:
        for model, count in counts[name].items():
            where = f"{name}/{model}.json"
            export.models[model] = _records(
                _load_json(root / name / f"{model}.json", where), model, count, where
            )
    for category, count in counts.get(CONFIG_COMPONENT, {}).items():
        where = f"{CONFIG_COMPONENT}/{category}.json"
        doc = _load_json(root / CONFIG_COMPONENT / f"{category}.json", where)
        export.settings[category] = _settings(doc, category, count, where)
    return export
