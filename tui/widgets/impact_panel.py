"""A compact, live impact preview for a proposed maintenance window.

The form calls :meth:`ImpactPanel.propose` whenever start, end or scope change; after a short
pause (debounce) a thread worker runs :func:`nodedesk.core.services.downtime.impact.assess` and posts an
:class:`ImpactPanel.Computed` message, which the panel turns into: how many reservations are
hit, the hours and the amount not billed, warnings for overlapping windows and outages, and a
scrollable list with one line per reservation. A result for an older proposal is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.downtime.impact import WindowImpact, assess
from nodedesk.core.services.downtime.windows import Scope
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from ..kit import render
from ..kit.workers import in_unit_of_work

DEBOUNCE_SECONDS = 0.3
SHOWN_WARNINGS = 2


@dataclass(frozen=True)
class Proposal:
    start: datetime
    end: datetime
    scope: Scope
    exclude_window_id: int | None = None


class ImpactPanel(Vertical):
    DEFAULT_CSS = """
    ImpactPanel {
        height: auto;
        max-height: 8;
        border-top: solid $primary;
        padding: 0 1;
    }
    ImpactPanel #impact-summary {
        text-style: bold;
    }
    ImpactPanel #impact-warnings, ImpactPanel #impact-list {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ImpactPanel #impact-warnings {
        color: $text-warning;
    }
    ImpactPanel #impact-lines {
        height: auto;
        max-height: 3;
    }
    """

    class Computed(Message):
        """The impact of ``proposal`` (or why it could not be computed)."""

        def __init__(self, proposal: Proposal, impact: WindowImpact | None, error: str = "") -> None:
            super().__init__()
            self.proposal = proposal
            self.impact = impact
            self.error = error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.proposal: Proposal | None = None
        self.shown: Proposal | None = None
        self.impact: WindowImpact | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content("Impact: waiting for a valid start, end and scope"), id="impact-summary")
        yield Static(id="impact-warnings")
        with VerticalScroll(id="impact-lines"):
            yield Static(id="impact-list")

    def on_mount(self) -> None:
        self.query_one("#impact-warnings").display = False
        self.query_one("#impact-lines").display = False

    # ------------------------------------------------------------------ input

    def propose(self, proposal: Proposal | None, why_not: str = "") -> None:
        """A new proposal (None: the form's values are not valid yet, ``why_not`` says so)."""
        if proposal == self.proposal and (proposal is not None or not why_not):
            return
        self.proposal = proposal
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if proposal is None:
            self.impact = None
            self._show_text(f"Impact: {why_not or 'waiting for a valid start, end and scope'}")
            return
        if proposal == self.shown and self.impact is not None:
            self._show_impact(self.impact)  # back to what is already shown
            return
        self._summary(Content("Impact: checking reservations…"))
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._compute)

    def _compute(self) -> None:
        self._timer = None
        proposal = self.proposal
        if proposal is None:
            return
        runtime = self.app.session.runtime  # type: ignore[attr-defined]

        def job() -> None:
            def work(ctx: ServiceContext) -> WindowImpact:
                return assess(
                    ctx,
                    proposal.start,
                    proposal.end,
                    proposal.scope,
                    exclude_window_id=proposal.exclude_window_id,
                )

            try:
                message = ImpactPanel.Computed(proposal, in_unit_of_work(runtime, work))
            except NodedeskError as exc:  # the one-line mapping (tui/kit/errors.py)
                message = ImpactPanel.Computed(proposal, None, exc.message)
            self.post_message(message)

        self.run_worker(job, thread=True, group="impact", exclusive=True, exit_on_error=False)

    # ------------------------------------------------------------------ output

    def on_impact_panel_computed(self, message: ImpactPanel.Computed) -> None:
        if message.proposal != self.proposal:
            return  # an older proposal: a newer one is on its way
        self.shown = message.proposal
        self.impact = message.impact
        if message.impact is None:
            self._show_text(f"Impact: not available ({message.error})")
            return
        self._show_impact(message.impact)

    def _summary(self, content: Content) -> None:
        self.query_one("#impact-summary", Static).update(content)

    def _show_text(self, text: str) -> None:
        self._summary(Content(text))
        self.query_one("#impact-warnings").display = False
        self.query_one("#impact-lines").display = False

    def _show_impact(self, a: WindowImpact) -> None:
        tz = self.app.session.tz  # type: ignore[attr-defined]
        if a.lines:
            pending = sum(1 for line in a.lines if line.status == "pending")
            summary = Content.assemble(
                "Impact: ",
                (f"{len(a.lines)} reservation(s) affected", "bold"),
                f" · {a.hours:.2f} h · ",
                (f"{a.not_billed:.2f} {a.currency} not billed", "bold"),
                f" (incl. {pending} pending)" if pending else "",
            )
        else:
            summary = Content(f"Impact: no pending or approved reservation on these {a.node_count} node(s)")
        self._summary(summary)

        warnings = a.warning_texts(tz)
        box = self.query_one("#impact-warnings", Static)
        box.display = bool(warnings)
        shown = [f"⚠ {render.one_line(w)}" for w in warnings[:SHOWN_WARNINGS]]
        if len(warnings) > SHOWN_WARNINGS:
            shown.append(f"⚠ and {len(warnings) - SHOWN_WARNINGS} more overlap(s)")
        box.update(Content("\n".join(shown)))

        lines = [
            render.one_line(
                f"#{x.reservation_id} {x.node} {x.project} ({x.owner}, {x.status}): "
                f"{x.hours:.2f} h, {x.not_billed:.2f} {a.currency}"
                + (" (part unpriced)" if x.missing_rate else "")
            )
            for x in a.lines
        ]
        self.query_one("#impact-lines").display = bool(lines)
        self.query_one("#impact-list", Static).update(Content("\n".join(lines)))
