"""Invoices section: the month picker — every month with billable activity, its state and totals.

The months are listed at once; each month's totals are then computed one month at a time in a
worker (the month just ended first), so a large centre's list appears immediately and fills
in. ``enter`` opens the month.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pendulum
from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from nodedesk.core.services.invoicing import invoices as svc
from rich.text import Text
from textual.app import SystemCommand
from textual.content import Content

from ...kit.list_screen import ListScreen, Part, clear_binding, filter_binding, reload_binding
from ...kit.query import ListQuery, SimplePage
from ...widgets.paged_table import Col, CursorHint, Row
from . import invoice_render as ir
from .invoice_actions import MonthState, month_end_text, month_over

PENDING = Text("…", style="dim", justify="right")


class InvoicesScreen(ListScreen):
    SECTION = "invoices"
    HELP_TOPIC = "invoices"
    LIST_TITLE = "Invoices"
    NOUN = "months"
    BODY_ID = "invoices-body"
    TABLE_ID = "months-table"
    FILTER_PLACEHOLDER = "filter: month or state (2026-02, draft, finalized, drifted)"
    PREVIEW = True
    LOCAL = True  # the months are read once; their totals fill in one month at a time

    BINDINGS = [
        filter_binding("Filter months (e.g. 2026, draft)"),
        reload_binding("Reload the months and recompute their totals"),
        clear_binding(),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.periods: list[str] = []  # newest first
        self.summaries: dict[str, svc.MonthSummary] = {}
        self.failed: dict[str, str] = {}
        self.shown: list[str] = []  # after the filter
        self.queue: list[str] = []
        self.generation = 0
        self.months_loaded = False
        self.opened: MonthState | None = None

    def columns(self) -> list[Col]:
        return [
            Col("month", "Month", 7),
            Col("state", "State", None, min_width=12),
            Col("lines", "Lines", 5),
            Col("downtime", "Downtime h", 10),
            Col("net", "Net h", 9),
            Col("amount", f"Amount {self.session.site.currency}", 12),
            Col("warnings", ir.WARNING_MARK, 3),
            Col("gross", "Gross h", 9, essential=False),
        ]

    def fetch(self, ctx: object, query: ListQuery) -> SimplePage:
        """A page of the months the filter keeps (from memory: see ``LOCAL``)."""
        self.shown = [p for p in self.periods if self._matches(p)]
        size = self.table.page_size
        start = query.offset
        if start >= len(self.shown):
            start = max(((len(self.shown) - 1) // size) * size, 0)
        return SimplePage(self.shown[start : start + size], len(self.shown), start)

    def key(self, period: str) -> str:
        return period

    def render_rows(self, items: Sequence[Any]) -> list[Row]:
        return [self._row(p) for p in items]

    def open(self, period: str) -> None:
        self.action_open()

    def empty_text(self) -> str:
        if self.text:
            return "No month matches the filter."
        return (
            "No billable months yet: a month appears here once a reservation is approved "
            "or a fee subscription runs in it."
        )

    def on_return(self) -> None:
        """Back from a month: recompute its totals if it changed there."""
        opened, self.opened = self.opened, None
        if opened is not None and opened.changed:
            self.summaries.pop(opened.period, None)
            self._show_months()
            self._queue([opened.period])

    # ------------------------------------------------------------------ loading

    def reload(
        self, offset: int | None = None, cursor: CursorHint = "keep", *, keep_scroll: bool = False
    ) -> None:
        """Read the months again and recompute their totals (``r``)."""
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

    def _show_months(self, offset: int | None = None, cursor: CursorHint = "keep") -> None:
        """Page the months from memory again (the filter or a month's totals changed)."""
        super().reload(offset, cursor, keep_scroll=offset is None)

    def requery(self) -> None:
        self._show_months(0, "first")
        self.refresh_bindings()

    def _load_failed(self, exc: NodedeskError) -> None:
        self.table.request_failed()
        self.refused(exc, "Could not load the months")

    def _periods_loaded(self, periods: list[str], generation: int) -> None:
        if generation != self.generation:
            return
        first = not self.months_loaded
        self.months_loaded = True
        self.periods = sorted(periods, reverse=True)
        self.summaries = {}
        self.failed = {}
        target = self.last_ended()
        if first and target in self.periods:  # start on the month just ended
            size = self.table.page_size
            self.select_key(target)
            self._show_months(self.periods.index(target) // size * size, "first")
        else:
            self._show_months(None if not first else 0, "first" if first else "keep")
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

    def status_parts(self) -> list[Part]:
        waiting = len([p for p in self.shown if p not in self.summaries and p not in self.failed])
        parts: list[Part] = [("Invoices ", "bold"), self.table.range_label(), " months"]
        if not self.months_loaded:
            parts = [("Invoices ", "bold"), ("loading the months…", "dim")]
        elif waiting:
            parts += ["  ·  ", (f"computing totals… {waiting} to go", "dim")]
        if self.text:
            parts += ["  ·  filter: ", (one_line(self.text, max_len=30), "bold $accent")]
        return parts

    def current_period(self) -> str | None:
        return self.table.current_key() if self.is_mounted else None

    def preview(self, period: str | None) -> Content:
        if period is None:
            if not self.months_loaded:
                return Content.styled("Loading…", "dim")
            return Content(self.empty_text())
        s = self.summaries.get(period)
        if s is None:
            problem = self.failed.get(period)
            return Content(f"{period}: {problem}" if problem else f"{period}: computing the totals…")
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
        return Content("\n").join([first, Content(second)])

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        period = self.current_period()
        if period is None:
            return
        from .invoice_month import InvoiceMonthScreen

        self.opened = MonthState(period)
        self.app.push_screen(InvoiceMonthScreen(self.opened))

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Filter months", "Month or state (/)", self.action_filter)
        yield SystemCommand("Recompute the month totals", "Reload (r)", self.action_reload)
        for period in self.periods[:24]:

            def open_month(period: str = period) -> None:
                from .invoice_month import InvoiceMonthScreen

                self.opened = MonthState(period)
                self.app.push_screen(InvoiceMonthScreen(self.opened))

            yield SystemCommand(f"Open invoice {period}", "Invoice of that month", open_month)
