"""Fee subscriptions (account maintenance fees and QoS add-ons): a paged, filterable list.

Read only here; subscriptions are added, changed and ended with ``nodedesk subscription``.
"""

from __future__ import annotations

from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import rate_pages as svc
from nodedesk.core.services import subscriptions
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from .. import render
from ..widgets.list_table import ListTable
from ..widgets.paged_table import Col, PagedTable, Row
from .base import NodedeskScreen
from .project_detail import date_or_open, subscription_status

STATUSES: list[str | None] = [None, "active", "upcoming", "ended"]


class SubscriptionsScreen(NodedeskScreen):
    SECTION = "rates"
    HELP_TOPIC = "rates"
    HELP_TITLE = "fee subscriptions"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding(
            "slash", "filter", "Filter", key_display="/", tooltip="Filter by user, SKU or billing project"
        ),
        Binding("f", "cycle_status", "Status", tooltip="Show: all, active, upcoming, ended"),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.text = ""
        self.page: dict[str, subscriptions.SubscriptionView] = {}
        self._debounce: Timer | None = None

    def crumbs(self) -> tuple[str, ...]:
        return ("fee subscriptions",)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="subscriptions-body", classes="list-body"):
            yield Input(placeholder="filter: user, SKU or billing project", id="filter")
            yield Static(id="list-status")
            yield ListTable(id="subscriptions-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.table.set_columns(
            [
                Col("id", "#", 4),
                Col("user", "User", 10),
                Col("sku", "SKU", 15),
                Col("from", "From", 10),
                Col("to", "To", 10),
                Col("status", "Status", 10),
                Col("project", "Billed to", None, min_width=10),
            ]
        )
        self.table.focus()
        self.reload()

    @property
    def table(self) -> ListTable:
        return self.query_one("#subscriptions-table", ListTable)

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        query = svc.SubscriptionQuery(
            status=self.status,
            text=self.text,
            offset=self.table.page_offset if offset is None else offset,
            limit=self.table.page_size,
        )
        self.db(
            lambda ctx: svc.list_subscription_page(ctx, query),
            lambda page: self._show(page, cursor),
            on_error=self._load_failed,
            group="list",
            exclusive=True,
        )

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load fee subscriptions")

    def _show(self, page: svc.SubscriptionPage, cursor: str) -> None:
        if not page.items and page.total and page.offset >= page.total:
            self.reload(self.table.last_offset, "last")
            return
        self.page = {str(s.id): s for s in page.items}
        rows = [
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
            for s in page.items
        ]
        self.table.show_page(rows, page.total, page.offset, cursor)  # type: ignore[arg-type]
        parts: list[str | tuple[str, str]] = [
            ("Fee subscriptions ", "bold"),
            self.table.range_label(),
            "  ·  status: ",
            (self.status or "all", "bold"),
        ]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        self.query_one("#list-status", Static).update(Content.assemble(*parts))
        self._update_preview()

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    def current(self) -> subscriptions.SubscriptionView | None:
        key = self.table.current_key()
        return self.page.get(key) if key else None

    def _update_preview(self) -> None:
        s = self.current()
        preview = self.query_one("#preview", Static)
        if s is None:
            preview.update(
                Content(
                    "No subscriptions match."
                    if (self.text or self.status)
                    else "No fee subscriptions yet (nodedesk subscription add)."
                )
            )
            return
        name = f" ({s.user_name})" if s.user_name else ""
        first = Content.assemble(
            (f"#{s.id} {render.one_line(s.user)}", "bold"),
            render.one_line(name, max_len=40),
            f" · {s.status} · {s.start_date.isoformat()} → {date_or_open(s.end_date)}",
        )
        periods = "; ".join(
            f"{p.sku} → {render.one_line(p.project, max_len=30)}"
            f" {p.start_date.isoformat()}–{date_or_open(p.end_date)}"
            for p in s.periods
        )
        preview.update(Content("\n").join([first, Content(f"periods: {periods}")]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if self.text or self.status or box.display:
            self.text, self.status, box.value, box.display = "", None, "", False
            self.table.focus()
            self.reload(0, "first")
            return
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

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

    def action_cycle_status(self) -> None:
        self.status = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self.reload(0, "first")
