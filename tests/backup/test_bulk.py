"""The Python-side defaults a PostgreSQL COPY restore fills in (core/backup/bulk.py)."""

from __future__ import annotations

import itertools
from typing import Any

from nodedesk.core.backup.bulk import _defaults
from sqlalchemy import Column, Integer, MetaData, String, Table, func


def _table(**defaults: Any) -> Table:
    columns = [Column(name, String(40), default=value) for name, value in defaults.items()]
    return Table("t", MetaData(), Column("id", Integer, primary_key=True), *columns)


def test_plain_defaults_are_made_per_row_without_a_context() -> None:
    counter = itertools.count(1)
    found = _defaults(_table(label="x", serial=lambda: f"n{next(counter)}"), {"id"})
    assert found is not None
    makers = dict(found)
    assert makers["label"]() == "x"
    assert [makers["serial"]() for _ in range(3)] == ["n1", "n2", "n3"]
    assert _defaults(_table(label="x"), {"id", "label"}) == []


def test_a_default_that_reads_the_context_or_is_sql_leaves_copy_for_plain_inserts() -> None:
    assert _defaults(_table(seen=lambda context: context.current_parameters["id"]), {"id"}) is None
    assert _defaults(_table(stamp=func.now()), {"id"}) is None
