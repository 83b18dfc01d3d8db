"""Fetch everything one month's invoice depends on, with a fixed number of queries.

Never per day, per reservation or per node: one query each for the month's approved
reservations (with node, type and project), pending reservations (a count), fee subscription
periods, overrides, projects, cost split versions with their parts, SKUs and rate rows, plus
the handful that :func:`nodedesk.core.downtime.load_downtime` uses for windows, their scopes and
credited outages. Everything else happens in memory.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from ..downtime import DowntimeIndex, DowntimeSource, load_downtime
from ..models import (
    BillingOverride,
    CostSplitPart,
    CostSplitVersion,
    FeeSubscription,
    FeeSubscriptionPeriod,
    Node,
    NodeType,
    Project,
    Rate,
    Reservation,
    Sku,
    User,
)
from .inputs import (
    DowntimeIn,
    FeeIn,
    MonthData,
    MonthSpec,
    OverrideIn,
    RateIn,
    ReservationIn,
    SplitIn,
    from_us,
    month_spec,
    to_us,
)


def node_sku_code(node_type_name: str) -> str:
    """The code a node type's hourly SKU has (``NODE_<TYPE>``), as the rates service makes it."""
    from ..services.invoicing.rates import node_sku_code as code

    return code(node_type_name)


@dataclass
class _NodeDowntime:
    """One node's downtime sources sorted by start, for bisecting by reservation."""

    items: list[DowntimeIn]
    starts: list[int]
    longest: int

    def overlapping(self, start: int, end: int) -> tuple[DowntimeIn, ...]:
        lo = bisect_left(self.starts, start - self.longest)
        hi = bisect_left(self.starts, end)
        return tuple(d for d in self.items[lo:hi] if d.end > start)


def _node_downtime(sources: list[DowntimeSource], cache: dict[tuple[str, int], DowntimeIn]) -> _NodeDowntime:
    items = []
    for src in sources:
        key = (src.source, src.id)
        item = cache.get(key)
        if item is None:
            item = cache[key] = DowntimeIn(
                src.source, src.id, src.title, to_us(src.interval.start), to_us(src.interval.end), src.open
            )
        items.append(item)
    items.sort(key=lambda d: (d.start, d.end, d.source, d.id))
    return _NodeDowntime(items, [d.start for d in items], max((d.end - d.start for d in items), default=0))


def load_month(session: Session, period: str, tz: str, now: datetime, currency: str = "USD") -> MonthData:
    """The inputs of ``period``'s invoice (``YYYY-MM`` in the site timezone ``tz``)."""
    spec = month_spec(period, tz)
    m0, m1 = from_us(spec.start), from_us(spec.end)
    overlapping = (Reservation.start < m1) & (Reservation.end > m0)

    owner = aliased(User)
    res_rows = session.execute(
        select(
            Reservation.id,
            Reservation.project_id,
            Reservation.node_id,
            Reservation.requested_for,
            Reservation.start,
            Reservation.end,
            Node.name,
            Node.node_type_id,
            NodeType.name,
        )
        .join(Node, Node.id == Reservation.node_id)
        .join(NodeType, NodeType.id == Node.node_type_id)
        .where(Reservation.status == "approved", overlapping)
    ).all()
    pending = session.scalar(
        select(func.count(Reservation.id)).where(Reservation.status == "pending", overlapping)
    )
    fee_rows = session.execute(
        select(
            FeeSubscriptionPeriod.id,
            FeeSubscriptionPeriod.subscription_id,
            FeeSubscriptionPeriod.sku_id,
            FeeSubscriptionPeriod.project_id,
            FeeSubscriptionPeriod.start_date,
            FeeSubscriptionPeriod.end_date,
            User.username,
        )
        .join(FeeSubscription, FeeSubscription.id == FeeSubscriptionPeriod.subscription_id)
        .join(User, User.id == FeeSubscription.user_id)
        .where(
            FeeSubscriptionPeriod.start_date <= spec.last_day,
            or_(FeeSubscriptionPeriod.end_date.is_(None), FeeSubscriptionPeriod.end_date >= spec.first_day),
        )
    ).all()
    ov_rows = session.scalars(select(BillingOverride).where(BillingOverride.period == spec.period)).all()
    projects = {
        pid: (title, username)
        for pid, title, username in session.execute(
            select(Project.id, Project.title, owner.username).join(owner, owner.id == Project.owner_id)
        )
    }
    split_rows = session.execute(
        select(
            CostSplitVersion.id,
            CostSplitVersion.project_id,
            CostSplitVersion.effective_date,
            CostSplitVersion.status,
            CostSplitPart.cost_object,
            CostSplitPart.percent,
        )
        .join(CostSplitPart, CostSplitPart.split_id == CostSplitVersion.id)
        .where(
            CostSplitVersion.status.in_(("approved", "pending")),
            CostSplitVersion.effective_date <= spec.last_day,
        )
    ).all()
    skus = session.execute(select(Sku.id, Sku.code, Sku.node_type_id)).all()
    rate_rows = session.execute(
        select(Rate.id, Rate.sku_id, Rate.effective_date, Rate.amount).where(
            Rate.effective_date <= spec.last_day
        )
    ).all()
    index = load_downtime(session, m0, m1, now)

    return build_month_data(
        spec,
        now,
        currency,
        res_rows=res_rows,
        pending=pending or 0,
        fee_rows=fee_rows,
        overrides=ov_rows,
        projects=projects,
        split_rows=split_rows,
        skus=skus,
        rate_rows=rate_rows,
        index=index,
    )


