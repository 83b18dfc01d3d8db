"""The dashboard: what needs attention now, in one read.

Everything comes from the existing services (windows, outages, reservations, splits, invoices),
so the rules (window status, what counts as downtime, invoice state) are defined once. The
number of queries is bounded: each panel is one paged service call (or one aggregate query),
never a query per item.

Horizons are site-local: "the next 7 days" ends 7 local calendar days after now at the same
wall-clock time (so a DST change in between does not shift it by an hour); "upcoming" runs from
there to 30 days after now.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import timeutil
from ...billing import engine, loader
from ...context import ServiceContext
from ...downtime import WindowScope
from ...models import CostSplitVersion, InvoicePeriod, Node, NodeType, Notice
from ..downtime import outages, windows
from ..invoicing import invoices
from ..rentals import reservations, splits

NEAR_DAYS = 7
FAR_DAYS = 30
LIMIT = 50  # items per panel; the totals say how many more there are
WAITING_NOTICE_STATUSES = ("pending", "failed")
INVOICE_STATES = ("draft", "finalized", "drifted")

T = TypeVar("T")


@dataclass(frozen=True)
class DashWindow:
    """A window with the nodes it takes down (its scope resolved against the inventory)."""

    window: windows.WindowView
    nodes: tuple[str, ...]

    @property
    def id(self) -> int:
        return self.window.id

    def nodes_label(self) -> str:
        """``all nodes (12)``, ``A100, node07 (5 nodes)`` or ``node01, node02``: short, for lists."""
        scope, n = self.window.scope, len(self.nodes)
        if scope.all_nodes:
            return f"all nodes ({n})"
        if not self.nodes:
            return "no nodes (its node types are empty)"
        if scope.node_types:
            return f"{scope.label()} ({n} node{'s' if n != 1 else ''})"
        if n > 3:
            return f"{', '.join(self.nodes[:2])} +{n - 2}"
        return ", ".join(self.nodes)

    def to_json(self, tz: str) -> dict[str, object]:
        return {**self.window.to_json(tz), "affected_nodes": list(self.nodes)}


@dataclass(frozen=True)
class AtRisk:
    """A reservation starting soon that downtime overlaps: the hours it will not be billed."""

    reservation: reservations.ReservationView

    @property
    def id(self) -> int:
        return self.reservation.id

    @property
    def hours_affected(self) -> Decimal:
        return self.reservation.downtime_hours

    def to_json(self, tz: str) -> dict[str, object]:
        r = self.reservation
        return {
            "id": r.id,
            "node": r.node,
            "project": r.project,
            "status": r.status,
            "start": timeutil.iso_local(r.start, tz),
            "end": timeutil.iso_local(r.end, tz),
            "hours": f"{r.hours:.2f}",
            "hours_affected": f"{self.hours_affected:.2f}",
            "downtime": [d.to_json(tz) for d in r.downtime],
        }


@dataclass(frozen=True)
class InvoiceState:
    """This month's invoice: draft (live), finalized (snapshot), or drifted (the live data no
    longer matches the snapshot, or an admin correction flagged it)."""

    period: str
    status: str  # one of INVOICE_STATES
    amount: Decimal  # the month's total as the invoice stands (snapshot total when finalized)
    currency: str
    projects: int
    warnings: int
    finalized_by: str | None = None
    finalized_at: datetime | None = None
    drift_note: str = ""

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "period": self.period,
            "status": self.status,
            "amount": str(self.amount),
            "currency": self.currency,
            "projects": self.projects,
            "warnings": self.warnings,
            "finalized_by": self.finalized_by,
            "finalized_at": timeutil.iso_local(self.finalized_at, tz) if self.finalized_at else None,
            "drift_note": self.drift_note,
        }


@dataclass(frozen=True)
class Panel(Generic[T]):
    """Up to LIMIT items of a panel and how many there are in all."""

    items: tuple[T, ...]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.items), 0)


@dataclass(frozen=True)
class NoticeCounts:
    pending: int = 0
    failed: int = 0

    @property
    def waiting(self) -> int:
        return self.pending + self.failed

    def to_json(self) -> dict[str, object]:
        return {"pending": self.pending, "failed": self.failed, "waiting": self.waiting}


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    near_until: datetime  # end of "the next 7 days"
    far_until: datetime  # end of "upcoming"
    windows_now: Panel[DashWindow]
    outages_now: Panel[outages.OutageView]
    windows_near: Panel[DashWindow]
    windows_far: Panel[DashWindow]
    pending_reservations: Panel[reservations.ReservationView]
    pending_splits: Panel[splits.SplitView]
    notices: NoticeCounts
    # The slower reads (every reservation's downtime, two invoices): None until read, so the app
    # can show the rest first (``dashboard(ctx, slow=False)`` then ``slow_parts``).
    at_risk: Panel[AtRisk] | None = None
    invoice: InvoiceState | None = None  # this month (a draft until it is over: its running total)
    last_month: InvoiceState | None = None  # the month before (due to be finalized, or drifted)

    @property
    def complete(self) -> bool:
        return self.at_risk is not None and self.invoice is not None and self.last_month is not None

    def with_slow(self, parts: SlowParts) -> Dashboard:
        return replace(self, at_risk=parts.at_risk, invoice=parts.invoice, last_month=parts.last_month)

    def to_json(self, tz: str) -> dict[str, object]:
        def panel(p: Panel, items: list[object]) -> dict[str, object]:  # type: ignore[type-arg]
            return {"total": p.total, "items": items}

        return {
            "now": timeutil.iso_local(self.now, tz),
            "in_progress": {
                "windows": panel(self.windows_now, [w.to_json(tz) for w in self.windows_now.items]),
                "outages": panel(self.outages_now, [o.to_json(tz) for o in self.outages_now.items]),
            },
            "next_7_days": {
                "until": timeutil.iso_local(self.near_until, tz),
                **panel(self.windows_near, [w.to_json(tz) for w in self.windows_near.items]),
            },
            "upcoming_30_days": {
                "until": timeutil.iso_local(self.far_until, tz),
                **panel(self.windows_far, [w.to_json(tz) for w in self.windows_far.items]),
            },
            "reservations_at_risk": (
                None
                if self.at_risk is None
                else panel(self.at_risk, [r.to_json(tz) for r in self.at_risk.items])
            ),
            "invoice": None if self.invoice is None else self.invoice.to_json(tz),
            "last_month_invoice": None if self.last_month is None else self.last_month.to_json(tz),
            "pending_approvals": {
                "reservations": panel(
                    self.pending_reservations, [r.to_json(tz) for r in self.pending_reservations.items]
                ),
                "splits": panel(self.pending_splits, [s.to_json(tz) for s in self.pending_splits.items]),
            },
            "notices": self.notices.to_json(),
        }


@dataclass(frozen=True)
class SlowParts:
    at_risk: Panel[AtRisk]
    invoice: InvoiceState
    last_month: InvoiceState


# ---------------------------------------------------------------- pieces


def _days_ahead(now: datetime, tz: str, days: int) -> datetime:
    return timeutil.to_local(now, tz).add(days=days).in_timezone("UTC")


class _Inventory:
    """Every node once (id, name, type), to resolve window scopes without a query per window."""

    def __init__(self, ctx: ServiceContext) -> None:
        rows = ctx.session.execute(
            select(Node.id, Node.name, Node.node_type_id, NodeType.name)
            .join(NodeType, NodeType.id == Node.node_type_id)
            .order_by(Node.name)
        ).all()
        self.nodes = [(nid, name, tid) for nid, name, tid, _t in rows]
        self.node_ids = {name: nid for nid, name, _tid, _t in rows}
        self.type_ids = {tname: tid for _nid, _name, tid, tname in rows}

    def affected(self, scope: windows.Scope) -> tuple[str, ...]:
        rule = WindowScope(
            scope.all_nodes,
            frozenset(self.node_ids[n] for n in scope.nodes if n in self.node_ids),
            frozenset(self.type_ids[t] for t in scope.node_types if t in self.type_ids),
        )
        return tuple(name for nid, name, tid in self.nodes if rule.applies_to(nid, tid))


def _previous_period(period: str) -> str:
    year, month = (int(x) for x in period.split("-"))
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def _draft_state(ctx: ServiceContext, period: str) -> InvoiceState:
    """A draft month's figures straight from the engine: the panel shows totals and counts only,
    so the invoice document and its digest (about 40 % of a month's cost) are not built."""
    ctx.require("read")
    with invoices._gc_paused():  # as the invoice service computes a month
        data = loader.load_month(ctx.session, period, ctx.tz, ctx.now(), ctx.site.currency)
        result = engine.compute(data)
    return InvoiceState(
        period=period,
        status="draft",
        amount=result.totals.amount,
        currency=result.currency,
        projects=len(result.projects),
        warnings=len(result.warnings),
    )


def _invoice_state(ctx: ServiceContext, period: str) -> InvoiceState:
    status = ctx.session.scalar(select(InvoicePeriod.status).where(InvoicePeriod.period == period))
    if status != "finalized":
        return _draft_state(ctx, period)
    inv = invoices.compute_invoice(ctx, period)
    status = inv.status
    note = inv.drift_note
    if status == "finalized":
        check = invoices.verify(ctx, period)
        if check.drifted or check.flagged:
            status = "drifted"
            note = note or f"{len(check.items)} difference(s) from the snapshot"
    return InvoiceState(
        period=period,
        status=status,
        amount=Decimal(str(inv.totals["amount"])),
        currency=inv.currency,
        projects=len(inv.projects),
        warnings=len(inv.warnings),
        finalized_by=inv.finalized_by,
        finalized_at=inv.finalized_at,
        drift_note=note,
    )


def _pending_splits(ctx: ServiceContext) -> Panel[splits.SplitView]:
    pending = CostSplitVersion.status == "pending"
    total = ctx.session.scalar(select(func.count(CostSplitVersion.id)).where(pending)) or 0
    rows = ctx.session.scalars(
        select(CostSplitVersion)
        .where(pending)
        .options(selectinload(CostSplitVersion.project), selectinload(CostSplitVersion.parts))
        .order_by(CostSplitVersion.effective_date, CostSplitVersion.id)
        .limit(LIMIT)
    ).all()
    return Panel(tuple(splits.view(v) for v in rows), total)


def _notice_counts(ctx: ServiceContext) -> NoticeCounts:
    counts = dict(
        ctx.session.execute(
            select(Notice.status, func.count(Notice.id))
            .where(Notice.status.in_(WAITING_NOTICE_STATUSES))
            .group_by(Notice.status)
        ).all()
    )
    return NoticeCounts(pending=counts.get("pending", 0), failed=counts.get("failed", 0))


def _at_risk(ctx: ServiceContext, now: datetime, until: datetime) -> Panel[AtRisk]:
    found: list[reservations.ReservationView] = []
    for status in ("pending", "approved"):
        page = reservations.list_reservations(
            ctx,
            # starting in [now, until): a narrow page whose downtime loads by span, not by node
            reservations.ReservationQuery(
                status=status, starts_at_or_after=now, starts_before=until, sort="start", limit=1000
            ),
        )
        found.extend(r for r in page.items if r.downtime_hours > 0)
    found.sort(key=lambda r: (r.start, r.id))
    return Panel(tuple(AtRisk(r) for r in found[:LIMIT]), len(found))


# ---------------------------------------------------------------- the dashboard


def slow_parts(ctx: ServiceContext) -> SlowParts:
    """Reservations at risk and the two invoices: the reads that grow with the centre's size."""
    ctx.require("read")
    now, tz = ctx.now(), ctx.tz
    this_month = invoices.current_period(ctx)
    return SlowParts(
        at_risk=_at_risk(ctx, now, _days_ahead(now, tz, NEAR_DAYS)),
        invoice=_invoice_state(ctx, this_month),
        last_month=_invoice_state(ctx, _previous_period(this_month)),
    )


def dashboard(ctx: ServiceContext, *, slow: bool = True) -> Dashboard:
    """Everything the dashboard shows, read at ``ctx.now()`` (without the slow parts if asked)."""
    ctx.require("read")
    now, tz = ctx.now(), ctx.tz
    near, far = _days_ahead(now, tz, NEAR_DAYS), _days_ahead(now, tz, FAR_DAYS)
    inventory = _Inventory(ctx)

    def dash(page: list[windows.WindowView]) -> tuple[DashWindow, ...]:
        return tuple(DashWindow(w, inventory.affected(w.scope)) for w in page)

    running = windows.list_windows(ctx, windows.WindowQuery(status="in_progress", sort="start", limit=LIMIT))
    # Two pages of LIMIT, not every upcoming window of the month: sorted by start, the windows
    # starting before ``near`` come first, so the later panel is the page right after them.
    soon = windows.list_windows(
        ctx, windows.WindowQuery(status="upcoming", end_before=near, sort="start", limit=LIMIT)
    )
    ahead = windows.list_windows(
        ctx,
        windows.WindowQuery(status="upcoming", end_before=far, sort="start", offset=soon.total, limit=LIMIT),
    )
    open_outages = outages.list_outages(
        ctx, outages.OutageQuery(open_only=True, descending=False, limit=LIMIT)
    )
    pending = reservations.list_reservations(
        ctx, reservations.ReservationQuery(status="pending", sort="start", limit=LIMIT)
    )
    quick = Dashboard(
        now=now,
        near_until=near,
        far_until=far,
        windows_now=Panel(dash(running.items), running.total),
        outages_now=Panel(tuple(open_outages.items), open_outages.total),
        windows_near=Panel(dash(soon.items), soon.total),
        windows_far=Panel(dash(ahead.items), ahead.total - soon.total),
        pending_reservations=Panel(tuple(pending.items), pending.total),
        pending_splits=_pending_splits(ctx),
        notices=_notice_counts(ctx),
    )
    return quick.with_slow(slow_parts(ctx)) if slow else quick
