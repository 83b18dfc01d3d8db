"""Pieces shared by the export and import screens.

- :func:`run_job` runs a backup job (a function of the :class:`Runtime`: export and import open
  their own snapshot or transaction) in a thread worker and relays its per-kind progress to the
  UI thread. A stop request (or the app shutting down) makes the next progress report raise, so
  the export removes its partial directory and the import rolls back: nothing is left behind.
- :class:`KindProgress`: one text progress bar per kind (``█``/``░`` plus the numbers, so it
  reads without colour).
- :class:`PathSuggester`: completes directory names; the file system is read in a thread.
- :class:`ImportConfirmScreen`: the question before an import.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

from nodedesk.core.backup import registry
from nodedesk.core.errors import NodedeskError
from nodedesk.core.runtime import Runtime
from nodedesk.core.safetext import one_line
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Static
from textual.worker import Worker, get_current_worker

from ...kit.errors import InternalProblem, as_refusal

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from ...session import AppSession

T = TypeVar("T")
Progress = Callable[[str, int, int], None]


class _Stop(Exception):
    """Raised inside the job by the progress callback; never seen by the UI."""


class StoppedByUser(NodedeskError):
    """The job was stopped on request before it finished; nothing was written."""


def backup_refusal(session: AppSession) -> str:
    """Why this user may not export or import ('' when they may). The core checks again."""
    if session.readonly:
        return "This session is read-only: backups cannot be exported or imported from it."
    if session.can("backup"):
        return ""
    actor = session.actor
    roles = ", ".join(sorted(actor.roles)) or "no role"
    return (
        f"Only admins may export or import backups; {actor.username} has {roles}. "
        "An export holds every user, project and invoice, and an import can change all of them. "
        "Ask an admin."
    )


def _os_message(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def run_job(
    node: DOMNode,
    work: Callable[[Runtime, Progress], T],
    *,
    on_done: Callable[[T], None],
    on_error: Callable[[NodedeskError], None],
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
    keep_result_if_cancelled: bool = True,
    group: str = "backup",
    exclusive: bool = False,
) -> Worker[None]:
    """Run ``work(runtime, progress)`` in a thread; call back on the UI thread.

    Results of a job that writes are always delivered (the user must learn what happened);
    a read job superseded by a newer one (``keep_result_if_cancelled=False``) is dropped.
    """
    app = node.app
    runtime: Runtime = app.session.runtime  # type: ignore[attr-defined]

    def job() -> None:
        worker = get_current_worker()

        def deliver(callback: Callable[[Any], None], value: object) -> None:
            if worker.is_cancelled and not keep_result_if_cancelled:
                return
            with suppress(RuntimeError):  # the app is shutting down: nothing left to show
                app.call_from_thread(callback, value)

        def progress(kind: str, done: int, total: int) -> None:
            if worker.is_cancelled or (stop is not None and stop.is_set()):
                raise _Stop
            if on_progress is not None:
                with suppress(RuntimeError):
                    app.call_from_thread(on_progress, kind, done, total)

        try:
            result = work(runtime, progress)
        except _Stop:
            deliver(on_error, StoppedByUser("stopped before it finished: nothing was written"))
            return
        except NodedeskError as exc:
            deliver(on_error, exc)
            return
        except OSError as exc:
            deliver(on_error, NodedeskError(_os_message(exc)))
            return
        except Exception as exc:  # the same line as everywhere (tui/kit/errors.py)
            problem = as_refusal(exc)
            if isinstance(problem, InternalProblem):  # a bug: say so in the app instead of crashing it
                app.log.error("backup job failed", exc)
            deliver(on_error, problem)
            return
        deliver(on_done, result)

    return node.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False)


# ---------------------------------------------------------------------------------- progress

BAR = 24


def bar(done: int, total: int | None, width: int = BAR) -> str:
    """``████░░░░`` — readable in monochrome; an unknown total shows an empty bar."""
    if total is None:
        return "░" * width
    filled = min(width, done * width // total) if total else width
    return "█" * filled + "░" * (width - filled)


class KindProgress(Vertical):
    """An overall line, then one line per kind: ``nodes  ██████░░░░  12/24``.

    Rows exist for every registered kind from the start (no mounting while a job runs); a run
    shows the rows of its kinds only.
    """

    DEFAULT_CSS = """
    KindProgress {
        height: auto;
        margin-top: 1;
    }
    KindProgress .kind-progress {
        height: 1;
    }
    KindProgress #progress-overall {
        text-style: bold;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.names = [spec.name for spec in registry()]
        self.kinds: list[str] = []
        self.done: dict[str, int] = {}
        self.totals: dict[str, int | None] = {}
        self.finished: set[str] = set()
        self.verb = ""

    def compose(self) -> ComposeResult:
        yield Static(id="progress-overall", classes="kind-progress")
        for name in self.names:
            yield Static(id=f"progress-{name}", classes="kind-progress")

    def start(self, verb: str, kinds: list[str], totals: dict[str, int] | None = None) -> None:
        """``totals`` known in advance (import: from the manifest) or learnt as each kind starts."""
        self.verb = verb
        self.kinds = [k for k in kinds if k in self.names]
        self.done = dict.fromkeys(self.kinds, 0)
        self.totals = {k: (totals or {}).get(k) for k in self.kinds}
        self.finished = set()
        for name in self.names:
            self.query_one(f"#progress-{name}", Static).display = name in self.kinds
        for kind in self.kinds:
            self._show(kind)
        self._overall()
        self.display = True

    def update_kind(self, kind: str, done: int, total: int) -> None:
        if kind not in self.done:
            return
        self.done[kind], self.totals[kind] = done, total
        if done >= total:
            self.finished.add(kind)
        row = self._show(kind)
        self._overall()
        row.scroll_visible(animate=False)

    def _show(self, kind: str) -> Static:
        done, total = self.done[kind], self.totals[kind]
        count = f"{done:,}/{total:,}" if total is not None else "waiting"
        mark = "✓" if kind in self.finished else " "
        row = self.query_one(f"#progress-{kind}", Static)
        row.update(Content(f"{mark} {kind:<24} {bar(done, total)} {count}"))
        return row

    def _overall(self) -> None:
        known = [t for t in self.totals.values() if t is not None]
        if len(known) == len(self.kinds):  # every total known: count records
            done, total = sum(self.done.values()), sum(known)
            text = f"{done:,}/{total:,} records"
        else:  # totals learnt kind by kind (export): count kinds
            done, total = len(self.finished), len(self.kinds)
            text = f"{done}/{total} kinds"
        self.query_one("#progress-overall", Static).update(
            Content(f"  {self.verb:<24} {bar(done, total)} {text}")
        )


