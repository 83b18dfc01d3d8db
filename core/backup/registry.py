"""The backup registry: which entity kinds exist, their natural keys, and the import order.

A kind is declared with only what cannot be read from the schema (see ``kinds.py``): its name
(the file name in an export), its table or model, its natural key columns and any embedded child
tables. Everything else comes from the table definition at registry-build time:

- fields: every column except the surrogate ``id``, the natural key and (in children) the
  parent's foreign key; a column added to a model is exported and imported with no change here;
- references: every foreign-key column ``x_id`` → field ``x`` whose value is the referenced
  record's natural key (a scalar for a one-column key, a list otherwise);
- dependencies: the kinds those references point to (plus any explicit ``after``).

The import order is a topological sort of the dependencies; ties are broken by declaration
order, so the order is deterministic. A cycle, a foreign key to an undeclared table, a natural
key without a unique constraint or a column type we cannot carry is a :class:`RegistryError`
raised when the registry is built (a test builds it, so a schema change that needs a declaration
fails loudly in the suite, not at a user's import).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, UniqueConstraint
from sqlalchemy import inspect as sa_inspect

from .codec import Codec, UnsupportedColumn, codec_for


class RegistryError(Exception):
    """The declarations do not match the schema (a programming error, not user input)."""


@dataclass(frozen=True)
class Child:
    """A child or association table stored inside its parent's record as a list.

    ``parent`` is the child's foreign-key column pointing at the parent row. When the child has
    exactly one other field the list holds plain values (e.g. a window's ``scope_nodes`` are node
    names); otherwise it holds objects. Lists are sorted, so exports are deterministic.
    """

    field: str
    table: Any  # a Table or a mapped class
    parent: str


@dataclass(frozen=True)
class Kind:
    """One entity kind: a table exported to ``<name>.json``."""

    name: str
    model: Any  # a mapped class or a Table
    key: tuple[str, ...]
    children: tuple[Child, ...] = ()
    after: tuple[str, ...] = ()  # extra ordering dependencies not visible as foreign keys
    append_only: bool = False  # existing records must be identical; never updated (activity log)


@dataclass(frozen=True)
class RefSpec:
    """How a foreign-key column is written: the referenced kind's natural key."""

    kind: str
    target: Table
    target_key: tuple[Column[Any], ...]
    target_column: Column[Any]  # the column the foreign key points at (usually ``id``)
    key_codecs: tuple[Codec, ...]

    @property
    def composite(self) -> bool:
        return len(self.target_key) > 1


@dataclass(frozen=True)
class FieldSpec:
    """One exported field: a plain column, or a reference written as a natural key."""

    name: str
    column: Column[Any]
    codec: Codec
    ref: RefSpec | None = None

    @property
    def required(self) -> bool:
        """Must be present in an imported record (no default, not nullable)."""
        col = self.column
        return not col.nullable and col.default is None and col.server_default is None


@dataclass(frozen=True)
class ChildSpec:
    field: str
    table: Table
    parent_column: Column[Any]
    fields: tuple[FieldSpec, ...]

    @property
    def scalar(self) -> bool:
        return len(self.fields) == 1


@dataclass(frozen=True)
class KindSpec:
    """A kind with everything derived from the schema."""

    name: str
    table: Table
    key: tuple[Column[Any], ...]
    key_codecs: tuple[Codec, ...]
    fields: tuple[FieldSpec, ...]
    children: tuple[ChildSpec, ...]
    depends: tuple[str, ...]
    id_column: Column[Any] | None
    version_column: Column[Any] | None
    append_only: bool
    field_map: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    @property
    def file_name(self) -> str:
        return f"{self.name}.json"

    def field_names(self) -> list[str]:
        return sorted([f.name for f in self.fields] + [c.field for c in self.children])


def _table_of(model: Any) -> Table:
    if isinstance(model, Table):
        return model
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise RegistryError(f"{model!r} is neither a Table nor a mapped class")
    return table


def _version_column(model: Any) -> Column[Any] | None:
    if isinstance(model, Table):
        return None
    col = sa_inspect(model).version_id_col
    return col if isinstance(col, Column) else None


