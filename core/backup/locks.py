"""Which records a merge import may not change on its own: locked history (help/backup.md).

A merge (an import into a database that holds data) obeys the same locks as the console: a
completed or in-progress maintenance window (core/services/windows.py), a resolved outage
(core/services/outages.py), and anything that reaches into a finalized invoice month
(core/services/drift.py, finalized_days.py, invoices.py): reservations, windows and outages by
their span, billing overrides and invoice snapshots by their month, a finalized month itself,
and rates, cost splits and fee subscription periods from their effective date on. Such a change
is refused unless an admin asks for a correction with a reason; each corrected record then gets
its own audit entry with before and after, and the finalized months it touches are flagged as
drifted, as a console correction does. A restore into an empty database brings the history as
it is and is not checked here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pendulum

from ..context import ServiceContext
from ..intervals import Interval
from ..models import (
    BillingOverride,
    CostSplitVersion,
    FeeSubscriptionPeriod,
    InvoicePeriod,
    InvoiceSnapshot,
    MaintenanceWindow,
    Outage,
    Rate,
    Reservation,
)
from ..services.downtime import windows
from ..services.invoicing import drift, finalized_days

# Kinds whose records may sit in locked history, and their models.
MODELS: dict[str, type] = {
    "maintenance_windows": MaintenanceWindow,
    "outages": Outage,
    "reservations": Reservation,
    "billing_overrides": BillingOverride,
    "invoice_snapshots": InvoiceSnapshot,
    "invoice_periods": InvoicePeriod,
    "rates": Rate,
    "cost_split_versions": CostSplitVersion,
    "fee_subscription_periods": FeeSubscriptionPeriod,
}


@dataclass
class Correction:
    """One locked record a correcting merge changed (its audit entry is written at the end)."""

    kind: str
    label: str
    row_id: Any
    target_uuid: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    months: list[str] = field(default_factory=list)


class HistoryLocks:
    """Answers "is this change to locked history?" for one merge, by the services' own rules."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.now = ctx.now()
        # Months this import finalizes itself: their snapshots and overrides arrive with them.
        self.finalized_here: set[str] = set()
        self._finalized: dict[str, bool] = {}  # month -> finalized here (asked once, see below)

    # -- helpers ------------------------------------------------------------------------
    def _closed(self, spans: list[Interval[datetime]]) -> list[str]:
        months = drift.months_touched([s for s in spans if s.end > s.start], self.ctx.tz)
        return self._closed_months(months)

    def _closed_months(self, months: list[str]) -> list[str]:
        """The finalized ones among ``months``. Each month is asked once per import: asking takes
        its lock (drift.lock_months), held until the import commits, so the answer stands."""
        unknown = [m for m in months if m is not None and m not in self._finalized]
        if unknown:
            found = {p.period for p in drift.finalized_months(self.ctx, unknown)}
            self._finalized.update((m, m in found) for m in unknown)
        return [m for m in months if self._finalized.get(m) and m not in self.finalized_here]

    def _closed_from(self, days: list[tuple[date, date | None]]) -> list[str]:
        out: set[str] = set()
        for first, end in days:
            out.update(finalized_days.finalized_months_in(self.ctx, first, end))
        return sorted(out - self.finalized_here)

    @staticmethod
    def _months_text(months: list[str]) -> str:
        return f"reaches the finalized invoice month {', '.join(months)}"

    def _span(self, start: datetime | None, end: datetime | None) -> Interval[datetime] | None:
        if start is None:
            return None
        end = end if end is not None else max(self.now, start)
        return Interval(start, end) if end > start else None

    # -- the rule -----------------------------------------------------------------------
    def check(self, kind: str, old: Any, new: dict[str, Any]) -> tuple[str, list[str]] | None:
        """``(why it is locked, finalized months touched)`` or None when the change is free.

        ``old`` is the record's row as it is here (None for a record the merge creates);
        ``new`` its column values after the merge (only the columns the export gives).
        """

        def val(attr: str, column: str | None = None) -> Any:
            column = column or attr
            if column in new:
                return new[column]
            return getattr(old, attr) if old is not None else None

        why = ""
        months: list[str] = []
        if kind in ("maintenance_windows", "outages", "reservations"):
            spans = [self._span(val("start", "start_at"), val("end", "end_at"))]
            if old is not None:
                spans.append(self._span(old.start, old.end))
                if kind == "maintenance_windows":
                    status = windows.status_at(old.start, old.end, self.now)
                    if status != "upcoming":
                        why = f"is a {windows.STATUS_LABELS[status]} maintenance window (history is locked)"
                elif kind == "outages" and old.status == "resolved":
                    why = "is a resolved outage (history is locked)"
            if kind == "reservations" and old is None and val("status") not in ("approved",):
                spans = []  # only an approved reservation is billed
            if kind == "outages" and old is None and not val("credit"):
                spans = []  # an outage without credit changes no invoice
            months = self._closed([s for s in spans if s is not None])
        elif kind == "billing_overrides":
            months = self._closed_months(sorted({val("period"), *([old.period] if old is not None else [])}))
        elif kind == "invoice_snapshots":
            period = self.ctx.session.get(InvoicePeriod, val("invoice_period_id"))
            if period is not None:
                months = self._closed_months([period.period])
        elif kind == "invoice_periods":
            if old is not None and old.status == "finalized":
                months = [old.period]
            if val("status") == "finalized" and (old is None or old.status != "finalized"):
                self.finalized_here.add(val("period"))
        elif kind in ("rates", "cost_split_versions"):
            firsts = [d for d in (val("effective_date"), getattr(old, "effective_date", None)) if d]
            months = self._closed_from([(min(firsts), None)]) if firsts else []
        elif kind == "fee_subscription_periods":
            days = [(val("start_date"), _after(val("end_date")))]
            if old is not None:
                days.append((old.start_date, _after(old.end_date)))
            months = self._closed_from([d for d in days if d[0] is not None])
        if months and not why:
            why = self._months_text(months)
        return (why, months) if why else None

    def flag(self, corrections: list[Correction], note: str) -> None:
        """Flag the finalized months the corrections touched as drifted (as console corrections do)."""
        months = sorted({m for c in corrections for m in c.months})
        if months:
            drift.flag_drift(self.ctx, [_month_span(m, self.ctx.tz) for m in months], note)


def _after(day: date | None) -> date | None:
    return finalized_days.day_after(day) if day is not None else None


def _month_span(month: str, tz: str) -> Interval[datetime]:
    first = pendulum.from_format(month, "YYYY-MM", tz=tz)
    return Interval(first.in_timezone("UTC"), first.add(months=1).in_timezone("UTC"))
