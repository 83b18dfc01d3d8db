"""``nodedesk migrate orcd-compare``: what the plugin billed for a month beside nodedesk's invoice,
line by line, each difference put down to its cause (help/migrate.md, "The differences").

The plugin's invoice is its API's JSON (core/orcd/invoice.py; or core/orcd/plugin_model.py for a
month the plugin had finalized). nodedesk's is the month's invoice as `nodedesk invoice show`
gives it (a finalized month's snapshot, else the live draft). Lines are matched by reservation
id (the migration keeps the plugin's ids) and, for fees, by user, SKU and project.

A reservation line's difference in hours is split into causes, each computed from the data:

- ``daylight_saving``: the plugin counts wall-clock hours, nodedesk real elapsed time
  (16:00 → 09:00 is 16 h or 18 h on the nights the clocks change, 17 h in the plugin);
- ``maintenance_not_deducted``: the plugin's API never deducts maintenance windows; this is
  the time covered by the windows in scope, counted once;
- for the plugin's web view, which does deduct: ``timezone_shift`` (it reads a window's UTC
  times as site wall-clock times) and ``overlap_counted_twice`` (it adds overlapping windows'
  overlaps instead of counting the time once);
- ``other``: anything left (outages only nodedesk credits, overrides, a line only one side has),
  shown with both computations.

Amounts: the plugin's API prices no reservation, so its line is priced here as its hours at the
rate the plugin had for the SKU on the reservation's start date (the rates the migration carried
over, plus the plugin's $0.01 placeholders the migration recorded and left out: the difference
that makes is ``placeholder_rate``). A fee line's plugin amount is its rate × billed days ÷ days
in the month; ``fee_priced_on_first`` explains a fee priced below a rate that took effect during
the month (both systems price a month's fee at the rate in force on the 1st).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .. import timeutil
from ..context import ServiceContext
from ..downtime import load_downtime
from ..errors import ValidationError
from ..intervals import Interval, union
from ..models import Node, Rate, Reservation, Sku
from ..services.invoicing import invoices
from ..services.invoicing.rates import format_amount, node_sku_code
from ..services.rentals.reservation_policy import elapsed_hours
from .invoice import UNKNOWN, OrcdFeeLine, OrcdInvoice, OrcdReservationLine, money, read_invoice_file

ZERO = Decimal(0)
HOUR = Decimal("0.01")
UNALLOCATED = "UNALLOCATED"

CAUSES = {
    "maintenance_not_deducted": "maintenance not deducted",
    "timezone_shift": "window shifted by the time-zone bug",
    "overlap_counted_twice": "overlapping windows counted twice",
    "daylight_saving": "daylight-saving hour",
    "placeholder_rate": "placeholder rate",
    "fee_priced_on_first": "fee priced on the 1st",
    "other": "other",
}


def hours_text(value: Decimal) -> str:
    return format(value.quantize(HOUR, rounding=ROUND_HALF_UP), "f")


def money_text(value: Decimal) -> str:
    return format(money(value), "f")


@dataclass(frozen=True)
class Cause:
    code: str
    text: str
    hours: Decimal | None = None  # its share of (plugin − nodedesk) hours
    amount: Decimal | None = None  # its share of (plugin − nodedesk) amount; None: explains only

    def to_json(self) -> dict[str, Any]:
        return {
            "cause": self.code,
            "label": CAUSES[self.code],
            "hours": hours_text(self.hours) if self.hours is not None else None,
            "amount": money_text(self.amount) if self.amount is not None else None,
            "text": self.text,
        }


@dataclass(frozen=True)
class LineComparison:
    kind: str  # "reservation" | "fee"
    key: str  # "reservation #2", "fee orcd_u1 MAINT_ADVANCED"
    project: str
    orcd_hours: Decimal | None
    ours_hours: Decimal | None
    orcd_amount: Decimal
    ours_amount: Decimal
    orcd_detail: str
    ours_detail: str
    causes: tuple[Cause, ...]

    @property
    def hours_diff(self) -> Decimal:
        return (self.orcd_hours or ZERO) - (self.ours_hours or ZERO)

    @property
    def amount_diff(self) -> Decimal:
        return self.orcd_amount - self.ours_amount

    @property
    def differs(self) -> bool:
        return bool(self.causes) or abs(self.amount_diff) >= Decimal("0.01")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "line": self.key,
            "project": self.project,
            "orcd_hours": hours_text(self.orcd_hours) if self.orcd_hours is not None else None,
            "nodedesk_hours": hours_text(self.ours_hours) if self.ours_hours is not None else None,
            "hours_difference": hours_text(self.hours_diff) if self.kind == "reservation" else None,
            "orcd_amount": money_text(self.orcd_amount),
            "nodedesk_amount": money_text(self.ours_amount),
            "amount_difference": money_text(self.amount_diff),
            "orcd": self.orcd_detail,
            "nodedesk": self.ours_detail,
            "causes": [c.to_json() for c in self.causes],
        }


@dataclass
class Figures:
    """Hours and amount on both sides (a project, a cost object, the month)."""

    name: str = ""
    orcd_hours_exact: Decimal = ZERO
    ours_hours_exact: Decimal = ZERO
    orcd_amount_exact: Decimal = ZERO
    ours_amount_exact: Decimal = ZERO

    @property
    def orcd_hours(self) -> str:
        return hours_text(self.orcd_hours_exact)

    @property
    def ours_hours(self) -> str:
        return hours_text(self.ours_hours_exact)

    @property
    def orcd_amount(self) -> str:
        return money_text(self.orcd_amount_exact)

    @property
    def ours_amount(self) -> str:
        return money_text(self.ours_amount_exact)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "orcd_hours": self.orcd_hours,
            "nodedesk_hours": self.ours_hours,
            "orcd_amount": self.orcd_amount,
            "nodedesk_amount": self.ours_amount,
            "amount_difference": money_text(self.orcd_amount_exact - self.ours_amount_exact),
        }


@dataclass
class InvoiceComparison:
    period: str
    timezone: str
    currency: str
    orcd_status: str
    orcd_source: str
    ours_status: str
    lines: list[LineComparison] = field(default_factory=list)
    projects: dict[str, Figures] = field(default_factory=dict)
    cost_objects: dict[str, Figures] = field(default_factory=dict)
    totals: Figures = field(default_factory=Figures)

    def summary(self) -> dict[str, dict[str, Decimal | int]]:
        out: dict[str, dict[str, Decimal | int]] = {}
        for line in self.lines:
            for c in line.causes:
                acc = out.setdefault(c.code, {"lines": 0, "hours": ZERO, "amount": ZERO})
                acc["lines"] += 1
                acc["hours"] += c.hours or ZERO
                acc["amount"] += c.amount or ZERO
        return out

    def summary_json(self) -> dict[str, dict[str, str]]:
        return {
            code: {
                "label": CAUSES[code],
                "lines": str(acc["lines"]),
                "hours": hours_text(Decimal(acc["hours"])),
                "amount": money_text(Decimal(acc["amount"])),
            }
            for code, acc in sorted(self.summary().items())
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "timezone": self.timezone,
            "currency": self.currency,
            "orcd_status": self.orcd_status,
            "orcd_source": self.orcd_source,
            "nodedesk_status": self.ours_status,
            "lines": [line.to_json() for line in self.lines],
            "causes": self.summary_json(),
            "projects": [p.to_json() for _k, p in sorted(self.projects.items())],
            "cost_objects": [c.to_json() for _k, c in sorted(self.cost_objects.items())],
            "totals": self.totals.to_json(),
        }


# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RateRow:
    effective: date
    amount: Decimal
    placeholder: bool
    order: int


class _Rates:
    """The plugin's rate timeline per nodedesk SKU: the migrated rows plus its placeholders."""

    def __init__(self, ctx: ServiceContext, placeholders: list[dict[str, str]]) -> None:
        self.rows: dict[str, list[_RateRow]] = defaultdict(list)
        for code, effective, amount, rid in ctx.session.execute(
            select(Sku.code, Rate.effective_date, Rate.amount, Rate.id).join(Sku, Sku.id == Rate.sku_id)
        ):
            self.rows[code].append(_RateRow(effective, Decimal(amount), False, rid))
        for p in placeholders:
            self.rows[p["sku"]].append(
                _RateRow(date.fromisoformat(p["effective_date"]), Decimal(p["amount"]), True, -1)
            )
        self.known = bool(placeholders)

    def plugin_on(self, sku: str | None, day: date) -> _RateRow | None:
        rows = [r for r in self.rows.get(sku or "", []) if r.effective <= day]
        return max(rows, key=lambda r: (r.effective, r.order)) if rows else None

    def ours_on(self, sku: str | None, day: date) -> _RateRow | None:
        rows = [r for r in self.rows.get(sku or "", []) if r.effective <= day and not r.placeholder]
        return max(rows, key=lambda r: (r.effective, r.order)) if rows else None

    def changes(self, sku: str, after: date, until: date) -> list[_RateRow]:
        return sorted(
            (r for r in self.rows.get(sku, []) if after < r.effective <= until and not r.placeholder),
            key=lambda r: (r.effective, r.order),
        )


