"""The one create/edit form for maintenance windows, with inline validation.

Modes: ``create``; ``edit`` (upcoming window, every field); ``move_end`` (in-progress window,
only the end); ``correct`` (admin correction of a locked window, reason required).

Fields are checked as you type with the same core validators the services use; on save the
service checks everything again against the clock *at save time* (a window that started while
the form was open is refused, and so is a save over someone else's newer version). A refusal
is shown next to the field it names; the form keeps what you typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pendulum
from nodedesk.core import timeutil, validate
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.services import inventory
from nodedesk.core.services import windows as svc
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static, TextArea

from .. import render
from ..widgets.impact_panel import ImpactPanel, Proposal
from .edit_form import EditFormScreen

MODES = ("create", "edit", "move_end", "correct")
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


def split_names(value: str) -> tuple[str, ...]:
    """``"A100, H100 node2431"`` → ``("A100", "H100", "node2431")`` (order kept, no repeats)."""
    return tuple(dict.fromkeys(n for n in re.split(r"[,\s]+", value.strip()) if n))


class NameListSuggester(Suggester):
    """Completes the last name of a comma-separated list from known names."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.names: list[str] = []

    async def get_suggestion(self, value: str) -> str | None:
        token = re.split(r"[,\s]+", value)[-1]
        if not token:
            return None
        for name in self.names:
            if name.lower().startswith(token.lower()) and name != token:
                return value[: len(value) - len(token)] + name
        return None


@dataclass(frozen=True)
class Inventory:
    node_types: list[str]
    nodes: list[str]


def load_inventory(ctx: ServiceContext) -> Inventory:
    return Inventory(
        [t.name for t in inventory.list_node_types(ctx)], [n.name for n in inventory.list_nodes(ctx)]
    )


