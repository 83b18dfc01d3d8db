"""One month's invoice: its state, totals and projects, the drift banner and the warnings.

The invoice is computed in a worker (a large month takes a moment; the table shows a loading
indicator meanwhile). A finalized month is shown from its snapshot; it is then compared with
live data in a second worker, and a banner says when they differ. ``enter`` opens a project's
lines; ``f``/``u`` finalize and unfinalize (each confirmed, saying what it means); ``x``
exports; ``w`` shows the warnings; ``v`` lists the drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from ...kit.base import NodedeskScreen
from ...kit.live import Reread
from ...widgets.paged_table import Col, PagedTable, Row
from . import invoice_render as ir
from .invoice_actions import (
    InvoiceActionsMixin,
    MonthState,
    action_bindings,
    check_drift,
    load_invoice,
    load_verify,
    month_end_text,
    month_over,
)

Doc = dict[str, Any]

INVOICE_CSS = """
.inv-head {
    height: auto;
    padding: 0 1;
}
.inv-totals {
    height: auto;
    max-height: 3;
    padding: 0 1;
    color: $text-muted;
}
.drift-banner {
    height: auto;
    max-height: 4;
    padding: 0 1;
    background: $warning 25%;
    color: $text;
    text-style: bold;
}
.inv-preview {
    height: auto;
    max-height: 4;
    padding: 0 1;
    background: $panel;
    text-wrap: nowrap;
    text-overflow: ellipsis;
}
.inv-warnings {
    height: auto;
    max-height: 8;
    padding: 0 1;
    color: $warning;
}
.inv-warnings.collapsed, .inv-warnings.collapsed Static {
    height: 1;
    text-wrap: nowrap;
    text-overflow: ellipsis;
}
.inv-body {
    height: 1fr;
}
"""


def is_drifted(state: MonthState) -> bool:
    """A finalized month whose live data differs (as compared; before that: as flagged)."""
    inv = state.invoice
    if inv is None or inv.status != "finalized":
        return False
    return state.verify.drifted if state.verify is not None else inv.drifted


def drift_banner(state: MonthState, currency: str, *, keys: bool = True) -> Content | None:
    """The banner of a finalized month whose live data differs (None when there is nothing to say)."""
    inv = state.invoice
    if inv is None or inv.status != "finalized":
        return None
    r = state.verify
    if r is None:
        if inv.drifted:
            return Content(
                f"{ir.WARNING_MARK} DRIFTED: flagged after an admin correction; comparing with live data…"
            )
        return None
    if not r.drifted:
        return None
    snap, live = ir.money(r.snapshot_totals.get("amount")), ir.money(r.live_totals.get("amount"))
    return Content(
        f"{ir.WARNING_MARK} DRIFTED: live data differs from this snapshot in {len(r.items)} place(s) "
        f"(live {live} {currency}, snapshot {snap}). "
        + ("v lists them; u unfinalizes to bill them." if keys else "The month screen lists them (v).")
    )


def head_text(state: MonthState, tz: str, session: Any) -> Content:
    """``Invoice 2026-02 ✓ finalized by bob at … · sha256 …`` or the draft's state."""
    inv = state.invoice
    period = state.period
    if inv is None:
        return Content.assemble((f"{period} ", "bold"), ("computing…", "dim"))
    drifted = is_drifted(state)
    parts: list[Any] = [
        (f"{period} ", "bold"),
        Content.from_rich_text(ir.state_text(inv.status, drifted)),
    ]
    if inv.status == "finalized":
        when = timeutil.format_short(inv.finalized_at, tz) if inv.finalized_at else "?"
        finalized = "finalized " if drifted else ""
        parts.append(
            f" · {finalized}{when} by {one_line(inv.finalized_by)} · sha256 {(inv.sha256 or '')[:8]}…"
        )
        if not inv.integrity_ok:
            parts.append((" · ⚠ SNAPSHOT ALTERED: its text no longer matches its SHA-256", "$error"))
        if state.verify is not None and not state.verify.drifted:
            checked = timeutil.format_short(state.verified_at, tz)[-5:] if state.verified_at else ""
            parts.append(
                (" · ✓ live data matches" + (f" (checked {checked})" if checked else ""), "$success")
            )
        elif state.verify_failed:
            parts.append((f" · could not compare with live data: {state.verify_failed}", "$error"))
        elif state.verify is None:
            parts.append((" · comparing with live data…", "dim"))
    else:
        computed = ir.short_iso(inv.doc.get("generated_at"))[11:]
        parts.append(f" · live, computed {computed}")
        if month_over(session, period):
            parts.append(" · month ended")
        else:
            parts.append((f" · open until {month_end_text(tz, period)[:16]}", "dim"))
    return Content.assemble(*parts)


