"""The one create/edit form for maintenance windows, with inline validation.

Modes: ``create``; ``edit`` (upcoming window, every field); ``move_end`` (in-progress window,
only the end); ``correct`` (admin correction of a locked window, reason required).

Fields are judged as you type by the service's own check (``windows.check_window``): the form
only reads the typed text (core's time parser) and marks the fields the service names. On save
the service checks everything again against the clock *at save time* (a window that started while
the form was open is refused, and so is a save over someone else's newer version). A refusal
is shown next to the field it names; the form keeps what you typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pendulum
from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.services.downtime import suggest
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.nodes import inventory
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static, TextArea

from ...kit import render
from ...kit.edit_form import Check, EditFormScreen, problem_field
from ...kit.form_parts import NameListSuggester, split_names
from ...widgets.impact_panel import ImpactPanel, Proposal

MODES = ("create", "edit", "move_end", "correct")
DEFAULT_DURATION = timedelta(hours=4)
TIME_FORMAT = "YYYY-MM-DD HH:mm"

# Service error fields → the form field that shows them.
FIELD_FOR_ERROR = {
    "title": "title",
    "start": "start",
    "end": "end",
    "description": "description",
    "node": "nodes",
    "node_type": "node_types",
    "scope": "nodes",
    "reason": "reason",
}
FIELDS = ("title", "start", "end", "node_types", "nodes", "description", "reason")


@dataclass(frozen=True)
class Inventory:
    node_types: list[str]
    nodes: list[str]


def load_inventory(ctx: ServiceContext) -> Inventory:
    return Inventory(
        [t.name for t in inventory.list_node_types(ctx)], [n.name for n in inventory.list_nodes(ctx)]
    )


MOVE_ALL_TIP = "Move all that can be moved: the affected reservations to free nodes of their type"


class WindowFormScreen(EditFormScreen):
    SECTION = "windows"
    HELP_TOPIC = "windows"
    HELP_TITLE = "window form"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+g", "suggest", "Suggest", tooltip="The least-impact starts of the next two weeks"),
        Binding("ctrl+t", "move_all", "Move all", tooltip=MOVE_ALL_TIP),
    ]

    def __init__(
        self,
        mode: str,
        window: svc.WindowView | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        nodes: Sequence[str] | None = None,
    ) -> None:
        """``start``, ``end`` and ``nodes`` prefill a new window (the calendar's chosen day, the
        availability timeline's selection); by default it starts tomorrow 08:00, lasts 4 hours
        and covers all nodes."""
        super().__init__()
        if mode not in MODES or (mode != "create" and window is None):
            raise ValueError(f"bad form mode {mode!r}")
        self.mode = mode
        self.prefill_start = start
        self.prefill_end = end
        self.prefill_nodes = list(nodes or [])
        self.window = window
        self.touched: set[str] = set()
        self.problems: list[FieldProblem] = []  # the service's last answer
        self.hints: dict[str, str] = {}
        self.saving = False
        self.submitted = False  # after a save attempt every problem stays visible
        self.inventory = Inventory([], [])
        self.type_suggester = NameListSuggester()
        self.node_suggester = NameListSuggester()

    def crumbs(self) -> tuple[str, ...]:
        if self.window is None:
            return ("new",)
        return (
            f"#{self.window.id}",
            {"edit": "edit", "move_end": "move end", "correct": "correct"}[self.mode],
        )

    # ------------------------------------------------------------------ layout

    def _heading(self) -> Content:
        w = self.window
        if w is None:
            return Content.styled("New maintenance window", "bold")
        title = render.one_line(w.title, max_len=50)
        text = {
            "edit": f"Edit window #{w.id} · {title}",
            "move_end": f"Move the end of window #{w.id} · {title} (in progress)",
            "correct": f"Correct window #{w.id} · {title} (admin correction)",
        }[self.mode]
        return Content.styled(text, "bold")

    def _initial(self) -> dict[str, str]:
        tz = self.session.tz
        w = self.window
        if w is None:
            tomorrow = pendulum.instance(self.session.now()).in_timezone(tz).add(days=1)
            start = tomorrow.replace(hour=8, minute=0, second=0, microsecond=0)
            if self.prefill_start is not None:
                start = pendulum.instance(self.prefill_start).in_timezone(tz)
            end = start.add(hours=4)
            if self.prefill_end is not None:
                end = pendulum.instance(self.prefill_end).in_timezone(tz)
            return {
                "title": "",
                "start": start.format(TIME_FORMAT),
                "end": end.format(TIME_FORMAT),
                "node_types": "",
                "nodes": ", ".join(self.prefill_nodes),
                "description": "",
                "reason": "",
            }
        return {
            "title": w.title,
            "start": timeutil.to_local(w.start, tz).format(TIME_FORMAT),
            "end": timeutil.to_local(w.end, tz).format(TIME_FORMAT),
            "node_types": ", ".join(w.scope.node_types),
            "nodes": ", ".join(w.scope.nodes),
            "description": w.description,
            "reason": "",
        }

    def _row(self, label: str, field: str, *widgets: Widget, hint: bool = False) -> Horizontal:
        extra: list[Widget] = [Static(id=f"{field}-hint", classes="hint")] if hint else []
        return Horizontal(
            Label(label, classes="field-label"),
            Vertical(
                Horizontal(*widgets, *extra, classes="field-line"),
                Static(id=f"{field}-error", classes="field-error"),
                classes="field-body",
            ),
            classes="field-row",
            id=f"{field}-row",
        )

    def compose_body(self) -> ComposeResult:
        v = self._initial()
        with VerticalScroll(id="form-body"):
            yield Static(self._heading(), id="form-heading")
            yield Static(id="form-error")
            yield self._row("Title", "title", Input(v["title"], id="title", compact=True))
            yield self._row(
                "Start",
                "start",
                Input(v["start"], id="start", placeholder="YYYY-MM-DD HH:MM", compact=True, classes="time"),
                hint=True,
            )
            yield self._row(
                "End",
                "end",
                Input(v["end"], id="end", placeholder="YYYY-MM-DD HH:MM", compact=True, classes="time"),
                hint=True,
            )
            yield self._row(
                "Node types",
                "node_types",
                Input(
                    v["node_types"],
                    id="node_types",
                    placeholder="empty: all nodes · e.g. A100, H100",
                    suggester=self.type_suggester,
                    compact=True,
                ),
            )
            yield self._row(
                "Nodes",
                "nodes",
                Input(
                    v["nodes"],
                    id="nodes",
                    placeholder="empty: all nodes · e.g. node2431, node2432",
                    suggester=self.node_suggester,
                    compact=True,
                ),
            )
            yield self._row("", "scope", Static(id="scope-summary", classes="hint"))
            yield self._row(
                "Description", "description", TextArea(v["description"], id="description", compact=True)
            )
            yield self._row("Reason", "reason", Input(id="reason", compact=True), hint=True)
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield ImpactPanel(id="impact-panel", move_key="^t")

    def on_mount(self) -> None:
        self.initial = self._initial()
        if self.mode == "move_end":
            for field in ("title", "start", "node_types", "nodes", "description", "reason"):
                self.query_one(f"#{field}").disabled = True
            self.query_one("#reason-row").display = False
            self.query_one("#end", Input).focus()
        else:
            self.query_one("#title", Input).focus()
        if self.mode in ("create", "edit"):
            self.query_one("#reason-row").display = False  # shown when the start is in the past
        for field in (*FIELDS, "scope"):
            self._set_error(field, "")
        self._set_form_error("")
        self.db(load_inventory, self._inventory_loaded, on_error=lambda exc: None)
        self.refresh_check()

    def _inventory_loaded(self, inv: Inventory) -> None:
        self.inventory = inv
        self.type_suggester.names = inv.node_types
        self.node_suggester.names = inv.nodes
        self.refresh_check()

    # ------------------------------------------------------------------ values and validation

    def value(self, field: str) -> str:
        if field == "description":
            return self.query_one("#description", TextArea).text
        return self.query_one(f"#{field}", Input).value

    def _set_error(self, field: str, message: str) -> None:
        box = self.query_one(f"#{field}-error", Static)
        box.update(Content(message))
        box.display = bool(message)
        self.query_one(f"#{field}-row").set_class(bool(message), "has-error")

    def _set_form_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(Content(message))
        box.display = bool(message)

    def _set_hint(self, field: str, message: str) -> None:
        self.hints[field] = message
        self.query_one(f"#{field}-hint", Static).update(Content(message))

    def _time(self, field: str) -> datetime:
        return timeutil.parse_instant(self.value(field), self.session.tz, field=field)

    def _parse_times(self) -> tuple[list[FieldProblem], datetime | None, datetime | None]:
        """The start and end as typed, read by core's parser (hints show how they were read)."""
        tz = self.session.tz
        problems: list[FieldProblem] = []
        times: dict[str, datetime | None] = {}
        for field in ("start", "end"):
            try:
                times[field] = self._time(field)
            except ValidationError as exc:
                problems.append(FieldProblem.of(exc))
                times[field] = None
            moment = times[field]
            self._set_hint(
                field, timeutil.to_local(moment, tz).format("ddd D MMM YYYY HH:mm Z") if moment else ""
            )
        start, end = times["start"], times["end"]
        if start is not None and end is not None and end > start:
            self._set_hint("end", f"{self.hints['end']} · {timeutil.format_duration(end - start)}")
        return problems, start, end

    def _scope(self, *, final: bool = True) -> svc.Scope:
        """The scope as typed; while not ``final`` a name still being typed (no separator after
        it yet) is left out, so the service judges it once it is complete."""
        names = {}
        for field in ("node_types", "nodes"):
            box = self.query_one(f"#{field}", Input)
            found = split_names(box.value)
            if not final and box.has_focus and found and not re.search(r"[,\s]$", box.value):
                found = found[:-1]
            names[field] = found
        return svc.Scope(names["nodes"], names["node_types"])

    def draft_check(self, *, final: bool) -> tuple[list[FieldProblem], Check | None]:
        problems, start, end = self._parse_times()
        scope = self._scope(final=final)
        label = "all nodes" if scope.all_nodes else scope.label()
        self.query_one("#scope-summary", Static).update(
            Content.assemble("Scope: ", (render.one_line(label, max_len=70), "bold"))
        )
        if start is None or end is None:
            return problems, None
        reason, title, desc = self.value("reason"), self.value("title"), self.value("description")
        if self.mode == "create":
            draft = svc.WindowDraft(title=title, start=start, end=end, description=desc, scope=scope)
            return problems, lambda ctx: svc.check_window(ctx, draft, reason=reason)
        w = self.window
        assert w is not None
        changes = svc.WindowChanges(end=end) if self.mode == "move_end" else self._changes(start, end, scope)
        correction = self.mode == "correct"
        return problems, lambda ctx: svc.check_window(
            ctx, changes, window_id=w.id, expected_version=w.version, reason=reason, correction=correction
        )

    def show_problems(self, problems: list[FieldProblem], *, final: bool) -> None:
        """Mark each field the service named with its message; the rest go on the form line."""
        if final:
            self.submitted = True
        marks = dict.fromkeys(FIELDS, "")
        loose: list[str] = []
        for problem in problems:
            field = problem_field(problem, FIELD_FOR_ERROR)
            if field is None or not self.query_one(f"#{field}").display:
                loose.append(str(problem.error))
            elif not marks[field]:
                marks[field] = problem.message
        if self.mode in ("create", "edit"):  # a reason is asked for when the service needs one
            wanted = bool(marks["reason"]) or bool(self.value("reason").strip())
            self.query_one("#reason-row").display = wanted
        elif self.mode == "correct":
            self._set_hint("reason", "kept in the activity log")
        shown = [f for f in FIELDS if marks[f] and (final or self.submitted or self._touched(f, problems))]
        for field in FIELDS:
            self._set_error(field, marks[field] if field in shown else "")
        self.problems = problems
        self._propose_impact(marks)
        if not final:
            return
        self.query_one("#save", Button).disabled = False
        if shown:
            self._set_form_error(f"Not saved: fix the marked field{'s' if len(shown) > 1 else ''}.")
            self.show_field(shown[0])
        elif loose:
            self._set_form_error("Not saved: " + loose[0])

    def _touched(self, field: str, problems: list[FieldProblem]) -> bool:
        """A field's problem shows once it or the field the problem is about was typed in."""
        if field in self.touched:
            return True
        return any(
            problem_field(p, FIELD_FOR_ERROR) == field and FIELD_FOR_ERROR.get(p.field) in self.touched
            for p in problems
        )

    def _propose_impact(self, marks: dict[str, str]) -> None:
        """Hand the window as it would be saved to the live impact panel (it debounces)."""
        panel = self.query_one(ImpactPanel)
        if marks["start"] or marks["end"]:
            panel.propose(None, "waiting for a valid start and end")
            return
        if marks["nodes"] or marks["node_types"]:
            panel.propose(None, "waiting for known node and node type names")
            return
        try:
            start, end = self._time("start"), self._time("end")
        except ValidationError:
            panel.propose(None, "waiting for a valid start and end")
            return
        exclude = self.window.id if self.window is not None else None
        panel.propose(Proposal(start, end, self._scope(), exclude))  # the panel names an unknown node

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.refresh_check()

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        self.touched.add("description")
        self.refresh_check()

    @on(Input.Blurred)
    def _left_field(self) -> None:
        self.refresh_check()

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ least-impact starts

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "suggest" and self.mode not in ("create", "edit"):
            return False  # only a window whose start may still change
        if action == "move_all":
            return self.query_one(ImpactPanel).can_move()  # shown while something can move
        return super().check_action(action, parameters)

    def action_move_all(self) -> None:
        """Move the reservations the proposed window hits to free nodes of their type (asks once)."""
        self.query_one(ImpactPanel).move_all()

    def action_suggest(self) -> None:
        """Open the least-impact starts for a window as long as the one typed (4 h while the
        times cannot be read), on the typed scope, from now; the chosen one fills the times."""
        try:
            duration = self._time("end") - self._time("start")
        except ValidationError:
            duration = DEFAULT_DURATION
        if duration <= timedelta(0):
            duration = DEFAULT_DURATION
        from .window_suggest import WindowSuggestScreen

        self.app.push_screen(
            WindowSuggestScreen(duration, self._scope(), self.session.now()), self._suggestion_picked
        )

    def _suggestion_picked(self, candidate: suggest.Candidate | None) -> None:
        if candidate is None:
            return
        tz = self.session.tz
        self.query_one("#start", Input).value = timeutil.to_local(candidate.start, tz).format(TIME_FORMAT)
        self.query_one("#end", Input).value = timeutil.to_local(candidate.end, tz).format(TIME_FORMAT)
        self.query_one("#start", Input).focus()

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial.get(f, "") for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        self.submitted = True
        work = self._work()
        if work is None:
            self._set_form_error("Nothing changed: there is nothing to save.")
            return
        self._set_form_error("")
        self.query_one("#save", Button).disabled = True

        def saved(result: svc.SaveResult) -> None:
            self.query_one("#save", Button).disabled = False
            self._saved(result)

        self.checked_save(work, saved, self._refused)

    def _changes(self, start: datetime, end: datetime, scope: svc.Scope) -> svc.WindowChanges:
        w = self.window
        assert w is not None
        same_scope = set(scope.nodes) == set(w.scope.nodes) and set(scope.node_types) == set(
            w.scope.node_types
        )
        title, desc = self.value("title").strip(), self.value("description").strip()
        return svc.WindowChanges(
            title=title if title != w.title else svc.UNSET,
            description=desc if desc != w.description else svc.UNSET,
            start=start if start != w.start else svc.UNSET,
            end=end if end != w.end else svc.UNSET,
            scope=scope if not same_scope else svc.UNSET,
        )

    def _work(self) -> Callable[[ServiceContext], svc.SaveResult | None] | None:
        """The service call for this mode, or None when an edit changes nothing (or the times
        cannot be read yet: the check marks them)."""
        reason = self.value("reason")
        try:
            start, end = self._time("start"), self._time("end")
        except ValidationError:
            return lambda ctx: None  # never runs: the check stops at the unreadable time
        scope = self._scope()
        if self.mode == "create":
            draft = svc.WindowDraft(
                title=self.value("title"),
                start=start,
                end=end,
                description=self.value("description"),
                scope=scope,
            )
            return lambda ctx: svc.create_window(ctx, draft, reason=reason)
        w = self.window
        assert w is not None
        if self.mode == "move_end":
            if end == w.end:
                return None
            return lambda ctx: svc.move_end(ctx, w.id, end, expected_version=w.version)
        changes = self._changes(start, end, scope)
        if not changes.changed_fields():
            return None
        correction = self.mode == "correct"
        return lambda ctx: svc.update_window(
            ctx, w.id, changes, expected_version=w.version, correction=correction, reason=reason
        )

    def _refused(self, exc: NodedeskError) -> None:
        self.query_one("#save", Button).disabled = False
        field = FIELD_FOR_ERROR.get(exc.field or "")
        if field is not None and self.query_one(f"#{field}-row").display:
            self._set_error(field, exc.message)
            self._set_form_error("Not saved: " + exc.message)
            self.show_field(field)
        else:
            self._set_form_error("Not saved: " + str(exc))

    def _saved(self, result: svc.SaveResult) -> None:
        self.saving = False
        tz = self.session.tz
        w = result.window
        verb = {
            "create": "Created",
            "edit": "Updated",
            "move_end": "Moved the end of",
            "correct": "Corrected",
        }
        lines = [f"{verb[self.mode]} window #{w.id} {render.one_line(w.title, max_len=40)!r}."]
        if result.impact:
            lines.append(f"Billing impact on {len(result.impact)} reservation(s):")
            lines += [render.one_line(i.describe(tz)) for i in result.impact[:5]]
        if result.drifted_months:
            lines.append("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
        self.notify("\n".join(lines), title="Saved", markup=False, timeout=8)
        self.dismiss(result)
