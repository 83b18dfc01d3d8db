"""Fee subscriptions (account maintenance fees and QoS add-ons): a paged, filterable list.

Read only here; subscriptions are added, changed and ended with ``nodedesk subscription``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nodedesk.core.context import ServiceContext
from nodedesk.core.services.invoicing import rate_pages as svc
from nodedesk.core.services.rentals import subscriptions
from rich.text import Text
from textual.binding import Binding
from textual.content import Content

from ...kit import render
from ...kit.list_screen import ListScreen, cycle_bindings, filter_binding
from ...kit.query import Cycle, ListQuery
from ...widgets.paged_table import Col
from ..projects.project_detail import date_or_open, subscription_status

STATUSES: list[str | None] = [None, "active", "upcoming", "ended"]
STATUS = Cycle(
    "status", "f", tuple(STATUSES), "Status", tooltip="Show: all, active, upcoming, ended", show=True
)


class SubscriptionsScreen(ListScreen):
    SECTION = "rates"
    HELP_TOPIC = "rates"
    HELP_TITLE = "fee subscriptions"
    LIST_TITLE = "Fee subscriptions"
    NOUN = "fee subscriptions"
    BODY_ID = "subscriptions-body"
    TABLE_ID = "subscriptions-table"
    FILTER_PLACEHOLDER = "filter: user, SKU or billing project"
    CYCLES = (STATUS,)
    PREVIEW = True
    OPENS = False

    BINDINGS = [
        Binding("escape", "back", "Back"),
        filter_binding("Filter by user, SKU or billing project"),
        *cycle_bindings([STATUS]),
        Binding("r", "reload", "Reload"),
    ]

    def crumbs(self) -> tuple[str, ...]:
        return ("fee subscriptions",)

    @property
    def status(self) -> str | None:
        return self.filters["status"]  # type: ignore[no-any-return]

    def columns(self) -> list[Col]:
        return [
            Col("id", "#", 4),
            Col("user", "User", 10),
            Col("sku", "SKU", 15),
            Col("from", "From", 10),
            Col("to", "To", 10),
            Col("status", "Status", 10),
            Col("project", "Billed to", None, min_width=10),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.SubscriptionPage:
        q = svc.SubscriptionQuery(
            status=query.get("status"), text=query.text, offset=query.offset, limit=query.limit
        )
        return svc.list_subscription_page(ctx, q)

    def cells(self, s: subscriptions.SubscriptionView) -> Sequence[Any]:
        return [
            Text(str(s.id), justify="right"),
            render.text(s.user),
            render.text(s.current.sku),
            s.start_date.isoformat(),
            date_or_open(s.end_date),
            subscription_status(s.status),
            render.text(s.current.project),
        ]

    def empty_text(self) -> str:
        if self.filtered:
            return "No subscriptions match."
        return "No fee subscriptions yet (nodedesk subscription add)."

    def preview(self, s: subscriptions.SubscriptionView | None) -> Content:
        if s is None:
            return Content(self.empty_text())
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
        return Content("\n").join([first, Content(f"periods: {periods}")])

    def current(self) -> subscriptions.SubscriptionView | None:
        return self.current_item()  # type: ignore[no-any-return]

    def action_back(self) -> None:
        """Escape clears the filter first, then goes back."""
        box = self.query_one("#filter")
        if self.filtered or box.display:
            self.action_clear_filter()
            return
        self.dismiss(None)
