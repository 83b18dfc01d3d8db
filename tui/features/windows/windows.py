"""Windows section: the paged, sortable, filterable list of maintenance windows, with whether
Slurm has each one (read with each page, window_slurm.py), marks and their bulk delete."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.rentals import bulk
from nodedesk.core.slurm.status import Presence
from rich.text import Text
from textual.app import SystemCommand
from textual.binding import Binding
from textual.content import Content

from ...kit import render
from ...kit.bulk import BulkAction
from ...kit.list_screen import (
    ListScreen,
    clear_binding,
    cycle_bindings,
    filter_binding,
    mark_bindings,
    reload_binding,
    sort_bindings,
)
from ...kit.query import Cycle, ListQuery, Sort
from ...widgets.paged_table import Col
from . import window_slurm
from .window_actions import WINDOW_ACTION_BINDINGS, WindowActionsMixin, not_allowed

NEWEST = ("newest first", "oldest first")
# The direction each sort starts in: newest / longest / A→Z first.
SORTS = (
    Sort("start", "start", True, NEWEST),
    Sort("end", "end", True, NEWEST),
    Sort("title", "title"),
    Sort("duration", "duration", True),
    Sort("created_by", "creator"),
    Sort("id", "id", True),
)
SORT_LABELS = {s.key: s.label for s in SORTS}
SORT_DESCENDING = {s.key: s.descending for s in SORTS}
STATUS_CYCLE: list[str | None] = [None, "upcoming", "in_progress", "completed"]
STATUS = Cycle(
    "status",
    "f",
    tuple(STATUS_CYCLE),
    "Status",
    tooltip="Status: all, upcoming, in progress, completed",
    labels={s: render.STATUS_WORD[s] for s in STATUS_CYCLE if s},
)
WIDE = 136  # from this width on, times show the full date (narrower: "Feb 15 08:00")


@dataclass(frozen=True)
class WindowsPage:
    """A page of windows and whether Slurm has them (read in the same unit of work)."""

    items: Sequence[svc.WindowView]
    total: int
    offset: int
    slurm: window_slurm.SlurmState


def _bulk_delete(correction: bool) -> BulkAction:
    def call(
        ctx: ServiceContext, ids: list[int], reason: str, versions: Mapping[int, int] | None, preview: bool
    ) -> bulk.BulkResult:
        return bulk.delete_windows(
            ctx, ids, correction=correction, reason=reason, expected_versions=versions, preview=preview
        )

    if correction:
        meaning = (
            "An admin correction: any window may be deleted, with a reason; it is audited, and "
            "finalized invoices of the months it touches are flagged as drifted. Listed under each "
            "window: the reservations that get billable hours back."
        )
    else:
        meaning = (
            "Upcoming windows may be deleted; one in progress or completed is locked (X deletes it "
            "as an admin correction). Listed under each window: the reservations that get billable "
            "hours back."
        )
    reason = "required" if correction else "none"
    return BulkAction("Delete", "deleted", "window", meaning, call, reason=reason, variant="error")


class WindowsScreen(WindowActionsMixin, ListScreen):
    SECTION = "windows"
    HELP_TOPIC = "windows"
    REFRESH_SECONDS = 30.0  # statuses follow the clock; other admins change things too
    LIST_TITLE = "Windows"
    NOUN = "windows"
    BODY_ID = "windows-body"
    TABLE_ID = "windows-table"
    FILTER_PLACEHOLDER = "filter: text in title, description or creator"
    SORTS = SORTS
    CYCLES = (STATUS,)
    PREVIEW = True
    MARKS = True

    BINDINGS = [
        Binding("n", "new", "New"),
        *WINDOW_ACTION_BINDINGS,
        filter_binding("Filter by title, description, creator"),
        *cycle_bindings([STATUS]),
        *sort_bindings("Sort by start, end, title, duration, creator, #"),
        reload_binding("Reload (also every 30 s)"),
        clear_binding(),
        *mark_bindings(),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.synced = False  # the site has run a Slurm sync
        self.presence: dict[int, Presence] = {}  # window id -> in Slurm, from the pages read

    @property
    def status(self) -> str | None:
        return self.filters["status"]

    @property
    def compact(self) -> bool:
        return not self.exporting and self.size.width < WIDE

    # ------------------------------------------------------------------ the list

    def columns(self) -> list[Col]:
        compact = self.compact
        when = self.time_width("start", "end", compact=compact)
        return [
            Col("id", "#", 4, sort_key="id"),
            Col("status", "Status", 14),
            # Whether Slurm has it: a glyph under ⇄ when space is short (the preview says it in words)
            Col("slurm", "⇄" if compact else "Slurm", 1 if compact else 5),
            Col("title", "Title", None, min_width=12, sort_key="title"),
            Col("start", "Start", when, sort_key="start"),
            Col("end", "End", when, sort_key="end"),
            Col("duration", "Duration", 8, sort_key="duration", essential=False),
            Col("scope", "Scope", 14 if compact else 18, essential=False),
            Col("by", "By", 10, sort_key="created_by", essential=False),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> WindowsPage:
        page = svc.list_windows(
            ctx,
            svc.WindowQuery(
                status=query.get("status"),
                text=query.text,
                sort=query.sort or "start",
                descending=query.descending,
                offset=query.offset,
                limit=query.limit,
            ),
        )
        slurm = window_slurm.read(ctx, [w.id for w in page.items])
        return WindowsPage(page.items, page.total, page.offset, slurm)

    def page_read(self, page: Any) -> None:
        if isinstance(page, WindowsPage):
            self.synced = page.slurm.synced
            self.presence.update(page.slurm.presence or {})

    def slurm_of(self, window_id: int) -> Presence | None:
        """None: the site never synced (or the window's page was read before it did)."""
        return self.presence.get(window_id) if self.synced else None

    def cells(self, w: svc.WindowView) -> Sequence[Any]:
        tz, now, compact = self.session.tz, self.session.now(), self.compact
        return [
            Text(str(w.id), justify="right"),
            w.status if self.exporting else render.status_text(w.status, locked=w.locked),
            (window_slurm.word if self.exporting else window_slurm.cell)(self.slurm_of(w.id)),
            render.window_title(w.title, w.emergency),
            render.when(w.start, tz, compact=compact, now=now),
            render.when(w.end, tz, compact=compact, now=now),
            Text(timeutil.format_duration(w.duration), justify="right"),
            render.text(w.scope.label()),
            render.text(w.created_by),
        ]

    def open(self, item: svc.WindowView) -> None:
        from .window_detail import WindowDetailScreen

        self.app.push_screen(WindowDetailScreen(item.id))

    def empty_text(self) -> str:
        empty = "No windows match." if self.filtered else "No maintenance windows yet."
        hint = "" if not_allowed(self.session, "manage_windows") else " Press n to schedule one."
        return empty + hint

    def preview(self, w: svc.WindowView | None) -> Content:
        if w is None:
            return Content(self.empty_text())
        tz = self.session.tz
        first = Content.assemble(
            (f"#{w.id} ", "bold"),
            (render.one_line(w.title, max_len=60), "bold"),
            f"  ·  {timeutil.format_duration(w.duration)}  ·  {render.one_line(w.scope.label(), max_len=40)}"
            f"  ·  by {render.one_line(w.created_by)}",
        )
        if w.locked:
            second = Content.assemble((f"{render.LOCK} {w.lock_reason(tz)}", "$warning"))
        elif w.description:
            second = Content(render.one_line(w.description, max_len=300))
        else:
            second = Content.styled("upcoming: may be edited or deleted", "dim")
        if self.synced:
            slurm = window_slurm.sentence(self.slurm_of(w.id))
            second = Content.assemble(("Slurm: ", "bold"), render.one_line(slurm, max_len=80), " · ", second)
        return Content("\n").join([first, second])

    # ------------------------------------------------------------------ actions

    def current_window(self) -> svc.WindowView | None:
        return self.current_item()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.window_action_state(action, parameters)
        if state is not None:
            return state
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        w = self.current_window()
        if w is not None:
            self.open(w)

    def action_new(self) -> None:
        refusal = not_allowed(self.session, "manage_windows")
        if refusal:
            self.explain(refusal)
            return
        from .window_form import WindowFormScreen

        self.app.push_screen(WindowFormScreen("create"), self._saved)

    def open_form(self, mode: str, window: svc.WindowView) -> None:
        from .window_form import WindowFormScreen

        self.app.push_screen(WindowFormScreen(mode, window), self._saved)

    def open_delete(self, window: svc.WindowView, correction: bool) -> None:
        from .window_delete import DeleteWindowScreen

        self.app.push_screen(DeleteWindowScreen(window, correction=correction), self._deleted)

    def marked_ids(self) -> list[int]:
        return [int(k) for k in self.marked_keys()]

    def open_bulk_delete(self, ids: list[int], correction: bool) -> None:
        self.confirm_on_marks(_bulk_delete(correction), ids)

    def _saved(self, result: svc.SaveResult | None) -> None:
        if result is not None:
            self.select_key(str(result.window.id))  # show the saved window (if on this page)
            self.reload()

    def _deleted(self, result: svc.DeleteResult | None) -> None:
        if result is not None:
            self.reload()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("New maintenance window", "Schedule a window (n)", self.action_new)
        yield SystemCommand("Filter windows", "Text in title, description or creator (/)", self.action_filter)
        for status in STATUS_CYCLE:
            label = render.STATUS_WORD[status] if status else "all"

            def show(status: str | None = status) -> None:
                self.set_filter("status", status)

            yield SystemCommand(f"Show {label} windows", "Status filter (f cycles)", show)
        for key, label in SORT_LABELS.items():

            def sort(key: str = key) -> None:
                self.set_sort(key)

            yield SystemCommand(f"Sort windows by {label}", "s cycles, S reverses", sort)
