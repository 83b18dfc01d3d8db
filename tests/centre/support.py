"""Helpers shared by the tests of this folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.runtime import Runtime
from sqlalchemy import event


def queries(runtime: Runtime, read: Callable[[ServiceContext], Any]) -> int:
    """How many SQL statements ``read`` runs inside one read unit of work (opening it aside)."""
    seen = [0]
    engine = runtime.database.engine

    def log(*_a: object) -> None:
        seen[0] += 1

    with runtime.read() as ctx:
        event.listen(engine, "before_cursor_execute", log)
        try:
            read(ctx)
        finally:
            event.remove(engine, "before_cursor_execute", log)
    return seen[0]