# ---------------------------------------------------------------------------------- paths


def complete_directory(value: str) -> str | None:
    """``~/node`` → ``~/nodedesk-export-2026-02-15`` when such a directory exists (first by name)."""
    expanded = os.path.expanduser(value)
    head, tail = os.path.split(expanded)
    if not tail:
        return None
    try:
        with os.scandir(head or ".") as entries:
            names = sorted(
                e.name
                for e in entries
                if e.name.startswith(tail)
                and e.name != tail
                and (tail.startswith(".") or not e.name.startswith("."))
                and e.is_dir()
            )
    except OSError:
        return None
    return value + names[0][len(tail) :] if names else None


class PathSuggester(Suggester):
    """Suggests existing directory names as you type (→ accepts); reads the disk in a thread."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value.strip():
            return None
        return await asyncio.to_thread(complete_directory, value)


# ---------------------------------------------------------------------------------- confirmation


class ImportConfirmScreen(ModalScreen[bool]):
    """States the mode and the counts. A dry run is the default choice; a real import is not."""

    DEFAULT_CSS = """
    ImportConfirmScreen #confirm-body {
        height: auto;
        max-height: 17;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: Content, *, dry_run: bool) -> None:
        super().__init__()
        self.question, self.dry_run = question, dry_run

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="import-confirm"):
            with VerticalScroll(id="confirm-body"):
                yield Static(self.question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                label = "Run the dry run (y)" if self.dry_run else "Import (y)"
                yield Button(label, id="yes", variant="primary" if self.dry_run else "warning", compact=True)
                yield Button("Cancel (n)", id="no", compact=True)

    def on_mount(self) -> None:
        # enter confirms a dry run at once; a real import needs y (or a move to its button)
        self.query_one("#yes" if self.dry_run else "#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


def inert_path(value: object) -> str:
    return one_line(str(value), max_len=200)