def _codec(col: Column[Any], where: str) -> Codec:
    try:
        return codec_for(col, where)
    except UnsupportedColumn as exc:
        raise RegistryError(str(exc)) from exc


def _ref_field_name(col: Column[Any]) -> str:
    return col.name[:-3] if col.name.endswith("_id") else col.name


def _is_unique(table: Table, names: Sequence[str]) -> bool:
    wanted = set(names)
    if {c.name for c in table.primary_key.columns} == wanted:
        return True
    if len(names) == 1 and table.c[names[0]].unique:
        return True
    for cons in table.constraints:
        if isinstance(cons, UniqueConstraint) and {c.name for c in cons.columns} == wanted:
            return True
    return any(ix.unique and {c.name for c in ix.columns} == wanted for ix in table.indexes)


class Registry:
    """All kinds, validated against the schema, in import order."""

    def __init__(self, kinds: Iterable[Kind]) -> None:
        declared = list(kinds)
        names = [k.name for k in declared]
        if len(set(names)) != len(names):
            raise RegistryError(f"duplicate kind names in {names}")
        self._declared = {k.name: k for k in declared}
        self._by_table: dict[str, Kind] = {}
        for k in declared:
            table = _table_of(k.model)
            if table.name in self._by_table:
                raise RegistryError(f"table {table.name} is declared twice")
            self._by_table[table.name] = k
        self._child_tables = {_table_of(c.table).name for k in declared for c in k.children}
        # Keys first: references need every kind's natural key.
        self._keys: dict[str, tuple[Column[Any], ...]] = {}
        for k in declared:
            table = _table_of(k.model)
            if not k.key:
                raise RegistryError(f"{k.name}: a natural key is required")
            for col_name in k.key:
                if col_name not in table.c:
                    raise RegistryError(f"{k.name}: natural key column {col_name!r} is not in {table.name}")
                if table.c[col_name].foreign_keys:
                    raise RegistryError(
                        f"{k.name}: natural key column {col_name!r} must not be a foreign key"
                    )
            if not _is_unique(table, k.key):
                raise RegistryError(f"{k.name}: natural key {list(k.key)} has no unique constraint")
            self._keys[k.name] = tuple(table.c[n] for n in k.key)
        specs = {k.name: self._build(k) for k in declared}
        self.order: tuple[str, ...] = self._toposort(declared, specs)
        self.specs: dict[str, KindSpec] = {n: specs[n] for n in self.order}

    # -- building -------------------------------------------------------------------------
    def _ref(self, owner: str, col: Column[Any]) -> RefSpec:
        fks = list(col.foreign_keys)
        if len(fks) != 1:
            raise RegistryError(f"{owner}: column {col.name} has {len(fks)} foreign keys (one expected)")
        target_col = fks[0].column
        target = target_col.table
        kind = self._by_table.get(target.name)
        if kind is None:
            raise RegistryError(
                f"{owner}: column {col.name} references table {target.name}, which has no backup kind; "
                "declare one in core/backup/kinds.py"
            )
        key = self._keys[kind.name]
        return RefSpec(
            kind=kind.name,
            target=target,
            target_key=key,
            target_column=target_col,
            key_codecs=tuple(_codec(c, f"{kind.name}.{c.name}") for c in key),
        )

    def _fields(self, owner: str, table: Table, skip: set[str]) -> tuple[FieldSpec, ...]:
        out: list[FieldSpec] = []
        for col in table.columns:
            if col.name in skip or (col.name == "id" and col.primary_key):
                continue
            if col.foreign_keys:
                ref = self._ref(owner, col)
                name = _ref_field_name(col)
                out.append(FieldSpec(name, col, _codec(col, f"{owner}.{name}"), ref))
            else:
                out.append(FieldSpec(col.name, col, _codec(col, f"{owner}.{col.name}")))
        names = [f.name for f in out]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise RegistryError(f"{owner}: field names collide: {sorted(dupes)}")
        return tuple(sorted(out, key=lambda f: f.name))

    def _build(self, k: Kind) -> KindSpec:
        table = _table_of(k.model)
        fields = self._fields(k.name, table, set(k.key))
        children: list[ChildSpec] = []
        for child in k.children:
            ctable = _table_of(child.table)
            if child.parent not in ctable.c:
                raise RegistryError(f"{k.name}.{child.field}: {ctable.name} has no column {child.parent}")
            pcol = ctable.c[child.parent]
            if not any(fk.column.table is table for fk in pcol.foreign_keys):
                raise RegistryError(
                    f"{k.name}.{child.field}: {ctable.name}.{child.parent} does not point at {table.name}"
                )
            cfields = self._fields(f"{k.name}.{child.field}", ctable, {child.parent})
            if not cfields:
                raise RegistryError(f"{k.name}.{child.field}: child table {ctable.name} has no fields")
            children.append(ChildSpec(child.field, ctable, pcol, cfields))
        all_names = [f.name for f in fields] + [c.field for c in children]
        if len(set(all_names)) != len(all_names):
            raise RegistryError(f"{k.name}: a child field collides with a column field")
        deps = {f.ref.kind for f in fields if f.ref} | {
            f.ref.kind for c in children for f in c.fields if f.ref
        }
        for extra in k.after:
            if extra not in self._declared:
                raise RegistryError(f"{k.name}: 'after' names unknown kind {extra!r}")
        deps |= set(k.after)
        if k.name in deps:
            raise RegistryError(f"{k.name}: a kind may not reference itself")
        id_col = table.c["id"] if "id" in table.c and table.c["id"].primary_key else None
        if children and id_col is None:
            raise RegistryError(f"{k.name}: kinds with children need an integer id column")
        spec = KindSpec(
            name=k.name,
            table=table,
            key=self._keys[k.name],
            key_codecs=tuple(_codec(c, f"{k.name}.{c.name}") for c in self._keys[k.name]),
            fields=fields,
            children=tuple(children),
            depends=tuple(sorted(deps)),
            id_column=id_col,
            version_column=_version_column(k.model),
            append_only=k.append_only,
        )
        spec.field_map.update({f.name: f for f in fields})
        return spec

    @staticmethod
    def _toposort(declared: list[Kind], specs: dict[str, KindSpec]) -> tuple[str, ...]:
        """Kahn's algorithm; among ready kinds, the earliest declared goes first."""
        rank = {k.name: i for i, k in enumerate(declared)}
        pending = {name: set(spec.depends) for name, spec in specs.items()}
        order: list[str] = []
        while pending:
            ready = sorted((n for n, deps in pending.items() if not deps), key=rank.__getitem__)
            if not ready:
                cycle = ", ".join(f"{n} -> {sorted(d)}" for n, d in sorted(pending.items()))
                raise RegistryError(f"dependency cycle among kinds: {cycle}")
            name = ready[0]
            order.append(name)
            del pending[name]
            for deps in pending.values():
                deps.discard(name)
        return tuple(order)

    # -- queries --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[KindSpec]:
        return iter(self.specs.values())

    def __getitem__(self, name: str) -> KindSpec:
        return self.specs[name]

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def covered_tables(self) -> set[str]:
        return set(self._by_table) | self._child_tables

    def select(self, models: Sequence[str] | None = None, exclude: Sequence[str] | None = None) -> list[str]:
        """Kind names in import order, filtered by ``--models`` / ``--exclude``."""
        from ..errors import ValidationError

        for opt, names in (("models", models), ("exclude", exclude)):
            unknown = [n for n in names or () if n not in self.specs]
            if unknown:
                raise ValidationError(
                    f"unknown kind {unknown[0]!r} (kinds: {', '.join(self.order)})", field=opt
                )
        chosen = [n for n in self.order if not models or n in models]
        return [n for n in chosen if n not in set(exclude or ())]

    def describe(self) -> list[dict[str, object]]:
        """What each kind carries (for help and tests)."""
        return [
            {
                "kind": s.name,
                "table": s.table.name,
                "natural_key": [c.name for c in s.key],
                "depends": list(s.depends),
                "references": {f.name: f.ref.kind for f in s.fields if f.ref},
                "children": {c.field: c.table.name for c in s.children},
            }
            for s in self
        ]
