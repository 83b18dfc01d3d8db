"""Rates section: the paged list of SKUs with the rate in force today."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.services.invoicing import rate_pages as svc
from nodedesk.core.services.invoicing import rates
from textual.app import SystemCommand
from textual.binding import Binding
from textual.content import Content

from ...kit import render
from ...kit.list_screen import ListScreen, clear_binding, cycle_bindings, filter_binding, reload_binding
from ...kit.query import Cycle, ListQuery
from ...widgets.paged_table import Col
from .rate_actions import RATE_BINDINGS, UNIT, RateActionsMixin, rate_cell

KINDS: list[str | None] = [None, "hourly", "monthly"]
KIND = Cycle("kind", "f", tuple(KINDS), "Kind", tooltip="Show: all, hourly (node) SKUs, monthly fees")


class RatesScreen(RateActionsMixin, ListScreen):
    SECTION = "rates"
    HELP_TOPIC = "rates"
    REFRESH_SECONDS = 60.0
    LIST_TITLE = "SKUs"
    NOUN = "SKUs"
    BODY_ID = "rates-body"
    TABLE_ID = "skus-table"
    FILTER_PLACEHOLDER = "filter: code, name, category or node type"
    CYCLES = (KIND,)
    PREVIEW = True

    BINDINGS = [
        *RATE_BINDINGS,
        filter_binding("Filter by code, name, category or node type"),
        *cycle_bindings([KIND]),
        Binding(
            "s", "subscriptions", "Subscriptions", tooltip="Fee subscriptions (maintenance fees, QoS add-ons)"
        ),
        reload_binding("Reload (also every 60 s)"),
        clear_binding(),
    ]

    @property
    def kind(self) -> str | None:
        return self.filters["kind"]  # type: ignore[no-any-return]

    def columns(self) -> list[Col]:
        return [
            Col("code", "SKU", 16),
            Col("kind", "Kind", 7),
            Col("node_type", "Node type", 10),
            Col("rate", "Rate today", 14),
            Col("since", "Since", 10),
            Col("name", "Name", None, min_width=12, essential=False),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.SkuPage:
        q = svc.SkuQuery(kind=query.get("kind"), text=query.text, offset=query.offset, limit=query.limit)
        return svc.list_sku_page(ctx, q)

    def key(self, item: rates.SkuView) -> str:
        return item.code

    def cells(self, s: rates.SkuView) -> Sequence[Any]:
        return [
            render.text(s.code),
            s.kind,
            render.text(s.node_type or "—"),
            rate_cell(s),
            s.rate.effective_date.isoformat() if s.rate else "",
            render.text(s.name),
        ]

    def open(self, s: rates.SkuView) -> None:
        from .sku_detail import SkuDetailScreen

        self.app.push_screen(SkuDetailScreen(s.code))

    def empty_text(self) -> str:
        return "No SKUs match." if self.filtered else "No SKUs yet."

    def preview(self, s: rates.SkuView | None) -> Content:
        if s is None:
            return Content(self.empty_text())
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
        return Content("\n").join([first, second])

    # ------------------------------------------------------------------ actions

    def current_sku(self) -> rates.SkuView | None:
        return self.current_item()  # type: ignore[no-any-return]

    def changed(self, result: object) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.rate_action_state(action)
        if state is not None:
            return state
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        s = self.current_sku()
        if s is not None:
            self.open(s)

    def action_subscriptions(self) -> None:
        from .subscriptions import SubscriptionsScreen

        self.app.push_screen(SubscriptionsScreen())

    def set_kind(self, kind: str | None) -> None:
        self.set_filter("kind", kind)

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
