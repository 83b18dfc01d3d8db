"""One page of an ordered query, read from whichever end is nearer.

``OFFSET n`` makes the database walk n rows first: the last page of 200,000 reservations walks
them all. A page in the second half is read with the order reversed from the end instead (the
same rows, put back in order), so the first and the last page cost the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session


def page(
    session: Session,
    ordered: Callable[[bool], Select[Any]],
    total: int,
    offset: int,
    limit: int,
    *,
    rows: bool = False,
) -> list[Any]:
    """Rows ``offset`` to ``offset + limit`` of ``ordered(False)``; ``ordered(True)`` must give
    the exact reverse order (every sort key, tie-breakers included, flipped). The first column
    of each row (mapped objects), or with ``rows`` whole result rows."""

    def run(stmt: Select[Any]) -> list[Any]:
        return list(session.execute(stmt).all()) if rows else list(session.scalars(stmt).unique())

    offset = max(offset, 0)
    if offset >= total or offset <= total // 2:
        return run(ordered(False).offset(offset).limit(limit))
    count = min(limit, total - offset)
    skip = total - offset - count  # rows after this page
    found = run(ordered(True).offset(skip).limit(count))
    found.reverse()
    return found
