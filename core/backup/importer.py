"""``nodedesk import``: verify, check compatibility, then apply an export in ONE transaction.

Per record the outcome is one of: **created** (not here, inserted), **updated** (here, differs,
overwritten), **unchanged** (here and identical), **skipped** (the mode forbids writing it: it
exists and differs under ``create-only``, or is missing under ``update-only``). Records are
matched by natural key only; integer ids are never used to match. Import never deletes records;
an updated record's embedded lists (roles, scopes, members, split parts) are replaced by the
export's.

Any problem (bad value, unknown reference, constraint violation, diverged activity log) raises a
:class:`RecordError` naming the kind, the record's natural key and the field, and the transaction
rolls back: nothing is written. ``dry_run`` does all the work (including flushing every row
through the database's constraints) and then rolls back.

Only regular files inside the export are read (jsonstream.check_plain_files). Every record obeys
the console's field rules (rules.py); no two active reservations may overlap on a node
(clashes.py); and a merge changes locked history only as an admin correction, each corrected
record audited with before and after (locks.py). See help/backup.md.

The activity log is append-only and hash-chained. The export's log is added after this
database's own entries only when this database's log is a prefix of it (identical entry by
entry), so the chain stays one unbroken chain; the import's own summary entry is appended last.
In practice: restore into an empty database, or merge other data with ``--exclude activity_log``.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from .. import audit, testpoints, validate
from .. import site as site_settings
from ..context import ServiceContext
from ..db import migrate
from ..errors import LockedError, NotInitializedError, PermissionDenied, ValidationError
from ..identity import resolve_actor
from ..models import ActivityEntry, Reservation
from ..runtime import Runtime
from . import auditlog
from .bulk import insert_rows
from .clashes import ClashGuard, booking
from .codec import UNSAFE_TEXT, FieldError
from .compat import INCOMPATIBLE, WARNINGS, assess, instance_info, selected_kinds
from .jsonstream import JsonShapeError, KindFileReader, NotPlainFile, check_plain_files, dumps
from .kinds import registry
from .locks import MODELS as LOCKABLE
from .locks import Correction, HistoryLocks
from .manifest import MANIFEST, FileEntry, Manifest, read_manifest, verify_files
from .registry import ChildSpec, FieldSpec, KindSpec
from .rows import KindRows, chunked, key_in, sort_items
from .rules import rules_for

MODES = ("create-only", "update-only", "create-or-update")
Progress = Callable[[str, int, int], None]
BATCH = 1000


class LockedRecordError(LockedError):
    """A merge would change locked history without ``--correct --reason`` (see locks.py)."""

    def __init__(self, kind: str, key: str, why: str) -> None:
        super().__init__(
            f"{kind} record {key} {why}; a merge may change it only as an admin correction "
            "(--correct --reason R); nothing was imported"
        )
        self.kind = kind
        self.key = key


class RecordError(ValidationError):
    """One record cannot be imported. ``str()`` names the kind, natural key and field."""

    def __init__(self, kind: str, key: str, field_name: str | None, reason: str) -> None:
        where = f"{kind} record {key}" + (f", field {field_name!r}" if field_name else "")
        super().__init__(f"{where}: {reason}; nothing was imported")
        self.field = f"{kind}.{field_name}" if field_name else kind
        self.kind = kind
        self.key = key
        self.field_name = field_name


@dataclass
class KindCounts:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
        }


@dataclass
class ImportResult:
    directory: Path
    manifest: Manifest
    mode: str
    dry_run: bool
    restore: bool  # the database was empty: a full restore (integer ids kept)
    counts: list[KindCounts]
    warnings: list[str]
    audit_seq: int | None
    seconds: float

    @property
    def changed(self) -> int:
        return sum(c.created + c.updated for c in self.counts)

    @property
    def records(self) -> int:
        return sum(c.total for c in self.counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "source": self.manifest.source,
            "export_created_at": self.manifest.created_at,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "restore": self.restore,
            "kinds": [c.to_json() for c in self.counts],
            "warnings": self.warnings,
            "audit_seq": self.audit_seq,
            "seconds": round(self.seconds, 3),
        }


# ------------------------------------------------------------------------------------------
# Decoding one record


@dataclass
class _Rec:
    index: int
    key: tuple[Any, ...]
    raw_key: list[Any]
    fields: dict[str, Any]  # the record's fields as given (names checked)
    values: dict[str, Any] = field(default_factory=dict)  # column name -> python value
    refs: dict[str, tuple[Any, ...] | None] = field(default_factory=dict)  # field -> target key
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    child_encoded: dict[str, list[Any]] = field(default_factory=dict)
    row_id: int | None = None  # the exported integer id (used only on restore)

    @property
    def label(self) -> str:
        """The natural key as written in the export (for messages)."""
        return dumps(self.raw_key[0] if len(self.raw_key) == 1 else self.raw_key)


def _decode_ref(f: FieldSpec, raw: Any) -> tuple[Any, ...] | None:
    assert f.ref is not None
    if raw is None:
        if not f.column.nullable:
            raise FieldError("is required")
        return None
    parts = raw if f.ref.composite else [raw]
    if not isinstance(parts, list) or len(parts) != len(f.ref.target_key):
        raise FieldError(f"must be a {f.ref.kind} natural key")
    return tuple(c.decode(v) for c, v in zip(f.ref.key_codecs, parts, strict=True))


def _encode_ref(f: FieldSpec, key: tuple[Any, ...] | None) -> Any:
    assert f.ref is not None
    if key is None:
        return None
    enc = [c.encode(v) for c, v in zip(f.ref.key_codecs, key, strict=True)]
    return enc if f.ref.composite else enc[0]


def _decode_plain(f: FieldSpec, raw: Any) -> Any:
    if raw is None:
        if not f.column.nullable:
            raise FieldError("is required (null given)")
        return None
    return f.codec.decode(raw)


_PLAIN, _REF, _CHILD, _ID, _TEXT = range(5)


class _Decoder:
    """Turns a record's JSON into python values, validating every field (one plan per kind)."""

    def __init__(self, spec: KindSpec) -> None:
        self.spec = spec
        self.children = {c.field: c for c in spec.children}
        self.required = frozenset(f.name for f in spec.fields if f.required)
        # field name -> (what, column name, decode, nullable, spec)
        self.plan: dict[str, tuple[int, str, Any, bool, Any]] = {}
        for f in spec.fields:
            if f.ref is None and f.codec.kind == "string":  # the common case, checked inline
                length = getattr(f.column.type, "length", None)
                self.plan[f.name] = (_TEXT, f.column.name, length, bool(f.column.nullable), f)
            elif f.ref is None:
                self.plan[f.name] = (_PLAIN, f.column.name, f.codec.decode, bool(f.column.nullable), f)
            else:
                self.plan[f.name] = (_REF, f.column.name, None, bool(f.column.nullable), f)
        for c in spec.children:
            self.plan[c.field] = (_CHILD, "", None, True, c)
        if spec.id_column is not None:
            self.plan["id"] = (_ID, "", None, False, None)
        rules, child_rules = rules_for(spec)
        keys = {c.name: i for i, c in enumerate(spec.key)}
        # (field name, natural-key position or None, column name, rule)
        self.rules = [
            (name, keys.get(name), "" if name in keys else self.plan[name][1], rule)
            for name, rule in rules.items()
        ]
        self.child_rules = list(child_rules.items())

    def _fail(self, rec_label: str, field_name: str | None, reason: str) -> RecordError:
        return RecordError(self.spec.name, rec_label, field_name, reason)

    def decode(self, raw: Any, index: int) -> _Rec:
        spec = self.spec
        label = f"#{index + 1}"
        if not isinstance(raw, dict) or "natural_key" not in raw or "fields" not in raw or len(raw) != 2:
            raise self._fail(label, None, "must be an object with exactly 'natural_key' and 'fields'")
        nk, fields = raw["natural_key"], raw["fields"]
        if not isinstance(nk, list) or len(nk) != len(spec.key):
            raise self._fail(label, None, f"natural_key must be a list of {len(spec.key)} value(s)")
        key: list[Any] = []
        for col, codec, value in zip(spec.key, spec.key_codecs, nk, strict=True):
            try:
                if value is None:
                    raise FieldError("is required")
                key.append(codec.decode(value))
            except FieldError as exc:
                raise self._fail(dumps(nk[0] if len(nk) == 1 else nk), col.name, str(exc)) from None
        rec = _Rec(index, tuple(key), nk, fields)
        if not isinstance(fields, dict):
            raise self._fail(rec.label, None, "'fields' must be an object")
        values = rec.values
        plan = self.plan
        name = ""
        try:
            for name, value in fields.items():
                step = plan.get(name)
                if step is None:
                    raise FieldError(f"unknown field (kind {spec.name} has: {', '.join(spec.field_names())})")
                what, column, decode, nullable, f = step
                if (
                    what == _TEXT
                    and type(value) is str
                    and (decode is None or len(value) <= decode)
                    and not UNSAFE_TEXT.search(value)
                ):
                    values[column] = value
                elif what in (_PLAIN, _TEXT):
                    if value is None:
                        if not nullable:
                            raise FieldError("is required (null given)")
                        values[column] = None
                    else:
                        values[column] = f.codec.decode(value)
                elif what == _REF:
                    rec.refs[name] = _decode_ref(f, value)
                elif what == _CHILD:
                    self._child(rec, f, value)
                else:
                    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                        raise FieldError("must be a positive whole number")
                    rec.row_id = value
        except FieldError as exc:
            raise self._fail(rec.label, name, str(exc)) from None
        self._check_rules(rec)
        if spec.name == "settings":
            self._check_setting(rec)
        return rec

    def _check_rules(self, rec: _Rec) -> None:
        """The console's own field rules (rules.py): an import stores nothing it would refuse."""
        name = ""
        try:
            for step in self.rules:
                name, at, column, rule = step
                value = rec.key[at] if at is not None else rec.values.get(column)
                if value is not None:
                    rule(value)
            for name, rule in self.child_rules:
                items = rec.children.get(name)
                if items:
                    rule(items)
        except ValidationError as exc:
            raise self._fail(rec.label, name, exc.message) from None

    def _check_setting(self, rec: _Rec) -> None:
        """A setting's value obeys the same rules as ``nodedesk settings set`` (a garbage
        site_timezone would break every later command); keys this version does not know pass."""
        key, value = str(rec.key[0]), rec.values.get("value")
        if not isinstance(value, str) or key not in {f.name for f in fields(site_settings.SiteSettings)}:
            return
        try:
            site_settings.validate_setting(key, value)
        except ValidationError as exc:
            raise self._fail(rec.label, "value", str(exc)) from None

    def missing_required(self, rec: _Rec) -> str | None:
        missing = self.required.difference(rec.fields)
        return min(missing) if missing else None

    def encoded(self, rec: _Rec) -> dict[str, Any]:
        """The record's fields in canonical JSON form (what an export of it would say)."""
        out: dict[str, Any] = {}
        for name in rec.fields:
            what, column, _decode, _nullable, f = self.plan[name]
            if what in (_PLAIN, _TEXT):
                v = rec.values[column]
                out[name] = v if v is None or f.codec.identity else f.codec.encode(v)
            elif what == _REF:
                out[name] = _encode_ref(f, rec.refs[name])
            elif what == _CHILD:
                out[name] = rec.child_encoded[name]
        return out

    def _child(self, rec: _Rec, child: ChildSpec, value: Any) -> None:
        if not isinstance(value, list):
            raise FieldError("must be a list")
        items: list[dict[str, Any]] = []
        encoded: list[Any] = []
        for item in value:
            decoded, enc = self._child_item(child, item)
            items.append(decoded)
            encoded.append(enc)
        rec.children[child.field] = items
        rec.child_encoded[child.field] = sort_items(encoded)

    @staticmethod
    def _child_item(child: ChildSpec, item: Any) -> tuple[dict[str, Any], Any]:
        """-> ({field: python value or target key}, canonical encoded item)."""
        if child.scalar:
            item = {child.fields[0].name: item}
        elif not isinstance(item, dict):
            raise FieldError("items must be objects")
        known = {f.name: f for f in child.fields}
        unknown = set(item) - set(known)
        if unknown:
            raise FieldError(f"unknown item field {sorted(unknown)[0]!r}")
        decoded: dict[str, Any] = {}
        enc: dict[str, Any] = {}
        for name, f in known.items():
            if name not in item:
                if f.required:
                    raise FieldError(f"item is missing {name!r}")
                continue
            if f.ref is not None:
                decoded[name] = _decode_ref(f, item[name])
                enc[name] = _encode_ref(f, decoded[name])
            else:
                decoded[name] = _decode_plain(f, item[name])
                enc[name] = None if decoded[name] is None else f.codec.encode(decoded[name])
        return decoded, (enc[child.fields[0].name] if child.scalar else enc)


