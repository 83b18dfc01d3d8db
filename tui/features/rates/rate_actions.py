"""Display helpers and the 'set a rate' action shared by the SKU list and a SKU's detail screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from nodedesk.core.services.invoicing import rates
from rich.text import Text
from textual.binding import Binding

from ...kit.render import LOCK
from ..projects.project_actions import CYAN, GREEN, GREY, YELLOW
from ..windows.window_actions import not_allowed

if TYPE_CHECKING:
    from ...session import AppSession

UNIT = {"hourly": "per hour", "monthly": "per month"}
SHORT_UNIT = {"hourly": "/h", "monthly": "/mo"}

RATE_BINDINGS = [
    Binding("n", "set_rate", "Set rate", tooltip="Set a new rate for the SKU (confirmed first)"),
    Binding(
        "n",
        "why_rate",
        f"Set rate {LOCK}",
        show=False,
        tooltip="Set a new rate: not allowed for you (says why)",
    ),
]


def rate_cell(sku: rates.SkuView) -> Text:
    if sku.rate is None:
        return Text("⚠ no rate", style=YELLOW, no_wrap=True, justify="right")
    return Text(
        f"{rates.format_amount(sku.rate.amount)} {SHORT_UNIT[sku.kind]}", no_wrap=True, justify="right"
    )


def rate_state(r: rates.RateView, in_force: rates.RateView | None, today: date) -> Text:
    """``✓ in force``, ``◷ from 2026-03-01`` (planned), ``⊘ corrected by #7`` or ``past``."""
    if r.superseded_by is not None:
        return Text(f"⊘ corrected by #{r.superseded_by}", style=GREY, no_wrap=True)
    if in_force is not None and r.id == in_force.id:
        return Text("✓ in force", style=f"bold {GREEN}", no_wrap=True)
    if r.effective_date > today:
        return Text("◷ upcoming", style=CYAN, no_wrap=True)
    return Text("· past", style=GREY, no_wrap=True)


class RateActionsMixin:
    """Needs ``current_sku()`` and ``changed(result)``."""

    session: AppSession
    app: Any
    explain: Callable[..., None]

    def current_sku(self) -> rates.SkuView | None:
        raise NotImplementedError

    def changed(self, result: object) -> None:
        raise NotImplementedError

    def rate_refusal(self) -> str:
        why = not_allowed(self.session, "manage_rates")
        if why:
            return why
        return "" if self.current_sku() is not None else "no SKU is selected"

    def rate_action_state(self, action: str) -> bool | None:
        if action == "set_rate":
            return not self.rate_refusal()
        if action == "why_rate":
            return bool(self.rate_refusal())
        return None

    def action_why_rate(self) -> None:
        message = self.rate_refusal()
        if message:
            self.explain(message, title=f"Set rate {LOCK}")

    def action_set_rate(self) -> None:
        sku = self.current_sku()
        if sku is not None:
            from .rate_form import RateFormScreen

            def done(result: rates.RateView | None) -> None:
                if result is not None:
                    self.changed(result)

            self.app.push_screen(RateFormScreen(sku), done)
