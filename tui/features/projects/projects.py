"""Projects section: the paged, filterable list of projects with today's cost split."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.services.rentals import project_pages as svc
from nodedesk.core.services.rentals import projects, splits
from rich.text import Text
from textual.app import SystemCommand
from textual.content import Content

from ...kit import render
from ...kit.list_screen import ListScreen, clear_binding, cycle_bindings, filter_binding, reload_binding
from ...kit.query import Cycle, ListQuery
from ...widgets.paged_table import Col
from .project_actions import (
    ProjectActionsMixin,
    action_bindings,
    compact_split,
    pending_cell,
    project_status,
    split_cell,
    split_summary,
)

SHOW_LABELS = {None: "all", "active": "active", "archived": "archived", "pending_split": "pending split"}
SHOW = Cycle(
    "show",
    "f",
    tuple(svc.SHOW),
    "Show",
    tooltip="Show: all, active, archived, pending split",
    labels=SHOW_LABELS,
)


class ProjectsScreen(ProjectActionsMixin, ListScreen):
    SECTION = "projects"
    HELP_TOPIC = "projects"
    REFRESH_SECONDS = 30.0
    LIST_TITLE = "Projects"
    NOUN = "projects"
    BODY_ID = "projects-body"
    TABLE_ID = "projects-table"
    FILTER_PLACEHOLDER = "filter: title, description, owner, member or cost object"
    CYCLES = (SHOW,)
    PREVIEW = True

    BINDINGS = [
        *action_bindings("new_project", "edit_project", "propose_split", "approve_split", "reject_split"),
        filter_binding("Filter: title, description, owner, member, cost object"),
        *cycle_bindings([SHOW]),
        reload_binding("Reload (also every 30 s)"),
        clear_binding(),
    ]

    @property
    def show(self) -> str | None:
        return self.filters["show"]  # type: ignore[no-any-return]

    def columns(self) -> list[Col]:
        return [
            Col("id", "#", 3),
            Col("title", "Title", None, min_width=14),
            Col("owner", "Owner", 9),
            Col("status", "Status", 10),
            Col("members", "Mem", 3),
            Col("pending", "Pending", 7),
            Col("split", "Split today", None, min_width=14),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.ProjectPage:
        q = svc.ProjectQuery(
            status=query.get("show"), text=query.text, offset=query.offset, limit=query.limit
        )
        return svc.list_project_page(ctx, q)

    def key(self, r: svc.ProjectRow) -> str:
        return str(r.project.id)

    def cells(self, r: svc.ProjectRow) -> Sequence[Any]:
        return [
            Text(str(r.project.id), justify="right"),
            render.text(r.project.title),
            render.text(r.project.owner),
            project_status(r.project.status),
            Text(str(r.member_count), justify="right"),
            pending_cell(r.pending),
            split_cell(r.split),
        ]

    def open(self, r: svc.ProjectRow) -> None:
        self.action_open()

    def empty_text(self) -> str:
        empty = "No projects match." if self.filtered else "No projects yet."
        hint = "" if self.refusal_for("new_project") else " Press n to add one."
        return empty + hint

    def preview(self, row: svc.ProjectRow | None) -> Content:
        if row is None:
            return Content(self.empty_text())
        p = row.project
        owner = f"{p.owner} ({p.owner_name})" if p.owner_name else p.owner
        first = Content.assemble(
            (f"#{p.id} ", "bold"),
            (render.one_line(p.title, max_len=60), "bold"),
            f"  ·  owner {render.one_line(owner, max_len=40)}  ·  {row.member_count} member"
            f"{'' if row.member_count == 1 else 's'}",
        )
        split = Content.assemble(("Today: ", "bold"), render.one_line(compact_split(row.split)))
        if row.split is None:
            split = Content.assemble(
                ("Today: ", "bold"), ("UNALLOCATED (no approved split in force)", "$warning")
            )
        if row.pending is not None:
            split = Content.assemble(
                split, "  ·  ", ("pending ", "bold $warning"), split_summary(row.pending)
            )
        return Content("\n").join([first, split])

    # ------------------------------------------------------------------ the selected project

    def current_row(self) -> svc.ProjectRow | None:
        return self.current_item()  # type: ignore[no-any-return]

    def current_project(self) -> projects.ProjectView | None:
        row = self.current_row()
        return row.project if row else None

    def current_pending(self) -> splits.SplitView | None:
        row = self.current_row()
        return row.pending if row else None

    def current_split(self) -> splits.SplitView | None:
        row = self.current_row()
        return row.split if row else None

    def changed(self, result: object) -> None:
        if isinstance(result, projects.ProjectView):
            self.select_key(str(result.id))
        self.reload()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.project_action_state(action, parameters)
        if state is not None:
            return state
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        project = self.current_project()
        if project is not None:
            from .project_detail import ProjectDetailScreen

            self.app.push_screen(ProjectDetailScreen(project.id))

    def set_show(self, show: str | None) -> None:
        self.set_filter("show", show)

    def palette_commands(self) -> Iterable[SystemCommand]:
        for action, title, help_ in (
            ("new_project", "New project", "Add a project with its owner (n)"),
            ("propose_split", "Propose a cost split", "For the selected project (p)"),
            ("approve_split", "Approve the pending split", "Of the selected project (a)"),
            ("reject_split", "Reject the pending split", "Of the selected project (x)"),
        ):
            yield SystemCommand(title, help_, lambda action=action: self.run_or_explain(action))
        yield SystemCommand(
            "Filter projects", "Title, description, owner, member or cost object (/)", self.action_filter
        )
        for show, label in SHOW_LABELS.items():
            yield SystemCommand(f"Show {label} projects", "f cycles", lambda show=show: self.set_show(show))
