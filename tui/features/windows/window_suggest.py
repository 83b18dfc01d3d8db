"""The least-impact starts for the window being typed (the form's "suggest" key).

The service (``core.services.downtime.suggest``) judges every quarter hour of the next two
weeks for a window as long as the form's, on the form's scope, in a worker; the list shows the
best ones with their cost, a "!" where one overlaps another window or an outage on the same
nodes. Enter hands the chosen candidate back to the form, which fills its start and end.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.downtime import suggest as svc
from nodedesk.core.services.downtime.windows import Scope
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...kit import render
from ...kit.workers import run_db
from ...session import session_of

RANGE = timedelta(days=14)
COUNT = 8


def candidate_line(c: svc.Candidate, tz: str) -> str:
    """``Fri 20 Feb 06:00 → 18:00 · 16.00 USD · 2.00 h · 1 renter`` (and ``!`` when marked)."""
    start, end = timeutil.to_local(c.start, tz), timeutil.to_local(c.end, tz)
    until = end.format("HH:mm") if end.date() == start.date() else end.format("ddd D MMM HH:mm")
    cost = (
        "free · no reservation hit"
        if c.free
        else (f"{c.not_billed:.2f} {c.impact.currency} · {c.hours:.2f} h · {c.renters} renter(s)")
    )
    mark = " · ! overlaps" if c.marked else ""
    return f"{start.format('ddd D MMM HH:mm')} → {until} · {cost}{mark}"


class WindowSuggestScreen(ModalScreen[svc.Candidate | None]):
    """Pick one of the least-impact starts."""

    CSS_PATH = "windows.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, duration: timedelta, scope: Scope, start: datetime) -> None:
        super().__init__()
        self.duration, self.scope, self.start = duration, scope, start
        self.found: svc.Suggestion | None = None

    def compose(self) -> ComposeResult:
        label = render.one_line(self.scope.label(), max_len=30)
        with Vertical(classes="dialog", id="suggest-dialog"):
            yield Static(
                Content.assemble(
                    ("Least-impact starts", "bold"),
                    f" · {timeutil.format_duration(self.duration)} on {label} · next 14 days",
                ),
                classes="dialog-title",
            )
            yield Static(Content("Finding the starts that cost the least…"), id="suggest-status")
            yield OptionList(id="suggest-list", compact=True)
            yield Static(
                Content("enter: use this start · esc: cancel · ! overlaps a window or outage"), classes="hint"
            )

    def on_mount(self) -> None:
        duration, scope, start = self.duration, self.scope, self.start

        def work(ctx: ServiceContext) -> svc.Suggestion:
            return svc.suggest(
                ctx,
                duration,
                start,
                start + RANGE,
                nodes=scope.nodes,
                node_types=scope.node_types,
                count=COUNT,
            )

        run_db(self, work, on_done=self._found, on_error=self._failed, group="suggest", exclusive=True)

    def _found(self, found: svc.Suggestion) -> None:
        self.found = found
        tz = session_of(self).tz
        box = self.query_one(OptionList)
        box.clear_options()
        box.add_options([Option(candidate_line(c, tz), id=str(i)) for i, c in enumerate(found.candidates)])
        self.query_one("#suggest-status", Static).update(Content(found.summary()))
        if found.candidates:
            box.highlighted = 0
            box.focus()

    def _failed(self, exc: NodedeskError) -> None:
        self.query_one("#suggest-status", Static).update(
            Content(f"No suggestion: {render.one_line(str(exc))}")
        )

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if self.found is not None and event.option.id is not None:
            self.dismiss(self.found.candidates[int(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)
