"""Schedules section: the paged list of recurring maintenance schedules."""

from __future__ import annotations

from collections.abc import Iterable

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import schedules as svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from .. import render
from ..widgets.paged_table import Col, PagedTable, Row
from .base import NodedeskScreen
from .window_actions import not_allowed


def extend_all(screen: NodedeskScreen, on_done=None) -> None:  # type: ignore[no-untyped-def]
    """Create every schedule's windows up to the horizon (the site setting)."""
    refusal = not_allowed(screen.session, "manage_windows")
    if refusal:
        screen.explain(refusal)
        return

    def done(result: svc.ExtendResult) -> None:
        screen.notify(
            f"Schedules extended to {timeutil.format_local(result.horizon_end, screen.session.tz)} "
            f"({result.months} month(s) ahead): {result.total} window(s) created.",
            title="Extended",
            markup=False,
        )
        if on_done is not None:
            on_done()

    screen.db(lambda ctx: svc.extend_schedules(ctx), done, write=True, group="extend")


class SchedulesScreen(NodedeskScreen):
    SECTION = "schedules"
    HELP_TOPIC = "schedules"
    REFRESH_SECONDS = 60.0
    DEFAULT_CSS = """
    #schedules-body { height: 1fr; }
    """

    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("x", "extend", "Extend", tooltip="Create windows up to the horizon for every schedule"),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.page: dict[str, svc.ScheduleView] = {}
        self._loaded = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="schedules-body"):
            yield Static(id="list-status")
            yield PagedTable(id="schedules-table")
            yield Static(id="preview")

    @property
    def table(self) -> PagedTable:
        return self.query_one("#schedules-table", PagedTable)

    def on_mount(self) -> None:
        self.table.set_columns(
            [
                Col("id", "#", 3),
                Col("title", "Title", None, min_width=14),
                Col("rule", "Rule", 26),
                Col("time", "Time", 11),
                Col("next", "Next", 12),
                Col("scope", "Scope", 12, essential=False),
                Col("ahead", "Ahead", 5, essential=False),
            ]
        )
        self.table.focus()
        self.reload()
        self.set_interval(self.REFRESH_SECONDS, self.reload)

    def on_screen_resume(self) -> None:
        if self._loaded:
            self.reload()

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        start = self.table.page_offset if offset is None else offset
        limit = self.table.page_size
        self.db(
            lambda ctx: svc.list_schedules(ctx, offset=start, limit=limit),
            lambda page: self._show(page, cursor),
            on_error=self._failed,
            group="list",
            exclusive=True,
        )

    def _failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load schedules")

    def _show(self, page: svc.SchedulePage, cursor: str) -> None:
        self._loaded = True
        self.page = {str(s.id): s for s in page.items}
        tz, now = self.session.tz, self.session.now()
        rows = [
            Row(
                str(s.id),
                [
                    Text(str(s.id), justify="right"),
                    render.text(s.title),
                    render.text(s.rule_text),
                    Text(f"{s.start_time}–{s.end_time}"),
                    render.when(s.next_start, tz, compact=True, now=now) if s.next_start else Text("none"),
                    render.text(s.scope.label()),
                    Text(str(s.materialised_ahead), justify="right"),
                ],
            )
            for s in page.items
        ]
        self.table.show_page(rows, page.total, page.offset, cursor)  # type: ignore[arg-type]
        self.query_one("#list-status", Static).update(
            Content.assemble(("Schedules ", "bold"), self.table.range_label(), "  ·  recurring windows")
        )
        self._update_preview()
        self.refresh_bindings()

    def current(self) -> svc.ScheduleView | None:
        key = self.table.current_key() if self.is_mounted else None
        return self.page.get(key) if key else None

    def _update_preview(self) -> None:
        s = self.current()
        box = self.query_one("#preview", Static)
        if s is None:
            hint = "" if not_allowed(self.session, "manage_windows") else " Press n to create one."
            box.update(Content("No recurring schedules yet." + hint))
            return
        first = Content.assemble(
            (f"#{s.id} ", "bold"),
            (render.one_line(s.title, max_len=50), "bold"),
            f"  ·  {s.rule_text}, {s.time_label}",
        )
        second = Content(
            f"scope {render.one_line(s.scope.label(), max_len=40)}"
            f" · {s.materialised_ahead} window(s) made ahead"
            + (f" · until {s.until_date.isoformat()}" if s.until_date else "")
        )
        box.update(Content("\n").join([first, second]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new", "extend"):
            return None if not_allowed(self.session, "manage_windows") else True
        if action in ("edit", "delete"):
            if self.current() is None:
                return False
            return None if not_allowed(self.session, "manage_windows") else True
        return True

    def action_open(self) -> None:
        s = self.current()
        if s is not None:
            from .schedule_detail import ScheduleDetailScreen

            self.app.push_screen(ScheduleDetailScreen(s.id), lambda _: self.reload())

    def action_new(self) -> None:
        refusal = not_allowed(self.session, "manage_windows")
        if refusal:
            self.explain(refusal)
            return
        from .schedule_form import ScheduleFormScreen

        self.app.push_screen(ScheduleFormScreen(), self._saved)

    def action_edit(self) -> None:
        s = self.current()
        refusal = not_allowed(self.session, "manage_windows")
        if refusal or s is None:
            self.explain(refusal or "Choose a schedule first.")
            return
        from .schedule_form import ScheduleFormScreen

        self.app.push_screen(ScheduleFormScreen(s), self._saved)

    def action_delete(self) -> None:
        s = self.current()
        refusal = not_allowed(self.session, "manage_windows")
        if refusal or s is None:
            self.explain(refusal or "Choose a schedule first.")
            return
        confirm_delete(self, s, lambda: self.reload())

    def action_extend(self) -> None:
        extend_all(self, self.reload)

    def action_reload(self) -> None:
        self.reload()

    def _saved(self, result: svc.ScheduleResult | None) -> None:
        if result is not None:
            self.reload()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("New recurring schedule", "e.g. 3rd Tuesday of every month (n)", self.action_new)
        yield SystemCommand(
            "Extend all schedules", "Create their windows up to the horizon setting (x)", self.action_extend
        )


def confirm_delete(screen: NodedeskScreen, s: svc.ScheduleView, after) -> None:  # type: ignore[no-untyped-def]
    from .confirm import ConfirmScreen

    def answer(yes: bool | None) -> None:
        if not yes:
            return

        def done(result: svc.DeleteScheduleResult) -> None:
            screen.notify(
                f"Deleted schedule #{result.schedule.id}: {len(result.deleted_windows)} upcoming window(s) "
                f"deleted, {len(result.kept_windows)} past window(s) kept.",
                title="Deleted",
                markup=False,
            )
            after()

        version = s.version
        screen.db(
            lambda ctx: svc.delete_schedule(ctx, s.id, expected_version=version),
            done,
            write=True,
            group="save",
        )

    question = (
        f"Delete schedule #{s.id} {render.one_line(s.title, max_len=40)!r} ({s.rule_text})?\n"
        f"Its {s.materialised_ahead} upcoming window(s) are deleted; started and past windows stay."
    )
    screen.app.push_screen(ConfirmScreen(question, "Delete", "Keep"), answer)
