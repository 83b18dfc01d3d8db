"""Schedules section: the paged list of recurring maintenance schedules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.downtime import schedules as svc
from rich.text import Text
from textual.app import SystemCommand
from textual.binding import Binding
from textual.content import Content

from ...kit import render
from ...kit.base import NodedeskScreen
from ...kit.list_screen import ListScreen, Part, reload_binding
from ...kit.query import ListQuery
from ...widgets.paged_table import Col
from ..windows.window_actions import not_allowed


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


class SchedulesScreen(ListScreen):
    SECTION = "schedules"
    HELP_TOPIC = "schedules"
    REFRESH_SECONDS = 60.0
    LIST_TITLE = "Schedules"
    NOUN = "schedules"
    BODY_ID = "schedules-body"
    TABLE_ID = "schedules-table"
    PREVIEW = True

    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("x", "extend", "Extend", tooltip="Create windows up to the horizon for every schedule"),
        reload_binding(),
    ]

    def columns(self) -> list[Col]:
        return [
            Col("id", "#", 3),
            Col("title", "Title", None, min_width=14),
            Col("rule", "Rule", 26),
            Col("time", "Time", 11),
            Col("next", "Next", 12),
            Col("scope", "Scope", 12, essential=False),
            Col("ahead", "Ahead", 5, essential=False),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.SchedulePage:
        return svc.list_schedules(ctx, offset=query.offset, limit=query.limit)

    def cells(self, s: svc.ScheduleView) -> Sequence[Any]:
        tz, now = self.session.tz, self.session.now()
        return [
            Text(str(s.id), justify="right"),
            render.text(s.title),
            render.text(s.rule_text),
            Text(f"{s.start_time}–{s.end_time}"),
            render.when(s.next_start, tz, compact=True, now=now) if s.next_start else Text("none"),
            render.text(s.scope.label()),
            Text(str(s.materialised_ahead), justify="right"),
        ]

    def status_parts(self) -> list[Part]:
        return [("Schedules ", "bold"), self.table.range_label(), "  ·  recurring windows"]

    def empty_text(self) -> str:
        hint = "" if not_allowed(self.session, "manage_windows") else " Press n to create one."
        return "No recurring schedules yet." + hint

    def preview(self, s: svc.ScheduleView | None) -> Content:
        if s is None:
            return Content(self.empty_text())
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
        return Content("\n").join([first, second])

    def current(self) -> svc.ScheduleView | None:
        return self.current_item()  # type: ignore[no-any-return]

    def open(self, s: svc.ScheduleView) -> None:
        from .schedule_detail import ScheduleDetailScreen

        self.app.push_screen(ScheduleDetailScreen(s.id), lambda _: self.reload())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("new", "extend"):
            return None if not_allowed(self.session, "manage_windows") else True
        if action in ("edit", "delete"):
            if self.current() is None:
                return False
            return None if not_allowed(self.session, "manage_windows") else True
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        s = self.current()
        if s is not None:
            self.open(s)

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

    def _saved(self, result: svc.ScheduleResult | None) -> None:
        if result is not None:
            self.reload()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("New recurring schedule", "e.g. 3rd Tuesday of every month (n)", self.action_new)
        yield SystemCommand(
            "Extend all schedules", "Create their windows up to the horizon setting (x)", self.action_extend
        )


def confirm_delete(screen: NodedeskScreen, s: svc.ScheduleView, after) -> None:  # type: ignore[no-untyped-def]
    from ...kit.confirm import ConfirmScreen

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
