"""The big centre (:mod:`tests.benchmarks.bigcentre`) on a back end, for a benchmark."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.benchmarks import bigcentre


def centre_url(backend: str, request: Any) -> tuple[str, str, Callable[[], None] | None]:
    """(URL, where it came from, cleanup). SQLite reads the cached file; PostgreSQL builds the
    centre in a fresh schema (skipped when the server is unreachable)."""
    if backend == "sqlite":
        path, built = bigcentre.cached_sqlite()
        return f"sqlite:///{path}", f"{'built' if built else 'cached'} {path}", None
    from tests.backup.conftest import _pg_schema, drop_pg_schema

    request.getfixturevalue("pg_worker_url")  # skips when PostgreSQL is unreachable
    schema, url = _pg_schema(migrated=False)
    bigcentre.build(url)
    return url, f"built in schema {schema}", lambda: drop_pg_schema(schema)
