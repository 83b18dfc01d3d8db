"""A project's lines in one month: gross, downtime, net, rate, amount and override marker.

The lines come from the month's invoice already in memory: the kit's list pages them
(tui/kit/list_screen.py, ``LOCAL``), one page at a time (``[``/``]``, or moving past the
first/last row), so a project with thousands of lines never mounts thousands of rows, and owns
the filter box. Above the list: the project's heading, the drift banner and its totals; below
it, the selected line's downtime, override and cost split. ``enter`` opens the line with the
windows and outages that reduced it; ``r`` and another admin's change recompute the month.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from ...kit.base import NodedeskScreen
from ...kit.list_screen import ListScreen, filter_binding
from ...kit.live import Reread
from ...kit.query import ListQuery, SimplePage
from ...widgets.paged_table import Col, Row
from . import invoice_render as ir
from .invoice_actions import (
    InvoiceActionsMixin,
    MonthState,
    action_bindings,
    load_invoice,
    recompute_quietly,
)
from .invoice_month import drift_banner, is_drifted

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


class InvoiceLinesScreen(InvoiceActionsMixin, ListScreen):
    """One project's lines, paged from the month in memory (the kit's ``LOCAL`` list)."""

    CSS_PATH = "invoices.tcss"
    SECTION = "invoices"
    HELP_TOPIC = "invoices"
    HELP_TITLE = "project lines"
    LIST_TITLE = "Lines"
    NOUN = "lines"
    BODY_ID = "lines-body"
    TABLE_ID = "lines-table"
    FILTER_PLACEHOLDER = "filter: #id, node, user, SKU, override, window title"
    LOCAL = True  # the lines are the month's, computed once for the three invoice screens

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *action_bindings("set_override", "clear_override"),
        Binding("x", "export", "Export", tooltip="Export the month as CSV or JSON to a file"),
        filter_binding("Filter lines (id, node, user, SKU, override, window)"),
        Binding("r", "reload", "Reload", show=False, tooltip="Recompute the month (a draft) or reload it"),
    ]

    def __init__(self, state: MonthState, project: str) -> None:
        super().__init__()
        self.state = state
        self.project_title = project
        self.rendered = -1  # the state generation on screen
        self.feed_reads = Reread()

    def crumbs(self) -> tuple[str, ...]:
        return (self.state.period, self.project_title)

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="inv-body"):
            yield Static(id="inv-head", classes="inv-head")
            yield Static(id="drift-banner", classes="drift-banner")
            yield Static(id="inv-totals", classes="inv-totals")
            yield from super().compose_body()
            yield Static(id="inv-preview", classes="inv-preview")

    def on_mount(self) -> None:
        super().on_mount()  # pages the lines already in memory
        if self.state.invoice is None:
            self.recompute()
        else:
            self.rendered = self.state.generation
            self.show_head()

    def on_return(self) -> None:
        """Back from a line, a form or a dialog: show the month if it was recomputed there."""
        if self.rendered != self.state.generation:
            self.show_state()

    def project(self) -> Doc | None:
        return self.state.find_project(self.project_title)

    # ------------------------------------------------------------------ the list

    def columns(self) -> list[Col]:
        return [
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

    def page_in_memory(self, query: ListQuery) -> SimplePage:
        """A page of the lines the filter keeps (from the month in memory: see ``LOCAL``)."""
        p = self.project()
        if p is None:  # gone from the month (the totals line says so)
            return SimplePage([], 0, 0)
        words = query.text.lower().split()
        lines = [line for line in p["lines"] if all(w in ir.searchable(p, line) for w in words)]
        return SimplePage(lines[query.offset : query.offset + query.limit], len(lines), query.offset)

    def key(self, line: Doc) -> str:
        return ir.line_key(line)

    def render_rows(self, items: Sequence[Any]) -> list[Row]:
        return [line_row(line) for line in items]

    def open(self, line: Doc) -> None:
        from .invoice_line import InvoiceLineScreen

        self.app.push_screen(InvoiceLineScreen(self.state, ir.line_key(line)))

    def empty_text(self) -> str:
        return "No line matches the filter." if self.filtered else "No lines."

    def current_line(self) -> Doc | None:
        line: Doc | None = self.current_item()
        return line

    # ------------------------------------------------------------------ the month around the list

    def recompute(self) -> None:
        """Recompute the month (a draft) or reload its snapshot (``r``, and after an override)."""
        self.table.loading = True
        load_invoice(self, self.state, self.show_state, on_error=self._failed)

    def _failed(self, exc: NodedeskError) -> None:
        self.table.loading = False
        self.refused(exc, f"Could not compute {self.state.period}")

    def refresh_from_feed(self, kinds: frozenset[str] = frozenset()) -> None:
        """Data changed (another admin, or the clock): recompute quietly; the page, cursor and
        filter stay (tui/kit/live.py)."""
        recompute_quietly(self, self.state, self.feed_reads, self.show_state)

    def show_state(self) -> None:
        """Show the state's month: the heading, banner and totals, and the lines again."""
        self.table.loading = False
        self.rendered = self.state.generation
        self.show_head()
        self.reload(keep_scroll=True)

    def show_head(self) -> None:
        inv, p = self.state.invoice, self.project()
        if inv is None:
            return
        cur = inv.currency
        state_word = ir.state_text(inv.status, is_drifted(self.state))
        head: list[str | Content | tuple[str, str]] = [
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
        self.refresh_bindings()

    def after_show(self) -> None:
        super().after_show()
        self.show_preview()

    @on(DataTable.RowHighlighted)
    def _line_highlighted(self) -> None:
        self.show_preview()

    def show_preview(self) -> None:
        """The current line's downtime, override and split (the empty list says so above)."""
        preview = self.query_one("#inv-preview", Static)
        inv, line = self.state.invoice, self.current_line()
        preview.display = inv is not None and line is not None
        if inv is None or line is None:
            return
        rows = line_preview(line, inv.currency)
        if self.table.page_total > self.table.page_size:
            rows[0] = Content.assemble(rows[0], (f"  ({self.table.range_label()})", "dim"))
        preview.update(Content("\n").join(rows))

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.invoice_action_state(action, parameters)
        if state is not None:
            return state
        if action in ("export", "reload"):
            return self.state.invoice is not None
        return super().check_action(action, parameters)

    def action_back(self) -> None:
        """Escape clears the filter first, then goes back."""
        box = self.filter_box
        if self.filtered or (box is not None and box.display):
            self.action_clear_filter()
            return
        self.dismiss(None)

    def action_reload(self) -> None:
        self.recompute()

    def action_export(self) -> None:
        if self.state.invoice is not None:
            from .invoice_dialogs import ExportScreen

            self.app.push_screen(ExportScreen(self.state))

    def action_set_override(self) -> None:
        open_override(self, self.state, self.current_line(), self.recompute)

    def action_clear_override(self) -> None:
        open_clear_override(self, self.state, self.current_line(), self.recompute)

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


def open_override(
    screen: NodedeskScreen, state: MonthState, line: Doc | None, recompute: Callable[[], None]
) -> None:
    """Open the override form for ``line``; after a save the month is recomputed once."""
    found = state.find_line(ir.line_key(line)) if line is not None else None
    if found is None or state.invoice is None:
        return
    project, line = found
    from .invoice_dialogs import OverrideFormScreen

    screen.app.push_screen(
        OverrideFormScreen(state.period, project, line, state.invoice.currency),
        lambda result: _changed(state, result, recompute),
    )


def open_clear_override(
    screen: NodedeskScreen, state: MonthState, line: Doc | None, recompute: Callable[[], None]
) -> None:
    found = state.find_line(ir.line_key(line)) if line is not None else None
    if found is None:
        return
    project, line = found
    from .invoice_dialogs import ClearOverrideScreen

    screen.app.push_screen(
        ClearOverrideScreen(state.period, project, line), lambda result: _changed(state, result, recompute)
    )


def _changed(state: MonthState, result: object, recompute: Callable[[], None]) -> None:
    if result is None:
        return
    state.changed = True
    recompute()
