"""New project / edit project: title, owner (PI) and description, checked as you type.

On save the service checks everything again (unique title, a registered active owner, nobody
else changed the project since the form opened); a refusal is shown next to the field it names.
"""

from __future__ import annotations

from nodedesk.core import validate
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.services import projects, users
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Static, TextArea

from .. import render
from .edit_form import EditFormScreen
from .form_parts import FIX_FIELDS, field_row, fields_fixed, set_error, set_text

FIELDS = ("title", "owner", "description")


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
            yield field_row("Title", "title", Input(v["title"], id="title", max_length=200, compact=True))
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
        self.validate_all(show_untouched=False)

    def _users_loaded(self, names: list[str]) -> None:
        self.usernames = names
        self.query_one("#owner", Input).suggester = SuggestFromList(names, case_sensitive=False)
        self.validate_all(show_untouched=False)

    # ------------------------------------------------------------------ validation

    def value(self, field: str) -> str:
        if field == "description":
            return self.query_one("#description", TextArea).text
        return self.query_one(f"#{field}", Input).value

    def check(self) -> dict[str, str]:
        errors = dict.fromkeys(FIELDS, "")
        for field, fn in (
            ("title", lambda: validate.title(self.value("title"))),
            ("description", lambda: validate.text(self.value("description"), "description", max_len=4000)),
        ):
            try:
                fn()
            except ValidationError as exc:
                errors[field] = exc.message
        owner = self.value("owner").strip()
        hint = ""
        if not owner:
            errors["owner"] = "is required (the PI, a registered nodedesk user)"
        elif self.usernames and owner not in self.usernames:
            box = self.query_one("#owner", Input)
            typing = box.has_focus and any(n.lower().startswith(owner.lower()) for n in self.usernames)
            errors["owner"] = "" if typing else f"no active user named {render.one_line(owner, max_len=40)!r}"
        elif self.project is not None and owner != self.project.owner:
            hint = f"the owner role moves from {self.project.owner} to {owner}"
        self.query_one("#owner-hint", Static).update(Content(hint))
        return errors

    def validate_all(self, *, show_untouched: bool) -> dict[str, str]:
        errors = self.check()
        show_all = show_untouched or self.attempted
        for field, message in errors.items():
            set_error(self, field, message if (show_all or field in self.touched) else "")
        if not any(errors.values()):
            fields_fixed(self)
        return errors

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
    def _left_field(self, event: Input.Blurred) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.validate_all(show_untouched=False)

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
        errors = self.validate_all(show_untouched=True)
        bad = [f for f in FIELDS if errors[f]]
        if bad:
            set_text(self, "#form-error", f"{FIX_FIELDS}{'s' if len(bad) > 1 else ''}.")
            self.show_field(bad[0])
            return
        title, owner, desc = (
            self.value("title").strip(),
            self.value("owner").strip(),
            self.value("description").strip(),
        )
        p = self.project
        if p is None:
            work = lambda ctx: projects.add_project(ctx, title, owner, desc)  # noqa: E731
        else:
            changes = {
                "title": title if title != p.title else None,
                "owner": owner if owner != p.owner else None,
                "description": desc if desc != p.description else None,
            }
            if all(v is None for v in changes.values()):
                set_text(self, "#form-error", "Nothing changed: there is nothing to save.")
                return
            project_id, version = p.id, p.version
            work = lambda ctx: projects.update_project(  # noqa: E731
                ctx, project_id, expected_version=version, **changes
            )
        set_text(self, "#form-error", "")
        self.saving = True
        self.query_one("#save", Button).disabled = True
        self.db(work, self._saved, on_error=self._refused, write=True, group="save")

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