def build_month_data(
    spec: MonthSpec,
    now: datetime,
    currency: str,
    *,
    res_rows: list,  # type: ignore[type-arg]
    pending: int,
    fee_rows: list,  # type: ignore[type-arg]
    overrides: list[BillingOverride],
    projects: dict[int, tuple[str, str]],
    split_rows: list,  # type: ignore[type-arg]
    skus: list,  # type: ignore[type-arg]
    rate_rows: list,  # type: ignore[type-arg]
    index: DowntimeIndex,
) -> MonthData:
    sku_code = {sid: code for sid, code, _t in skus}
    sku_by_type = {tid: code for _sid, code, tid in skus if tid is not None}

    node_cache: dict[int, _NodeDowntime] = {}
    source_cache: dict[tuple[str, int], DowntimeIn] = {}
    reservations = []
    for rid, pid, node_id, requested_for, start, end, node_name, type_id, type_name in res_rows:
        nd = node_cache.get(node_id)
        if nd is None:
            nd = node_cache[node_id] = _node_downtime(index.for_node(node_id, type_id), source_cache)
        s, e = to_us(start), to_us(end)
        reservations.append(
            ReservationIn(
                id=rid,
                project=projects[pid][0],
                node=node_name,
                sku=sku_by_type.get(type_id) or node_sku_code(type_name),
                start=s,
                end=e,
                requested_for=requested_for,
                node_type=type_name,
                downtime=nd.overlapping(max(s, spec.start), min(e, spec.end)),
            )
        )

    fees = tuple(
        FeeIn(fid, sub_id, username, sku_code[sku_id], projects[pid][0], start, end)
        for fid, sub_id, sku_id, pid, start, end, username in fee_rows
    )

    parts: dict[int, list[tuple[str, Decimal]]] = {}
    heads: dict[int, tuple[int, object, str]] = {}
    for vid, pid, effective, status, code, pct in split_rows:
        parts.setdefault(vid, []).append((code, pct))
        heads[vid] = (pid, effective, status)
    splits = tuple(
        SplitIn(projects[pid][0], effective, tuple(sorted(parts[vid])), vid, status)  # type: ignore[arg-type]
        for vid, (pid, effective, status) in heads.items()
    )
    rates = tuple(
        RateIn(sku_code[sku_id], effective, amount, rid) for rid, sku_id, effective, amount in rate_rows
    )
    ovs = tuple(override_input(o, projects) for o in overrides)
    return MonthData(
        month=spec,
        now=to_us(now),
        currency=currency,
        reservations=tuple(reservations),
        splits=splits,
        rates=rates,
        fees=fees,
        overrides=ovs,
        owners={title: owner for title, owner in projects.values()},
        pending_reservations=pending,
    )


def override_input(o: BillingOverride, projects: dict[int, tuple[str, str]]) -> OverrideIn:
    split: tuple[tuple[str, Decimal], ...] = ()
    if o.split_json:
        split = tuple(sorted((code, Decimal(pct)) for code, pct in json.loads(o.split_json).items()))
    return OverrideIn(
        reservation_id=o.reservation_id,
        kind=o.kind,
        hours=o.hours,
        split=split,
        charge_to=projects[o.charge_to_project_id][0] if o.charge_to_project_id else None,
        reason=o.reason,
        by=o.modified_by,
    )
