"""One line for whatever stopped a unit of work, shared by the command line and the app.

The command line (tui/cli/) prints the line and exits 1; the app (tui/workers.py) shows it as
a refusal. A refusal (:class:`NodedeskError`) is its own line; a database error that means
"waited too long for another admin's save" is the busy line (core/db/engine.py); any other
database error is ``database: <its first line>``; anything else is an internal error.
"""

from __future__ import annotations

from nodedesk.core.db.engine import busy_error
from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from sqlalchemy.exc import SQLAlchemyError


class DatabaseProblem(NodedeskError):
    """The database could not be reached or refused the statement."""


class InternalProblem(NodedeskError):
    """A bug: the app says so in one line instead of crashing."""


def database_line(exc: SQLAlchemyError) -> str:
    """The first line of the driver's message (without SQLAlchemy's statement dump)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return one_line(text.splitlines()[0]) if text else type(exc).__name__


def as_refusal(exc: BaseException, *, max_len: int | None = None) -> NodedeskError:
    """The error to show for ``exc``: a :class:`NodedeskError` whose text is one line."""
    if isinstance(exc, NodedeskError):
        return exc
    if isinstance(exc, SQLAlchemyError):
        busy = busy_error(exc)
        return busy if busy is not None else DatabaseProblem(f"database: {database_line(exc)}")
    return InternalProblem(f"internal error: {type(exc).__name__}: {one_line(str(exc), max_len=max_len)}")
