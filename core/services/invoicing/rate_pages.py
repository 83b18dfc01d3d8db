"""Paged SKU and fee-subscription lists and the SKU overview the full-screen app shows.

Lists are filtered, counted and paged in SQL; for the SKUs on a page the rate in force on a day
(today by default) is read with one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.orm import selectinload

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import ValidationError
from ...models import (
    SKU_KINDS,
    FeeSubscription,
    FeeSubscriptionPeriod,
    NodeType,
    Project,
    Rate,
    Sku,
    User,
)
from ..rentals import subscriptions
from .rates import RateView, SkuView, find_sku, rate_history, rate_view, sku_view


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _check_limit(limit: int) -> None:
    if limit < 1 or limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")


# ---------------------------------------------------------------- SKUs


@dataclass(frozen=True)
class SkuQuery:
    kind: str | None = None  # hourly | monthly
    text: str = ""  # code, name or node type
    offset: int = 0
    limit: int = 50
    on: date | None = None  # the day whose rate is shown (today when None)


@dataclass(frozen=True)
class SkuPage:
    items: list[SkuView]
    total: int
    offset: int
    limit: int
    on: date


def _sku_filters(query: SkuQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if query.kind:
        conds.append(Sku.kind == validate.choice(query.kind, "kind", SKU_KINDS))
    needle = query.text.strip()
    if needle:
        pattern = _like(needle)
        node_type = select(NodeType.id).where(
            NodeType.id == Sku.node_type_id, NodeType.name.ilike(pattern, escape="\\")
        )
        conds.append(
            or_(
                Sku.code.ilike(pattern, escape="\\"),
                Sku.name.ilike(pattern, escape="\\"),
                Sku.category.ilike(pattern, escape="\\"),
                node_type.exists(),
            )
        )
    return conds


def _rates_for(ctx: ServiceContext, ids: list[int], day: date) -> dict[int, RateView]:
    rows = ctx.session.scalars(
        select(Rate)
        .where(Rate.sku_id.in_(ids), Rate.effective_date <= day)
        .order_by(Rate.effective_date, Rate.id)
    )
    found: dict[int, Rate] = {}
    for r in rows:
        found[r.sku_id] = r  # ordered: the last one seen is in force
    return {sid: rate_view(r) for sid, r in found.items()}


def list_sku_page(ctx: ServiceContext, query: SkuQuery = SkuQuery()) -> SkuPage:
    """One page of SKUs (hourly node SKUs first, then fees by category), with today's rate."""
    ctx.require("read")
    _check_limit(query.limit)
    day = query.on or timeutil.local_day(ctx.now(), ctx.tz)
    conds = _sku_filters(query)
    total = ctx.session.scalar(select(func.count(Sku.id)).where(*conds)) or 0
    rows = ctx.session.scalars(
        select(Sku)
        .where(*conds)
        .order_by(case((Sku.kind == "hourly", 0), else_=1), Sku.category, Sku.code)
        .offset(max(query.offset, 0))
        .limit(query.limit)
    ).all()
    rates = _rates_for(ctx, [s.id for s in rows], day) if rows else {}
    return SkuPage([sku_view(s, rates.get(s.id)) for s in rows], total, query.offset, query.limit, day)


@dataclass(frozen=True)
class SkuOverview:
    sku: SkuView  # with the rate in force today
    today: date
    history: list[RateView]  # every row, newest effective date first; corrected rows name the fix
    subscribers: int  # fee subscriptions with a period of this SKU not over before today

    def next_rate(self) -> RateView | None:
        """The first row effective after today (a planned price change), if any."""
        later = [r for r in self.history if r.effective_date > self.today and r.superseded_by is None]
        return min(later, key=lambda r: (r.effective_date, r.id)) if later else None


def sku_overview(ctx: ServiceContext, code: str) -> SkuOverview:
    ctx.require("read")
    sku = find_sku(ctx, code)
    today = timeutil.local_day(ctx.now(), ctx.tz)
    history = rate_history(ctx, sku.code)
    in_force = _rates_for(ctx, [sku.id], today).get(sku.id)
    subscribers = ctx.session.scalar(
        select(func.count(func.distinct(FeeSubscriptionPeriod.subscription_id))).where(
            FeeSubscriptionPeriod.sku_id == sku.id,
            or_(FeeSubscriptionPeriod.end_date.is_(None), FeeSubscriptionPeriod.end_date >= today),
        )
    )
    return SkuOverview(sku_view(sku, in_force), today, history, subscribers or 0)


# ---------------------------------------------------------------- fee subscriptions


@dataclass(frozen=True)
class SubscriptionQuery:
    status: str | None = None  # upcoming | active | ended (today, site time)
    text: str = ""  # user, SKU code or billing project of any period
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class SubscriptionPage:
    items: list[subscriptions.SubscriptionView]
    total: int
    offset: int
    limit: int


def _subscription_filters(query: SubscriptionQuery, today: date) -> list[ColumnElement[bool]]:
    P = FeeSubscriptionPeriod
    conds: list[ColumnElement[bool]] = []
    started = exists().where(P.subscription_id == FeeSubscription.id, P.start_date <= today)
    running = exists().where(
        P.subscription_id == FeeSubscription.id, or_(P.end_date.is_(None), P.end_date >= today)
    )
    if query.status == "upcoming":
        conds.append(~started)
    elif query.status == "active":
        conds += [started, running]
    elif query.status == "ended":
        conds += [started, ~running]
    elif query.status is not None:
        raise ValidationError(
            f"must be one of {', '.join(subscriptions.STATUSES)} (got {query.status!r})", field="status"
        )
    needle = query.text.strip()
    if needle:
        pattern = _like(needle)
        user = select(User.id).where(
            User.id == FeeSubscription.user_id,
            or_(User.username.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\")),
        )
        period = (
            select(P.id)
            .join(Sku, Sku.id == P.sku_id)
            .join(Project, Project.id == P.project_id)
            .where(
                P.subscription_id == FeeSubscription.id,
                or_(Sku.code.ilike(pattern, escape="\\"), Project.title.ilike(pattern, escape="\\")),
            )
        )
        conds.append(or_(user.exists(), period.exists()))
    return conds


def list_subscription_page(
    ctx: ServiceContext, query: SubscriptionQuery = SubscriptionQuery()
) -> SubscriptionPage:
    """One page of fee subscriptions, newest first, with their periods."""
    ctx.require("read")
    _check_limit(query.limit)
    today = timeutil.local_day(ctx.now(), ctx.tz)
    conds = _subscription_filters(query, today)
    total = ctx.session.scalar(select(func.count(FeeSubscription.id)).where(*conds)) or 0
    rows = ctx.session.scalars(
        select(FeeSubscription)
        .options(selectinload(FeeSubscription.periods))
        .where(*conds)
        .order_by(FeeSubscription.id.desc())
        .offset(max(query.offset, 0))
        .limit(query.limit)
    ).all()
    return SubscriptionPage([subscriptions.view(s, today) for s in rows], total, query.offset, query.limit)
