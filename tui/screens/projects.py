"""Projects section: the paged, filterable list of projects with today's cost split."""

from __future__ import annotations

from collections.abc import Iterable

from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import project_pages as svc
from nodedesk.core.services import projects, splits
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from .. import render
from ..widgets.paged_table import Col, PagedTable, Row
from .base import NodedeskScreen
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


class ProjectsScreen(ProjectActionsMixin, NodedeskScreen):
    SECTION = "projects"
    HELP_TOPIC = "projects"
    REFRESH_SECONDS = 30.0

    BINDINGS = [
        *action_bindings("new_project", "edit_project", "propose_split", "approve_split", "reject_split"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter: title, description, owner, member, cost object",
        ),
        Binding("f", "cycle_show", "Show", show=False, tooltip="Show: all, active, archived, pending split"),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload (also every 30 s)"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show: str | None = None
        self.text = ""
        self.page: dict[str, svc.ProjectRow] = {}
        self._debounce: Timer | None = None
        self._loaded = False
        self._select: str | None = None

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="projects-body", classes="list-body"):
            yield Input(placeholder="filter: title, description, owner, member or cost object", id="filter")
            yield Static(id="list-status")
            yield PagedTable(id="projects-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.table.set_columns(
            [
                Col("id", "#", 3),
                Col("title", "Title", None, min_width=14),
                Col("owner", "Owner", 9),
                Col("status", "Status", 10),
                Col("members", "Mem", 3),
                Col("pending", "Pending", 7),
                Col("split", "Split today", None, min_width=14),
            ]
        )
        self.table.focus()
        self.reload()
        self.set_interval(self.REFRESH_SECONDS, self.reload)

    def on_screen_resume(self) -> None:
        if self._loaded:
            self.reload()

    @property
    def table(self) -> PagedTable:
        return self.query_one("#projects-table", PagedTable)

    # ------------------------------------------------------------------ loading

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        query = svc.ProjectQuery(
            status=self.show,
            text=self.text,
            offset=self.table.page_offset if offset is None else offset,
            limit=self.table.page_size,
        )
        self.db(
            lambda ctx: svc.list_project_page(ctx, query),
            lambda page: self._show(page, cursor),
            on_error=self._load_failed,
            group="list",
            exclusive=True,
        )

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load projects")

    def _show(self, page: svc.ProjectPage, cursor: str) -> None:
        if not page.items and page.total and page.offset >= page.total:
            self.reload(self.table.last_offset, "last")  # the list shrank under us
            return
        self._loaded = True
        self.page = {str(r.project.id): r for r in page.items}
        self.table.show_page(self._rows(page.items), page.total, page.offset, cursor)  # type: ignore[arg-type]
        if self._select is not None:
            keys = [str(r.project.id) for r in page.items]
            if self._select in keys:
                self.table.move_cursor(row=keys.index(self._select))
            self._select = None
        self._update_status()
        self._update_preview()
        self.refresh_bindings()

    def _rows(self, items: list[svc.ProjectRow]) -> list[Row]:
        return [
            Row(
                str(r.project.id),
                [
                    Text(str(r.project.id), justify="right"),
                    render.text(r.project.title),
                    render.text(r.project.owner),
                    project_status(r.project.status),
                    Text(str(r.member_count), justify="right"),
                    pending_cell(r.pending),
                    split_cell(r.split),
                ],
            )
            for r in items
        ]

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    # ------------------------------------------------------------------ status and preview

    def _update_status(self) -> None:
        parts: list[str | tuple[str, str]] = [
            ("Projects ", "bold"),
            self.table.range_label(),
            "  ·  show: ",
            (SHOW_LABELS[self.show], "bold"),
        ]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        self.query_one("#list-status", Static).update(Content.assemble(*parts))

    def _update_preview(self) -> None:
        row = self.current_row()
        preview = self.query_one("#preview", Static)
        if row is None:
            empty = "No projects match." if (self.text or self.show) else "No projects yet."
            hint = "" if self.refusal_for("new_project") else " Press n to add one."
            preview.update(Content(empty + hint))
            return
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
        preview.update(Content("\n").join([first, split]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    # ------------------------------------------------------------------ the selected project

    def current_row(self) -> svc.ProjectRow | None:
        key = self.table.current_key() if self.is_mounted else None
        return self.page.get(key) if key else None

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
            self._select = str(result.id)
        self.reload()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.project_action_state(action, parameters)
        if state is not None:
            return state
        if action == "clear_filter":
            return bool(self.text or self.show) or self.query_one("#filter", Input).display
        return True

    def action_open(self) -> None:
        project = self.current_project()
        if project is not None:
            from .project_detail import ProjectDetailScreen

            self.app.push_screen(ProjectDetailScreen(project.id))

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        changed = bool(self.text or self.show)
        self.text, self.show = "", None
        box.value = ""
        box.display = False
        self.table.focus()
        self.refresh_bindings()
        if changed:
            self.reload(0, "first")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.25, lambda: self._apply_filter(event.value))

    def _apply_filter(self, value: str) -> None:
        if value.strip() != self.text:
            self.text = value.strip()
            self.reload(0, "first")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter(event.value)
        if not self.text:
            event.input.display = False
        self.table.focus()

    def set_show(self, show: str | None) -> None:
        self.show = show
        self.reload(0, "first")
        self.refresh_bindings()

    def action_cycle_show(self) -> None:
        options = list(svc.SHOW)
        self.set_show(options[(options.index(self.show) + 1) % len(options)])

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
