"""One project: owner, status, today's split and the pending one; members, split history and fee
subscriptions in three lists (tab / shift+tab switch between them)."""

from __future__ import annotations

from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError, NotFoundError
from nodedesk.core.services.rentals import project_pages as svc
from nodedesk.core.services.rentals import projects, splits, subscriptions
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from ...kit import render
from ...kit.base import NodedeskScreen
from ...widgets.list_table import ListTable
from ...widgets.paged_table import Col, Row
from .project_actions import (
    CYAN,
    GREEN,
    GREY,
    ProjectActionsMixin,
    action_bindings,
    compact_split,
    project_status,
    split_status,
    split_status_word,
)

PANES = ("members", "splits", "subscriptions")
SUB_STATUS = {"upcoming": ("◷", CYAN), "active": ("●", GREEN), "ended": ("▪", GREY)}


def subscription_status(status: str) -> Text:
    glyph, style = SUB_STATUS.get(status, ("?", ""))
    return Text(f"{glyph} {status}", style=style, no_wrap=True)


def date_or_open(day: Any) -> str:
    return day.isoformat() if day is not None else "open"


class ProjectDetailScreen(ProjectActionsMixin, NodedeskScreen):
    DEFAULT_CSS = """
    #project-summary {
        height: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    #project-tabs, #project-tabs > ContentSwitcher, #project-tabs TabPane {
        height: 1fr;
    }
    #project-tabs TabPane {
        padding: 0;
    }
    """

    SECTION = "projects"
    HELP_TOPIC = "projects"
    HELP_TITLE = "project"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *action_bindings("add_member", "remove_member", "edit_project"),
        *action_bindings("propose_split", "approve_split", "reject_split"),
        Binding(
            "tab",
            "next_pane",
            "Next list",
            key_display="⇥",
            tooltip="Next list: members → splits → subscriptions",
        ),
        Binding("shift+tab", "previous_pane", "Previous list", show=False),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload now (the screen is live anyway)"),
    ]

    def __init__(self, project_id: int, pane: str = "members") -> None:
        super().__init__()
        self.project_id = project_id
        self.overview: svc.ProjectOverview | None = None
        self.first_pane = pane

    def crumbs(self) -> tuple[str, ...]:
        return (f"#{self.project_id}",)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="project-detail"):
            yield Static(Content("Loading…"), id="project-summary")
            with TabbedContent(id="project-tabs", initial=self.first_pane):
                with TabPane("Members", id="members"):
                    yield ListTable(id="members-table")
                with TabPane("Cost splits", id="splits"):
                    yield ListTable(id="splits-table")
                with TabPane("Subscriptions", id="subscriptions"):
                    yield ListTable(id="subscriptions-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.table("members").set_columns(
            [Col("user", "User", 12), Col("name", "Name", None, min_width=12), Col("roles", "Roles", None)]
        )
        self.table("splits").set_columns(
            [
                Col("id", "#", 4),
                Col("from", "Effective", 10),
                Col("status", "Status", 12),
                Col("parts", "Split", None, min_width=16),
                Col("by", "Proposed", 8, essential=False),
                Col("decided", "Decided", 8, essential=False),
            ]
        )
        self.table("subscriptions").set_columns(
            [
                Col("id", "#", 4),
                Col("user", "User", 10),
                Col("sku", "SKU", 15),
                Col("from", "From", 10),
                Col("to", "To", 10),
                Col("status", "Status", 10),
                Col("project", "Billed to now", None, min_width=12, essential=False),
            ]
        )
        self.table(self.first_pane).focus()
        self.reload()

    def table(self, pane: str) -> ListTable:
        return self.query_one(f"#{pane}-table", ListTable)

    @property
    def pane(self) -> str:
        return self.query_one("#project-tabs", TabbedContent).active or "members"

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        project_id = self.project_id
        self.db(
            lambda ctx: svc.project_overview(ctx, project_id),
            self._show,
            on_error=self._failed,
            group="detail",
        )

    def _failed(self, exc: NodedeskError) -> None:
        if isinstance(exc, NotFoundError) and self.overview is None:
            self.explain(f"Project #{self.project_id} does not exist.", "Gone")
            self.dismiss(None)
            return
        self.refused(exc, "Could not load the project")

    def _show(self, o: svc.ProjectOverview) -> None:
        self.overview = o
        self.query_one("#project-summary", Static).update(self._summary(o))
        members = [
            Row(m.username, [render.text(m.username), render.text(m.full_name), Text(", ".join(m.roles))])
            for m in o.project.members
        ]
        history = [
            Row(
                str(v.id),
                [
                    Text(str(v.id), justify="right"),
                    v.effective_date.isoformat(),
                    split_status(v),
                    render.text(compact_split(v)),
                    render.text(v.created_by),
                    render.text(v.decided_by or ""),
                ],
            )
            for v in o.history
        ]
        subs = [
            Row(
                str(s.id),
                [
                    Text(str(s.id), justify="right"),
                    render.text(s.user),
                    render.text(s.current.sku),
                    s.start_date.isoformat(),
                    date_or_open(s.end_date),
                    subscription_status(s.status),
                    render.text(s.current.project),
                ],
            )
            for s in o.subscriptions
        ]
        for pane, rows in (("members", members), ("splits", history), ("subscriptions", subs)):
            self.table(pane).show_page(rows, len(rows), 0)
        tabs = self.query_one("#project-tabs", TabbedContent)
        tabs.get_tab("members").label = Content(f"Members ({len(members)})")
        tabs.get_tab("splits").label = Content(f"Cost splits ({len(history)})")
        tabs.get_tab("subscriptions").label = Content(f"Subscriptions ({len(subs)})")
        self._update_preview()
        self.refresh_bindings()

    def _summary(self, o: svc.ProjectOverview) -> Content:
        p, tz = o.project, self.session.tz
        owner = f"{p.owner} ({p.owner_name})" if p.owner_name else p.owner
        lines = [
            Content.assemble(
                (f"#{p.id}  ", "bold"),
                (render.one_line(p.title, max_len=60), "bold $accent"),
                "  ",
                Content.from_rich_text(project_status(p.status)),
            ),
            Content.assemble(
                ("Owner ", "bold"),
                render.one_line(owner, max_len=50),
                f"  ·  created {timeutil.to_local(p.created_at, tz).format('YYYY-MM-DD')}"
                f" by {render.one_line(p.created_by)}",
            ),
        ]
        if o.split is None:
            lines.append(
                Content.assemble(
                    ("Split today ", "bold"), ("⚠ UNALLOCATED: no approved split in force", "$warning")
                )
            )
        else:
            lines.append(
                Content.assemble(
                    ("Split today ", "bold"),
                    render.one_line(compact_split(o.split)),
                    (f"  (#{o.split.id}, from {o.split.effective_date.isoformat()})", "dim"),
                )
            )
        planned = [
            v
            for v in o.history
            if v.status == "approved" and not v.superseded_by and v.effective_date > o.today
        ]
        if planned:
            v = min(planned, key=lambda v: (v.effective_date, v.id))
            lines.append(
                Content.assemble(
                    ("Planned ", "bold"),
                    f"from {v.effective_date.isoformat()}: {render.one_line(compact_split(v))}",
                    (f"  (#{v.id}, approved)", "dim"),
                )
            )
        if o.pending is not None:
            v = o.pending
            lines.append(
                Content.assemble(
                    ("Pending ", "bold $warning"),
                    f"#{v.id} from {v.effective_date.isoformat()}: {render.one_line(compact_split(v))}",
                    (f"  (proposed by {render.one_line(v.created_by)})", "dim"),
                )
            )
        if p.description:
            lines.append(Content.styled(render.one_line(p.description, max_len=300), "italic"))
        return Content("\n").join(lines)

    # ------------------------------------------------------------------ the selected row

    def _current(self, pane: str) -> str | None:
        return self.table(pane).current_key() if self.overview is not None else None

    def current_member(self) -> projects.MemberView | None:
        key = self._current("members")
        if self.overview is None or key is None or self.pane != "members":
            return None
        return next((m for m in self.overview.project.members if m.username == key), None)

    def _current_version(self) -> splits.SplitView | None:
        key = self._current("splits")
        if self.overview is None or key is None:
            return None
        return next((v for v in self.overview.history if str(v.id) == key), None)

    def _current_subscription(self) -> subscriptions.SubscriptionView | None:
        key = self._current("subscriptions")
        if self.overview is None or key is None:
            return None
        return next((s for s in self.overview.subscriptions if str(s.id) == key), None)

    def _update_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        if self.overview is None:
            return
        pane, tz = self.pane, self.session.tz
        lines: list[Content] = []
        if pane == "members":
            m = self.current_member()
            if m is not None:
                name = f" ({m.full_name})" if m.full_name else ""
                lines.append(
                    Content.assemble(
                        (render.one_line(m.username), "bold"),
                        render.one_line(name),
                        ": " + ", ".join(m.roles),
                    )
                )
                lines.append(Content.styled("n gives a user a role · d takes roles away", "dim"))
        elif pane == "splits":
            v = self._current_version()
            if v is None:
                lines.append(
                    Content("No split yet: every charge goes to UNALLOCATED. Press p to propose one.")
                )
            else:
                lines.append(
                    Content.assemble(
                        (f"#{v.id} from {v.effective_date.isoformat()} ", "bold"),
                        f"{split_status_word(v)}: ",
                        render.one_line(v.label()),
                    )
                )
                proposed = (
                    f"proposed by {render.one_line(v.created_by)} {timeutil.format_short(v.created_at, tz)}"
                )
                if v.decided_by and v.decided_at:
                    verb = "approved" if v.status == "approved" else "rejected"
                    when = timeutil.format_short(v.decided_at, tz)
                    proposed += f" · {verb} by {render.one_line(v.decided_by)} {when}"
                if v.decision_reason:
                    proposed += f" · {render.one_line(v.decision_reason, max_len=200)}"
                lines.append(Content(proposed))
        else:
            s = self._current_subscription()
            if s is None:
                lines.append(Content("No fee subscription is billed to this project."))
            else:
                lines.append(
                    Content.assemble(
                        (f"#{s.id} {render.one_line(s.user)} ", "bold"),
                        f"{s.status} · {s.start_date.isoformat()} → {date_or_open(s.end_date)}",
                    )
                )
                periods = "; ".join(
                    f"{p.sku} to {render.one_line(p.project, max_len=30)} "
                    f"{p.start_date.isoformat()} → {date_or_open(p.end_date)}"
                    for p in s.periods
                )
                lines.append(Content(f"periods: {periods}"))
        preview.update(Content("\n").join(lines))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _pane_changed(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in PANES:
            self.table(event.pane.id).focus()
        self._update_preview()
        self.refresh_bindings()

    # ------------------------------------------------------------------ actions

    def current_project(self) -> projects.ProjectView | None:
        return self.overview.project if self.overview else None

    def current_pending(self) -> splits.SplitView | None:
        return self.overview.pending if self.overview else None

    def current_split(self) -> splits.SplitView | None:
        return self.overview.split if self.overview else None

    def changed(self, result: object) -> None:
        if isinstance(result, splits.SplitView):
            self.show_pane("splits")
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.project_action_state(action, parameters)
        return True if state is None else state

    def show_pane(self, pane: str) -> None:
        self.query_one("#project-tabs", TabbedContent).active = pane
        self.table(pane).focus()
        self._update_preview()
        self.refresh_bindings()

    def action_next_pane(self) -> None:
        self.show_pane(PANES[(PANES.index(self.pane) + 1) % len(PANES)])

    def action_previous_pane(self) -> None:
        self.show_pane(PANES[(PANES.index(self.pane) - 1) % len(PANES)])

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_add_member(self) -> None:
        project = self.current_project()
        if project is not None:
            from .member_dialogs import AddMemberScreen

            self.show_pane("members")
            self.app.push_screen(AddMemberScreen(project), self._done)

    def action_remove_member(self) -> None:
        project, member = self.current_project(), self.current_member()
        if project is not None and member is not None:
            from .member_dialogs import RemoveMemberScreen

            self.app.push_screen(RemoveMemberScreen(project, member), self._done)
