"""Display helpers and the actions shared by the project list and a project's detail screen.

Every action has two bindings on its key: the action itself, offered (and in the footer) only
when it can be done for the selected project right now, and a hidden fallback that says why not
(the user's roles, a read-only session, no pending split, an archived project). The services
check everything again.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from nodedesk.core.models import UNALLOCATED
from nodedesk.core.safetext import one_line
from nodedesk.core.services.rentals import projects, splits
from rich.text import Text
from textual.binding import Binding

from ...kit.render import LOCK
from ..windows.window_actions import not_allowed

if TYPE_CHECKING:
    from ...session import AppSession

# Hex colours, as in render.STATUS_STYLE: ANSI names are re-mapped through the theme (yellow can
# come out red). They land on green / yellow / cyan / red / grey in 16 and 256 colours too.
GREEN, YELLOW, CYAN, RED, GREY = "#5faf5f", "#ffd75f", "#5fd7ff", "#d75f5f", "#8a8a8a"
PROJECT_STATUS = {"active": ("●", GREEN), "archived": ("▪", GREY)}
SPLIT_STATUS = {
    "pending": ("…", f"bold {YELLOW}"),
    "approved": ("✓", GREEN),
    "rejected": ("✗", RED),
    "superseded": ("⊘", GREY),
}
PENDING = "…"  # the reservations' pending glyph

# action → (capability, footer label, what it does for the help modal)
ACTIONS: dict[str, tuple[str, str, str]] = {
    "new_project": ("manage_projects", "New", "New project"),
    "edit_project": ("manage_projects", "Edit", "Edit the project: title, owner, description"),
    "propose_split": ("request_splits", "Propose", "Propose a cost split"),
    "approve_split": ("approve_splits", "Approve", "Approve the pending split (confirmed first)"),
    "reject_split": ("approve_splits", "Reject", "Reject the pending split (with a reason)"),
    "add_member": ("manage_projects", "Add member", "Give a user a project role"),
    "remove_member": ("manage_projects", "Remove", "Take project roles from the selected member"),
}
KEYS = {
    "new_project": "n",
    "edit_project": "e",
    "propose_split": "p",
    "approve_split": "a",
    "reject_split": "x",
    "add_member": "n",
    "remove_member": "d",
}


def action_bindings(*names: str) -> list[Binding]:
    """The action binding and its hidden 'why not' fallback, for each named action."""
    result: list[Binding] = []
    for name in names:
        _, label, tip = ACTIONS[name]
        key = KEYS[name]
        result.append(Binding(key, name, label, tooltip=tip))
        result.append(
            Binding(
                key,
                f"why('{name}')",
                f"{label} {LOCK}",
                show=False,
                tooltip=f"{label}: not available now (says why)",
            )
        )
    return result


# ---------------------------------------------------------------- display


def percent(value: Decimal) -> str:
    """``60``, ``33.33``, ``12.3456``: exact, without trailing zeros (for narrow cells)."""
    return format(value.normalize(), "f") if value == value.to_integral() else splits.format_percent(value)


def compact_split(split: splits.SplitView | None) -> str:
    """``NIH-R01 60%, NSF 40%`` or ``UNALLOCATED``."""
    if split is None:
        return UNALLOCATED
    return ", ".join(f"{p.cost_object} {percent(p.percent)}%" for p in split.parts)


def split_cell(split: splits.SplitView | None) -> Text:
    if split is None:
        return Text(f"⚠ {UNALLOCATED}", style=YELLOW, no_wrap=True, overflow="ellipsis")
    return Text(one_line(compact_split(split)), no_wrap=True, overflow="ellipsis")


def project_status(status: str) -> Text:
    glyph, style = PROJECT_STATUS.get(status, ("?", ""))
    return Text(f"{glyph} {status}", style=style, no_wrap=True)


def split_status_word(v: splits.SplitView) -> str:
    return "superseded" if v.superseded_by else v.status


def split_status(v: splits.SplitView) -> Text:
    word = split_status_word(v)
    glyph, style = SPLIT_STATUS.get(word, ("?", ""))
    label = f"{glyph} superseded by #{v.superseded_by}" if v.superseded_by else f"{glyph} {word}"
    return Text(label, style=style, no_wrap=True, overflow="ellipsis")


def pending_cell(pending: splits.SplitView | None) -> Text:
    if pending is None:
        return Text("")
    return Text(f"#{pending.id}", style=f"bold {YELLOW}", no_wrap=True)  # the header says "Pending"


def split_summary(v: splits.SplitView) -> str:
    """``#5 from 2026-03-01: NIH 70.00%, SEED 30.00% (proposed by rmgr)`` (plain text)."""
    return f"#{v.id} from {v.effective_date.isoformat()}: {one_line(v.label())} (proposed by {v.created_by})"


