"""A project's lines in one month: gross, downtime, net, rate, amount and override marker.

The lines come from the month's invoice already in memory; the table shows one page of them at
a time (``[``/``]``, or moving past the first/last row), so a project with thousands of lines
never mounts thousands of rows. The preview shows the selected line's downtime, override and
cost split; ``enter`` opens the line with the windows and outages that reduced it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from ...kit.base import NodedeskScreen
from ...widgets.paged_table import Col, PagedTable, Row
from . import invoice_render as ir
from .invoice_actions import InvoiceActionsMixin, MonthState, action_bindings, load_invoice
from .invoice_month import INVOICE_CSS, drift_banner, is_drifted

Doc = dict[str, Any]


def line_row(line: Doc) -> Row:
    """A table row for a reservation or fee line."""
    key = ir.line_key(line)
    mark = Text(ir.OVERRIDE_MARK if line.get("override") else "", style="bold yellow")
    amount = Text(ir.money(line["amount"]), justify="right", style="bold")
    if line["type"] == "reservation":
        if line.get("excluded"):
            amount = Text(f"{ir.money(line['amount'])}", justify="right", style="dim")
        return Row(
            key,
            [
                Text(f"#{line['reservation_id']}", justify="right"),
                ir.text_cell(line["node"]),
                Text(line["gross_hours"], justify="right"),
                ir.downtime_cell(line),
                Text(line["net_hours"], justify="right"),
                Text(ir.rate_text(line), justify="right"),
                amount,
                mark,
                ir.text_cell(line.get("sku") or ""),
            ],
        )
    return Row(
        key,
        [
            Text("fee", style="italic"),
            ir.text_cell(line["user"]),
            Text(""),
            Text(""),
            Text(f"{line['days']}/{line['days_in_month']} d", justify="right"),
            Text(ir.rate_text(line), justify="right"),
            amount,
            mark,
            ir.text_cell(line.get("sku") or ""),
        ],
    )


def line_preview(line: Doc, currency: str) -> list[Content]:
    """Up to four lines about one line: what, downtime (muted), override, cost split."""
    if line["type"] == "fee":
        return [
            Content.assemble(
                (ir.line_label(line), "bold"),
                f" · {line['from']} → {line['to']} · {line['days']}/{line['days_in_month']} days "
                f"({line['fraction']}) × {ir.rate_text(line)} = {ir.money(line['amount'])} {currency}",
            ),
            Content(f"Split: {split_text(line, currency)}"),
        ]
    what = Content.assemble(
        (ir.line_label(line), "bold"),
        f" ({one_line(line.get('node_type') or '?')}) · {ir.span_text(line['start'], line['end'])}"
        f" · for {one_line(line.get('requested_for'))}",
    )
    out = [what]
    if ir.is_zero(line["downtime_hours"]):
        out.append(Content.styled("No downtime: every reserved hour in the month is billed.", "dim"))
    else:
        sources = ", ".join(
            f"{d['source']} #{d['id']} {one_line(d.get('title'), max_len=40)!r}" for d in line["downtime"][:2]
        )
        more = f" +{len(line['downtime']) - 2}" if len(line["downtime"]) > 2 else ""
        out.append(Content.styled(f"{ir.downtime_label(line)} (enter shows it): {sources}{more}", "dim"))
    o = line.get("override")
    if o:
        out.append(Content.styled(ir.override_text(o), "$warning"))
    elif line.get("charged_from"):
        out.append(Content(f"Charged here from {one_line(line['charged_from'])!r}"))
    out.append(Content(f"Split: {split_text(line, currency)}"))
    return out


def split_text(line: Doc, currency: str) -> str:
    if not line["split"]:
        return "nothing charged" if line.get("excluded") or ir.is_zero(line["amount"]) else "none"
    parts = []
    for s in line["split"]:
        h = f" {s['hours']} h" if s.get("hours") is not None else ""
        parts.append(f"{one_line(s['cost_object'])}{h} {ir.money(s['amount'])}")
    return " · ".join(parts)


class InvoiceLinesScreen(InvoiceActionsMixin, NodedeskScreen):
    DEFAULT_CSS = INVOICE_CSS
    SECTION = "invoices"
    HELP_TOPIC = "invoices"
    HELP_TITLE = "project lines"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *action_bindings("set_override", "clear_override"),
        Binding("x", "export", "Export", tooltip="Export the month as CSV or JSON to a file"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter lines (id, node, user, SKU, override, window)",
        ),
        Binding("r", "reload", "Reload", show=False, tooltip="Recompute the month (a draft) or reload it"),
    ]

    def __init__(self, state: MonthState, project: str) -> None:
        super().__init__()
        self.state = state
        self.project_title = project
        self.rendered = -1
        self.lines: list[Doc] = []  # after the filter
        self.text = ""
        self._debounce: Timer | None = None

    def crumbs(self) -> tuple[str, ...]:
        return (self.state.period, self.project_title)

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="inv-body"):
            yield Static(id="inv-head", classes="inv-head")
            yield Static(id="drift-banner", classes="drift-banner")
            yield Static(id="inv-totals", classes="inv-totals")
            yield Input(placeholder="filter: #id, node, user, SKU, override, window title", id="filter")
            yield PagedTable(id="lines-table")
            yield Static(id="inv-preview", classes="inv-preview")

    @property
    def table(self) -> PagedTable:
        return self.query_one("#lines-table", PagedTable)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.table.set_columns(
            [
                Col("line", "Line", 6),
                Col("who", "Node/User", None, min_width=8),
                Col("gross", "Gross", 7),
                Col("downtime", "Downtime", 13),
                Col("net", "Net", 7),
                Col("rate", "Rate", 6),
                Col("amount", "Amount", 10),
                Col("mark", ir.OVERRIDE_MARK, 1),
                Col("sku", "SKU", 14, essential=False),
            ]
        )
        self.table.focus()
        self.show_state()

    def on_screen_resume(self) -> None:
        if self.rendered != self.state.generation:
            self.show_state()

    def project(self) -> Doc | None:
        return self.state.find_project(self.project_title)

    # ------------------------------------------------------------------ rendering

    def reload(self) -> None:
        self.table.loading = True
        load_invoice(self, self.state, self.show_state, on_error=self._failed)

    def _failed(self, exc: NodedeskError) -> None:
        self.table.loading = False
        self.table.request_failed()
        self.refused(exc, f"Could not compute {self.state.period}")

    def show_state(self) -> None:
        self.table.loading = False
        self.rendered = self.state.generation
        inv, p = self.state.invoice, self.project()
        if inv is None:
            return
        cur = inv.currency
        state_word = ir.state_text(inv.status, is_drifted(self.state))
        head = [
            (one_line(self.project_title, max_len=60), "bold $accent"),
            f" (owner {one_line(p.get('owner')) if p else '?'}) · {self.state.period} ",
            Content.from_rich_text(state_word),
        ]
        if inv.status == "finalized":
            head.append(" · from its snapshot")
        self.query_one("#inv-head", Static).update(Content.assemble(*head))
        banner = drift_banner(self.state, cur, keys=False)
        box = self.query_one("#drift-banner", Static)
        box.display = banner is not None
        if banner is not None:
            box.update(banner)
        if p is None:
            totals = Content(f"{self.project_title!r} has no lines in {self.state.period} any more.")
        else:
            totals = Content(
                f"{ir.totals_text(p['totals'], cur)} · {len(p['lines'])} line(s)\n"
                f"Cost objects: {ir.cost_objects(p['totals'], cur)}"
            )
        self.query_one("#inv-totals", Static).update(totals)
        self._show_lines(cursor="keep")
        self.refresh_bindings()

    def _matches(self, line: Doc, p: Doc) -> bool:
        if not self.text:
            return True
        hay = ir.searchable(p, line)
        return all(t in hay for t in self.text.lower().split())

    def _show_lines(self, offset: int | None = None, cursor: str = "keep") -> None:
        p = self.project()
        self.lines = [line for line in (p["lines"] if p else []) if self._matches(line, p)]  # type: ignore[arg-type]
        t = self.table
        start = t.page_offset if offset is None else offset
        if start >= len(self.lines):
            start = max(((len(self.lines) - 1) // t.page_size) * t.page_size, 0)
        page = self.lines[start : start + t.page_size]
        t.show_page([line_row(line) for line in page], len(self.lines), start, cursor)  # type: ignore[arg-type]
        self._update_preview()

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self._show_lines(event.page_offset, event.cursor)

    def current_line(self) -> Doc | None:
        key = self.table.current_key() if self.is_mounted else None
        if key is None:
            return None
        return next((line for line in self.lines if ir.line_key(line) == key), None)

    def _update_preview(self) -> None:
        preview = self.query_one("#inv-preview", Static)
        inv, line = self.state.invoice, self.current_line()
        if inv is None:
            preview.update(Content.styled("Computing…", "dim"))
            return
        if line is None:
            preview.update(Content("No line matches the filter." if self.text else "No lines."))
            return
        extra = f"  ({self.table.range_label()})" if self.table.page_total > self.table.page_size else ""
        rows = line_preview(line, inv.currency)
        if extra:
            rows[0] = Content.assemble(rows[0], (extra, "dim"))
        preview.update(Content("\n").join(rows))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.invoice_action_state(action, parameters)
        if state is not None:
            return state
        if action in ("export", "reload"):
            return self.state.invoice is not None
        return True

    def action_back(self) -> None:
        if self.query_one("#filter", Input).display or self.text:
            self._clear_filter()
            return
        self.dismiss(None)

    def action_open(self) -> None:
        line = self.current_line()
        if line is None:
            return
        from .invoice_line import InvoiceLineScreen

        self.app.push_screen(InvoiceLineScreen(self.state, ir.line_key(line)))

    def action_reload(self) -> None:
        self.reload()

    def action_export(self) -> None:
        if self.state.invoice is not None:
            from .invoice_dialogs import ExportScreen

            self.app.push_screen(ExportScreen(self.state))

    def action_set_override(self) -> None:
        open_override(self, self.state, self.current_line())

    def action_clear_override(self) -> None:
        open_clear_override(self, self.state, self.current_line())

    # ------------------------------------------------------------------ filter

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def _clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        changed = bool(self.text)
        self.text = ""
        box.value = ""
        box.display = False
        self.table.focus()
        if changed:
            self._show_lines(0, "first")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.2, lambda: self._apply_filter(event.value))

    def _apply_filter(self, value: str) -> None:
        if value.strip() != self.text:
            self.text = value.strip()
            self._show_lines(0, "first")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter(event.value)
        if not self.text:
            event.input.display = False
        self.table.focus()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Override the selected line", "Reason required (o)", lambda: self.run_or_explain("set_override")
        )
        yield SystemCommand(
            "Clear the selected line's override",
            "Reason required (c)",
            lambda: self.run_or_explain("clear_override"),
        )
        yield SystemCommand("Filter lines", "Id, node, user, SKU, override, window (/)", self.action_filter)
        yield SystemCommand(f"Export {self.state.period}", "CSV or JSON to a file (x)", self.action_export)


def open_override(screen: NodedeskScreen, state: MonthState, line: Doc | None) -> None:
    """Open the override form for ``line``; after a save the month is recomputed once."""
    found = state.find_line(ir.line_key(line)) if line is not None else None
    if found is None or state.invoice is None:
        return
    project, line = found
    from .invoice_dialogs import OverrideFormScreen

    screen.app.push_screen(
        OverrideFormScreen(state.period, project, line, state.invoice.currency),
        lambda result: _changed(screen, state, result),
    )


def open_clear_override(screen: NodedeskScreen, state: MonthState, line: Doc | None) -> None:
    found = state.find_line(ir.line_key(line)) if line is not None else None
    if found is None:
        return
    project, line = found
    from .invoice_dialogs import ClearOverrideScreen

    screen.app.push_screen(
        ClearOverrideScreen(state.period, project, line), lambda result: _changed(screen, state, result)
    )


def _changed(screen: NodedeskScreen, state: MonthState, result: object) -> None:
    if result is None:
        return
    state.changed = True
    reload = getattr(screen, "reload", None)
    if reload is not None:
        reload()