def totals_line(inv: Any) -> Content:
    """``Total …`` (a finalized month: ``Snapshot total …``)."""
    label = "Snapshot:" if inv.status == "finalized" else "Total:"
    return Content(f"{label} {ir.totals_text(inv.totals, inv.currency)}")


class InvoiceMonthScreen(InvoiceActionsMixin, NodedeskScreen):
    DEFAULT_CSS = INVOICE_CSS
    SECTION = "invoices"
    HELP_TOPIC = "invoices"
    HELP_TITLE = "month"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *action_bindings("finalize", "unfinalize"),
        Binding("v", "drift", "Drift", tooltip="List how live data differs from the finalized snapshot"),
        Binding("x", "export", "Export", tooltip="Export the month as CSV or JSON to a file"),
        Binding("w", "warnings", "Warnings", tooltip="Show or hide the month's warnings"),
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            tooltip="Filter projects by title, owner, cost object",
        ),
        Binding("r", "reload", "Reload", show=False, tooltip="Recompute the month (a draft) or reload it"),
    ]

    def __init__(self, state: MonthState) -> None:
        super().__init__()
        self.state = state
        self.rendered = -1  # the state generation on screen
        self.projects: list[Doc] = []  # after the filter
        self.text = ""
        self.show_warnings = False
        self._debounce: Timer | None = None
        self.feed_reads = Reread()

    def crumbs(self) -> tuple[str, ...]:
        return (self.state.period,)

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="inv-body"):
            yield Static(
                head_text(self.state, self.session.tz, self.session), id="inv-head", classes="inv-head"
            )
            yield Static(id="drift-banner", classes="drift-banner")
            yield Static(id="inv-totals", classes="inv-totals")
            yield Input(placeholder="filter: project title, owner or cost object", id="filter")
            yield PagedTable(id="projects-table")
            yield Static(id="inv-preview", classes="inv-preview")
            with VerticalScroll(id="warnings", classes="inv-warnings"):
                yield Static(id="warnings-text")

    @property
    def table(self) -> PagedTable:
        return self.query_one("#projects-table", PagedTable)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#drift-banner").display = False
        cur = self.session.site.currency
        self.table.set_columns(
            [
                Col("project", "Project", None, min_width=16),
                Col("lines", "Lines", 5),
                Col("downtime", "Downtime h", 10),
                Col("net", "Net h", 9),
                Col("amount", f"Amount {cur}", 12),
                Col("warnings", ir.WARNING_MARK, 2),
                Col("owner", "Owner", 12, essential=False),
            ]
        )
        self.table.focus()
        if self.state.invoice is None:
            self.reload()
        else:
            self.show_state()

    def on_screen_resume(self) -> None:
        if self.rendered != self.state.generation:
            self.show_state()
        elif self.state.finalized and self.state.verify is not None:
            load_verify(self, self.state, self._show_head, again=True)  # it may have drifted since

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        self.table.loading = True
        self.query_one("#inv-head", Static).update(
            Content.assemble((f"{self.state.period} ", "bold"), ("computing…", "dim"))
        )
        load_invoice(self, self.state, self._loaded, on_error=self._failed)

    def _failed(self, exc: NodedeskError) -> None:
        self.table.loading = False
        self.table.request_failed()
        self.refused(exc, f"Could not compute {self.state.period}")

    def refresh_from_feed(self, kinds: frozenset[str] = frozenset()) -> None:
        """Data changed (another admin, or the clock): recompute quietly; the page, cursor and
        filter stay, and the heading does not flash "computing…" (tui/kit/live.py)."""
        self.feed_reads.request(self._feed_read)

    def _feed_read(self) -> None:
        load_invoice(self, self.state, self._feed_loaded, on_error=self._feed_failed)

    def _feed_loaded(self) -> None:
        self._loaded()
        self.feed_reads.finished(self._feed_read)

    def _feed_failed(self, exc: NodedeskError) -> None:
        self.feed_reads.finished(self._feed_read)
        self.refused(exc, f"Could not compute {self.state.period}")

    def _loaded(self) -> None:
        if self.rendered != self.state.generation:
            self.show_state()
        else:
            self._show_head()

    def show_state(self) -> None:
        """Show the state's invoice; for a finalized month, compare it with live data."""
        state = self.state
        self.table.loading = False
        self.rendered = state.generation
        if state.invoice is None:
            return
        self._show_projects(cursor="keep")
        self._show_head()
        self._show_warnings()
        if state.finalized and state.verify is None and not state.verify_failed:
            load_verify(self, state, self._show_head)  # (no-op while already comparing)
        self.refresh_bindings()

    def _show_head(self) -> None:
        state, inv = self.state, self.state.invoice
        if inv is None:
            return
        cur = inv.currency
        self.query_one("#inv-head", Static).update(head_text(state, self.session.tz, self.session))
        banner = drift_banner(state, cur)
        box = self.query_one("#drift-banner", Static)
        box.display = banner is not None
        if banner is not None:
            box.update(banner)
        self.query_one("#inv-totals", Static).update(totals_line(inv))
        self.refresh_bindings()

    def _show_warnings(self) -> None:
        inv = self.state.invoice
        warnings = inv.warnings if inv is not None else []
        text = self.query_one("#warnings-text", Static)
        box = self.query_one("#warnings", VerticalScroll)
        box.display = bool(warnings)
        if not warnings:
            return
        box.set_class(not self.show_warnings, "collapsed")
        if self.show_warnings:
            lines = [f"{ir.WARNING_MARK} {one_line(w, max_len=400)}" for w in warnings]
            text.update(Content("\n".join([*lines, "(w hides the warnings)"])))
        else:
            text.update(
                Content(f"{ir.WARNING_MARK} {len(warnings)} warning(s) (w shows): {one_line(warnings[0])}")
            )

    # ------------------------------------------------------------------ projects

    def _matches(self, p: Doc) -> bool:
        if not self.text:
            return True
        hay = " ".join([p["project"], p.get("owner") or "", *p["totals"].get("cost_objects", {})]).lower()
        return all(t in hay for t in self.text.lower().split())

    def _show_projects(self, offset: int | None = None, cursor: str = "keep") -> None:
        inv = self.state.invoice
        all_projects = inv.projects if inv is not None else []
        self.projects = [p for p in all_projects if self._matches(p)]
        t = self.table
        start = t.page_offset if offset is None else offset
        if start >= len(self.projects):
            start = max(((len(self.projects) - 1) // t.page_size) * t.page_size, 0)
        page = self.projects[start : start + t.page_size]
        t.show_page([self._row(p) for p in page], len(self.projects), start, cursor)  # type: ignore[arg-type]
        self._update_preview()

    def _row(self, p: Doc) -> Row:
        t = p["totals"]
        warned = len(self.state.warnings_for(p["project"]))
        return Row(
            p["project"],
            [
                ir.text_cell(p["project"]),
                Text(str(len(p["lines"])), justify="right"),
                Text(ir.minus(t["downtime_hours"]), justify="right", style="dim"),
                Text(t["net_hours"], justify="right"),
                Text(ir.money(t["amount"]), justify="right", style="bold"),
                Text(ir.WARNING_MARK if warned else "", style="yellow"),
                ir.text_cell(p.get("owner")),
            ],
        )

    @on(PagedTable.PageRequest)
    def _page_request(self, event: PagedTable.PageRequest) -> None:
        self._show_projects(event.page_offset, event.cursor)

    def current_project(self) -> Doc | None:
        key = self.table.current_key() if self.is_mounted else None
        if key is None:
            return None
        return next((p for p in self.projects if p["project"] == key), None)

    def _update_preview(self) -> None:
        preview = self.query_one("#inv-preview", Static)
        inv = self.state.invoice
        p = self.current_project()
        if inv is None:
            preview.update(Content.styled("Computing…", "dim"))
            return
        if p is None:
            preview.update(
                Content(
                    "No project matches the filter." if self.text else f"Nothing is billed in {inv.period}."
                )
            )
            return
        cur = inv.currency
        first = Content.assemble(
            (one_line(p["project"], max_len=50), "bold $accent"),
            f" (owner {one_line(p.get('owner'))}) · {len(p['lines'])} line(s) · "
            f"net {p['totals']['net_hours']} h · {ir.money(p['totals']['amount'])} {cur}",
        )
        second = Content(f"Cost objects: {ir.cost_objects(p['totals'], cur)}")
        lines = [first, second]
        for w in self.state.warnings_for(p["project"])[:1]:
            lines.append(Content.styled(f"{ir.WARNING_MARK} {one_line(w, max_len=200)}", "$warning"))
        preview.update(Content("\n").join(lines))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_preview()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.invoice_action_state(action, parameters)
        if state is not None:
            return state
        if action == "drift":
            return self.state.finalized
        if action in ("export", "reload"):
            return self.state.invoice is not None
        if action == "warnings":
            return bool(self.state.invoice and self.state.invoice.warnings)
        return True

    def action_back(self) -> None:
        if self.query_one("#filter", Input).display or self.text:
            self._clear_filter()
            return
        self.dismiss(None)

    def action_open(self) -> None:
        p = self.current_project()
        if p is None:
            return
        from .invoice_lines import InvoiceLinesScreen

        self.app.push_screen(InvoiceLinesScreen(self.state, p["project"]))

    def action_reload(self) -> None:
        self.reload()

    def action_warnings(self) -> None:
        self.show_warnings = not self.show_warnings
        self._show_warnings()

    def action_drift(self) -> None:
        """Compare the snapshot with live data as they are now (never an earlier comparison)."""
        if not self.state.finalized:
            return
        check_drift(self, self.state, self._show_head, self.reload)

    def action_export(self) -> None:
        if self.state.invoice is not None:
            from .invoice_dialogs import ExportScreen

            self.app.push_screen(ExportScreen(self.state))

    def action_finalize(self) -> None:
        if self.state.invoice is None:
            return
        from .invoice_dialogs import FinalizeScreen

        self.app.push_screen(FinalizeScreen(self.state), self._finalized)

    def _finalized(self, inv: Any) -> None:
        if inv is not None:
            self.state.changed = True
            self.state.set_invoice(inv)
            self.show_state()

    def action_unfinalize(self) -> None:
        if self.state.invoice is None:
            return
        from .invoice_dialogs import UnfinalizeScreen

        self.app.push_screen(UnfinalizeScreen(self.state.invoice), self._unfinalized)

    def _unfinalized(self, result: Any) -> None:
        if result is not None:
            self.state.changed = True
            self.reload()

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
            self._show_projects(0, "first")

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.2, lambda: self._apply_filter(event.value))

    def _apply_filter(self, value: str) -> None:
        if value.strip() != self.text:
            self.text = value.strip()
            self._show_projects(0, "first")

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_filter(event.value)
        if not self.text:
            event.input.display = False
        self.table.focus()

    def palette_commands(self) -> Iterable[SystemCommand]:
        period = self.state.period
        yield SystemCommand(
            f"Finalize {period}", "Store the immutable snapshot (f)", lambda: self.run_or_explain("finalize")
        )
        yield SystemCommand(
            f"Unfinalize {period}",
            "Back to draft, reason required (u)",
            lambda: self.run_or_explain("unfinalize"),
        )
        yield SystemCommand(f"Export {period}", "CSV or JSON to a file (x)", self.action_export)
        yield SystemCommand(f"Show the drift of {period}", "Live data vs the snapshot (v)", self.action_drift)
        yield SystemCommand(f"Recompute {period}", "Reload (r)", self.action_reload)
