"""A compact, live impact preview for a proposed maintenance window.

The form calls :meth:`ImpactPanel.propose` whenever start, end or scope change; after a short
pause (debounce) a thread worker runs :func:`nodedesk.core.services.downtime.impact.assess` and posts an
:class:`ImpactPanel.Computed` message, which the panel turns into: how many reservations are
hit, the hours and the amount not billed, warnings for overlapping windows and outages, and a
scrollable list with one line per reservation. A result for an older proposal is dropped.

Under the reservations the panel lists where each could move: the free nodes of its type
(``moves.plan_moves``, help/windows.md "Moving renters off a window"). The screen showing the
panel binds a key to :meth:`ImpactPanel.move_all`: one confirmation listing the planned moves,
then ``moves.move_all`` in a worker, a result line, and the panel reads the impact again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.downtime.impact import WindowImpact, assess
from nodedesk.core.services.downtime.windows import Scope
from nodedesk.core.services.rentals import moves
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from ..kit import render
from ..kit.access import not_allowed
from ..kit.confirm import ConfirmScreen
from ..kit.workers import in_unit_of_work, run_db
from ..session import session_of

DEBOUNCE_SECONDS = 0.3
SHOWN_WARNINGS = 2
SHOWN_FREE = 2  # free nodes named per reservation (then "and N more"): one line at 80 columns


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
        max-height: 9;
        border-top: solid $primary;
        padding: 0 1;
    }
    ImpactPanel #impact-summary {
        text-style: bold;
    }
    ImpactPanel #impact-warnings, ImpactPanel #impact-list, ImpactPanel #impact-moves {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ImpactPanel #impact-warnings {
        color: $text-warning;
    }
    ImpactPanel #impact-lines {
        height: auto;
        max-height: 4;
    }
    ImpactPanel #impact-moves {
        color: $text-muted;
    }
    """

    class Computed(Message):
        """The impact of ``proposal`` (or why it could not be computed)."""

        def __init__(
            self,
            proposal: Proposal,
            impact: WindowImpact | None,
            error: str = "",
            plan: moves.MovePlan | None = None,
        ) -> None:
            super().__init__()
            self.proposal = proposal
            self.impact = impact
            self.error = error
            self.plan = plan

    class Moved(Message):
        """Reservations were moved off the proposal (the screen may re-read what it shows)."""

        def __init__(self, result: moves.MoveAllResult) -> None:
            super().__init__()
            self.result = result

    def __init__(self, *, id: str | None = None, move_key: str = "") -> None:
        """``move_key``: the key the screen binds to :meth:`move_all` (named in the panel)."""
        super().__init__(id=id)
        self.move_key = move_key
        self.proposal: Proposal | None = None
        self.shown: Proposal | None = None
        self.impact: WindowImpact | None = None
        self.plan: moves.MovePlan | None = None  # where the affected reservations could move
        self.moving = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content("Impact: waiting for a valid start, end and scope"), id="impact-summary")
        yield Static(id="impact-warnings")
        with VerticalScroll(id="impact-lines"):
            yield Static(id="impact-list")
            yield Static(id="impact-moves")

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
            self.impact = self.plan = None
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
        runtime = session_of(self).runtime

        def job() -> None:
            def work(ctx: ServiceContext) -> tuple[WindowImpact, moves.MovePlan]:
                impact = assess(
                    ctx,
                    proposal.start,
                    proposal.end,
                    proposal.scope,
                    exclude_window_id=proposal.exclude_window_id,
                )
                return impact, moves.plan_moves(ctx, impact, proposal.scope)

            try:
                impact, plan = in_unit_of_work(runtime, work)
                message = ImpactPanel.Computed(proposal, impact, plan=plan)
            except NodedeskError as exc:  # the one-line mapping (tui/kit/errors.py)
                message = ImpactPanel.Computed(proposal, None, exc.message)
            self.post_message(message)

        self.run_worker(job, thread=True, group="impact", exclusive=True, exit_on_error=False)

    # ------------------------------------------------------------------ output

    def on_impact_panel_computed(self, message: ImpactPanel.Computed) -> None:
        if message.proposal != self.proposal:
            return  # an older proposal: a newer one is on its way
        self.shown = message.proposal
        self.impact, self.plan = message.impact, message.plan
        self.screen.refresh_bindings()  # a "move all" key follows what can move
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
        tz = session_of(self).tz
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
        self.query_one("#impact-moves", Static).update(self._moves_text(tz))

    def _moves_text(self, tz: str) -> Content:
        plan = self.plan
        if plan is None or not plan.options:
            return Content("")
        key = f" · {self.move_key} moves them" if plan.movable and self.move_key else ""
        head = f"Move off: {len(plan.movable)} of {len(plan.options)} can go to a free node{key}"
        return Content(
            "\n".join([head, *(f"  {render.one_line(o.describe(tz, SHOWN_FREE))}" for o in plan.options)])
        )

    # ------------------------------------------------------------------ moving renters off

    def can_move(self) -> bool:
        """Whether the impact shown has reservations "move all" would move."""
        return bool(self.plan and self.plan.movable) and not self.moving and self.shown == self.proposal

    def move_all(self) -> None:
        """Ask once, listing the planned moves, then move them all in one unit of work."""
        plan = self.plan
        if plan is None or not plan.movable or self.moving:
            self.app.notify(
                "No affected reservation has a free node of its type.", title="Move all", markup=False
            )
            return
        session = session_of(self)
        refusal = not_allowed(session, "manage_reservations")
        if refusal:
            self.app.notify(
                refusal, title=f"Move all {render.LOCK}", severity="warning", markup=False, timeout=8
            )
            return
        tz = session.tz
        listed = [
            f"  #{o.reservation_id} {o.node} → {o.planned} "
            f"({timeutil.format_short(o.moved_from, tz)} → {timeutil.format_short(o.end, tz)})"
            for o in plan.movable
        ]
        stays = len(plan.options) - len(plan.movable)
        question = "\n".join(
            [
                f"Move {len(plan.movable)} reservation(s) off this window to a free node of the same type?",
                *listed,
                *([f"{stays} reservation(s) with no free node stay where they are."] if stays else []),
                *(
                    ["A running one is split at now; each part is billed on its own node."]
                    if any(o.moved_from <= session.now() for o in plan.movable)
                    else []
                ),
            ]
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self._run_moves(plan)

        self.app.push_screen(ConfirmScreen(question, "Move them", "Keep them"), answer)

    def _run_moves(self, plan: moves.MovePlan) -> None:
        self.moving = True
        self.screen.refresh_bindings()

        def done(result: moves.MoveAllResult) -> None:
            self.moving = False
            tz = session_of(self).tz
            lines = [render.one_line(m.describe(tz)) for m in result.moves]
            lines[0] = lines[0][:1].upper() + lines[0][1:]
            if result.left:
                lines.append(f"{len(result.left)} reservation(s) with no free node stay.")
            self.app.notify("\n".join(lines), title=f"Moved {len(result.moves)}", markup=False, timeout=10)
            self.post_message(ImpactPanel.Moved(result))
            self.reread()

        def failed(exc: NodedeskError) -> None:
            self.moving = False
            self.app.notify(
                f"Nothing moved: {exc}", title="Move all", severity="error", markup=False, timeout=10
            )
            self.reread()

        run_db(
            self,
            lambda ctx: moves.move_all(ctx, plan),
            on_done=done,
            on_error=failed,
            write=True,
            group="moves",
        )

    def reread(self) -> None:
        """Compute the impact of the current proposal again (the data changed)."""
        self.shown = None
        if self.proposal is not None:
            self._summary(Content("Impact: checking reservations…"))
            self._compute()
