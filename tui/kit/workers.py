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
from nodedesk.core.errors import NodedeskError
from textual.worker import Worker, get_current_worker

from .errors import DatabaseProblem, InternalProblem, as_refusal

if TYPE_CHECKING:
    from nodedesk.core.runtime import Runtime
    from textual.dom import DOMNode

__all__ = ["DatabaseProblem", "in_unit_of_work", "run_db"]

T = TypeVar("T")


def in_unit_of_work(
    runtime: Runtime, work: Callable[[ServiceContext], T], *, write: bool = False, dry_run: bool = False
) -> T:
    """``work(ctx)`` inside one read or write unit of work (call it in a thread worker).

    Whatever stops it is raised as the one-line :class:`NodedeskError` the command line would
    print (tui/kit/errors.py): a refusal as is, the busy line, ``database: ...``, or an internal
    error (also logged by the caller)."""
    try:
        unit = runtime.write(dry_run=dry_run) if write else runtime.read()
        with unit as ctx:
            return work(ctx)
    except NodedeskError:
        raise
    except Exception as exc:
        raise as_refusal(exc) from exc


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
            result = in_unit_of_work(runtime, work, write=write, dry_run=dry_run)
        except NodedeskError as exc:
            if isinstance(exc, InternalProblem):  # a bug: say so in the app, log the details
                app.log.error("worker failed", exc.__cause__)
            deliver(report, exc, worker.is_cancelled)
            return
        deliver(on_done, result, worker.is_cancelled)

    return node.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False)