class WindowFormScreen(EditFormScreen):
    SECTION = "windows"
    HELP_TOPIC = "windows"
    HELP_TITLE = "window form"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self, mode: str, window: svc.WindowView | None = None, *, start: datetime | None = None
    ) -> None:
        """``start`` prefills a new window's start (the calendar's chosen day); default tomorrow 08:00."""
        super().__init__()
        if mode not in MODES or (mode != "create" and window is None):
            raise ValueError(f"bad form mode {mode!r}")
        self.mode = mode
        self.prefill_start = start
        self.window = window
        self.touched: set[str] = set()
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
            return {
                "title": "",
                "start": start.format(TIME_FORMAT),
                "end": start.add(hours=4).format(TIME_FORMAT),
                "node_types": "",
                "nodes": "",
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
            yield self._row("Title", "title", Input(v["title"], id="title", max_length=200, compact=True))
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
            yield self._row("Reason", "reason", Input(id="reason", max_length=2000, compact=True), hint=True)
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)
        yield ImpactPanel(id="impact-panel")

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
        self.validate_all(show_untouched=False)

    def _inventory_loaded(self, inv: Inventory) -> None:
        self.inventory = inv
        self.type_suggester.names = inv.node_types
        self.node_suggester.names = inv.nodes
        self.validate_all(show_untouched=False)

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

    def check(self, *, final: bool = False) -> dict[str, str]:
        """Every field's problem right now ('' when fine), using the core validators."""
        errors = dict.fromkeys(FIELDS, "")
        tz, now = self.session.tz, self.session.now()

        def attempt(field: str, fn) -> object:  # type: ignore[no-untyped-def]
            try:
                return fn()
            except ValidationError as exc:
                errors[field] = exc.message
                return None

        attempt("title", lambda: validate.title(self.value("title")))
        attempt("description", lambda: validate.text(self.value("description"), "description"))
        start = attempt("start", lambda: self._time("start"))
        end = attempt("end", lambda: self._time("end"))
        self._set_hint("start", "")
        self._set_hint("end", "")
        if isinstance(start, datetime):
            self._set_hint("start", timeutil.to_local(start, tz).format("ddd D MMM YYYY HH:mm Z"))
        if isinstance(end, datetime):
            self._set_hint("end", timeutil.to_local(end, tz).format("ddd D MMM YYYY HH:mm Z"))
        if isinstance(start, datetime) and isinstance(end, datetime):
            if end <= start:
                errors["end"] = "must be after the start (a window cannot be empty)"
            else:
                self._set_hint("end", f"{self.hints['end']} · {timeutil.format_duration(end - start)}")
        if self.mode == "move_end":
            self._set_hint("end", self.hints["end"] + " · now or later")
        if self.mode == "move_end" and isinstance(end, datetime) and end < now:
            errors["end"] = (
                f"an in-progress window's end may only move to now or later "
                f"(now is {timeutil.format_local(now, tz)})"
            )
        backdating = self._backdating(start)
        if self.mode in ("create", "edit"):
            self.query_one("#reason-row").display = backdating
            if backdating:
                self._set_hint("reason", "required: the start is in the past, so this window is backdated")
        elif self.mode == "correct":
            self._set_hint("reason", "required for an admin correction (kept in the activity log)")
        needs_reason = self.mode == "correct" or (self.mode in ("create", "edit") and backdating)
        if needs_reason and not self.value("reason").strip():
            errors["reason"] = "is required" + (" for a backdated window" if backdating else "")
        self._check_names(errors, final=final)
        return errors

    def _backdating(self, start: object) -> bool:
        if not isinstance(start, datetime) or self.mode not in ("create", "edit"):
            return False
        now = self.session.now()
        if self.mode == "edit" and self.window is not None and start == self.window.start:
            return False  # unchanged start: not a backdating edit
        return start < now

    def _check_names(self, errors: dict[str, str], *, final: bool) -> None:
        types, nodes = split_names(self.value("node_types")), split_names(self.value("nodes"))
        for field, names, known, what in (
            ("node_types", types, self.inventory.node_types, "node type"),
            ("nodes", nodes, self.inventory.nodes, "node"),
        ):
            if not known:
                continue  # not loaded yet; the service checks on save
            box = self.query_one(f"#{field}", Input)
            if not final and box.has_focus and names and not re.search(r"[,\s]$", box.value):
                names = names[:-1]  # still typing the last name: judge it when it is complete
            unknown = [n for n in names if n not in known]
            if unknown:
                errors[field] = f"no {what} named {unknown[0]!r}"
        summary = svc.Scope(nodes, types)
        label = "all nodes" if summary.all_nodes else summary.label()
        self.query_one("#scope-summary", Static).update(
            Content.assemble("Scope: ", (render.one_line(label, max_len=70), "bold"))
        )

    def validate_all(self, *, show_untouched: bool) -> dict[str, str]:
        """Check every field; a save (``show_untouched``) also judges a name still being typed."""
        errors = self.check(final=show_untouched)
        for field, message in errors.items():
            show = show_untouched or self.submitted or field in self.touched
            self._set_error(field, message if show else "")
        self._propose_impact(errors)
        return errors

    def _propose_impact(self, errors: dict[str, str]) -> None:
        """Hand the window as it would be saved to the live impact panel (it debounces)."""
        panel = self.query_one(ImpactPanel)
        if errors["start"] or errors["end"]:
            panel.propose(None, "waiting for a valid start and end")
            return
        types, nodes = split_names(self.value("node_types")), split_names(self.value("nodes"))
        inv = self.inventory
        if (inv.nodes and any(n not in inv.nodes for n in nodes)) or (
            inv.node_types and any(t not in inv.node_types for t in types)
        ):
            panel.propose(None, "waiting for known node and node type names")
            return
        try:
            start, end = self._time("start"), self._time("end")
        except ValidationError:
            return
        exclude = self.window.id if self.window is not None else None
        panel.propose(Proposal(start, end, svc.Scope(nodes, types), exclude))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.validate_all(show_untouched=False)

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        self.touched.add("description")
        self.validate_all(show_untouched=False)

    @on(Input.Blurred)
    def _left_field(self) -> None:
        self.validate_all(show_untouched=False)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial.get(f, "") for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        self.submitted = True
        errors = self.validate_all(show_untouched=True)
        bad = [f for f in FIELDS if errors[f]]
        if bad:
            self._set_form_error(f"Not saved: fix the marked field{'s' if len(bad) > 1 else ''}.")
            self.show_field(bad[0])
            return
        work = self._work()
        if work is None:
            self._set_form_error("Nothing changed: there is nothing to save.")
            return
        self._set_form_error("")
        self.saving = True
        self.query_one("#save", Button).disabled = True
        self.db(work, self._saved, on_error=self._refused, write=True, group="save")

    def _changes(self) -> svc.WindowChanges:
        w = self.window
        assert w is not None
        start, end = self._time("start"), self._time("end")
        scope = svc.Scope(split_names(self.value("nodes")), split_names(self.value("node_types")))
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

    def _work(self):  # type: ignore[no-untyped-def]
        """The service call for this mode, or None when an edit changes nothing."""
        reason = self.value("reason")
        if self.mode == "create":
            draft = svc.WindowDraft(
                title=self.value("title"),
                start=self._time("start"),
                end=self._time("end"),
                description=self.value("description"),
                scope=svc.Scope(split_names(self.value("nodes")), split_names(self.value("node_types"))),
            )
            return lambda ctx: svc.create_window(ctx, draft, reason=reason)
        w = self.window
        assert w is not None
        if self.mode == "move_end":
            end = self._time("end")
            if end == w.end:
                return None
            return lambda ctx: svc.move_end(ctx, w.id, end, expected_version=w.version)
        changes = self._changes()
        if not changes.changed_fields():
            return None
        correction = self.mode == "correct"
        return lambda ctx: svc.update_window(
            ctx, w.id, changes, expected_version=w.version, correction=correction, reason=reason
        )

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
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
