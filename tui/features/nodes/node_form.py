"""Add a node (name, type, description, rentable) or edit one (type, description), checked as
you type by the service's own check (``inventory.check_node``); the save checks again, and a
save over someone else's newer version of the node is refused (help/nodes.md).

Whether a node is rentable is changed on the list (``b``), and its name never changes.
"""

from __future__ import annotations

from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.nodes import node_lifecycle as svc
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static, TextArea

from ...kit import render
from ...kit.edit_form import Check, EditFormScreen, problem_field
from ...kit.form_parts import FIX_FIELDS, NameListSuggester, field_row, fields_fixed, set_error, set_text
from ...widgets.tickbox import TickBox

FIELDS = ("name", "node_type", "description", "rentable")
PROBLEM_FIELDS = {"name": "name", "type": "node_type", "description": "description", "rentable": "rentable"}


def load_type_names(ctx: ServiceContext) -> list[str]:
    return [t.name for t in inventory.list_node_types(ctx)]


class NodeFormScreen(EditFormScreen):
    CSS_PATH = "nodes.tcss"

    SECTION = "nodes"
    HELP_TOPIC = "nodes"
    HELP_TITLE = "node form"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, row: svc.NodeRow | None) -> None:
        super().__init__()
        self.row = row
        self.touched: set[str] = set()
        self.attempted = False  # after a save attempt every field's error stays visible
        self.saving = False
        self.type_suggester = NameListSuggester()
        node = row.node if row is not None else None
        self.initial: dict[str, Any] = {
            "name": node.name if node else "",
            "node_type": node.node_type if node else "",
            "description": node.description if node else "",
            "rentable": node.rentable if node else True,
        }

    def crumbs(self) -> tuple[str, ...]:
        return ("new",) if self.row is None else (self.row.name, "edit")

    def compose_body(self) -> ComposeResult:
        v, row = self.initial, self.row
        heading = "New node" if row is None else f"Edit node {render.one_line(row.name, max_len=40)}"
        with VerticalScroll(id="form-body"):
            yield Static(Content.styled(heading, "bold"), id="form-heading")
            yield Static(id="form-error")
            yield field_row(
                "Name", "name", Input(v["name"], id="name", placeholder="e.g. node2439", compact=True)
            )
            yield field_row(
                "Type",
                "node_type",
                Input(
                    v["node_type"],
                    id="node_type",
                    placeholder="a node type, e.g. A100",
                    suggester=self.type_suggester,
                    compact=True,
                ),
                hint=True,
            )
            yield field_row(
                "Description", "description", TextArea(v["description"], id="description", compact=True)
            )
            yield field_row("Rentable", "rentable", TickBox("may be reserved", v["rentable"], id="rentable"))
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for field in FIELDS:
            set_error(self, field, "")
        set_text(self, "#form-error", "")
        if self.row is not None:  # the name never changes; rentable is the list's b
            self.query_one("#name", Input).disabled = True
            self.query_one("#rentable-row").display = False
            self.query_one("#node_type", Input).focus()
        else:
            self.query_one("#name", Input).focus()
        self.db(load_type_names, self._types_loaded, on_error=lambda exc: None, group="names")
        self.refresh_check()

    def _types_loaded(self, names: list[str]) -> None:
        self.type_suggester.names = names
        hint = "known: " + ", ".join(names[:6]) + (" …" if len(names) > 6 else "") if names else ""
        self.query_one("#node_type-hint", Static).update(Content(render.one_line(hint, max_len=40)))

    # ------------------------------------------------------------------ the service's check

    def value(self, field: str) -> Any:
        if field == "description":
            return self.query_one("#description", TextArea).text
        if field == "rentable":
            return self.query_one("#rentable", TickBox).value
        return self.query_one(f"#{field}", Input).value

    def _changes(self) -> dict[str, Any]:
        """What is typed; for an edit, None where a field is unchanged."""
        typed = {f: self.value(f) for f in FIELDS}
        typed["name"], typed["node_type"] = typed["name"].strip(), typed["node_type"].strip()
        if self.row is None:
            return typed
        return {
            "node_type": typed["node_type"] if typed["node_type"] != self.initial["node_type"] else None,
            "description": typed["description"]
            if typed["description"] != self.initial["description"]
            else None,
        }

    def draft_check(self, *, final: bool) -> tuple[list[FieldProblem], Check | None]:
        changes = self._changes()
        row = self.row
        if row is None:
            return [], lambda ctx: inventory.check_node(
                ctx, name=changes["name"], node_type=changes["node_type"], description=changes["description"]
            )
        name, version = row.name, row.version
        return [], lambda ctx: inventory.check_node(
            ctx,
            node=name,
            node_type=changes["node_type"],
            description=changes["description"],
            expected_version=version,
        )

    def show_problems(self, problems: list[FieldProblem], *, final: bool) -> None:
        """Mark each field the service named; the rest go on the form line."""
        if final:
            self.attempted = True
        marks = dict.fromkeys(FIELDS, "")
        loose: list[str] = []
        for problem in problems:
            field = problem_field(problem, PROBLEM_FIELDS)
            if field is None:
                loose.append(str(problem.error))
            elif not marks[field]:
                marks[field] = problem.message
        show_all = final or self.attempted
        for field in FIELDS:
            set_error(self, field, marks[field] if (show_all or field in self.touched) else "")
        if not any(marks.values()):
            fields_fixed(self)
        if loose and (final or self.attempted):
            set_text(self, "#form-error", "Not saved: " + render.one_line(loose[0]))
        if not final:
            return
        self.query_one("#save", Button).disabled = False
        bad = [f for f in FIELDS if marks[f]]
        if bad:
            set_text(self, "#form-error", f"{FIX_FIELDS}{'s' if len(bad) > 1 else ''}.")
            self.show_field(bad[0])

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.refresh_check()

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        self.touched.add("description")
        self.refresh_check()

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial[f] for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        self.attempted = True
        changes = self._changes()
        row = self.row
        if row is None:
            name, node_type = changes["name"], changes["node_type"]
            desc, rentable = changes["description"], changes["rentable"]

            def work(ctx: ServiceContext) -> inventory.NodeView:
                return inventory.add_node(ctx, name, node_type, rentable=rentable, description=desc)

        else:
            if all(v is None for v in changes.values()):
                set_text(self, "#form-error", "Nothing changed: there is nothing to save.")
                return
            target, version = row.name, row.version

            def work(ctx: ServiceContext) -> inventory.NodeView:
                return inventory.update_node(ctx, target, expected_version=version, **changes)

        set_text(self, "#form-error", "")
        self.query_one("#save", Button).disabled = True
        self.checked_save(work, self._saved, self._refused)

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        field = PROBLEM_FIELDS.get(exc.field or "")
        if field is not None:
            set_error(self, field, exc.message)
            self.show_field(field)
        set_text(self, "#form-error", "Not saved: " + render.one_line(str(exc)))

    def _saved(self, result: inventory.NodeView) -> None:
        self.saving = False
        verb = "Added" if self.row is None else "Updated"
        rentable = "rentable" if result.rentable else "not rentable"
        self.notify(
            f"{verb} node {result.name} ({result.node_type}, {rentable}).", title="Saved", markup=False
        )
        self.dismiss(result)
