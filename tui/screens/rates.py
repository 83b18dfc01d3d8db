"""Rates section: the paged list of SKUs with the rate in force today."""

from __future__ import annotations

from collections.abc import Iterable

from nodedesk.core.errors import NodedeskError
from nodedesk.core.services import rate_pages as svc
from nodedesk.core.services import rates
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
from .rate_actions import RATE_BINDINGS, UNIT, RateActionsMixin, rate_cell

KINDS: list[str | None] = [None, "hourly", "monthly"]


class RatesScreen(RateActionsMixin, NodedeskScreen):
    SECTION = "rates"
    HELP_TOPIC = "rates"
    REFRESH_SECONDS = 60.0

    BINDINGS = [
        *RATE_BINDINGS,
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter by code, name, category or node type",
        ),
        Binding("f", "cycle_kind", "Kind", show=False, tooltip="Show: all, hourly (node) SKUs, monthly fees"),
        Binding(
            "s", "subscriptions", "Subscriptions", tooltip="Fee subscriptions (maintenance fees, QoS add-ons)"
        ),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload (also every 60 s)"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.kind: str | None = None
        self.text = ""
        self.page: dict[str, rates.SkuView] = {}
        self._debounce: Timer | None = None
        self._loaded = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="rates-body", classes="list-body"):
            yield Input(placeholder="filter: code, name, category or node type", id="filter")
            yield Static(id="list-status")
            yield PagedTable(id="skus-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.table.set_columns(
            [
                Col("code", "SKU", 16),
                Col("kind", "Kind", 7),
                Col("node_type", "Node type", 10),
                Col("rate", "Rate today", 14),
                Col("since", "Since", 10),
                Col("name", "Name", None, min_width=12, essential=False),
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
        return self.query_one("#skus-table", PagedTable)

    # ------------------------------------------------------------------ loading

    def reload(self, offset: int | None = None, cursor: str = "keep") -> None:
        query = svc.SkuQuery(
            kind=self.kind,
            text=self.text,
            offset=self.table.page_offset if offset is None else offset,
            limit=self.table.page_size,
        )
        self.db(
            lambda ctx: svc.list_sku_page(ctx, query),
            lambda page: self._show(page, cursor),
            on_error=self._load_failed,
            group="list",
            exclusive=True,
        )

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load SKUs")

    def _show(self, page: svc.SkuPage, cursor: str) -> None:
        if not page.items and page.total and page.offset >= page.total:
            self.reload(self.table.last_offset, "last")
            return
        self._loaded = True
        self.page = {s.code: s for s in page.items}
        rows = [
            Row(
                s.code,
                [
                    render.text(s.code),
                    s.kind,
                    render.text(s.node_type or "—"),
                    rate_cell(s),
                    s.rate.effective_date.isoformat() if s.rate else "",
                    render.text(s.name),
                ],
            )
            for s in page.items
        ]
        self.table.show_page(rows, page.total, page.offset, cursor)  # type: ignore[arg-type]
        self._update_status()
        self._update_preview()
        self.refresh_bindings()

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self.reload(event.page_offset, event.cursor)

    def _update_status(self) -> None:
        parts: list[str | tuple[str, str]] = [
            ("SKUs ", "bold"),
            self.table.range_label(),
            "  ·  kind: ",
            (self.kind or "all", "bold"),
        ]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        self.query_one("#list-status", Static).update(Content.assemble(*parts))

    def _update_preview(self) -> None:
        s = self.current_sku()
        preview = self.query_one("#preview", Static)
        if s is None:
            preview.update(Content("No SKUs match." if (self.text or self.kind) else "No SKUs yet."))
            return
        what = f"node type {s.node_type}" if s.node_type else f"{s.category} fee"
        first = Content.assemble(
            (s.code, "bold"), f"  ·  {render.one_line(s.name, max_len=50)}  ·  {s.kind}, {what}"
        )
        if s.rate is None:
            second = Content.styled("⚠ no rate yet: charges for this SKU would have no price", "$warning")
        else:
            r = s.rate
            second = Content(
                f"Today {rates.format_amount(r.amount)} {UNIT[s.kind]} since {r.effective_date.isoformat()} "
                f"(set by {render.one_line(r.set_by)})"
                + (f" · {render.one_line(r.notes, max_len=120)}" if r.notes else "")
            )
        preview.update(Content("\n").join([first, second]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def current_sku(self) -> rates.SkuView | None:
        key = self.table.current_key() if self.is_mounted else None
        return self.page.get(key) if key else None

    def changed(self, result: object) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.rate_action_state(action)
        if state is not None:
            return state
        if action == "clear_filter":
            return bool(self.text or self.kind) or self.query_one("#filter", Input).display
        return True

    def action_open(self) -> None:
        s = self.current_sku()
        if s is not None:
            from .sku_detail import SkuDetailScreen

            self.app.push_screen(SkuDetailScreen(s.code))

    def action_subscriptions(self) -> None:
        from .subscriptions import SubscriptionsScreen

        self.app.push_screen(SubscriptionsScreen())

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        changed = bool(self.text or self.kind)
        self.text, self.kind = "", None
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

    def set_kind(self, kind: str | None) -> None:
        self.kind = kind
        self.reload(0, "first")
        self.refresh_bindings()

    def action_cycle_kind(self) -> None:
        self.set_kind(KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)])

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Set a rate",
            "For the selected SKU (n)",
            lambda: self.action_why_rate() if self.rate_refusal() else self.action_set_rate(),
        )
        yield SystemCommand(
            "Fee subscriptions", "Maintenance fees and QoS add-ons (s)", self.action_subscriptions
        )
        yield SystemCommand("Filter SKUs", "Code, name, category or node type (/)", self.action_filter)
        for kind in KINDS:
            yield SystemCommand(
                f"Show {kind or 'all'} SKUs", "f cycles", lambda kind=kind: self.set_kind(kind)
            )