def _wall(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=None)


def _hours(start: datetime, end: datetime) -> Decimal:
    if end <= start:
        return ZERO
    delta = end - start
    return Decimal((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) / Decimal(
        3_600_000_000
    )


def _union_hours(spans: list[tuple[datetime, datetime]]) -> Decimal:
    merged = union([Interval(a, b) for a, b in spans if b > a])
    return sum((_hours(i.start, i.end) for i in merged), ZERO)


class _Comparer:
    def __init__(self, ctx: ServiceContext, orcd: OrcdInvoice, placeholders: list[dict[str, str]]) -> None:
        self.ctx = ctx
        self.orcd = orcd
        self.tz = ctx.tz
        self.invoice = invoices.compute_invoice(ctx, orcd.period)
        self.rates = _Rates(ctx, placeholders)
        year, month = int(orcd.period[:4]), int(orcd.period[5:])
        self.first = date(year, month, 1)
        nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        self.last = nxt - timedelta(days=1)
        self.naive_start = datetime(year, month, 1)
        self.naive_end = datetime(nxt.year, nxt.month, 1)
        span = invoices.month_interval(ctx, orcd.period)
        # a day either side: the plugin's web view may shift a window into the month
        self.downtime = load_downtime(
            ctx.session, span.start - timedelta(days=1), span.end + timedelta(days=1), ctx.now()
        )
        self.nodes = {
            name: (nid, tid)
            for nid, name, tid in ctx.session.execute(select(Node.id, Node.name, Node.node_type_id))
        }
        self.res_lines: dict[int, tuple[str, dict[str, Any]]] = {}
        self.fee_lines: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for p, line in self.invoice.lines():
            if line["type"] == "reservation":
                self.res_lines[line["reservation_id"]] = (p["project"], line)
            else:
                self.fee_lines[(line["user"], line["sku"], p["project"])].append(line)
        self.result = InvoiceComparison(
            period=orcd.period,
            timezone=self.tz,
            currency=self.invoice.currency,
            orcd_status=orcd.status,
            orcd_source=orcd.source,
            ours_status=self.invoice.status,
        )

    # -- reservation lines -----------------------------------------------------------------
    def _missing_reason(self, reservation_id: int) -> str:
        row = self.ctx.session.get(Reservation, reservation_id)
        if row is None:
            return "not in nodedesk (the migration report says why it was not migrated)"
        return f"{row.status} in nodedesk, so not billed"

    def reservation(self, r: OrcdReservationLine) -> LineComparison:
        found = self.res_lines.pop(r.reservation_id, None)
        orcd_hours = r.billed_hours
        row = self.rates.plugin_on(self._sku_of(r, found), r.start_date)
        orcd_rate = row.amount if row is not None else ZERO
        orcd_amount = money(orcd_hours * orcd_rate)
        orcd_detail = self._orcd_detail(r, orcd_rate)
        if found is None:
            why = self._missing_reason(r.reservation_id)
            cause = Cause(
                "other",
                f"only the plugin bills this line: reservation #{r.reservation_id} is {why}",
                orcd_hours,
                orcd_amount,
            )
            self._count(r.project, r, None, orcd_hours, orcd_amount, ZERO, ZERO)
            return LineComparison(
                "reservation",
                f"reservation #{r.reservation_id}",
                r.project,
                orcd_hours,
                None,
                orcd_amount,
                ZERO,
                orcd_detail,
                "no line",
                (cause,),
            )
        project, line = found
        ours_hours = Decimal(line["billed_hours"])
        ours_amount = Decimal(line["amount"])
        price = self._unit_price(line, ours_hours, ours_amount)
        causes: list[Cause] = []
        explained = ZERO
        overrides = bool(r.override) or line.get("override") is not None or r.excluded or line["excluded"]
        start_wall, end_wall = _wall(line["start"]), _wall(line["end"])
        if (start_wall, end_wall) != (r.start, r.end):
            causes.append(
                Cause(
                    "other",
                    f"the times differ: the plugin {r.start:%Y-%m-%d %H:%M} → {r.end:%Y-%m-%d %H:%M}, "
                    f"nodedesk {start_wall:%Y-%m-%d %H:%M} → {end_wall:%Y-%m-%d %H:%M}",
                )
            )
        elif not overrides:
            explained = self._hour_causes(r, line, price, causes)
        residual = orcd_hours - ours_hours - explained
        if abs(residual) >= HOUR:
            why = "overrides" if overrides else "a difference the causes above do not cover"
            causes.append(
                Cause(
                    "other",
                    f"{why}: {hours_text(residual)} h (plugin: {orcd_detail}; nodedesk: "
                    f"{self._ours_detail(line)})",
                    residual,
                    residual * price,
                )
            )
        if row is not None and row.placeholder and orcd_hours:
            effect = orcd_hours * (orcd_rate - price)
            causes.append(
                Cause(
                    "placeholder_rate",
                    f"the plugin priced {r.sku or 'the SKU'} at its $0.01 placeholder on {r.start_date}; "
                    f"nodedesk has {format_amount(price) if price else 'no rate'} then",
                    None,
                    effect,
                )
            )
        self._amount_residual(
            causes, orcd_amount - ours_amount, f"plugin: {orcd_detail}; nodedesk: {self._ours_detail(line)}"
        )
        self._count(project, r, line, orcd_hours, orcd_amount, ours_hours, ours_amount)
        return LineComparison(
            "reservation",
            f"reservation #{r.reservation_id}",
            project,
            orcd_hours,
            ours_hours,
            orcd_amount,
            ours_amount,
            orcd_detail,
            self._ours_detail(line),
            tuple(causes),
        )

    def _sku_of(self, r: OrcdReservationLine, found: tuple[str, dict[str, Any]] | None) -> str | None:
        if found is not None:
            return found[1].get("sku")
        if r.sku is None:
            return None
        return node_sku_code(r.sku.removeprefix("NODE_"))

    @staticmethod
    def _unit_price(line: dict[str, Any], hours: Decimal, amount: Decimal) -> Decimal:
        if line.get("rate") is not None:
            return Decimal(line["rate"])
        return amount / hours if hours else ZERO

    def _orcd_detail(self, r: OrcdReservationLine, rate: Decimal) -> str:
        span = f"{r.start:%m-%d %H:%M}→{r.end:%m-%d %H:%M} wall clock"
        if r.excluded:
            return f"{span}, excluded"
        text = f"{span}, {hours_text(r.hours)} h"
        if r.maintenance_deduction is not None:
            text += f" − {hours_text(r.maintenance_deduction)} h maintenance"
        return f"{text} × {format_amount(rate)} = {money_text(r.billed_hours * rate)}"

    @staticmethod
    def _ours_detail(line: dict[str, Any]) -> str:
        if line["excluded"]:
            return f"gross {line['gross_hours']} h, excluded = {line['amount']}"
        rate = f" × {line['rate']}" if line.get("rate") is not None else ""
        return (
            f"gross {line['gross_hours']} − downtime {line['downtime_hours']} = {line['billed_hours']} h"
            f"{rate} = {line['amount']}"
        )

    def _hour_causes(
        self, r: OrcdReservationLine, line: dict[str, Any], price: Decimal, causes: list[Cause]
    ) -> Decimal:
        """The causes of (plugin − nodedesk) hours of a line with the same times on both sides."""
        billed_from, billed_to = (
            datetime.fromisoformat(line["billed_from"]),
            datetime.fromisoformat(line["billed_to"]),
        )
        wall_from, wall_to = max(r.start, self.naive_start), min(r.end, self.naive_end)
        explained = ZERO
        dst = _hours(wall_from, wall_to) - elapsed_hours(billed_from, billed_to)
        if dst:
            causes.append(
                Cause(
                    "daylight_saving",
                    f"the clocks changed during it: {hours_text(_hours(wall_from, wall_to))} h of wall "
                    f"clock, {hours_text(elapsed_hours(billed_from, billed_to))} h of real time",
                    dst,
                    dst * price,
                )
            )
            explained += dst
        node = self.nodes.get(line["node"])
        sources = self.downtime.for_node(*node) if node is not None else []
        real = Interval(billed_from, billed_to)
        maint: list[tuple[datetime, datetime]] = []
        outage: list[tuple[datetime, datetime]] = []
        titles = []
        for src in sources:
            part = src.interval.intersection(real)
            if part is None:
                continue
            (maint if src.source == "maintenance" else outage).append((part.start, part.end))
            if src.source == "maintenance":
                titles.append(
                    f"#{src.id} {src.title!r} {timeutil.format_short(part.start, self.tz)}→"
                    f"{timeutil.format_short(part.end, self.tz)}"
                )
        maintenance = _union_hours(maint)
        both = _union_hours(maint + outage)
        if both > maintenance:
            extra = both - maintenance
            causes.append(
                Cause(
                    "other",
                    f"nodedesk credits {hours_text(extra)} h of outages the plugin never knew",
                    extra,
                    extra * price,
                )
            )
            explained += extra
        if r.maintenance_deduction is None:
            if maintenance:
                causes.append(
                    Cause(
                        "maintenance_not_deducted",
                        f"the plugin's invoice API deducts no maintenance; nodedesk deducts "
                        f"{hours_text(maintenance)} h: {', '.join(titles)}",
                        maintenance,
                        maintenance * price,
                    )
                )
                explained += maintenance
            return explained
        # The web view: windows read at their UTC wall-clock times, each overlap added on its own.
        shifted: list[tuple[datetime, datetime]] = []
        for src in sources:
            if src.source != "maintenance":
                continue
            a, b = _utc_wall(src.interval.start), _utc_wall(src.interval.end)
            lo, hi = max(a, wall_from), min(b, wall_to)
            if hi > lo:
                shifted.append((lo, hi))
        added = sum((_hours(a, b) for a, b in shifted), ZERO)
        counted_once = _union_hours(shifted)
        tz_effect = maintenance - counted_once
        if tz_effect:
            causes.append(
                Cause(
                    "timezone_shift",
                    f"the plugin's web view reads window times in UTC as site time: it deducts "
                    f"{hours_text(counted_once)} h where the windows cover {hours_text(maintenance)} h",
                    tz_effect,
                    tz_effect * price,
                )
            )
            explained += tz_effect
        twice = counted_once - added
        if twice:
            causes.append(
                Cause(
                    "overlap_counted_twice",
                    f"overlapping windows are added up: {hours_text(added)} h deducted for "
                    f"{hours_text(counted_once)} h of maintenance",
                    twice,
                    twice * price,
                )
            )
            explained += twice
        reported = r.maintenance_deduction - added
        if abs(reported) >= HOUR:
            causes.append(
                Cause(
                    "other",
                    f"the plugin reports {hours_text(r.maintenance_deduction)} h of maintenance; "
                    f"its windows here add up to {hours_text(added)} h",
                    -reported,
                    -reported * price,
                )
            )
            explained -= reported
        return explained

    @staticmethod
    def _amount_residual(causes: list[Cause], diff: Decimal, both: str) -> None:
        told = sum((c.amount for c in causes if c.amount is not None), ZERO)
        rest = diff - told
        if abs(rest) > Decimal("0.01"):
            causes.append(
                Cause(
                    "other",
                    f"amounts differ by {money_text(rest)} beyond the causes above ({both})",
                    None,
                    rest,
                )
            )

    # -- fee lines -------------------------------------------------------------------------
    def fee(self, f: OrcdFeeLine) -> LineComparison:
        key = f"fee {f.user} {f.sku}"
        found = self.fee_lines.pop((f.user, f.sku.upper(), f.project), [])
        orcd_amount = f.amount
        rate_text = format_amount(f.rate) if f.rate is not None else "no rate"
        orcd_detail = f"{f.days}/{f.days_in_month} days × {rate_text} = {money_text(orcd_amount)}"
        if not found:
            cause = Cause(
                "other",
                f"only the plugin bills this fee: nodedesk has no {f.sku} subscription "
                f"billed to {f.project!r} for {f.user} this month (see the migration report)",
                None,
                orcd_amount,
            )
            self._count_fee(f.project, f, orcd_amount, None, ZERO)
            return LineComparison(
                "fee", key, f.project, None, None, orcd_amount, ZERO, orcd_detail, "no line", (cause,)
            )
        days = sum(int(line["days"]) for line in found)
        ours_amount = sum((Decimal(line["amount"]) for line in found), ZERO)
        our_rate = Decimal(found[0]["rate"]) if found[0]["rate"] is not None else None
        ours_detail = " + ".join(
            f"{line['days']}/{line['days_in_month']} days × {line['rate'] or 'no rate'} = {line['amount']}"
            for line in found
        )
        causes: list[Cause] = []
        sku = f.sku.upper()
        plugin_row = self.rates.plugin_on(sku, self.first)
        orcd_rate = f.rate if f.rate is not None else ZERO
        ours = our_rate if our_rate is not None else ZERO
        if orcd_rate != ours:
            placeholder = (
                plugin_row is not None and plugin_row.placeholder and plugin_row.amount == orcd_rate
            ) or (not self.rates.known and our_rate is None and orcd_rate == Decimal("0.01"))
            effect = f.amount - money(ours * f.days / f.days_in_month)
            if placeholder:
                causes.append(
                    Cause(
                        "placeholder_rate",
                        f"the plugin priced {f.sku} at its $0.01 placeholder in "
                        f"force on {self.first}; nodedesk has {our_rate or 'no rate'} then"
                        + (" and warns on the invoice" if our_rate is None else ""),
                        None,
                        effect,
                    )
                )
            else:
                causes.append(
                    Cause(
                        "other",
                        f"the rate on the 1st differs: plugin {orcd_rate}, nodedesk {ours}",
                        None,
                        effect,
                    )
                )
        if days != f.days:
            effect = money(ours * f.days / f.days_in_month) - ours_amount
            causes.append(
                Cause(
                    "other",
                    f"days billed differ: the plugin {f.days} of {f.days_in_month} from its activation "
                    f"{f.start[:10]} (the UTC date), nodedesk {days} from {found[0]['from']} (the site date)",
                    None,
                    effect,
                )
            )
        billed_to = max(date.fromisoformat(line["to"]) for line in found)
        for change in self.rates.changes(sku, self.first, billed_to):
            would = money(change.amount * f.days / f.days_in_month)
            rate = format_amount(change.amount)
            causes.append(
                Cause(
                    "fee_priced_on_first",
                    f"the {rate} rate in force from {change.effective} is used from the next month: the "
                    f"plugin and nodedesk price a month's fee at the rate in force on the 1st (at {rate} "
                    f"this fee would be {money_text(would)})",
                )
            )
        self._amount_residual(
            causes, orcd_amount - ours_amount, f"plugin: {orcd_detail}; nodedesk: {ours_detail}"
        )
        self._count_fee(f.project, f, orcd_amount, found, ours_amount)
        return LineComparison(
            "fee",
            key,
            f.project,
            None,
            None,
            orcd_amount,
            ours_amount,
            orcd_detail,
            ours_detail,
            tuple(causes),
        )

    # -- lines only nodedesk has -----------------------------------------------------------
    def ours_only(self) -> None:
        for rid, (project, line) in sorted(self.res_lines.items()):
            hours, amount = Decimal(line["billed_hours"]), Decimal(line["amount"])
            cause = Cause(
                "other",
                f"only nodedesk bills this line: reservation #{rid} is not on the plugin's "
                "invoice (approved, or changed, after the export?)",
                -hours,
                -amount,
            )
            self._count(project, None, line, ZERO, ZERO, hours, amount)
            self.result.lines.append(
                LineComparison(
                    "reservation",
                    f"reservation #{rid}",
                    project,
                    None,
                    hours,
                    ZERO,
                    amount,
                    "no line",
                    self._ours_detail(line),
                    (cause,),
                )
            )
        for (user, sku, project), found in sorted(self.fee_lines.items()):
            amount = sum((Decimal(line["amount"]) for line in found), ZERO)
            cause = Cause(
                "other", f"only nodedesk bills this fee ({user} {sku} to {project!r})", None, -amount
            )
            self._count_fee(project, None, ZERO, found, amount)
            self.result.lines.append(
                LineComparison(
                    "fee",
                    f"fee {user} {sku}",
                    project,
                    None,
                    None,
                    ZERO,
                    amount,
                    "no line",
                    ", ".join(line["amount"] for line in found),
                    (cause,),
                )
            )

    # -- totals ----------------------------------------------------------------------------
    def _fig(self, table: dict[str, Figures], name: str) -> Figures:
        fig = table.get(name)
        if fig is None:
            fig = table[name] = Figures(name)
        return fig

    @staticmethod
    def _code(code: str) -> str:
        return UNALLOCATED if code == UNKNOWN else code

    def _count(
        self,
        project: str,
        r: OrcdReservationLine | None,
        line: dict[str, Any] | None,
        orcd_hours: Decimal,
        orcd_amount: Decimal,
        ours_hours: Decimal,
        ours_amount: Decimal,
    ) -> None:
        for fig in (self._fig(self.result.projects, project), self.result.totals):
            fig.orcd_hours_exact += orcd_hours
            fig.orcd_amount_exact += orcd_amount
            fig.ours_hours_exact += ours_hours
            fig.ours_amount_exact += ours_amount
        if r is not None and not r.excluded:
            weight = sum((h for _c, h in r.cost_breakdown), ZERO)
            for code, h in r.cost_breakdown:
                fig = self._fig(self.result.cost_objects, self._code(code))
                share = h / weight if weight else ZERO
                fig.orcd_hours_exact += orcd_hours * share
                fig.orcd_amount_exact += orcd_amount * share
        if line is not None:
            for part in line["split"]:
                fig = self._fig(self.result.cost_objects, part["cost_object"])
                fig.ours_hours_exact += Decimal(part["hours"])
                fig.ours_amount_exact += Decimal(part["amount"])

    def _count_fee(
        self,
        project: str,
        f: OrcdFeeLine | None,
        orcd_amount: Decimal,
        found: list[dict[str, Any]] | None,
        ours: Decimal,
    ) -> None:
        for fig in (self._fig(self.result.projects, project), self.result.totals):
            fig.orcd_amount_exact += orcd_amount
            fig.ours_amount_exact += ours
        if f is not None:
            for code, pct in f.cost_breakdown:
                self._fig(self.result.cost_objects, self._code(code)).orcd_amount_exact += (
                    orcd_amount * pct / 100
                )
        for line in found or []:
            for part in line["split"]:
                self._fig(self.result.cost_objects, part["cost_object"]).ours_amount_exact += Decimal(
                    part["amount"]
                )

    def run(self) -> InvoiceComparison:
        for r in sorted(self.orcd.reservations, key=lambda r: r.reservation_id):
            self.result.lines.append(self.reservation(r))
        for f in sorted(self.orcd.fees, key=lambda f: (f.user, f.sku, f.project)):
            self.result.lines.append(self.fee(f))
        self.ours_only()
        return self.result


def _utc_wall(instant: datetime) -> datetime:
    """What the plugin's web view does to a window time: its UTC clock reading, zone dropped."""
    return timeutil.to_local(instant, "UTC").naive()


def compare_invoice(
    ctx: ServiceContext, orcd: OrcdInvoice, *, placeholders: list[dict[str, str]] | None = None
) -> InvoiceComparison:
    """The plugin's invoice for a month beside nodedesk's (see the module docstring)."""
    ctx.require("read")
    if placeholders is None:
        from .migrator import find_migration

        done = find_migration(ctx.session) or {}
        found = done.get("placeholder_rates")
        placeholders = found if isinstance(found, list) else []
    return _Comparer(ctx, orcd, placeholders).run()


def compare_file(ctx: ServiceContext, period: str, path: str | Path) -> InvoiceComparison:
    """``orcd-compare PERIOD FILE``: read the plugin's invoice JSON and compare it. The file is
    read as the account nodedesk runs as, so only billing managers and admins may ask."""
    ctx.require("manage_billing")
    month = invoices.parse_month(period)
    orcd = read_invoice_file(path)
    if orcd.period != month:
        raise ValidationError(
            f"the plugin's invoice in {str(path)!r} is for {orcd.period}, not {month}", field="period"
        )
    return compare_invoice(ctx, orcd)
