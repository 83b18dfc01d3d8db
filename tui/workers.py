"""Database work off the UI thread.

Every screen calls :func:`run_db` with a function of a ``ServiceContext``; it runs in a thread
worker inside one read or write unit of work, and its result (or the refusal) is handed back to
the UI thread. Read results of a cancelled worker (e.g. a newer filter superseded it) are
dropped; write results are always delivered, so the user learns what was saved.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, TypeVar

from nodedesk.core.context import ServiceContext
from nodedesk.core.db.engine import busy_error
from nodedesk.core.errors import NodedeskError
from sqlalchemy.exc import SQLAlchemyError
from textual.worker import Worker, get_current_worker

if TYPE_CHECKING:
    from textual.dom import DOMNode

T = TypeVar("T")


class DatabaseProblem(NodedeskError):
    """The database could not be reached or refused the statement."""


def _database_message(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_db(
    node: DOMNode,
    work: Callable[[ServiceContext], T],
    *,
    on_done: Callable[[T], None],
    on_error: Callable[[NodedeskError], None] | None = None,
    write: bool = False,
    dry_run: bool = False,
    group: str = "db",
    exclusive: bool = False,
) -> Worker[None]:
    """Run ``work(ctx)`` in a thread worker; call ``on_done``/``on_error`` on the UI thread."""
    app = node.app
    runtime = app.session.runtime  # type: ignore[attr-defined]

    def report(exc: NodedeskError) -> None:
        if on_error is not None:
            on_error(exc)
        else:
            app.notify(str(exc), title="Refused", severity="error", markup=False)

    def deliver(callback: Callable[..., None], value: object, cancelled: bool) -> None:
        if cancelled and not write:
            return
        with suppress(RuntimeError):  # the app is shutting down: nothing left to show
            app.call_from_thread(callback, value)

    def job() -> None:
        worker = get_current_worker()
        try:
            unit = runtime.write(dry_run=dry_run) if write else runtime.read()
            with unit as ctx:
                result = work(ctx)
        except NodedeskError as exc:
            deliver(report, exc, worker.is_cancelled)
            return
        except SQLAlchemyError as exc:
            busy = busy_error(exc)  # the same line as the command line (core/db/engine.py)
            problem = busy or DatabaseProblem(f"database: {_database_message(exc)}")
            deliver(report, problem, worker.is_cancelled)
            return
        except Exception as exc:  # a bug: say so in the app instead of crashing it
            problem = NodedeskError(f"internal error: {type(exc).__name__}: {exc}")
            deliver(report, problem, worker.is_cancelled)
            app.log.error("worker failed", exc)
            return
        deliver(on_done, result, worker.is_cancelled)

    return node.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False)
