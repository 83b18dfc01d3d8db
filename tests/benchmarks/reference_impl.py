"""A straightforward day-by-day, query-per-day implementation of the DESIGN §8 rules.

Written the way the web plugin nodedesk replaces did it, for comparison only: for every day of
the month it asks the database which reservations run that day, and for every reservation-day
it asks for that node's windows and outages, that day's rate and that day's split. It shares
no code with the engine (not even rounding), so agreeing totals are evidence both are right.
No overrides (the benchmark centre has none).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pendulum
from sqlalchemy import text
from sqlalchemy.orm import Session

HOUR = Fraction(3600)


def _ts(value: object) -> datetime:
    """A stored instant as aware UTC (SQLite gives text, PostgreSQL aware datetimes)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _db(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _round(x: Fraction, places: int = 2) -> Decimal:
    """Half-up (away from zero) by hand."""
    scaled = x * 10**places
    sign = -1 if scaled < 0 else 1
    n = (abs(scaled) + Fraction(1, 2)).__floor__()
    return Decimal(sign * n).scaleb(-places)


def _largest_remainder(total: Decimal, shares: dict[str, Fraction]) -> dict[str, Decimal]:
    weight = sum(shares.values(), Fraction(0))
    cents = int(total * 100)
    if weight == 0:
        return dict.fromkeys(shares, Decimal("0.00"))
    quota = {k: Fraction(cents) * v / weight for k, v in shares.items()}
    base = {k: q.__floor__() for k, q in quota.items()}
    left = cents - sum(base.values())
    for k in sorted(shares, key=lambda k: (-(quota[k] - base[k]), k))[:left]:
        base[k] += 1
    return {k: Decimal(v).scaleb(-2) for k, v in base.items()}


@dataclass
class _Acc:
    project: str
    gross: Fraction = Fraction(0)
    down: Fraction = Fraction(0)
    amount: Fraction = Fraction(0)
    by_object: dict[str, Fraction] = field(default_factory=lambda: defaultdict(Fraction))


@dataclass
class ReferenceResult:
    lines: dict[str, Decimal]  # "reservation:ID" / "fee:ID" -> amount
    projects: dict[str, Decimal]
    cost_objects: dict[str, Decimal]
    gross_hours: Decimal
    downtime_hours: Decimal
    net_hours: Decimal
    amount: Decimal
    queries: int


def reference_month(session: Session, period: str, tz: str, now: datetime) -> ReferenceResult:
    year, month = (int(x) for x in period.split("-"))
    first = pendulum.datetime(year, month, 1, tz=tz)
    month_end = first.add(months=1).in_timezone("UTC")
    queries = 0

    def q(sql: str, **params: object) -> list:  # type: ignore[type-arg]
        nonlocal queries
        queries += 1
        return session.execute(text(sql), params).all()

    def split_on(project_id: int, day: str) -> dict[str, Fraction]:
        rows = q(
            "SELECT p.cost_object, p.percent FROM cost_split_parts p WHERE p.split_id = ("
            " SELECT v.id FROM cost_split_versions v WHERE v.project_id = :p AND v.status = 'approved'"
            " AND v.effective_date <= :d ORDER BY v.effective_date DESC, v.id DESC LIMIT 1)",
            p=project_id,
            d=day,
        )
        if not rows:
            return {"UNALLOCATED": Fraction(1)}
        return {code: Fraction(Decimal(str(pct))) / 100 for code, pct in rows}

    def rate_on(sku_id: int | None, day: str) -> Fraction:
        if sku_id is None:
            return Fraction(0)
        rows = q(
            "SELECT amount FROM rates WHERE sku_id = :s AND effective_date <= :d"
            " ORDER BY effective_date DESC, id DESC LIMIT 1",
            s=sku_id,
            d=day,
        )
        return Fraction(Decimal(str(rows[0][0]))) if rows else Fraction(0)

    accs: dict[int, _Acc] = {}
    day = first
    while day.month == month:
        d0, d1 = day.in_timezone("UTC"), day.add(days=1).in_timezone("UTC")
        day_text = day.date().isoformat()
        running = q(
            "SELECT r.id, r.node_id, n.node_type_id, r.project_id, pr.title, r.start_at, r.end_at, s.id"
            " FROM reservations r JOIN nodes n ON n.id = r.node_id JOIN projects pr ON pr.id = r.project_id"
            " LEFT JOIN skus s ON s.node_type_id = n.node_type_id"
            " WHERE r.status = 'approved' AND r.start_at < :e AND r.end_at > :s",
            s=_db(d0),
            e=_db(d1),
        )
        for rid, node_id, type_id, project_id, title, r_start, r_end, sku_id in running:
            a = max(_ts(r_start), d0)
            b = min(_ts(r_end), d1)
            if a >= b:
                continue
            spans = q(
                "SELECT w.start_at, w.end_at FROM maintenance_windows w"
                " WHERE w.start_at < :e AND w.end_at > :s AND (w.all_nodes"
                " OR EXISTS (SELECT 1 FROM window_scope_nodes x WHERE x.window_id = w.id AND x.node_id = :n)"
                " OR EXISTS (SELECT 1 FROM window_scope_node_types y WHERE y.window_id = w.id"
                " AND y.node_type_id = :t))",
                s=_db(a),
                e=_db(b),
                n=node_id,
                t=type_id,
            )
            spans += [
                (s, e if e is not None else min(now, month_end))
                for s, e in q(
                    "SELECT o.start_at, o.end_at FROM outages o JOIN outage_nodes x ON x.outage_id = o.id"
                    " WHERE x.node_id = :n AND o.credit AND o.start_at < :e"
                    " AND (o.end_at IS NULL OR o.end_at > :s)",
                    s=_db(a),
                    e=_db(b),
                    n=node_id,
                )
            ]
            pieces = sorted((max(_ts(s), a), min(_ts(e), b)) for s, e in spans)
            covered = timedelta(0)
            cursor = a
            for s, e in pieces:
                s = max(s, cursor)
                if e > s:
                    covered += e - s
                    cursor = e
            gross = Fraction(int((b - a).total_seconds() * 1_000_000), 1_000_000) / HOUR
            down = Fraction(int(covered.total_seconds() * 1_000_000), 1_000_000) / HOUR
            net = gross - down
            money = net * rate_on(sku_id, day_text)
            acc = accs.setdefault(rid, _Acc(title))
            acc.gross += gross
            acc.down += down
            acc.amount += money
            for code, share in split_on(project_id, day_text).items():
                acc.by_object[code] += money * share
        day = day.add(days=1)

    lines: dict[str, Decimal] = {}
    projects: dict[str, Decimal] = defaultdict(Decimal)
    objects: dict[str, Decimal] = defaultdict(Decimal)
    gross_t = down_t = net_t = Decimal("0.00")
    for rid, acc in accs.items():
        amount = _round(acc.amount)
        lines[f"reservation:{rid}"] = amount
        projects[acc.project] += amount
        gross_t += _round(acc.gross)
        down_t += _round(acc.down)
        net_t += _round(acc.gross - acc.down)
        for code, part in _largest_remainder(amount, dict(acc.by_object)).items():
            objects[code] += part

    first_day = first.date().isoformat()
    last_day = first.add(months=1).subtract(days=1).date()
    days_in_month = last_day.day
    for pid, sku_id, project_id, title, start, end in q(
        "SELECT f.id, f.sku_id, f.project_id, pr.title, f.start_date, f.end_date"
        " FROM fee_subscription_periods f JOIN projects pr ON pr.id = f.project_id"
        " WHERE f.start_date <= :last"
        " AND (f.end_date IS NULL OR f.end_date >= :first)",
        first=first_day,
        last=last_day.isoformat(),
    ):
        s = max(str(start), first_day)
        e = min(str(end) if end is not None else last_day.isoformat(), last_day.isoformat())
        days = (datetime.fromisoformat(e) - datetime.fromisoformat(s)).days + 1
        amount = _round(Fraction(days, days_in_month) * rate_on(sku_id, first_day))
        lines[f"fee:{pid}"] = amount
        projects[title] += amount
        split = split_on(project_id, first_day)
        for code, part in _largest_remainder(amount, split).items():
            objects[code] += part

    return ReferenceResult(
        lines=lines,
        projects=dict(projects),
        cost_objects=dict(objects),
        gross_hours=gross_t,
        downtime_hours=down_t,
        net_hours=net_t,
        amount=sum(lines.values(), Decimal("0.00")),
        queries=queries,
    )
