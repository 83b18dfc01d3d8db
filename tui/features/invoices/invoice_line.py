"""One invoice line: how its amount was reached, and the windows and outages that reduced it.

``gross − downtime = net``, the rate(s), the amount, the override and the cost split, then the
downtime sources: each maintenance window or credited outage with its own overlap with the line
(the line's downtime is their union, so overlaps count once). ``enter`` on a source opens that
window or outage; coming back recomputes the month (an admin may have corrected it there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError, NotFoundError
from nodedesk.core.safetext import one_line
from nodedesk.core.services.downtime import outages, windows
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from ...kit.base import NodedeskScreen
from ...kit.live import Reread
from ...widgets.paged_table import Col, PagedTable, Row
from . import invoice_render as ir
from .invoice_actions import InvoiceActionsMixin, MonthState, action_bindings, load_invoice
from .invoice_lines import open_clear_override, open_override, split_text
from .invoice_month import INVOICE_CSS, drift_banner, is_drifted

Doc = dict[str, Any]

LINE_CSS = (
    INVOICE_CSS
    + """
#line-fields {
    height: auto;
    padding: 0 1;
}
#sources-title {
    height: 1;
    padding: 0 1;
    margin-top: 1;
}
#sources-table {
    height: auto;
    max-height: 10;
}
#line-hint {
    height: auto;
    padding: 0 1;
    color: $text-muted;
}
"""
)


@dataclass(frozen=True)
class SourceNow:
    """What a downtime source looks like in the live data now."""

    start: datetime | None = None
    end: datetime | None = None
    where: str = ""
    gone: bool = False


def load_sources(ctx: ServiceContext, sources: list[tuple[str, int]]) -> dict[tuple[str, int], SourceNow]:
    out: dict[tuple[str, int], SourceNow] = {}
    for source, ident in sources:
        try:
            if source == "maintenance":
                w = windows.get_window(ctx, ident)
                out[(source, ident)] = SourceNow(w.start, w.end, w.scope.label())
            else:
                o = outages.get_outage(ctx, ident)
                out[(source, ident)] = SourceNow(o.start, o.end, ", ".join(o.nodes))
        except NotFoundError:
            out[(source, ident)] = SourceNow(gone=True)
    return out


class InvoiceLineScreen(InvoiceActionsMixin, NodedeskScreen):
    DEFAULT_CSS = LINE_CSS
    SECTION = "invoices"
    HELP_TOPIC = "invoices"
    HELP_TITLE = "line"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *action_bindings("set_override", "clear_override"),
        Binding("r", "reload", "Reload", show=False, tooltip="Recompute the month (a draft) or reload it"),
    ]

    def __init__(self, state: MonthState, key: str) -> None:
        super().__init__()
        self.state = state
        self.key = key
        self.rendered = -1
        self.sources_now: dict[tuple[str, int], SourceNow] = {}
        self.visited = False  # a window/outage was opened: recompute when we come back
        self.feed_reads = Reread()

    def crumbs(self) -> tuple[str, ...]:
        label = f"#{self.key[1:]}" if self.key.startswith("r") else "fee"
        return (self.state.period, label)

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="inv-body"):
            yield Static(id="drift-banner", classes="drift-banner")
            yield Static(Content("Loading…"), id="line-fields")
            yield Static(id="sources-title")
            yield PagedTable(id="sources-table")
            yield Static(id="line-hint")

    @property
    def table(self) -> PagedTable:
        return self.query_one("#sources-table", PagedTable)

    def on_mount(self) -> None:
        self.table.set_columns(
            [
                Col("source", "Source", 11),
                Col("id", "#", 4),
                Col("title", "Title", None, min_width=14),
                Col("hours", "Hours", 7),
                Col("when", "Now in the data", 25, essential=False),
            ]
        )
        self.table.focus()
        self.show_state()

    def on_screen_resume(self) -> None:
        if self.visited:
            self.visited = False
            self.reload()
        elif self.rendered != self.state.generation:
            self.show_state()

    def found(self) -> tuple[Doc, Doc] | None:
        return self.state.find_line(self.key)

    def current_line(self) -> Doc | None:
        found = self.found()
        return found[1] if found else None

    # ------------------------------------------------------------------ rendering

    def reload(self) -> None:
        self.sources_now = {}  # the windows and outages may have changed too
        self.table.loading = True
        load_invoice(self, self.state, self.show_state, on_error=self._failed)

    def _failed(self, exc: NodedeskError) -> None:
        self.table.loading = False
        self.refused(exc, f"Could not compute {self.state.period}")

    def refresh_from_feed(self, kinds: frozenset[str] = frozenset()) -> None:
        """Data changed (another admin, or the clock): recompute quietly; the selected source
        stays selected (tui/kit/live.py)."""
        self.feed_reads.request(self._feed_read)

    def _feed_read(self) -> None:
        self.sources_now = {}  # the windows and outages may have changed too
        load_invoice(self, self.state, self._feed_loaded, on_error=self._feed_failed)

    def _feed_loaded(self) -> None:
        self.show_state()
        self.feed_reads.finished(self._feed_read)

    def _feed_failed(self, exc: NodedeskError) -> None:
        self.feed_reads.finished(self._feed_read)
        self.refused(exc, f"Could not compute {self.state.period}")

    def show_state(self) -> None:
        self.table.loading = False
        self.rendered = self.state.generation
        inv = self.state.invoice
        if inv is None:
            return
        banner = drift_banner(self.state, inv.currency, keys=False)
        box = self.query_one("#drift-banner", Static)
        box.display = banner is not None
        if banner is not None:
            box.update(banner)
        found = self.found()
        fields = self.query_one("#line-fields", Static)
        if found is None:
            fields.update(Content(f"This line is no longer on the {self.state.period} invoice."))
            self.query_one("#sources-title").display = False
            self.table.display = False
            self.query_one("#line-hint", Static).update(Content("escape back"))
            return
        project, line = found
        fields.update(Content("\n").join(self._fields(project, line, inv.currency)))
        self._show_sources(line)
        self.query_one("#line-hint", Static).update(Content(self._hint(line)))
        self.refresh_bindings()

    def _fields(self, project: Doc, line: Doc, cur: str) -> list[Content]:
        inv = self.state.invoice
        assert inv is not None
        word = Content.from_rich_text(ir.state_text(inv.status, is_drifted(self.state)))
        width = 10

        def row(label: str, value: Content | str, style: str = "") -> Content:
            body = value if isinstance(value, Content) else Content(value)
            if style:
                body = body.stylize(style)
            return Content.assemble((label.ljust(width), "bold"), body)

        head = Content.assemble(
            (ir.line_label(line), "bold"),
            " · ",
            (one_line(project["project"], max_len=50), "bold $accent"),
            f" · {self.state.period} ",
            word,
        )
        if line["type"] == "fee":
            return [
                head,
                row(
                    "Days",
                    f"{line['from']} → {line['to']}: {line['days']} of {line['days_in_month']} days "
                    f"(fraction {line['fraction']})",
                ),
                row("Rate", f"{ir.rate_text(line)} {cur} a month (in force on the 1st)"),
                row(
                    "Amount",
                    f"{line['fraction']} × {ir.rate_text(line)} = {ir.money(line['amount'])} {cur}",
                    "bold",
                ),
                row("Split", split_text(line, cur)),
            ]
        downtime = ir.downtime_label(line) or "0.00 h (no downtime)"
        if ir.overlaps(line):
            downtime += " (the sources below overlap; counted once)"
        net = f"{line['net_hours']} h"
        if line.get("computed_net_hours") not in (None, line["net_hours"]):
            net += f" (override; computed {line['computed_net_hours']} h)"
        rows = [
            head,
            row(
                "Reserved",
                f"{ir.span_text(line['start'], line['end'])} on {one_line(line['node'])} "
                f"({one_line(line.get('node_type') or '?')}) for {one_line(line.get('requested_for'))}",
            ),
            row("Gross", self._gross(line)),
            row("Downtime", downtime, "dim"),
            row("Net", net),
            row("Rate", self._rates(line, cur)),
            row("Amount", self._amount(line, cur), "bold"),
        ]
        o = line.get("override")
        if o:
            rows.append(row("Override", ir.override_text(o), "$warning"))
        if line.get("charged_from"):
            rows.append(row("Moved", f"charged here from {one_line(line['charged_from'])!r}"))
        rows.append(row("Split", split_text(line, cur)))
        return rows

    def _gross(self, line: Doc) -> str:
        text = f"{line['gross_hours']} h"
        if (line["billed_from"], line["billed_to"]) != (line["start"], line["end"]):
            text += (
                f", the part in {self.state.period}: {ir.span_text(line['billed_from'], line['billed_to'])}"
            )
        return text

    @staticmethod
    def _amount(line: Doc, cur: str) -> str:
        amount = f"{ir.money(line['amount'])} {cur}"
        if line.get("excluded"):
            return f"{amount} (excluded by the override)"
        if line.get("rate") is not None:
            shown = Decimal(line["billed_hours"]) * Decimal(line["rate"])
            if shown.quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(line["amount"]):
                return f"{line['billed_hours']} h × {line['rate']} = {amount}"
            return f"{amount} ({line['billed_hours']} h at {line['rate']}, from the exact hours)"
        return amount

    @staticmethod
    def _rates(line: Doc, cur: str) -> str:
        if line.get("rate") is not None:
            return f"{line['rate']} {cur}/h"
        parts = [
            f"{r['from']}→{r['to'][5:]} {r['rate'] if r['rate'] is not None else 'none'} × {r['hours']} h"
            for r in line.get("rates", [])
        ]
        return "changed during the line: " + "; ".join(parts) if parts else "none (billed at 0)"

    def _show_sources(self, line: Doc) -> None:
        title = self.query_one("#sources-title", Static)
        sources = line.get("downtime", []) if line["type"] == "reservation" else []
        title.display = self.table.display = bool(sources)
        if not sources:
            if self.table.has_focus:
                self.set_focus(None)  # nothing to open: no "enter Open" in the footer
            return
        title.update(
            Content.assemble(
                ("What reduced this line", "bold"),
                (f"  {ir.downtime_label(line)} · each source's own overlap:", "dim"),
            )
        )
        self.table.show_page([self._source_row(d) for d in sources], len(sources), 0)
        wanted = [
            (d["source"], int(d["id"]))
            for d in sources
            if (d["source"], int(d["id"])) not in self.sources_now
        ]
        if wanted:
            self.db(
                lambda ctx: load_sources(ctx, wanted),
                self._sources_loaded,
                on_error=lambda exc: None,
                group="sources",
            )

    def _sources_loaded(self, found: dict[tuple[str, int], SourceNow]) -> None:
        self.sources_now.update(found)
        line = self.current_line()
        if line is not None:
            sources = line.get("downtime", [])
            self.table.show_page([self._source_row(d) for d in sources], len(sources), 0)

    def _source_row(self, d: Doc) -> Row:
        now = self.sources_now.get((d["source"], int(d["id"])))
        tz = self.session.tz
        if now is None:
            when = Text("…", style="dim")
        elif now.gone:
            when = Text("deleted since", style="yellow")
        else:
            end = timeutil.format_short(now.end, tz)[5:] if now.end else "still open"
            when = (
                Text(f"{timeutil.format_short(now.start, tz)[5:]} → {end}", no_wrap=True)
                if now.start
                else Text("")
            )
        return Row(
            f"{d['source']}:{d['id']}",
            [
                Text(d["source"], style="dim"),
                Text(str(d["id"]), justify="right"),
                ir.text_cell(d.get("title")),
                Text(
                    f"{ir.MINUS}{d['hours']}" + (" ▶" if d.get("open") else ""), justify="right", style="dim"
                ),
                when,
            ],
        )

    def _hint(self, line: Doc) -> str:
        parts = []
        if line["type"] == "reservation" and line.get("downtime"):
            parts.append("enter opens the selected window or outage")
        if self.state.finalized and line.get("downtime"):
            parts.append("hours are the snapshot's; 'now in the data' is today's")
        return " · ".join([*parts, "escape back"])

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.invoice_action_state(action, parameters)
        return True if state is None else state

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_open(self) -> None:
        key = self.table.current_key() if self.table.display else None
        if key is None:
            return
        source, ident = key.split(":")
        if source == "maintenance":
            from ..windows.window_detail import WindowDetailScreen

            detail: NodedeskScreen = WindowDetailScreen(int(ident))
        else:
            from ..outages.outage_detail import OutageDetailScreen

            detail = OutageDetailScreen(int(ident))
        detail.SECTION = "invoices"  # type: ignore[misc]  # the top bar stays on Invoices
        self.visited = True
        self.app.push_screen(detail)

    def action_set_override(self) -> None:
        open_override(self, self.state, self.current_line())

    def action_clear_override(self) -> None:
        open_clear_override(self, self.state, self.current_line())
