"""A large synthetic centre for the billing benchmark (deterministic for a given seed).

February 2026 in America/New_York: 500 nodes of 5 types, 200 projects, 10,000 approved
reservations overlapping the month (some crossing into January and March) plus cancelled ones,
2,000 windows and outages with every kind of scope (all nodes, node types, node lists; credited,
uncredited and still-open outages), rate changes and cost split changes in the middle of the
month, pending splits, projects without a split, and fee subscriptions. Rows are bulk-inserted
with SQLAlchemy Core (the billing engine only reads rows; how they got there does not matter).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pendulum
from nodedesk.core.models import (
    CostSplitPart,
    CostSplitVersion,
    FeeSubscription,
    FeeSubscriptionPeriod,
    MaintenanceWindow,
    Node,
    NodeType,
    Outage,
    Project,
    Rate,
    Reservation,
    Sku,
    User,
    outage_nodes,
    window_scope_node_types,
    window_scope_nodes,
)
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

TZ = "America/New_York"
PERIOD = "2026-02"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # the month is over
BY = "bench"
TYPES = ("A100", "H100", "L40S", "MI300", "EPYC")


@dataclass(frozen=True)
class Size:
    nodes: int = 500
    projects: int = 200
    reservations_per_node: int = 20
    cancelled: int = 500
    windows: int = 1_200
    outages: int = 800
    fees: int = 300


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return pendulum.datetime(day.year, day.month, day.day, hour, minute, tz=TZ).in_timezone("UTC")


def _plain(dt: datetime) -> datetime:
    return datetime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, tzinfo=UTC)


def _tracked() -> dict[str, object]:
    return {
        "uuid": str(uuid.uuid4()),
        "version": 1,
        "created_at": NOW,
        "created_by": BY,
        "modified_at": NOW,
        "modified_by": BY,
    }


def _percentages(rnd: random.Random) -> list[tuple[str, Decimal]]:
    k = rnd.choice((1, 2, 2, 3))
    codes = rnd.sample([f"CO-{i:04d}" for i in range(1, 400)], k)
    if k == 1:
        return [(codes[0], Decimal(100))]
    cuts = sorted(rnd.sample(range(1, 10_000), k - 1))
    bounds = [0, *cuts, 10_000]
    return [(c, Decimal(bounds[i + 1] - bounds[i]).scaleb(-2)) for i, c in enumerate(codes)]


def build(session: Session, size: Size = Size(), seed: int = 2026) -> dict[str, int]:
    """Insert the synthetic centre; returns row counts."""
    rnd = random.Random(seed)
    feb1 = date(2026, 2, 1)
    counts: dict[str, int] = {}

    # users and node types with their hourly SKUs and rates (two change mid-month)
    session.execute(
        insert(User),
        [
            {"username": f"u{i:03d}", "full_name": "", "email": "", "active": True, **_tracked()}
            for i in range(size.projects + 50)
        ],
    )
    user_ids = list(session.scalars(select(User.id).where(User.username.like("u%")).order_by(User.username)))
    session.execute(
        insert(NodeType),
        [{"name": t, "category": "GPU", "description": "", "active": True, **_tracked()} for t in TYPES],
    )
    type_ids = {n: i for i, n in session.execute(select(NodeType.id, NodeType.name))}
    sku_rows = [
        {
            "code": f"NODE_{t}",
            "name": "",
            "kind": "hourly",
            "category": "node",
            "node_type_id": type_ids[t],
            "description": "",
            "active": True,
            **_tracked(),
        }
        for t in TYPES
    ]
    fee_codes = ("MAINT_STANDARD", "MAINT_ADVANCED", "QOS_PRIORITY")
    existing = set(session.scalars(select(Sku.code)))
    sku_rows += [
        {
            "code": c,
            "name": "",
            "kind": "monthly",
            "category": "maintenance",
            "node_type_id": None,
            "description": "",
            "active": True,
            **_tracked(),
        }
        for c in fee_codes
        if c not in existing
    ]
    session.execute(insert(Sku), sku_rows)
    sku_ids = {c: i for i, c in session.execute(select(Sku.id, Sku.code))}
    rates = []
    for i, t in enumerate(TYPES):
        rates.append((f"NODE_{t}", Decimal(4 + 3 * i) + Decimal("0.125"), date(2025, 1, 1)))
    rates += [
        ("NODE_A100", Decimal("9.375"), date(2026, 2, 10)),
        ("NODE_H100", Decimal("21.5"), date(2026, 2, 17)),
        ("NODE_H100", Decimal("22.25"), date(2026, 2, 17)),  # same-day correction: newest wins
        ("MAINT_STANDARD", Decimal("56.00"), date(2025, 1, 1)),
        ("MAINT_ADVANCED", Decimal("95.50"), date(2026, 2, 1)),
        ("QOS_PRIORITY", Decimal("12.00"), date(2025, 6, 1)),
        ("QOS_PRIORITY", Decimal("15.00"), date(2026, 2, 15)),  # fees use the rate on the 1st
    ]
    session.execute(
        insert(Rate),
        [
            {
                "uuid": str(uuid.uuid4()),
                "sku_id": sku_ids[c],
                "amount": a,
                "effective_date": d,
                "set_by": BY,
                "set_at": NOW,
                "notes": "",
            }
            for c, a, d in rates
        ],
    )

    nodes = []
    for i in range(size.nodes):
        t = TYPES[i % len(TYPES)]
        nodes.append(
            {
                "name": f"node{i:04d}",
                "node_type_id": type_ids[t],
                "rentable": True,
                "description": "",
                **_tracked(),
            }
        )
    session.execute(insert(Node), nodes)
    node_ids = list(session.scalars(select(Node.id).order_by(Node.id)))

    session.execute(
        insert(Project),
        [
            {
                "title": f"Project {i:03d}",
                "owner_id": user_ids[i],
                "status": "active",
                "description": "",
                **_tracked(),
            }
            for i in range(size.projects)
        ],
    )
    project_ids = list(session.scalars(select(Project.id).order_by(Project.id)))

    # cost splits: most projects have one from long ago, a third change mid-month, some have a
    # pending change, ~5% have none at all (UNALLOCATED), a few start mid-month
    versions, parts = [], []
    vid = 0
    for pid in project_ids:
        plan: list[tuple[date, str]] = []
        r = rnd.random()
        if r < 0.05:
            plan = []
        elif r < 0.08:
            plan = [(feb1 + timedelta(days=rnd.randrange(3, 20)), "approved")]
        else:
            plan = [(date(2025, rnd.randrange(1, 13), 1), "approved")]
            if rnd.random() < 0.35:
                plan.append((feb1 + timedelta(days=rnd.randrange(1, 27)), "approved"))
            if rnd.random() < 0.1:
                plan.append((feb1 + timedelta(days=rnd.randrange(1, 27)), "pending"))
        for eff, status in plan:
            vid += 1
            versions.append(
                {
                    "project_id": pid,
                    "effective_date": eff,
                    "status": status,
                    "decision_reason": "",
                    **_tracked(),
                }
            )
            for code, pct in _percentages(rnd):
                parts.append({"split_id": vid, "cost_object": code, "percent": pct})
    first_vid = (session.scalar(select(func.max(CostSplitVersion.id))) or 0) + 1
    session.execute(insert(CostSplitVersion), versions)
    session.execute(insert(CostSplitPart), [{**p, "split_id": p["split_id"] + first_vid - 1} for p in parts])

    # reservations: 20 per node, start at 16:00 every 1-2 days from late January
    reservations = []
    for nid in node_ids:
        day = date(2026, 1, 30) + timedelta(days=rnd.randrange(0, 2))
        for _k in range(size.reservations_per_node):
            gap = 1 if rnd.random() < 0.55 else 2
            blocks = rnd.choice((1, 2)) if gap == 1 else rnd.choice((1, 2, 3, 4))
            start = _local(day, 16)
            end_day = day + timedelta(days=(blocks + 1) // 2)
            end = _local(end_day, 4 if blocks % 2 else 9)
            reservations.append(
                {
                    "node_id": nid,
                    "project_id": rnd.choice(project_ids),
                    "requested_for": "u001",
                    "start": start,
                    "end": end,
                    "blocks": blocks,
                    "status": "approved",
                    "notes": "",
                    "policy_waived": False,
                    "decision_reason": "",
                    **_tracked(),
                }
            )
            day += timedelta(days=gap)
    for _ in range(size.cancelled):
        base = reservations[rnd.randrange(len(reservations))]
        reservations.append(
            {**base, **_tracked(), "status": "cancelled", "project_id": rnd.choice(project_ids)}
        )
    session.execute(insert(Reservation), [_plain_times(r) for r in reservations])
    counts["reservations"] = sum(1 for r in reservations if r["status"] == "approved")

    # maintenance windows with scopes
    month_start = _local(feb1, 0)
    windows, scope_nodes, scope_types = [], [], []
    for wid in range(1, size.windows + 1):
        start = month_start + timedelta(minutes=rnd.randrange(-2 * 1440, 29 * 1440, 15))
        end = start + timedelta(minutes=rnd.randrange(30, 8 * 60, 15))
        kind = rnd.random()
        all_nodes = kind < 0.015
        windows.append(
            {
                "title": f"maint {wid}",
                "description": "",
                "start": start,
                "end": end,
                "all_nodes": all_nodes,
                "backdated": False,
                **_tracked(),
            }
        )
        if all_nodes:
            continue
        if kind < 0.25:
            scope_types.append({"window_id": wid, "node_type_id": rnd.choice(list(type_ids.values()))})
        if kind >= 0.2:
            for nid in rnd.sample(node_ids, rnd.randrange(1, 6)):
                scope_nodes.append({"window_id": wid, "node_id": nid})
    first_wid = (session.scalar(select(func.max(MaintenanceWindow.id))) or 0) + 1
    session.execute(insert(MaintenanceWindow), [_plain_times(w) for w in windows])
    scope_nodes = [{**r, "window_id": r["window_id"] + first_wid - 1} for r in scope_nodes]
    scope_types = [{**r, "window_id": r["window_id"] + first_wid - 1} for r in scope_types]
    session.execute(insert(window_scope_nodes), scope_nodes)
    session.execute(insert(window_scope_node_types), scope_types)

    outages, affected = [], []
    for oid in range(1, size.outages + 1):
        start = month_start + timedelta(minutes=rnd.randrange(-3 * 1440, 29 * 1440, 5))
        end: datetime | None = start + timedelta(minutes=rnd.randrange(20, 8 * 60, 5))
        if oid % 100 == 0:
            end = None  # still open: counted up to the end of the month
        outages.append(
            {
                "title": f"outage {oid}",
                "description": "",
                "start": start,
                "end": end,
                "etr": None,
                "status": "resolved" if end else "investigating",
                "credit": rnd.random() < 0.9,
                **_tracked(),
            }
        )
        for nid in rnd.sample(node_ids, rnd.randrange(1, 4)):
            affected.append({"outage_id": oid, "node_id": nid})
    first_oid = (session.scalar(select(func.max(Outage.id))) or 0) + 1
    session.execute(insert(Outage), [_plain_times(o) for o in outages])
    session.execute(
        insert(outage_nodes), [{**r, "outage_id": r["outage_id"] + first_oid - 1} for r in affected]
    )

    subs, periods = [], []
    for i in range(size.fees):
        subs.append({"user_id": user_ids[i % len(user_ids)], **_tracked()})
        first = date(2026, 1, 1) + timedelta(days=rnd.randrange(0, 58))
        last = None if rnd.random() < 0.6 else first + timedelta(days=rnd.randrange(0, 40))
        periods.append(
            {
                "uuid": str(uuid.uuid4()),
                "subscription_id": i + 1,
                "sku_id": sku_ids[rnd.choice(fee_codes)],
                "project_id": rnd.choice(project_ids),
                "start_date": first,
                "end_date": last,
                "created_at": NOW,
                "created_by": BY,
            }
        )
    first_sid = (session.scalar(select(func.max(FeeSubscription.id))) or 0) + 1
    session.execute(insert(FeeSubscription), subs)
    session.execute(
        insert(FeeSubscriptionPeriod),
        [{**p, "subscription_id": p["subscription_id"] + first_sid - 1} for p in periods],
    )
    session.flush()
    counts.update(
        nodes=size.nodes,
        projects=size.projects,
        windows=size.windows,
        window_scope_rows=len(scope_nodes) + len(scope_types),
        outages=size.outages,
        split_versions=len(versions),
        rate_rows=len(rates),
        fee_periods=len(periods),
        cancelled=size.cancelled,
    )
    return counts


def _plain_times(row: dict[str, object]) -> dict[str, object]:
    out = dict(row)
    for key in ("start", "end"):
        if out.get(key) is not None:
            out[key] = _plain(out[key])  # type: ignore[arg-type]
    return out
