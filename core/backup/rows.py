"""Reading rows of a kind as export records (natural key + encoded fields), in batches.

Shared by the exporter (the whole table, in natural-key order) and the importer (the existing
rows matching a batch of imported keys, to decide created/updated/unchanged). Reference columns
are joined to the referenced table so they come back as natural keys, never as ids.

Natural-key order is code-point order on both back ends (PostgreSQL sorts text ``COLLATE "C"``,
SQLite's default is binary), so a SQLite and a PostgreSQL export of the same data are identical.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, FromClause, Select, String, Table, select, tuple_

from .codec import Codec
from .jsonstream import dumps
from .registry import ChildSpec, FieldSpec, KindSpec

IN_CHUNK = 500  # keys per IN (...) list: well under every driver's parameter limit


def chunked(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def key_in(
    cols: Sequence[Column[Any]] | Sequence[ColumnElement[Any]], keys: Sequence[tuple[Any, ...]]
) -> ColumnElement[bool]:
    if len(cols) == 1:
        return cols[0].in_([k[0] for k in keys])
    return tuple_(*cols).in_(keys)


def _encode(codec: Codec, value: Any) -> Any:
    return None if value is None else codec.encode(value)


def encode_key(codecs: Sequence[Codec], values: Sequence[Any]) -> list[Any]:
    return [_encode(c, v) for c, v in zip(codecs, values, strict=True)]


def ref_value(field: FieldSpec, key_values: Sequence[Any]) -> Any:
    """A reference as written: the target's natural key (scalar for a one-column key)."""
    assert field.ref is not None
    if all(v is None for v in key_values):
        return None
    encoded = encode_key(field.ref.key_codecs, key_values)
    return encoded if field.ref.composite else encoded[0]


class _Projection:
    """Columns + joins that turn a table's rows into encoded fields."""

    def __init__(
        self, table: Table, fields: Sequence[FieldSpec], extra: Sequence[ColumnElement[Any]]
    ) -> None:
        self.fields = fields
        cols: list[ColumnElement[Any]] = list(extra)
        source: FromClause = table
        # (field name, row index, encoder or None when the value is already its JSON form)
        self._plain: list[tuple[str, int, Any]] = []
        self._refs: list[tuple[str, list[int], FieldSpec]] = []
        for i, f in enumerate(fields):
            if f.ref is None:
                self._plain.append((f.name, len(cols), None if f.codec.identity else f.codec.encode))
                cols.append(f.column)
                continue
            alias = f.ref.target.alias(f"r{i}_{f.ref.target.name}")
            source = source.outerjoin(alias, f.column == alias.c[f.ref.target_column.name])
            idx = []
            for kc in f.ref.target_key:
                idx.append(len(cols))
                cols.append(alias.c[kc.name])
            if not f.ref.composite and f.ref.key_codecs[0].identity:
                self._plain.append((f.name, idx[0], None))  # e.g. a node name: taken as it is
            else:
                self._refs.append((f.name, idx, f))
        self.columns = cols
        self.source = source

    def encode(self, row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, i, enc in self._plain:
            value = row[i]
            out[name] = value if enc is None or value is None else enc(value)
        for name, idx, f in self._refs:
            out[name] = ref_value(f, [row[i] for i in idx])
        return out


def _sort_key_column(col: Column[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql" and isinstance(col.type, String):
        return col.collate("C")
    return col


class KindRows:
    """Row access for one kind on one connection."""

    def __init__(self, spec: KindSpec, conn: Connection) -> None:
        self.spec = spec
        self.conn = conn
        dialect = conn.dialect.name
        extra: list[ColumnElement[Any]] = []
        if spec.id_column is not None:
            extra.append(spec.id_column)
        extra.extend(spec.key)
        self._nid = 1 if spec.id_column is not None else 0
        self._nkey = len(spec.key)
        self._proj = _Projection(spec.table, spec.fields, extra)
        self._order = [_sort_key_column(c, dialect) for c in spec.key]
        self._children = [_ChildRows(c) for c in spec.children]

    def _select(self) -> Select[Any]:
        return select(*self._proj.columns).select_from(self._proj.source)

    def count(self) -> int:
        from sqlalchemy import func

        return int(self.conn.execute(select(func.count()).select_from(self.spec.table)).scalar_one())

    def _records(self, rows: Sequence[Any]) -> list[tuple[Any, tuple[Any, ...], dict[str, Any]]]:
        """(row id or None, natural-key values, encoded fields incl. children)."""
        out = []
        for row in rows:
            rid = row[0] if self._nid else None
            key = tuple(row[self._nid : self._nid + self._nkey])
            fields = self._proj.encode(row)
            if self._nid:
                fields["id"] = rid  # the short number humans use; never used to match records
            out.append((rid, key, fields))
        if self._children and out:
            ids = [r[0] for r in out]
            for child in self._children:
                found = child.load(self.conn, ids)
                for rid, _key, fields in out:
                    fields[child.spec.field] = found.get(rid, [])
        return out

    def stream(self, batch: int) -> Iterator[list[tuple[Any, tuple[Any, ...], dict[str, Any]]]]:
        """Every row in natural-key order, ``batch`` at a time (a server-side cursor on PostgreSQL)."""
        stmt = self._select().order_by(*self._order)
        result = self.conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        try:
            for part in result.partitions(batch):
                yield self._records(part)
        finally:
            result.close()

    def existing(self, keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, dict[str, Any]]]:
        """Rows whose natural key is in ``keys``: key -> (id, encoded fields)."""
        found: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}
        for part in chunked(list(keys)):
            rows = self.conn.execute(self._select().where(key_in(self.spec.key, part))).all()
            for rid, key, fields in self._records(rows):
                found[key] = (rid, fields)
        return found

    def encode_key(self, key: Sequence[Any]) -> list[Any]:
        return encode_key(self.spec.key_codecs, key)


class _ChildRows:
    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self._proj = _Projection(spec.table, spec.fields, [spec.parent_column])

    def encode_item(self, fields: dict[str, Any]) -> Any:
        return fields[self.spec.fields[0].name] if self.spec.scalar else fields

    def load(self, conn: Connection, parent_ids: Sequence[Any]) -> dict[Any, list[Any]]:
        grouped: dict[Any, list[Any]] = defaultdict(list)
        for part in chunked(list(parent_ids)):
            stmt = (
                select(*self._proj.columns)
                .select_from(self._proj.source)
                .where(self.spec.parent_column.in_(part))
            )
            for row in conn.execute(stmt):
                grouped[row[0]].append(self.encode_item(self._proj.encode(row)))
        return {pid: sort_items(items) for pid, items in grouped.items()}


def sort_items(items: list[Any]) -> list[Any]:
    """Deterministic order for embedded lists (by their canonical JSON)."""
    return sorted(items, key=lambda v: dumps(v))
