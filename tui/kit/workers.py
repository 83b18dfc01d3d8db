"""Database and file work off the UI thread: the app's one worker idiom.

A screen hands a job to :func:`run_job` (a function of the :class:`Runtime`, with a progress
callback) or to :func:`run_db` (a function of a ``ServiceContext``, run inside one read or write
unit of work). The job runs in a thread worker; its outcome comes back to the UI thread as one
typed message, :class:`JobDone`, which the app dispatches to the callback the screen gave
(``on_done`` with the result, ``on_error`` with the one-line refusal of tui/kit/errors.py).
Progress reports come back the same way (:class:`JobProgress`). Read results of a cancelled
worker (a newer filter superseded it) are dropped; write results are always delivered, so the
user learns what was saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from textual.message import Message
from textual.worker import Worker, get_current_worker

from ..session import session_of
from .errors import DatabaseProblem, InternalProblem, as_refusal

if TYPE_CHECKING:
    from nodedesk.core.runtime import Runtime
    from textual.dom import DOMNode

__all__ = [
    "DatabaseProblem",
    "JobDone",
    "JobProgress",
    "Progress",
    "StoppedByUser",
    "in_unit_of_work",
    "run_db",
    "run_job",
]

T = TypeVar("T")
Progress = Callable[[str, int, int], None]  # (kind, done, total)


class StoppedByUser(NodedeskError):
    """The job was stopped on request before it finished; nothing was written."""


class _Stop(Exception):
    """Raised inside the job by the progress callback; never seen by the UI."""


@dataclass
class JobDone(Message):
    """A thread worker's outcome, for the UI thread: ``callback(value)``. A read's outcome is
    dropped once the screen or widget that asked is gone (``owner`` no longer attached); a
    write's is always delivered."""

    callback: Callable[[Any], None]
    value: object
    owner: DOMNode | None = None
    always: bool = True

    def wanted(self) -> bool:
        return self.always or self.owner is None or self.owner.is_attached


@dataclass
class JobProgress(Message):
    """A progress report of a running job, for the UI thread."""

    callback: Progress
    kind: str
    done: int
    total: int


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


def _os_line(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def run_job(
    node: DOMNode,
    work: Callable[[Runtime, Progress], T],
    *,
    on_done: Callable[[T], None],
    on_error: Callable[[NodedeskError], None] | None = None,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
    deliver_if_cancelled: bool = True,
    group: str = "db",
    exclusive: bool = False,
) -> Worker[None]:
    """Run ``work(runtime, progress)`` in a thread worker; its outcome comes back as a
    :class:`JobDone` message. A stop request (``stop`` set, or the worker cancelled) makes the
    next progress report raise, so the job unwinds (an export removes its partial directory, an
    import rolls back) and ``on_error`` hears :class:`StoppedByUser`."""
    app = node.app
    runtime = session_of(node).runtime

    def report(exc: NodedeskError) -> None:
        if on_error is not None:
            on_error(exc)
        else:
            app.notify(str(exc), title="Refused", severity="error", markup=False)

    def job() -> None:
        worker = get_current_worker()

        def deliver(callback: Callable[[Any], None], value: object) -> None:
            if worker.is_cancelled and not deliver_if_cancelled:
                return
            app.post_message(JobDone(callback, value, node, deliver_if_cancelled))

        def progress(kind: str, done: int, total: int) -> None:
            if worker.is_cancelled or (stop is not None and stop.is_set()):
                raise _Stop
            if on_progress is not None:
                app.post_message(JobProgress(on_progress, kind, done, total))

        try:
            result = work(runtime, progress)
        except _Stop:
            deliver(report, StoppedByUser("stopped before it finished: nothing was written"))
            return
        except OSError as exc:
            deliver(report, NodedeskError(_os_line(exc)))
            return
        except Exception as exc:  # the same line as everywhere (tui/kit/errors.py)
            problem = as_refusal(exc)
            if isinstance(problem, InternalProblem):  # a bug: say so in the app, log the details
                app.log.error("worker failed", exc)
            deliver(report, problem)
            return
        deliver(on_done, result)

    return node.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False)


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
    """Run ``work(ctx)`` in one unit of work in a thread worker (:func:`run_job`)."""
    return run_job(
        node,
        lambda runtime, _progress: in_unit_of_work(runtime, work, write=write, dry_run=dry_run),
        on_done=on_done,
        on_error=on_error,
        deliver_if_cancelled=write,
        group=group,
        exclusive=exclusive,
    )
