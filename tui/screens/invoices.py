"""Invoices section: the month picker — every month with billable activity, its state and totals.

The months are listed at once; each month's totals are then computed one month at a time in a
worker (the month just ended first), so a large centre's list appears immediately and fills
in. ``enter`` opens the month.
"""

from __future__ import annotations

from collections.abc import Iterable

import pendulum
from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from nodedesk.core.services import invoices as svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from .. import invoice_render as ir
from ..widgets.paged_table import Col, PagedTable, Row
from .base import NodedeskScreen
from .invoice_actions import MonthState, month_end_text, month_over

PENDING = Text("…", style="dim", justify="right")


class InvoicesScreen(NodedeskScreen):
    SECTION = "invoices"
    HELP_TOPIC = "invoices"

    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/", tooltip="Filter months (e.g. 2026, draft)"),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload the months and recompute their totals"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.periods: list[str] = []  # newest first
        self.summaries: dict[str, svc.MonthSummary] = {}
        self.failed: dict[str, str] = {}
        self.shown: list[str] = []  # after the filter
        self.text = ""
        self.queue: list[str] = []
        self.generation = 0
        self.loaded = False
        self.opened: MonthState | None = None
        self._debounce: Timer | None = None

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Vertical(id="invoices-body", classes="list-body"):
            yield Input(
                placeholder="filter: month or state (2026-02, draft, finalized, drifted)", id="filter"
            )
            yield Static(id="list-status")
            yield PagedTable(id="months-table")
            yield Static(id="preview")

    @property
    def table(self) -> PagedTable:
        return self.query_one("#months-table", PagedTable)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        cur = self.session.site.currency
        self.table.set_columns(
            [
                Col("month", "Month", 7),
                Col("state", "State", None, min_width=12),
                Col("lines", "Lines", 5),
                Col("downtime", "Downtime h", 10),
                Col("net", "Net h", 9),
                Col("amount", f"Amount {cur}", 12),
                Col("warnings", ir.WARNING_MARK, 3),
                Col("gross", "Gross h", 9, essential=False),
            ]
        )
        self.table.focus()
        self._update_status()
        self._update_preview()
        self.reload()

    def on_screen_resume(self) -> None:
        opened, self.opened = self.opened, None
        if opened is not None and opened.changed:
            self.summaries.pop(opened.period, None)
            self._show_months()
            self._queue([opened.period])

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        self.generation += 1
        self.queue = []
        generation = self.generation
        self.db(
            svc.billable_months,
            lambda periods: self._periods_loaded(periods, generation),
            on_error=self._load_failed,
            group="months",
            exclusive=True,
        )

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load the months")

    def _periods_loaded(self, periods: list[str], generation: int) -> None:
        if generation != self.generation:
            return
        first = not self.loaded
        self.loaded = True
        self.periods = sorted(periods, reverse=True)
        self.summaries = {}
        self.failed = {}
        target = self.last_ended()
        if first and target in self.periods:  # start on the month just ended
            index, size = self.periods.index(target), self.table.page_size
            self._show_months(index // size * size, "first")
            self.table.move_cursor(row=index % size, animate=False)
            self._update_preview()
        else:
            self._show_months(cursor="first" if first else "keep")
        self._queue(self._priority(self.periods))

    def last_ended(self) -> str:
        """The month that ended most recently (site time): usually the one to review."""
        now = pendulum.instance(self.session.now()).in_timezone(self.session.tz)
        return now.subtract(months=1).format("YYYY-MM")

    def _priority(self, periods: list[str]) -> list[str]:
        """The month just ended first, then outwards from it (near months matter most)."""
        target = self.last_ended()

        def distance(p: str) -> tuple[int, str]:
            months = (int(p[:4]) - int(target[:4])) * 12 + int(p[5:7]) - int(target[5:7])
            return (abs(months), p)

        return sorted(periods, key=distance)

    def _queue(self, periods: list[str]) -> None:
        idle = not self.queue
        self.queue += [p for p in periods if p not in self.queue]
        if idle:
            self._next_summary()

    def _next_summary(self) -> None:
        if not self.queue or not self.is_attached:
            return
        period, generation = self.queue[0], self.generation

        def done(summary: svc.MonthSummary) -> None:
            self._summary_done(period, generation, summary, "")

        def failed(exc: NodedeskError) -> None:
            self._summary_done(period, generation, None, str(exc))

        self.db(lambda ctx: svc.month_summary(ctx, period), done, on_error=failed, group="summary")

    def _summary_done(
        self, period: str, generation: int, summary: svc.MonthSummary | None, problem: str
    ) -> None:
        if generation != self.generation:
            return
        if self.queue and self.queue[0] == period:
            self.queue.pop(0)
        if summary is not None:
            self.summaries[period] = summary
            self.failed.pop(period, None)
        else:
            self.failed[period] = problem
        self._show_months()
        self._next_summary()

    # ------------------------------------------------------------------ rows

    def _matches(self, period: str) -> bool:
        if not self.text:
            return True
        s = self.summaries.get(period)
        words = period
        if s is not None:
            words += " " + ir.state_word(s.status, s.drifted, not s.integrity_ok) + " " + s.status
        return all(t in words.lower() for t in self.text.lower().split())

    def _show_months(self, offset: int | None = None, cursor: str = "keep") -> None:
        self.shown = [p for p in self.periods if self._matches(p)]
        t = self.table
        start = t.page_offset if offset is None else offset
        if start >= len(self.shown):
            start = max(((len(self.shown) - 1) // t.page_size) * t.page_size, 0)
        page = self.shown[start : start + t.page_size]
        t.show_page([self._row(p) for p in page], len(self.shown), start, cursor)  # type: ignore[arg-type]
        self._update_status()
        self._update_preview()

    def _row(self, period: str) -> Row:
        s = self.summaries.get(period)
        if s is None:
            problem = self.failed.get(period)
            state = Text("⚠ not computed", style="red") if problem else Text("computing…", style="dim")
            return Row(period, [period, state, PENDING, PENDING, PENDING, PENDING, PENDING, ""])
        note = " (open)" if s.status == "draft" and not month_over(self.session, period) else ""
        return Row(
            period,
            [
                Text(period, style="bold"),
                ir.state_text(s.status, s.drifted, note=note, altered=not s.integrity_ok),
                Text(str(s.lines), justify="right"),
                Text(ir.minus(s.downtime_hours), justify="right", style="dim"),
                Text(s.net_hours, justify="right"),
                Text(ir.money(s.amount), justify="right", style="bold"),
                Text(f"{s.warnings}" if s.warnings else "", style="yellow", justify="right"),
                Text(s.gross_hours, justify="right"),
            ],
        )

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self._show_months(event.page_offset, event.cursor)

    def _update_status(self) -> None:
        waiting = len([p for p in self.shown if p not in self.summaries and p not in self.failed])
        parts: list[str | tuple[str, str]] = [("Invoices ", "bold"), self.table.range_label(), " months"]
        if not self.loaded:
            parts = [("Invoices ", "bold"), ("loading the months…", "dim")]
        elif waiting:
            parts += ["  ·  ", (f"computing totals… {waiting} to go", "dim")]
        if self.text:
            parts += ["  ·  filter: ", (one_line(self.text, max_len=30), "bold $accent")]
        self.query_one("#list-status", Static).update(Content.assemble(*parts))

    def current_period(self) -> str | None:
        return self.table.current_key() if self.is_mounted else None

    def _update_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        period = self.current_period()
        if period is None:
            if not self.loaded:
                preview.update(Content.styled("Loading…", "dim"))
            elif self.text:
                preview.update(Content("No month matches the filter."))
            else:
                preview.update(
                    Content(
                        "No billable months yet: a month appears here once a reservation is approved "
                        "or a fee subscription runs in it."
                    )
                )
            return
        s = self.summaries.get(period)
        if s is None:
            problem = self.failed.get(period)
            preview.update(Content(f"{period}: {problem}" if problem else f"{period}: computing the totals…"))
            return
        cur = self.session.site.currency
        first = Content.assemble(
            (f"{period} ", "bold"),
            ir.state_text(s.status, s.drifted, altered=not s.integrity_ok).plain,
            f"  ·  {s.projects} project(s) · {s.lines} line(s) · "
            f"net {s.net_hours} h · {ir.money(s.amount)} {cur}",
        )
        if s.status == "finalized":
            when = ir.local_hm(s.finalized_at, self.session.tz)
            second = f"Finalized by {one_line(s.finalized_by)} at {when}: shown from its snapshot."
            if s.drifted:
                second += " ⚠ Flagged as drifted after an admin correction."
            if not s.integrity_ok:
                second += " ⚠ Its stored snapshot no longer matches its SHA-256: altered after finalizing."
        elif month_over(self.session, period):
            second = "Draft: recomputed from live data each time; the month has ended and may be finalized."
        else:
            second = f"Draft, month still open (ends {month_end_text(self.session.tz, period)})."
        if s.warnings:
            second += f" {ir.WARNING_MARK} {s.warnings} warning(s)."
        preview.update(Content("\n").join([first, Content(second)]))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.text) or self.query_one("#filter", Input).display
        return True

    def action_open(self) -> None:
        period = self.current_period()
        if period is None:
            return
        from .invoice_month import InvoiceMonthScreen

        self.opened = MonthState(period)
        self.app.push_screen(InvoiceMonthScreen(self.opened))

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        changed = bool(self.text)
        self.text = ""
        box.value = ""
        box.display = False
        self.table.focus()
        self.refresh_bindings()
        if changed:
            self._show_months(0, "first")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.2, lambda: self._apply_filter(event.value))

    def _apply_filter(self, value: str) -> None:
        if value.strip() != self.text:
            self.text = value.strip()
            self._show_months(0, "first")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter(event.value)
        if not self.text:
            event.input.display = False
        self.table.focus()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Filter months", "Month or state (/)", self.action_filter)
        yield SystemCommand("Recompute the month totals", "Reload (r)", self.action_reload)
        for period in self.periods[:24]:

            def open_month(period: str = period) -> None:
                from .invoice_month import InvoiceMonthScreen

                self.opened = MonthState(period)
                self.app.push_screen(InvoiceMonthScreen(self.opened))

            yield SystemCommand(f"Open invoice {period}", "Invoice of that month", open_month)
