"""Load the shipped demo centre (``nodedesk init --demo``) through the ordinary services."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from typing import Any

import pendulum

from ...context import ServiceContext
from ..downtime import windows
from ..nodes import inventory
from . import demo_bookings, demo_projects, users


def demo_document() -> dict[str, Any]:
    return json.loads((resources.files("nodedesk.data") / "demo.json").read_text("utf-8"))


def _window_start(ctx: ServiceContext, day: int, start: str) -> pendulum.DateTime:
    now = pendulum.instance(ctx.now()).in_timezone(ctx.tz)
    if start.endswith("h"):  # relative to now, e.g. "-2h"
        return now.add(hours=int(start[:-1])).replace(second=0, microsecond=0)
    hh, mm = (int(x) for x in start.split(":"))
    day_date = now.date() + timedelta(days=day)
    return pendulum.datetime(day_date.year, day_date.month, day_date.day, hh, mm, tz=ctx.tz)


def load_demo(ctx: ServiceContext) -> dict[str, int]:
    doc = demo_document()
    counts: dict[str, int] = {}
    for u in doc["users"]:
        users.add_user(
            ctx, u["username"], u["roles"], full_name=u.get("full_name", ""), email=u.get("email", "")
        )
    counts["users"] = len(doc["users"])
    for nt in doc["node_types"]:
        inventory.add_node_type(ctx, nt["name"], nt["category"], nt.get("description", ""))
    counts["node_types"] = len(doc["node_types"])
    n = 0
    for group in doc["nodes"]:
        for i in range(group["count"]):
            name = f"{group['prefix']}{group['first'] + i:02d}"
            inventory.add_node(ctx, name, group["type"], rentable=group.get("rentable", True))
            n += 1
    counts["nodes"] = n
    for w in doc["windows"]:
        start = _window_start(ctx, w["day"], w["start"])
        end = start.add(hours=w["hours"])
        draft = windows.WindowDraft(
            title=w["title"],
            start=start,
            end=end,
            description=w.get("description", ""),
            scope=windows.Scope(tuple(w.get("nodes", ())), tuple(w.get("node_types", ()))),
        )
        windows.create_window(ctx, draft, reason="demo data" if start < ctx.now() else "")
    counts["windows"] = len(doc["windows"])
    counts.update(demo_projects.load_projects_demo(ctx, doc))
    counts.update(demo_bookings.load_bookings_demo(ctx, doc))
    return counts
