"""One outage: every field, its status, and the history of its estimated time to repair."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError, NotFoundError
from nodedesk.core.services.downtime import outages as svc
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ...kit import render
from ...kit import rental_render as rr
from ...kit.base import NodedeskScreen
from ..windows.window_actions import not_allowed
from .outage_actions import OUTAGE_ACTION_BINDINGS, OutageActionsMixin

ACTION_WORD = {
    "outage.created": "set",
    "outage.etr_revised": "revised",
    "outage.corrected": "corrected",
}


@dataclass(frozen=True)
class OutageDetail:
    outage: svc.OutageView
    history: list[svc.EtrRevision]


def load_detail(ctx: ServiceContext, outage_id: int) -> OutageDetail:
    return OutageDetail(svc.get_outage(ctx, outage_id), svc.etr_history(ctx, outage_id))


def _etr(value: str | None, tz: str, now: datetime) -> str:
    """An audited ETR (ISO text) in site time; ``none`` when cleared."""
    if not value:
        return "none"
    try:
        return rr.short(datetime.fromisoformat(value), tz, now)
    except ValueError:
        return render.one_line(value)


def history_lines(history: list[svc.EtrRevision], tz: str, now: datetime) -> list[Content]:
    if not history:
        return [Content.styled("No ETR has been set.", "dim")]
    lines = []
    for h in history:
        word = ACTION_WORD.get(h.action, h.action.removeprefix("outage.").replace("_", " "))
        after = _etr(h.after, tz, now)
        change = f"{_etr(h.before, tz, now)} → {after}" if h.before else after
        lines.append(
            Content.assemble(
                f"  {rr.short(h.at, tz, now)}  ",
                (render.one_line(h.by, max_len=16).ljust(10), "bold"),
                f" {word:<9} {change}",
            )
        )
    return lines


class OutageDetailScreen(OutageActionsMixin, NodedeskScreen):
    SECTION = "outages"
    HELP_TOPIC = "outages"
    HELP_TITLE = "outage detail"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *OUTAGE_ACTION_BINDINGS,
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, outage_id: int) -> None:
        super().__init__()
        self.outage_id = outage_id
        self.outage: svc.OutageView | None = None
        self.changed: svc.OutageResult | None = None

    def crumbs(self) -> tuple[str, ...]:
        return (f"#{self.outage_id}",)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static(Content("Loading…"), id="detail-fields")
            yield Static(id="detail-description")
            yield Static(id="etr-history")
            yield Static(id="detail-hint")

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()
        self.reload()

    def reload(self) -> None:
        oid = self.outage_id
        self.db(lambda ctx: load_detail(ctx, oid), self._show, on_error=self._failed, group="detail")

    def _failed(self, exc: NodedeskError) -> None:
        if isinstance(exc, NotFoundError):
            self.explain(f"Outage #{self.outage_id} no longer exists.", "Gone")
            self.dismiss(self.changed)
            return
        self.refused(exc, "Could not load the outage")

    def _show(self, detail: OutageDetail) -> None:
        o = self.outage = detail.outage
        tz = self.session.tz
        width = 10

        def row(label: str, value: Content | str) -> Content:
            return Content.assemble((label.ljust(width), "bold"), value)

        if o.etr is None:
            etr: Content | str = "none"
        else:
            etr = timeutil.format_local(o.etr, tz)
            if o.etr_overdue:
                etr = Content.assemble(etr, ("  ⚠ overdue", "bold $error"))
        state = "  · open: counts as downtime up to now" if o.open else ""
        rows = [
            Content.assemble((f"#{o.id}  ", "bold"), (render.one_line(o.title), "bold $accent")),
            Content(""),
            row("Status", Content.assemble(rr.as_content(rr.outage_status(o.status)), state)),
            row("Nodes", render.one_line(", ".join(o.nodes))),
            row("Start", rr.with_weekday(o.start, tz)),
            row("End", rr.with_weekday(o.end, tz) if o.end is not None else "— (not resolved)"),
            row("Duration", timeutil.format_duration(o.duration) + (" so far" if o.open else "")),
            row("ETR", etr),
            row(
                "Credit",
                "yes: renters are not billed for this downtime"
                if o.credit
                else "no: not credited, billed as usual",
            ),
            row("Created", f"{timeutil.format_local(o.created_at, tz)} by {render.one_line(o.created_by)}"),
            row(
                "Modified", f"{timeutil.format_local(o.modified_at, tz)} by {render.one_line(o.modified_by)}"
            ),
            row("Version", str(o.version)),
            row("UUID", o.uuid),
        ]
        self.query_one("#detail-fields", Static).update(Content("\n").join(rows))
        desc = self.query_one("#detail-description", Static)
        if o.description:
            desc.update(
                Content.assemble(("Description\n", "bold"), render.content(o.description, multiline=True))
            )
        else:
            desc.update(Content.styled("No description.", "dim"))
        history = [
            Content.styled("ETR history (from the activity log)", "bold"),
            *history_lines(detail.history, tz, self.session.now()),
        ]
        self.query_one("#etr-history", Static).update(Content("\n").join(history))
        self.query_one("#detail-hint", Static).update(Content.styled(self._hint(o), "dim"))
        self.refresh_bindings()

    def _hint(self, o: svc.OutageView) -> str:
        refusal = not_allowed(self.session, "manage_outages")
        if refusal:
            return refusal + " · escape back"
        keys = ["e update (status, ETR, description…)"]
        if o.open:
            keys.append("r resolve")
        return " · ".join([*keys, "escape back"])

    # ------------------------------------------------------------------ actions

    def current_outage(self) -> svc.OutageView | None:
        return self.outage

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.outage_action_state(action, parameters)
        return True if state is None else state

    def action_back(self) -> None:
        self.dismiss(self.changed)

    def action_reload(self) -> None:
        self.reload()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    def open_form(self, mode: str, outage: svc.OutageView | None) -> None:
        from .outage_form import OutageFormScreen

        self.app.push_screen(OutageFormScreen(mode, outage), self._saved)

    def _saved(self, result: svc.OutageResult | None) -> None:
        if result is not None:
            self.changed = result
            self.reload()  # the ETR history may have grown
