"""Declare an emergency window: maintenance that starts now on failed nodes (help/windows.md,
"Emergency windows").

A short form: the nodes (filled in from the Nodes list or a node's detail), how long, the reason
(what failed; required) and an optional title. The service judges the fields as you type
(``windows.check_emergency_window``); the live impact panel shows who is hit. Saving runs
``windows.declare_emergency`` in a worker: the window is committed first, then its notices go
out at once when SMTP is configured; the result line says what happened to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.recurrence import parse_duration
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from ...kit import navigation, render
from ...kit import rental_render as rr
from ...kit.access import not_allowed
from ...kit.edit_form import Check, EditFormScreen, problem_field
from ...kit.form_parts import NameListSuggester, field_row, set_error, set_text, split_names
from ...kit.workers import Progress, run_job
from ...session import session_of
from ...widgets.impact_panel import ImpactPanel, Proposal
from .window_form import Inventory, load_inventory

FIELDS = ("nodes", "duration", "reason", "title")
FIELD_FOR_ERROR = {"node": "nodes", "node_type": "nodes", "duration": "duration", "reason": "reason"} | {
    "title": "title",
    "description": "reason",
}


class EmergencyFormScreen(EditFormScreen):
    CSS_PATH = "windows.tcss"

    SECTION = "windows"
    HELP_TOPIC = "windows"
    HELP_TITLE = "emergency window"
    DISCARD_QUESTION = "Discard this emergency window?"

    BINDINGS = [
        Binding("ctrl+s", "save", "Declare"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, nodes: Sequence[str] = ()) -> None:
        super().__init__()
        self.prefill_nodes = list(nodes)
        self.touched: set[str] = set()
        self.saving = False
        self.inventory = Inventory([], [])
        self.node_suggester = NameListSuggester()

    def crumbs(self) -> tuple[str, ...]:
        return ("emergency",)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="form-body"):
            yield Static(
                Content.assemble(
                    (f"{render.EMERGENCY} window", "bold $error"), (" · maintenance from now on", "dim")
                ),
                id="form-heading",
            )
            yield Static(id="form-error")
            yield field_row(
                "Nodes",
                "nodes",
                Input(
                    ", ".join(self.prefill_nodes),
                    id="nodes",
                    placeholder="failed nodes, e.g. node2433",
                    suggester=self.node_suggester,
                    compact=True,
                ),
            )
            yield field_row(
                "Duration",
                "duration",
                Input(svc.EMERGENCY_DURATION, id="duration", placeholder="e.g. 2h, 90m", compact=True),
                hint=True,
            )
            yield field_row(
                "Reason",
                "reason",
                Input(id="reason", placeholder="what failed (required)", compact=True),
            )
            yield field_row(
                "Title",
                "title",
                Input(id="title", placeholder="empty: the reason", compact=True),
            )
            with Horizontal(id="form-buttons"):
                yield Button("Declare (ctrl+s)", id="save", variant="error", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield ImpactPanel(id="impact-panel")

    def on_mount(self) -> None:
        self.initial = {f: self.value(f) for f in FIELDS}
        for field in FIELDS:
            set_error(self, field, "")
        set_text(self, "#form-error", "")
        self.query_one("#reason" if self.prefill_nodes else "#nodes", Input).focus()
        self.db(load_inventory, self._inventory_loaded, on_error=lambda exc: None)
        self.refresh_check()

    def _inventory_loaded(self, inv: Inventory) -> None:
        self.inventory = inv
        self.node_suggester.names = inv.nodes
        self.refresh_check()

    # ------------------------------------------------------------------ values and the check

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def _draft(self) -> svc.EmergencyDraft:
        return svc.EmergencyDraft(
            scope=svc.Scope(split_names(self.value("nodes"))),
            reason=self.value("reason"),
            duration=self.value("duration"),
            title=self.value("title"),
        )

    def _minutes(self) -> tuple[int | None, list[FieldProblem]]:
        try:
            return parse_duration(self.value("duration")), []
        except ValidationError as exc:
            return None, [FieldProblem.of(exc)]

    def draft_check(self, *, final: bool) -> tuple[list[FieldProblem], Check | None]:
        minutes, problems = self._minutes()
        hint = ""
        if minutes is not None:
            now = self.session.now()
            end = now + timedelta(minutes=minutes)
            hint = f"until {rr.day_time(end, self.session.tz)}"
            self._propose_impact(now, end)
        self.query_one("#duration-hint", Static).update(Content(hint))
        draft = self._draft()
        return problems, lambda ctx: svc.check_emergency_window(ctx, draft)

    def _propose_impact(self, start: Any, end: Any) -> None:
        panel = self.query_one(ImpactPanel)
        nodes = split_names(self.value("nodes"))
        known = set(self.inventory.nodes)
        if not nodes:
            panel.propose(None, "name the failed nodes to see who is hit")
        elif known and not set(nodes) <= known:
            panel.propose(None, "waiting for known node names")
        else:
            panel.propose(Proposal(start, end, svc.Scope(nodes)))

    def show_problems(self, problems: list[FieldProblem], *, final: bool) -> None:
        marks = dict.fromkeys(FIELDS, "")
        loose: list[str] = []
        for problem in problems:
            field = problem_field(problem, FIELD_FOR_ERROR)
            if field is None:
                loose.append(str(problem.error))
            elif not marks[field]:
                marks[field] = problem.message
        shown = [f for f in FIELDS if marks[f] and (final or f in self.touched)]
        for field in FIELDS:
            set_error(self, field, marks[field] if field in shown else "")
        if not final:
            return
        self.saving = False
        self.query_one("#save", Button).disabled = False
        if shown:
            set_text(self, "#form-error", f"Not saved: fix the marked field{'s' if len(shown) > 1 else ''}.")
            self.show_field(shown[0])
        elif loose:
            set_text(self, "#form-error", "Not saved: " + render.one_line(loose[0]))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.refresh_check()

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial.get(f) for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        parsed, check = self.draft_check(final=True)
        if parsed or check is None:
            self.show_problems(parsed, final=True)
            return
        set_text(self, "#form-error", "")
        self.saving = True
        self.query_one("#save", Button).disabled = True
        draft = self._draft()

        def checked(problems: list[FieldProblem]) -> None:
            if problems:
                self.show_problems(problems, final=True)
                return

            def declare(runtime: Runtime, progress: Progress) -> svc.EmergencyResult:
                return svc.declare_emergency(runtime, draft)

            run_job(self, declare, on_done=self._saved, on_error=self._refused, group="save")

        self.db(check, checked, on_error=self._refused, group="form-check")

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        field = FIELD_FOR_ERROR.get(exc.field or "")
        if field is not None:
            set_error(self, field, exc.message)
            set_text(self, "#form-error", "Not saved: see the marked field.")
            self.query_one(f"#{field}").focus()
        else:
            set_text(self, "#form-error", "Not saved: " + str(exc))

    def _saved(self, result: svc.EmergencyResult) -> None:
        self.saving = False
        w = result.saved.window
        tz = self.session.tz
        lines = [
            f"Declared emergency window #{w.id} on {render.one_line(w.scope.label(), max_len=40)} "
            f"until {timeutil.format_local(w.end, tz)}.",
            result.mail.line(),
        ]
        self.notify(
            "\n".join(lines),
            title="Emergency declared",
            severity="warning" if result.mail.failed else "information",
            markup=False,
            timeout=10,
        )
        self.dismiss(result)


def open_emergency(app: App[Any], screen: Screen[Any]) -> None:
    """Open the emergency form from the palette (or say why this session may not)."""
    refusal = not_allowed(session_of(screen), "manage_windows")
    if refusal:
        app.notify(
            refusal, title=f"Emergency window {render.LOCK}", severity="warning", markup=False, timeout=8
        )
        return
    navigation.go(app, "window.emergency")


def emergency_commands(app: App[Any], screen: Screen[Any]) -> Iterable[SystemCommand]:
    """The palette entry "Emergency window…" (from any screen but the form itself)."""
    if not isinstance(screen, EmergencyFormScreen):
        yield SystemCommand(
            "Emergency window…",
            "Maintenance from now on failed nodes; its notices go out at once",
            lambda: open_emergency(app, screen),
        )
