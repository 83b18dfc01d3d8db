"""One SKU: what it prices, the rate in force today, a planned change, and its whole rate history."""

from __future__ import annotations

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.services.invoicing import rate_pages as svc
from nodedesk.core.services.invoicing import rates
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from ...kit import render
from ...kit.base import NodedeskScreen
from ...widgets.list_table import ListTable
from ...widgets.paged_table import Col, Row
from .rate_actions import RATE_BINDINGS, UNIT, RateActionsMixin, rate_state

APPEND_ONLY = (
    "Rates are an append-only history: rows are never edited or deleted. To change a price, set a "
    "rate from the new date (n); to correct a mistake, set one with the same effective date and notes "
    "saying why — the newest row for a date wins."
)


class SkuDetailScreen(RateActionsMixin, NodedeskScreen):
    DEFAULT_CSS = """
    #sku-summary {
        height: auto;
        padding: 0 1;
    }
    #history-heading {
        padding: 0 1;
        margin-top: 1;
    }
    """

    SECTION = "rates"
    HELP_TOPIC = "rates"
    HELP_TITLE = "SKU"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *RATE_BINDINGS,
        Binding(
            "e", "append_only('edit')", "Edit", show=False, tooltip="Edit a rate: not possible (says why)"
        ),
        Binding(
            "d",
            "append_only('delete')",
            "Delete",
            show=False,
            tooltip="Delete a rate: not possible (says why)",
        ),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.overview: svc.SkuOverview | None = None

    def crumbs(self) -> tuple[str, ...]:
        return (self.code,)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sku-detail"):
            yield Static(Content("Loading…"), id="sku-summary")
            yield Static(Content.styled("Rate history (newest first)", "bold"), id="history-heading")
            yield ListTable(id="rates-table")
            yield Static(id="preview")

    def on_mount(self) -> None:
        self.table.set_columns(
            [
                Col("id", "#", 4),
                Col("from", "From", 10),
                Col("amount", "Amount", 12),
                Col("state", "State", 18),
                Col("by", "Set by", 8),
                Col("notes", "Notes", None, min_width=10),
            ]
        )
        self.table.focus()
        self.reload()

    @property
    def table(self) -> ListTable:
        return self.query_one("#rates-table", ListTable)

    def reload(self) -> None:
        code = self.code
        self.db(lambda ctx: svc.sku_overview(ctx, code), self._show, on_error=self._failed, group="detail")

    def _failed(self, exc: NodedeskError) -> None:
        self.refused(exc, "Could not load the SKU")

    def _show(self, o: svc.SkuOverview) -> None:
        self.overview = o
        s = o.sku
        self.query_one("#sku-summary", Static).update(self._summary(o))
        rows = [
            Row(
                str(r.id),
                [
                    Text(str(r.id), justify="right"),
                    r.effective_date.isoformat(),
                    Text(rates.format_amount(r.amount), justify="right"),
                    rate_state(r, s.rate, o.today),
                    render.text(r.set_by),
                    render.text(r.notes),
                ],
            )
            for r in o.history
        ]
        self.table.show_page(rows, len(rows), 0)
        self._update_preview()
        self.refresh_bindings()

    def _summary(self, o: svc.SkuOverview) -> Content:
        s = o.sku
        what = f"node type {s.node_type}" if s.node_type else f"{s.category} fee"
        lines = [
            Content.assemble((s.code, "bold $accent"), "  ", (render.one_line(s.name, max_len=60), "bold")),
            Content(f"{s.kind}, priced {UNIT[s.kind]} · {what}" + ("" if s.active else " · inactive")),
        ]
        if s.description:
            lines.append(Content.styled(render.one_line(s.description, max_len=200), "italic"))
        if s.rate is None:
            lines.append(Content.styled("⚠ no rate in force today: charges would have no price", "$warning"))
        else:
            lines.append(
                Content.assemble(
                    ("Today ", "bold"),
                    (f"{rates.format_amount(s.rate.amount)} {UNIT[s.kind]}", "bold"),
                    f" since {s.rate.effective_date.isoformat()}",
                )
            )
        nxt = o.next_rate()
        if nxt is not None:
            lines.append(
                Content(f"◷ Planned: {rates.format_amount(nxt.amount)} from {nxt.effective_date.isoformat()}")
            )
        if s.kind == "monthly":
            lines.append(Content(f"{o.subscribers} fee subscription(s) current or planned"))
        return Content("\n").join(lines)

    def _update_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        r = self.current_rate()
        if self.overview is None:
            return
        if r is None:
            preview.update(Content("No rate yet." + ("" if self.rate_refusal() else " Press n to set one.")))
            return
        tz = self.session.tz
        first = Content.assemble(
            (f"#{r.id} ", "bold"),
            f"{rates.format_amount(r.amount)} {UNIT[self.overview.sku.kind]}"
            f" from {r.effective_date.isoformat()}"
            f" · set by {render.one_line(r.set_by)} {timeutil.format_short(r.set_at, tz)}",
        )
        second = Content(render.one_line(r.notes, max_len=300) if r.notes else "")
        if not r.notes:
            second = Content.styled("no notes", "dim")
        preview.update(Content("\n").join([first, second]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()

    def current_rate(self) -> rates.RateView | None:
        key = self.table.current_key()
        if self.overview is None or key is None:
            return None
        return next((r for r in self.overview.history if str(r.id) == key), None)

    # ------------------------------------------------------------------ actions

    def current_sku(self) -> rates.SkuView | None:
        return self.overview.sku if self.overview else None

    def changed(self, result: object) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.rate_action_state(action)
        return True if state is None else state

    def action_append_only(self, what: str) -> None:
        self.explain(APPEND_ONLY, title=f"Rates cannot be {'edited' if what == 'edit' else 'deleted'}")

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()