# ---------------------------------------------------------------- actions


def refusal(
    session: AppSession,
    action: str,
    project: projects.ProjectView | None,
    pending: splits.SplitView | None,
    member: projects.MemberView | None = None,
) -> str:
    """Why ``action`` cannot be done on ``project`` right now ('' when it can)."""
    capability = ACTIONS[action][0]
    why = not_allowed(session, capability)
    if why:
        return why
    if action == "new_project":
        return ""
    if project is None:
        return "no project is selected"
    title = one_line(project.title, max_len=60)
    if action in ("approve_split", "reject_split") and pending is None:
        verb = "approve" if action == "approve_split" else "reject"
        return f"{title!r} has no pending split to {verb}; propose one with p"
    if action == "add_member" and project.status != "active":
        return f"{title!r} is archived; it takes no new members"
    if action == "remove_member":
        if member is None:
            return "select a member in the Members list first"
        if member.roles == ("owner",):
            return (
                f"{member.username} is the owner (PI) of {title!r}; the owner role cannot be removed — "
                "give the project another owner with e (edit)"
            )
    return ""


class ProjectActionsMixin:
    """Needs ``current_project()``, ``current_pending()``, ``current_split()`` and ``changed(result)``."""

    session: AppSession
    app: Any
    explain: Callable[..., None]

    def current_project(self) -> projects.ProjectView | None:
        raise NotImplementedError

    def current_pending(self) -> splits.SplitView | None:
        raise NotImplementedError

    def current_split(self) -> splits.SplitView | None:
        raise NotImplementedError

    def current_member(self) -> projects.MemberView | None:
        return None

    def changed(self, result: object) -> None:
        raise NotImplementedError

    def refusal_for(self, action: str) -> str:
        return refusal(
            self.session, action, self.current_project(), self.current_pending(), self.current_member()
        )

    def project_action_state(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``check_action`` for the shared actions (None: not one of ours)."""
        if action in ACTIONS:
            return not self.refusal_for(action)
        if action == "why" and parameters and parameters[0] in ACTIONS:
            return bool(self.refusal_for(str(parameters[0])))
        return None

    def run_or_explain(self, action: str) -> None:
        """For the command palette: do the action, or say why it cannot be done."""
        if self.refusal_for(action):
            self.action_why(action)
        else:
            getattr(self, f"action_{action}")()

    def action_why(self, action: str) -> None:
        message = self.refusal_for(action)
        if message:
            self.explain(message, title=f"{ACTIONS[action][1]} {LOCK}")

    def _done(self, result: object) -> None:
        if result is not None:
            self.changed(result)

    def action_new_project(self) -> None:
        from .project_form import ProjectFormScreen

        self.app.push_screen(ProjectFormScreen(None), self._done)

    def action_edit_project(self) -> None:
        project = self.current_project()
        if project is not None:
            from .project_form import ProjectFormScreen

            self.app.push_screen(ProjectFormScreen(project), self._done)

    def action_propose_split(self) -> None:
        project = self.current_project()
        if project is not None:
            from .split_form import SplitFormScreen

            screen = SplitFormScreen(project, self.current_split(), self.current_pending())
            self.app.push_screen(screen, self._done)

    def _decide(self, decision: str) -> None:
        project, pending = self.current_project(), self.current_pending()
        if project is not None and pending is not None:
            from .split_decision import SplitDecisionScreen

            self.app.push_screen(SplitDecisionScreen(project, pending, decision), self._done)

    def action_approve_split(self) -> None:
        self._decide("approve")

    def action_reject_split(self) -> None:
        self._decide("reject")
