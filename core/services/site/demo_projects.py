"""Demo projects, cost splits, rates and fee subscriptions (part of ``nodedesk init --demo``).

Dates in ``data/demo.json`` are relative to today (site time) so the demo always looks alive:
``"-3m"`` is the 1st of the month three months ago, ``"-1m-end"`` the last day of last month,
``"0m"`` the 1st of this month, ``"-40d"`` forty days ago.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pendulum

from ... import timeutil
from ...context import ServiceContext
from ..invoicing import rates
from ..rentals import projects, splits, subscriptions

_SPEC_RE = re.compile(r"^([+-]?\d+)(m|m-end|d)$")


def relative_day(today: date, spec: str) -> date:
    """Resolve a relative date spec (see the module docstring) against ``today``."""
    m = _SPEC_RE.match(spec.strip())
    if not m:
        raise ValueError(f"bad relative date {spec!r} in demo data (use -3m, -1m-end, 0m or -40d)")
    n, unit = int(m.group(1)), m.group(2)
    if unit == "d":
        return today + timedelta(days=n)
    first = pendulum.date(today.year, today.month, 1).add(months=n)
    if unit == "m-end":
        first = first.add(months=1).subtract(days=1)
    return date(first.year, first.month, first.day)


def load_projects_demo(ctx: ServiceContext, doc: dict[str, Any]) -> dict[str, int]:
    """Projects with members and split history, rates for every SKU, some subscriptions."""
    today = timeutil.local_day(ctx.now(), ctx.tz)
    n_splits = 0
    for p in doc.get("projects", []):
        projects.add_project(ctx, p["title"], p["owner"], p.get("description", ""))
        for user, roles in p.get("members", {}).items():
            for role in roles:
                projects.add_member(ctx, p["title"], user, role)
        for s in p.get("splits", []):
            parts = [(code, str(pct)) for code, pct in s["parts"].items()]
            splits.propose_split(
                ctx, p["title"], parts, relative_day(today, s["from"]), approve=s.get("approved", True)
            )
            n_splits += 1
    n_rates = 0
    for code, rows in doc.get("rates", {}).items():
        for row in rows:
            rates.set_rate(
                ctx, code, str(row["amount"]), relative_day(today, row["from"]), row.get("notes", "")
            )
            n_rates += 1
    n_subs = 0
    for s in doc.get("subscriptions", []):
        sub = subscriptions.add_subscription(
            ctx,
            s["user"],
            s["sku"],
            s["project"],
            relative_day(today, s["from"]),
            relative_day(today, s["to"]) if s.get("to") else None,
        )
        for change in s.get("changes", []):
            subscriptions.change_subscription(
                ctx,
                sub.id,
                relative_day(today, change["from"]),
                sku_code=change.get("sku"),
                project_ref=change.get("project"),
            )
        if s.get("ended"):
            subscriptions.end_subscription(ctx, sub.id, relative_day(today, s["ended"]))
        n_subs += 1
    return {
        "projects": len(doc.get("projects", [])),
        "splits": n_splits,
        "rates": n_rates,
        "subscriptions": n_subs,
    }
