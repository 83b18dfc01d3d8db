"""Inserting many rows quickly, with exactly the values an ORM insert would store.

PostgreSQL: ``COPY ... FROM STDIN`` through the connection's own transaction. Each value first
passes through its column type's bind processing (so ``UTCDateTime`` and ``ExactDecimal`` check
and convert exactly as usual), and columns the rows leave out get their Python-side defaults;
server defaults and every constraint are the database's as always. COPY is several times faster
than row-by-row ``executemany`` on a large restore.

SQLite (and anything unusual, e.g. a column whose default is a SQL expression): SQLAlchemy's
``executemany``, which is as fast as the driver gets there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Table


def _defaults(table: Table, present: set[str]) -> list[tuple[str, Callable[[], Any]]] | None:
    """Python-side defaults for the columns the rows leave out; None if one is not plain."""
    out: list[tuple[str, Callable[[], Any]]] = []
    for col in table.columns:
        if col.name in present or col.default is None:
            continue
        default = col.default
        if default.is_scalar:
            out.append((col.name, lambda v=default.arg: v))  # type: ignore[attr-defined]
        elif default.is_callable:
            out.append((col.name, lambda fn=default.arg: fn(None)))  # type: ignore[attr-defined]
        else:
            return None
    return out


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) into ``table`` in the current transaction."""
    if not rows:
        return
    dialect = conn.dialect
    defaults = _defaults(table, set(rows[0])) if dialect.name == "postgresql" else None
    if defaults is None:
        conn.execute(table.insert(), rows)
        return
    keys = list(rows[0])
    names = keys + [name for name, _ in defaults]
    procs = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]

    def processed() -> Iterator[list[Any]]:
        for row in rows:
            values = [row[k] for k in keys] + [make() for _name, make in defaults]
            yield [v if p is None or v is None else p(v) for p, v in zip(procs, values, strict=True)]

    quote = dialect.identifier_preparer.quote
    target = f"{dialect.identifier_preparer.format_table(table)} ({', '.join(quote(n) for n in names)})"
    raw = conn.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:  # type: ignore[attr-defined]
        for values in processed():
            copy.write_row(values)
