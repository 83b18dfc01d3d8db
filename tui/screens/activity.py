"""Activity section: the append-only, keyed, hash-chained log of every change (read only).

The time column is the service time (which a frozen clock may set); "Written" shows the real
time the entry was written only where the two differ (help/audit.md)."""

from __future__ import annotations

import json

from nodedesk.core import timeutil
from nodedesk.core.audit import VerifyResult
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import activity as svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from .. import render
from ..widgets.paged_table import Col, PagedTable, Row
from .base import NodedeskScreen


class ActivityScreen(NodedeskScreen):
    SECTION = "activity"
    HELP_TOPIC = "activity"

    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("v", "verify", "Verify chain"),
        Binding("b", "backup", "Backup"),
        Binding("r", "reload", "Reload", show=False),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.page: dict[str, svc.ActivityView] = {}
        self._debounce: Timer | None = None
        self._loaded = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="activity-body"):
            yield Input(placeholder="filter: text in action, actor, target or reason", id="filter")
            yield Static(id="list-status")
            yield PagedTable(id="activity-table")

    @property
    def table(self) -> PagedTable:
        return self.query_one("#activity-table", PagedTable)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.table.set_columns(
            [
                Col("seq", "#", 6),
                Col("time", "Time (site)", 16),
                Col("actor", "Actor", 12),
                Col("action", "Action", 20),
                Col("target", "Target", None, min_width=16),
                Col("reason", "Reason", None, min_width=10),
                Col("written", "Written (real)", 16),
            ]
        )
        self.table.focus()
        self.reload()

    def on_screen_resume(self) -> None:
        if self._loaded:
            self.reload()

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        query = svc.ActivityQuery(
            text=self.text,
            offset=self.table.page_offset if offset is None else offset,
            limit=self.table.page_size,
        )
        self.db(
            lambda ctx: svc.list_activity(ctx, query),
            lambda page: self._show(page, cursor),
            on_error=self._failed,
            group="list",
            exclusive=True,
        )

    def _failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load the activity log")

    def _show(self, page: svc.ActivityPage, cursor: str) -> None:
        self._loaded = True
        tz = self.session.tz
        self.page = {str(e.seq): e for e in page.items}
        rows = [
            Row(
                str(e.seq),
                [
                    Text(str(e.seq), justify="right"),
                    timeutil.format_short(e.occurred_at, tz),
                    render.text(e.actor_label),
                    render.text(e.action),
                    render.text(e.target),
                    render.text(e.reason),
                    Text(
                        timeutil.format_short(e.recorded_at, tz)
                        if e.real_time_differs and e.recorded_at is not None
                        else "",
                        style="bold",
                    ),
                ],
            )
            for e in page.items
        ]
        self.table.show_page(rows, page.total, page.offset, cursor)  # type: ignore[arg-type]
        parts: list[str | tuple[str, str]] = [
            ("Activity ", "bold"),
            self.table.range_label(),
            "  ·  newest first",
        ]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        self.query_one("#list-status", Static).update(Content.assemble(*parts))

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    @on(DataTable.RowSelected)
    def _open(self) -> None:
        key = self.table.current_key()
        if key and key in self.page:
            self.app.push_screen(ActivityEntryScreen(self.page[key], self.session.tz))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.text) or self.query_one("#filter", Input).display
        return True

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value, box.display = "", False
        self.table.focus()
        if self.text:
            self.text = ""
            self.reload(0, "first")
        self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.25, lambda: self._apply(event.value))

    def _apply(self, value: str) -> None:
        if value.strip() != self.text:
            self.text = value.strip()
            self.reload(0, "first")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._apply(event.value)
        self.table.focus()

    def action_backup(self) -> None:
        from .backup import open_backup_menu

        open_backup_menu(self.app)

    def action_verify(self) -> None:
        self.notify("Verifying the activity log against the site's audit key…", markup=False, timeout=3)
        self.db(svc.verify, self._verified)

    def _verified(self, result: VerifyResult) -> None:
        notes = "".join(f" {n}." for n in result.notes)
        if result.ok:
            self.notify(
                f"Activity log intact ({result.checked} entries checked).{notes}",
                title="Verified",
                markup=False,
            )
        else:
            shown = "; ".join(result.problems[:3]) + (" …" if len(result.problems) > 3 else "")
            self.refused(
                f"Activity log broken from entry #{result.first_bad}: {shown}", "Verification failed"
            )


class ActivityEntryScreen(ModalScreen[None]):
    """One activity entry with its before/after values (shown as inert text)."""

    BINDINGS = [Binding("escape", "close", "Close"), Binding("q", "close", "Close", show=False)]

    def __init__(self, entry: svc.ActivityView, tz: str) -> None:
        super().__init__()
        self.entry, self.tz = entry, tz

    def compose(self) -> ComposeResult:
        e = self.entry
        lines = [
            f"#{e.seq}  {e.action}",
            f"time    {timeutil.format_local(e.occurred_at, self.tz, seconds=True)}"
            + ("  (frozen clock)" if e.clock_frozen else ""),
        ]
        if e.recorded_at is not None:
            lines.append(
                f"written {timeutil.format_local(e.recorded_at, self.tz, seconds=True)}"
                + ("  (real time; differs from the time above)" if e.real_time_differs else "")
            )
        lines += [f"actor   {e.actor_label}", f"target  {e.target}"]
        if e.target_uuid:
            lines.append(f"uuid    {e.target_uuid}")
        if e.reason:
            lines.append(f"reason  {e.reason}")
        for name, value in (("before", e.before), ("after", e.after)):
            if value not in (None, {}, []):
                lines.append(f"\n{name}:\n{json.dumps(value, indent=2, ensure_ascii=False)}")
        with Vertical(classes="dialog wide"):
            with VerticalScroll():
                yield Static(render.content("\n".join(lines), multiline=True))
            yield Static(Content.styled("escape close", "dim"))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
