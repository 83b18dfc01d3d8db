"""Give a user a project role, or take roles away (confirmed), as small dialogs.

The owner role is not offered: a project has one owner, changed by editing the project. The
service refuses what the dialog cannot know (e.g. a removal that would leave a fee subscription
billed to a project its user no longer belongs to) and the refusal is shown in the dialog.
"""

from __future__ import annotations

from nodedesk.core.errors import NodedeskError
from nodedesk.core.models import PROJECT_ROLES
from nodedesk.core.services.rentals import projects
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, RadioSet, Static

from ...kit import render
from ...kit.dialog import ActionDialog
from ...kit.form_parts import set_text
from ...kit.workers import run_db
from ...widgets.choice import Choice
from .project_form import load_usernames

ROLE_HELP = {
    "financial_admin": "handles the project's money (grants, cost objects)",
    "technical_admin": "manages the project's users and jobs",
    "member": "a researcher on the project",
}
ALL_ROLES = "*"


class AddMemberScreen(ActionDialog[projects.ProjectView | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Add"),
    ]

    def __init__(self, project: projects.ProjectView) -> None:
        super().__init__()
        self.project = project
        self.usernames: list[str] = []
        self.busy = False

    def compose(self) -> ComposeResult:
        p = self.project
        with Vertical(classes="dialog", id="member-dialog"):
            yield Static(
                Content.assemble(
                    ("Add a member to ", "bold"), (render.one_line(p.title, max_len=50), "bold $accent")
                ),
                classes="dialog-title",
            )
            yield Input(placeholder="user (a registered nodedesk user)", id="user", compact=True)
            yield Static(id="user-error", classes="field-error")
            with RadioSet(id="role"):
                for role in reversed(PROJECT_ROLES[1:]):  # member first: the default, highlighted
                    yield Choice(f"{role}: {ROLE_HELP[role]}", value=role == "member", name=role)
            yield Static(id="member-note", classes="dialog-text")
            yield Static(id="member-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add (ctrl+s)", id="add", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        set_text(self, "#user-error", "")
        set_text(self, "#member-error", "")
        self.query_one("#user", Input).focus()
        run_db(self, load_usernames, on_done=self._users_loaded, on_error=lambda exc: None)
        self._check()

    def _users_loaded(self, names: list[str]) -> None:
        self.usernames = names
        self.query_one("#user", Input).suggester = SuggestFromList(names, case_sensitive=False)
        self._check()

    def role(self) -> str:
        button = self.query_one("#role", RadioSet).pressed_button
        return (button.name if button is not None else None) or "member"

    def _check(self, *, final: bool = False) -> str:
        """The problem with the current choice ('' when fine), shown under the user field."""
        user = self.query_one("#user", Input).value.strip()
        role = self.role()
        held = self.project.roles_of(user)
        problem, note = "", ""
        if not user:
            problem = "the user is required" if final else ""
        elif self.usernames and user not in self.usernames:
            typing = not final and any(n.lower().startswith(user.lower()) for n in self.usernames)
            if not typing:  # judged once no username starts with what is typed, or on save
                problem = f"no active user named {render.one_line(user, max_len=40)!r}"
        elif role in held:
            problem = f"{user} already has role {role} here"
        elif held:
            note = f"{user} already holds {', '.join(held)}; a user may hold several roles"
        set_text(self, "#user-error", problem)
        set_text(self, "#member-note", note)
        return problem

    @on(Input.Changed, "#user")
    def _user_changed(self) -> None:
        set_text(self, "#member-error", "")
        self._check()

    @on(RadioSet.Changed)
    def _role_changed(self) -> None:
        self._check()

    @on(Input.Submitted, "#user")
    def _user_submitted(self) -> None:
        self.query_one("#role", RadioSet).focus()

    @on(Button.Pressed, "#add")
    def _add_pressed(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy or self._check(final=True):
            return
        user, role, project_id = self.query_one("#user", Input).value.strip(), self.role(), self.project.id
        self.busy = True
        self.query_one("#add", Button).disabled = True
        run_db(
            self,
            lambda ctx: projects.add_member(ctx, project_id, user, role),
            on_done=lambda result: self._added(result, user, role),
            on_error=self._refused,
            write=True,
            group="member",
        )

    def _refused(self, exc: NodedeskError) -> None:
        self.busy = False
        self.query_one("#add", Button).disabled = False
        set_text(self, "#member-error", "Not added: " + str(exc))

    def _added(self, result: projects.ProjectView, user: str, role: str) -> None:
        self.notify(
            f"{user} is now {role} on {render.one_line(result.title, max_len=50)!r}.",
            title="Added",
            markup=False,
        )
        self.dismiss(result)


class RemoveMemberScreen(ActionDialog[projects.ProjectView | None]):
    """Confirm taking one role (or every role but owner) from a member."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+d", "confirm", "Remove"),
    ]

    def __init__(self, project: projects.ProjectView, member: projects.MemberView) -> None:
        super().__init__()
        self.project = project
        self.member = member
        self.removable = [r for r in member.roles if r != "owner"]
        self.busy = False

    def compose(self) -> ComposeResult:
        m, p = self.member, self.project
        with Vertical(classes="dialog", id="member-dialog"):
            yield Static(
                Content.assemble(
                    (f"Remove {render.one_line(m.username)} from ", "bold"),
                    (render.one_line(p.title, max_len=50), "bold $accent"),
                    ("?", "bold"),
                ),
                classes="dialog-title",
            )
            yield Static(
                Content(f"{render.one_line(m.username)} holds: {', '.join(m.roles)}."), classes="dialog-text"
            )
            if len(self.removable) == 1:
                yield Static(Content(f"This takes role {self.removable[0]} away."), classes="dialog-text")
            else:
                with RadioSet(id="roles"):
                    label = "every role" + (" except owner" if "owner" in m.roles else "")
                    yield Choice(f"{label} ({', '.join(self.removable)})", value=True, name=ALL_ROLES)
                    for role in self.removable:
                        yield Choice(f"only {role}", name=role)
            if "owner" in m.roles:
                yield Static(
                    Content("The owner role stays: change the owner by editing the project (e)."),
                    classes="dialog-text",
                )
            yield Static(id="member-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Remove (ctrl+d)", id="remove", variant="error", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        set_text(self, "#member-error", "")
        (self.query_one("#roles") if len(self.removable) > 1 else self.query_one("#cancel")).focus()

    def choice(self) -> str | None:
        """The role to take away; None: every role except owner."""
        if len(self.removable) == 1:
            return self.removable[0]
        button = self.query_one("#roles", RadioSet).pressed_button
        name = button.name if button is not None else ALL_ROLES
        return None if name == ALL_ROLES else name

    @on(Button.Pressed, "#remove")
    def _remove_pressed(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy:
            return
        role, user, project_id = self.choice(), self.member.username, self.project.id
        self.busy = True
        self.query_one("#remove", Button).disabled = True
        run_db(
            self,
            lambda ctx: projects.remove_member(ctx, project_id, user, role),
            on_done=lambda result: self._removed(result, role),
            on_error=self._refused,
            write=True,
            group="member",
        )

    def _refused(self, exc: NodedeskError) -> None:
        self.busy = False
        self.query_one("#remove", Button).disabled = False
        set_text(self, "#member-error", "Not removed: " + str(exc))

    def _removed(self, result: projects.ProjectView, role: str | None) -> None:
        what = f"role {role}" if role else "every role but owner"
        self.notify(
            f"Took {what} from {self.member.username} on {render.one_line(result.title, max_len=50)!r}.",
            title="Removed",
            markup=False,
        )
        self.dismiss(result)