# ------------------------------------------------------------------------------------------
# The activity-log chain


class _LogChain:
    """Keeps the imported log one unbroken chain continuing this database's own; every new
    entry is checked with the backup's audit key (core/backup/auditlog.py)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seal: auditlog.BackupSeal | None = None  # set by import_backup before the run
        self._checker: audit.ChainChecker | None = None
        self.hash_at_head: str | None = None

    @property
    def checker(self) -> audit.ChainChecker:
        if self._checker is None:
            key = self.seal.key if self.seal is not None else None
            self._checker = audit.ChainChecker(key, key_path=auditlog.KEY_FILE)
        return self._checker

    @property
    def last_seq(self) -> int:
        return self.checker.prev_seq

    def _follow(self, seq: int, hash_: str, scheme: str) -> None:
        self.checker.follow(seq, hash_, scheme)
        if self.seal is not None and self.seal.head is not None and seq == self.seal.head["seq"]:
            self.hash_at_head = hash_

    def seen(self, rec: _Rec) -> None:
        auditlog.normalize(rec.values)
        self._follow(rec.key[0], rec.values.get("hash", ""), rec.values["hash_scheme"])

    def check_new(self, rec: _Rec) -> None:
        seq = rec.key[0]
        auditlog.normalize(rec.values)
        if seq != self.last_seq + 1:
            prev = (
                (audit.GENESIS_HASH, audit.LEGACY_SCHEME)
                if seq == 1
                else self.session.execute(
                    select(ActivityEntry.hash, ActivityEntry.hash_scheme).where(ActivityEntry.seq == seq - 1)
                ).first()
            )
            if prev is None:
                raise RecordError(
                    "activity_log", rec.label, None, f"entry #{seq - 1} is missing (the chain has a gap)"
                )
            self._follow(seq - 1, prev[0], prev[1])
        if rec.values["hash_scheme"] != audit.LEGACY_SCHEME and (self.seal is None or self.seal.head is None):
            raise RecordError(
                "activity_log", rec.label, None, "is keyed but the manifest has no audit section (removed?)"
            )
        try:
            problems = self.checker.check(SimpleNamespace(seq=seq, **rec.values))
        except (AttributeError, TypeError) as exc:
            raise RecordError("activity_log", rec.label, None, f"incomplete entry ({exc})") from None
        if problems:
            raise RecordError("activity_log", rec.label, problems[0].field or None, problems[0])
        self._follow(seq, rec.values["hash"], rec.values["hash_scheme"])


# ------------------------------------------------------------------------------------------
# One kind


class _KindImport:
    def __init__(
        self,
        spec: KindSpec,
        session: Session,
        mode: str,
        restore: bool,
        locks: HistoryLocks | None = None,
        corrections: list[Correction] | None = None,
    ) -> None:
        self.spec = spec
        self.locks = locks if spec.name in LOCKABLE else None
        self.corrections = corrections  # None: locked history is refused, not corrected
        self.clashes = ClashGuard(session, restore) if spec.table.name == Reservation.__tablename__ else None
        self.session = session
        self.conn = session.connection()
        self.mode = mode
        self.restore = restore
        self.rows = KindRows(spec, self.conn)
        self.decoder = _Decoder(spec)
        self.counts = KindCounts(spec.name)
        self.chain = _LogChain(session) if spec.table.name == ActivityEntry.__tablename__ else None
        self._skip_compare = {"id"} | (
            {spec.version_column.name} if spec.version_column is not None else set()
        )
        self._last_key: tuple[Any, ...] | None = None
        # What a refused row raises: SQLAlchemy's wrapper, or the driver's own error (COPY).
        driver_error: type[BaseException] = self.conn.dialect.loaded_dbapi.Error
        self._db_errors = (StatementError, driver_error)
        self._where_key = and_(*(c == bindparam(f"_k{i}") for i, c in enumerate(spec.key)))

    # -- references --------------------------------------------------------------------
    def _resolve(self, recs: Sequence[_Rec]) -> None:
        """Turn every reference (natural key) into the target row's id, or fail naming it."""
        wanted: dict[tuple[str, str], set[tuple[Any, ...]]] = defaultdict(set)
        specs: dict[tuple[str, str], FieldSpec] = {}
        for rec in recs:
            for name, key in rec.refs.items():
                f = self.spec.field_map[name]
                assert f.ref is not None
                if key is not None:
                    tag = (f.ref.kind, f.ref.target_column.name)
                    wanted[tag].add(key)
                    specs[tag] = f
            for cname, items in rec.children.items():
                child = self.decoder.children[cname]
                for item in items:
                    for f in child.fields:
                        if f.ref is not None and item.get(f.name) is not None:
                            tag = (f.ref.kind, f.ref.target_column.name)
                            wanted[tag].add(item[f.name])
                            specs[tag] = f
        found: dict[tuple[str, str], dict[tuple[Any, ...], Any]] = {}
        for tag, keys in wanted.items():
            ref = specs[tag].ref
            assert ref is not None
            cols = [ref.target.c[c.name] for c in ref.target_key]
            got: dict[tuple[Any, ...], Any] = {}
            for part in chunked(sorted(keys)):
                stmt = select(ref.target_column, *cols).where(key_in(cols, list(part)))
                for row in self.conn.execute(stmt):
                    got[tuple(row[1:])] = row[0]
            found[tag] = got

        def lookup(rec: _Rec, label: str, f: FieldSpec, key: tuple[Any, ...]) -> Any:
            assert f.ref is not None
            value = found[(f.ref.kind, f.ref.target_column.name)].get(key)
            if value is None:
                shown = dumps(_encode_ref(f, key))
                raise RecordError(
                    self.spec.name,
                    rec.label,
                    label,
                    f"refers to {f.ref.kind} {shown}, which does not exist here "
                    "(not imported, not already present)",
                )
            return value

        for rec in recs:
            for name, key in rec.refs.items():
                f = self.spec.field_map[name]
                rec.values[f.column.name] = None if key is None else lookup(rec, name, f, key)
            for cname, items in rec.children.items():
                child = self.decoder.children[cname]
                for item in items:
                    for f in child.fields:
                        if f.ref is not None and f.name in item:
                            key = item.pop(f.name)
                            item[f.column.name] = None if key is None else lookup(rec, cname, f, key)
                        elif f.name in item and f.name != f.column.name:
                            item[f.column.name] = item.pop(f.name)

    # -- planning --------------------------------------------------------------------
    def _check_required(self, rec: _Rec) -> None:
        missing = self.decoder.missing_required(rec)
        if missing is not None:
            raise RecordError(self.spec.name, rec.label, missing, "is missing (required)")

    def _plan(self, recs: list[_Rec]) -> tuple[list[_Rec], list[tuple[_Rec, Any, dict[str, Any]]]]:
        # On a restore every table was empty and keys ascend within a file: nothing can exist yet.
        existing = {} if self.restore else self.rows.existing([r.key for r in recs])
        creates: list[_Rec] = []
        updates: list[tuple[_Rec, Any, dict[str, Any]]] = []
        c = self.counts
        for rec in recs:
            have = existing.get(rec.key)
            if have is None:
                if self.mode == "update-only":
                    c.skipped += 1
                    continue
                self._check_required(rec)
                if self.chain is not None:
                    self.chain.check_new(rec)
                self._check_lock(rec, None, None)
                creates.append(rec)
                c.created += 1
                continue
            row_id, current = have
            same = all(
                current.get(name) == value
                for name, value in self.decoder.encoded(rec).items()
                if name not in self._skip_compare
            )
            if self.chain is not None:
                if not same:
                    raise RecordError(
                        self.spec.name,
                        rec.label,
                        None,
                        "differs from the entry with the same number in this database: the two activity logs "
                        "have diverged (restore into an empty database, or use --exclude activity_log)",
                    )
                self.chain.seen(rec)
            if same:
                c.unchanged += 1
            elif self.mode == "create-only" or self.spec.append_only:
                c.skipped += 1
            else:
                self._check_lock(rec, row_id, current)
                updates.append((rec, row_id, current))
                c.updated += 1
        return creates, updates

    def _check_lock(self, rec: _Rec, row_id: Any, current: dict[str, Any] | None) -> None:
        """Refuse (or, when correcting, note) a change to locked history (locks.py)."""
        found = None
        if self.locks is not None:
            old = None
            if row_id is not None:
                old = self.session.get(LOCKABLE[self.spec.name], row_id, populate_existing=True)
            values = {c.name: v for c, v in zip(self.spec.key, rec.key, strict=True)} | rec.values
            found = self.locks.check(self.spec.name, old, values)
        if self.corrections is None or self.spec.append_only:
            if found is not None:
                raise LockedRecordError(self.spec.name, rec.label, found[0])
            return
        # An import given --correct is an admin correction as a whole: every record it changes,
        # locked or not, gets its own entry with before and after.
        months = found[1] if found is not None else []
        after = self.decoder.encoded(rec)
        uuid = str(rec.key[0]) if self.spec.key[0].name == "uuid" else ""
        self.corrections.append(Correction(self.spec.name, rec.label, row_id, uuid, current, after, months))

    def _check_clashes(self, creates: list[_Rec], updates: list[tuple[_Rec, Any, dict[str, Any]]]) -> None:
        """No two active reservations overlap on a node (clashes.py), checked before writing."""
        assert self.clashes is not None
        batch = []
        for rec in creates:
            b = booking(str(rec.key[0]), None, rec.values, None)
            if b is not None:
                batch.append((rec, b))
        for rec, row_id, _current in updates:
            old = self.session.get(Reservation, row_id, populate_existing=True)
            b = booking(str(rec.key[0]), row_id, rec.values, old)
            if b is not None:
                batch.append((rec, b))
        if not batch:
            return
        hit = self.clashes.check([b for _r, b in batch], {u[1] for u in updates})
        if hit is not None:
            rec = next(r for r, b in batch if b is hit[0])
            raise RecordError(self.spec.name, rec.label, None, hit[1])

    # -- writing ----------------------------------------------------------------------
    def _insert_params(self, rec: _Rec) -> dict[str, Any]:
        params = {c.name: v for c, v in zip(self.spec.key, rec.key, strict=True)}
        params.update(rec.values)
        if self.restore and rec.row_id is not None and self.spec.id_column is not None:
            params[self.spec.id_column.name] = rec.row_id
        return params

    def _update_params(self, rec: _Rec, current: dict[str, Any]) -> dict[str, Any]:
        params = dict(rec.values)
        vcol = self.spec.version_column
        if vcol is not None:
            mine = current.get(vcol.name) or 0
            theirs = rec.values.get(vcol.name) or 0
            params[vcol.name] = max(mine + 1, theirs)
        for i, v in enumerate(rec.key):
            params[f"_k{i}"] = v
        return params

    @staticmethod
    def _grouped(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """executemany needs the same keys in every row (missing fields take their defaults)."""
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[tuple(sorted(row))].append(row)
        yield from groups.values()

    def _write_children(self, recs: Sequence[_Rec], ids: dict[tuple[Any, ...], Any], replace: bool) -> None:
        for child in self.spec.children:
            todo = [r for r in recs if child.field in r.children]
            if not todo:
                continue
            if replace:
                parent_ids = [ids[r.key] for r in todo]
                for part in chunked(parent_ids):
                    self.conn.execute(child.table.delete().where(child.parent_column.in_(part)))
            rows = [
                {child.parent_column.name: ids[r.key], **item}
                for r in todo
                for item in r.children[child.field]
            ]
            for group in self._grouped(rows):
                insert_rows(self.conn, child.table, group)

    def _ids_of(self, recs: Sequence[_Rec]) -> dict[tuple[Any, ...], Any]:
        id_col = self.spec.id_column
        assert id_col is not None
        out: dict[tuple[Any, ...], Any] = {}
        for part in chunked([r.key for r in recs]):
            for row in self.conn.execute(select(id_col, *self.spec.key).where(key_in(self.spec.key, part))):
                out[tuple(row[1:])] = row[0]
        return out

    def _apply(self, creates: Sequence[_Rec], updates: Sequence[tuple[_Rec, Any, dict[str, Any]]]) -> None:
        table = self.spec.table
        for group in self._grouped(self._insert_params(r) for r in creates):
            insert_rows(self.conn, table, group)
        upd_rows = [self._update_params(r, cur) for r, _rid, cur in updates]
        for group in self._grouped(upd_rows):
            self.conn.execute(table.update().where(self._where_key), group)
        if self.spec.children:
            if creates:
                self._write_children(creates, self._ids_of(creates), replace=False)
            if updates:
                self._write_children([u[0] for u in updates], {u[0].key: u[1] for u in updates}, replace=True)

    def _write(self, creates: list[_Rec], updates: list[tuple[_Rec, Any, dict[str, Any]]]) -> None:
        if not creates and not updates:
            return
        try:
            with self.conn.begin_nested():  # SAVEPOINT now: a refused row leaves the rest usable
                self._apply(creates, updates)
            return
        except self._db_errors:
            pass
        # Find the record the database refused, one at a time, to name it.
        for rec in creates:
            self._one(rec, partial(self._apply, [rec], []))
        for upd in updates:
            self._one(upd[0], partial(self._apply, [], [upd]))
        raise RecordError(
            self.spec.name,
            creates[0].label if creates else updates[0][0].label,
            None,
            "the database refused this batch",
        )  # pragma: no cover - always found above

    def _one(self, rec: _Rec, action: Callable[[], None]) -> None:
        try:
            with self.conn.begin_nested():  # SAVEPOINT now: a refused row leaves the rest usable
                action()
        except self._db_errors as exc:
            orig = getattr(exc, "orig", None)
            reason = str(orig if orig is not None else exc).strip().splitlines()[0]
            clash = self._explain_refusal(rec)
            if clash is not None:
                raise RecordError(self.spec.name, rec.label, None, clash) from None
            raise RecordError(self.spec.name, rec.label, None, f"refused by the database: {reason}") from None

    def _explain_refusal(self, rec: _Rec) -> str | None:
        """A reservation the database refused because it overlaps another: say which."""
        if self.clashes is None:
            return None
        b = booking(str(rec.key[0]), None, rec.values, None)
        return self.clashes.explain(b) if b is not None else None

    # -- the file --------------------------------------------------------------------
    def run(
        self, path: Path, entry: FileEntry, batch: int, verify: bool, progress: Progress | None
    ) -> KindCounts:
        name = self.spec.name
        seen = 0
        pending: list[_Rec] = []
        try:
            with KindFileReader(path) as reader:
                for raw in reader.records():
                    if seen == 0 and reader.header.get("model", name) != name:
                        raise ValidationError(
                            f"holds model {reader.header.get('model')!r}, not {name!r}", field=entry.name
                        )
                    rec = self.decoder.decode(raw, seen)
                    if self._last_key is not None and not rec.key > self._last_key:
                        raise RecordError(
                            name, rec.label, None, "is out of natural-key order (duplicate or moved record)"
                        )
                    self._last_key = rec.key
                    pending.append(rec)
                    seen += 1
                    if len(pending) >= batch:
                        self._batch(pending)
                        pending = []
                        if progress:
                            progress(name, seen, entry.count)
                if pending:
                    self._batch(pending)
                header = reader.header
                sha, size = reader.sha256, reader.size
        except JsonShapeError as exc:
            raise ValidationError(f"not a valid kind file: {exc}", field=entry.name) from None
        except NotPlainFile as exc:
            raise ValidationError(f"{exc}; nothing was imported", field="export") from None
        if header.get("model") != name:
            raise ValidationError(f"holds model {header.get('model')!r}, not {name!r}", field=entry.name)
        if header.get("count") != seen or entry.count != seen:
            raise ValidationError(
                f"holds {seen} records but says {header.get('count')} (manifest: {entry.count})",
                field=entry.name,
            )
        if verify and (sha != entry.sha256 or size != entry.size):
            raise ValidationError("changed while it was being imported", field=entry.name)
        if progress:
            progress(name, seen, entry.count)
        return self.counts

    def _batch(self, recs: list[_Rec]) -> None:
        self._resolve(recs)
        creates, updates = self._plan(recs)
        if self.clashes is not None:
            self._check_clashes(creates, updates)
        self._write(creates, updates)


# ------------------------------------------------------------------------------------------
# The whole import


def _is_empty(session: Session) -> bool:
    return all(
        session.execute(select(text("1")).select_from(spec.table).limit(1)).first() is None
        for spec in registry()
    )


def _context(runtime: Runtime, session: Session) -> ServiceContext:
    site = site_settings.load(session)
    actor = resolve_actor(session, runtime.login, runtime.config.user_override)
    return ServiceContext(session, actor, runtime.clock_for(site.site_timezone), site, runtime.seal)


def _restore_context(runtime: Runtime, session: Session) -> ServiceContext:
    """After a restore into an empty database the importing login must be an imported admin."""
    try:
        ctx = _context(runtime, session)
    except NotInitializedError:
        raise ValidationError(
            "a restore into an empty database needs the export's settings and users (do not exclude them)",
            field="models",
        ) from None
    except PermissionDenied:
        raise PermissionDenied(
            f"{runtime.login} is not an active admin in the imported data; run the restore as one of the "
            "export's admins (nothing was imported)"
        ) from None
    ctx.require("backup")
    return ctx


def check_export_files(path: Path) -> None:
    """Only regular files inside the export are ever read (jsonstream.check_plain_files)."""
    if not os.path.lexists(path / MANIFEST):
        return  # not an export at all: read_manifest says so
    try:
        check_plain_files(path)
    except NotPlainFile as exc:
        raise ValidationError(f"{exc}; nothing was imported", field="export") from None
    except FileNotFoundError:
        return  # read_manifest names the missing directory or manifest
    except NotADirectoryError:
        return


def _record_corrections(ctx: ServiceContext, corrections: Sequence[Correction], reason: str) -> None:
    """One audit entry per corrected record, with before and after, in the import's transaction."""
    for c in corrections:
        ctx.record(
            f"{c.kind}.corrected_by_import",
            c.kind,
            "" if c.row_id is None else c.row_id,
            c.label,
            before=c.before,
            after=c.after,
            reason=reason,
            target_uuid=c.target_uuid,
        )


def _reset_sequences(session: Session, specs: Iterable[KindSpec]) -> None:
    """PostgreSQL: after inserting explicit ids, move each id sequence past the largest id."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite picks max(rowid) + 1 by itself
    for spec in specs:
        if spec.id_column is None:
            continue
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:t, 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) "
                f'FROM "{spec.table.name}"'
            ),
            {"t": spec.table.name},
        )


def prepare_target(runtime: Runtime) -> bool:
    """Create the schema in a blank database (a restore target). True if it was created."""
    engine = runtime.database.engine
    if migrate.current_revision(engine) is not None:
        return False
    if migrate.has_tables(engine):
        raise ValidationError(
            "the database holds tables that are not nodedesk's; refusing to touch it", field="database"
        )
    migrate.upgrade(engine)
    return True


def import_backup(
    runtime: Runtime,
    directory: str | Path,
    *,
    mode: str = "create-or-update",
    models: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    verify_checksums: bool = True,
    progress: Progress | None = None,
    batch: int = BATCH,
    correct: bool = False,
    reason: str = "",
) -> ImportResult:
    """Verify, check, and import in one transaction. Needs the admin role (see module doc).

    A merge that would change locked history is refused unless ``correct`` (an admin
    correction, with ``reason``) is given; see locks.py."""
    started = time.perf_counter()
    if mode not in MODES:
        raise ValidationError(f"must be one of {', '.join(MODES)}", field="mode")
    if correct:
        if not (reason or "").strip():
            raise ValidationError("--correct needs --reason R (why history is corrected)", field="reason")
        reason = validate.reason(reason)
    elif (reason or "").strip():
        raise ValidationError("a reason goes with --correct (an admin correction)", field="reason")
    path = Path(directory).expanduser()
    check_export_files(path)
    manifest = read_manifest(path)
    integrity = verify_files(path, manifest, checksums=verify_checksums)
    if not integrity.ok:
        more = f" (and {len(integrity.problems) - 1} more)" if len(integrity.problems) > 1 else ""
        raise ValidationError(f"{integrity.problems[0]}{more}; nothing was imported", field="checksum")
    kinds = selected_kinds(manifest, models, exclude)
    if not kinds:
        raise ValidationError("nothing to import: every kind is excluded", field="models")
    log = path / "activity_log.json" if "activity_log" in kinds else None
    instance = instance_info(runtime, log)
    status, problems, warnings = assess(manifest, instance, kinds=kinds)
    warnings = integrity.warnings + warnings
    if status == INCOMPATIBLE:
        raise ValidationError(
            f"incompatible export: {problems[0]}; nothing was imported", field="compatibility"
        )
    if status == WARNINGS and not force:
        raise ValidationError(
            f"{warnings[0]}"
            + (f" (and {len(warnings) - 1} more warnings)" if len(warnings) > 1 else "")
            + "; check with 'nodedesk check-import', then use --force to import anyway",
            field="compatibility",
        )
    prepare_target(runtime)
    reg = registry()
    results: list[KindCounts] = []
    audit_seq: int | None = None
    with runtime.database.write(dry_run=dry_run) as session:
        restore = _is_empty(session)
        if restore and mode == "update-only":
            raise ValidationError(
                "this database is empty, so update-only would change nothing; restore with "
                "create-or-update (the default) or create-only",
                field="mode",
            )
        ctx = None
        locks: HistoryLocks | None = None
        corrections: list[Correction] | None = None
        if not restore:
            ctx = _context(runtime, session)
            ctx.require("backup")
            locks = HistoryLocks(ctx)
            if correct:
                ctx.require("correct")
                corrections = []
        audit._lock_chain(session)  # no other entry may slip into the chain meanwhile
        log_seal = (
            auditlog.read_backup_seal(path, manifest.audit, runtime.seal, restore=restore)
            if auditlog.LOG_KIND in kinds
            else None
        )
        log_chain: _LogChain | None = None
        for name in kinds:
            spec = reg[name]
            entry = manifest.file_for(name)
            assert entry is not None
            job = _KindImport(spec, session, mode, restore, locks, corrections)
            if job.chain is not None:
                job.chain.seal = log_seal
                log_chain = job.chain
            results.append(job.run(path / entry.name, entry, batch, verify_checksums, progress))
            session.expire_all()  # rows read through the ORM may have been rewritten meanwhile
            testpoints.reached("backup.import.kind")  # crash tests kill the import here
        if log_seal is not None and log_chain is not None:
            log_seal.check_head(log_chain.last_seq, log_chain.hash_at_head, log_chain.checker.keyed_seen)
        key_replaced = None
        anchor_before = runtime.seal.read_anchor() if restore else None  # a restore may go back
        if restore:
            _reset_sequences(session, (reg[k] for k in kinds))
            ctx = _restore_context(runtime, session)
            if log_seal is not None:
                ctx.seal, key_replaced = log_seal.seal_for_restore(runtime.seal, dry_run=dry_run)
            audit.reset_anchor_on_commit(session)  # the restored log's head is the site's anchor
        assert ctx is not None
        if corrections:
            _record_corrections(ctx, corrections, reason)
            assert locks is not None
            locks.flag(corrections, f"corrected by import ({ctx.actor.username}): {reason}")
        changed = {
            c.kind: {"created": c.created, "updated": c.updated} for c in results if c.created or c.updated
        }
        if changed:
            entry_row = ctx.record(
                "backup.imported",
                "backup",
                "",
                f"{manifest.source.get('name', '?')} {manifest.created_at}",
                after={
                    "source": manifest.source,
                    "export_created_at": manifest.created_at,
                    "root_sha256": manifest.root_sha256,
                    "mode": mode,
                    "restore": restore,
                    "changed": changed,
                    **({"audit_key_replaced": key_replaced} if key_replaced else {}),
                    **({"audit_anchor_before": anchor_before.to_json()} if anchor_before else {}),
                    "corrected": len(corrections or []),
                },
                reason=reason,
            )
            audit_seq = entry_row.seq
    return ImportResult(
        directory=path,
        manifest=manifest,
        mode=mode,
        dry_run=dry_run,
        restore=restore,
        counts=results,
        warnings=warnings,
        audit_seq=audit_seq,
        seconds=time.perf_counter() - started,
    )
