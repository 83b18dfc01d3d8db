"""New project / edit project: title, owner (PI) and description, checked as you type.

On save the service checks everything again (unique title, a registered active owner, nobody
else changed the project since the form opened); a refusal is shown next to the field it names.
"""

from __future__ import annotations

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.site import users
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Static, TextArea

from ...kit import render
from ...kit.edit_form import Check, EditFormScreen, problem_field
from ...kit.form_parts import FIX_FIELDS, field_row, fields_fixed, set_error, set_text

FIELDS = ("title", "owner", "description")
PROBLEM_FIELDS = {f: f for f in FIELDS} | {"user": "owner"}  # a service field -> the form's


def load_usernames(ctx: ServiceContext) -> list[str]:
    return [u.username for u in users.list_users(ctx) if u.active]


class ProjectFormScreen(EditFormScreen):
    DEFAULT_CSS = """
    #title-row, #owner-row, #description-row {
        margin-top: 1;
    }
    .field-line Input.name {
        width: 24;
    }
    #description {
        height: 4;
        width: 1fr;
    }
    """

    SECTION = "projects"
    HELP_TOPIC = "projects"
    HELP_TITLE = "project form"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, project: projects.ProjectView | None) -> None:
        super().__init__()
        self.project = project
        self.usernames: list[str] = []
        self.touched: set[str] = set()
        self.saving = False
        self.attempted = False  # after a save attempt every field's error stays visible
        self.initial = {
            "title": project.title if project else "",
            "owner": project.owner if project else "",
            "description": project.description if project else "",
        }

    def crumbs(self) -> tuple[str, ...]:
        return ("new",) if self.project is None else (f"#{self.project.id}", "edit")

    def compose_body(self) -> ComposeResult:
        v, p = self.initial, self.project
        heading = (
            "New project" if p is None else f"Edit project #{p.id} · {render.one_line(p.title, max_len=50)}"
        )
        with VerticalScroll(id="form-body"):
            yield Static(Content.styled(heading, "bold"), id="form-heading")
            yield Static(id="form-error")
            yield field_row("Title", "title", Input(v["title"], id="title", compact=True))
            yield field_row(
                "Owner (PI)",
                "owner",
                Input(v["owner"], id="owner", placeholder="a registered user", compact=True, classes="name"),
                hint=True,
            )
            yield field_row(
                "Description", "description", TextArea(v["description"], id="description", compact=True)
            )
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for field in FIELDS:
            set_error(self, field, "")
        set_text(self, "#form-error", "")
        self.query_one("#title", Input).focus()
        self.db(load_usernames, self._users_loaded, on_error=lambda exc: None)
        self.refresh_check()

    def _users_loaded(self, names: list[str]) -> None:
        self.usernames = names
        self.query_one("#owner", Input).suggester = SuggestFromList(names, case_sensitive=False)
        self.refresh_check()

    # ------------------------------------------------------------------ validation

    def value(self, field: str) -> str:
        if field == "description":
            return self.query_one("#description", TextArea).text
        return self.query_one(f"#{field}", Input).value

    def _changes(self) -> dict[str, str | None]:
        """What is typed; for an edit, None where a field is unchanged."""
        typed = {f: self.value(f).strip() for f in FIELDS}
        p = self.project
        if p is None:
            return dict(typed)
        return {
            "title": typed["title"] if typed["title"] != p.title else None,
            "owner": typed["owner"] if typed["owner"] != p.owner else None,
            "description": typed["description"] if typed["description"] != p.description else None,
        }

    def draft_check(self, *, final: bool) -> tuple[list[FieldProblem], Check | None]:
        changes = self._changes()
        owner, p = self.value("owner").strip(), self.project
        hint = ""
        if p is not None and owner and owner != p.owner:
            hint = f"the owner role moves from {p.owner} to {owner}"
        self.query_one("#owner-hint", Static).update(Content(hint))
        project_id = p.id if p is not None else None
        version = p.version if p is not None else None
        return [], lambda ctx: projects.check_project(
            ctx, **changes, project_id=project_id, expected_version=version
        )

    def show_problems(self, problems: list[FieldProblem], *, final: bool) -> None:
        """Mark each field the service named with its message; the rest go on the form line."""
        if final:
            self.attempted = True
        marks = dict.fromkeys(FIELDS, "")
        loose: list[str] = []
        box = self.query_one("#owner", Input)
        owner = box.value.strip()
        typing = (
            not final
            and box.has_focus
            and any(n.lower().startswith(owner.lower()) and n != owner for n in self.usernames)
        )
        for problem in problems:
            field = problem_field(problem, PROBLEM_FIELDS)
            if field is None:
                if problem.field != "changes" or final:
                    loose.append(str(problem.error))
            elif not marks[field] and not (field == "owner" and typing):
                marks[field] = problem.message
        show_all = final or self.attempted
        for field in FIELDS:
            set_error(self, field, marks[field] if (show_all or field in self.touched) else "")
        if not any(marks.values()):
            fields_fixed(self)
        if not final:
            return
        self.query_one("#save", Button).disabled = False
        bad = [f for f in FIELDS if marks[f]]
        if bad:
            set_text(self, "#form-error", f"{FIX_FIELDS}{'s' if len(bad) > 1 else ''}.")
            self.show_field(bad[0])
        elif loose:
            set_text(self, "#form-error", "Not saved: " + render.one_line(loose[0]))

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
    def _left_field(self, event: Input.Blurred) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
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
        self.query_one("#save", Button).focus()  # judge a name still being typed, too
        changes = self._changes()
        p = self.project
        if p is None:
            title, owner, desc = changes["title"] or "", changes["owner"] or "", changes["description"] or ""
            work = lambda ctx: projects.add_project(ctx, title, owner, desc)  # noqa: E731
        else:
            if all(v is None for v in changes.values()):
                set_text(self, "#form-error", "Nothing changed: there is nothing to save.")
                return
            project_id, version = p.id, p.version
            work = lambda ctx: projects.update_project(  # noqa: E731
                ctx, project_id, expected_version=version, **changes
            )
        set_text(self, "#form-error", "")
        self.query_one("#save", Button).disabled = True
        self.checked_save(work, self._saved, self._refused)

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        if exc.field in FIELDS:
            set_error(self, exc.field, exc.message)
            self.show_field(exc.field)
        set_text(self, "#form-error", "Not saved: " + str(exc))

    def _saved(self, result: projects.ProjectView) -> None:
        self.saving = False
        verb = "Added" if self.project is None else "Updated"
        self.notify(
            f"{verb} project #{result.id} {render.one_line(result.title, max_len=50)!r}"
            f" (owner {result.owner}).",
            title="Saved",
            markup=False,
        )
        self.dismiss(result)
