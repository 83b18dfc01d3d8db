"""Demo reservations and outages (part of ``nodedesk init --demo``), through the ordinary services.

Everything in ``data/demo.json`` is placed relative to today (site time) so the demo always looks
alive: reservations three months back to two months ahead (some in progress now), outages in the
past and one still open.

- ``reservations``: ``{"node", "project", "day", "blocks", "status", "reason"?, "notes"?,
  "for"?}``; ``day`` is the start date as days from today; ``for`` defaults to the project's
  owner. They are recorded by the acting admin with the booking policy waived where needed
  (past bookings are entered after the fact), then approved, declined or cancelled as given.
- ``outages``: ``{"title", "nodes", "day", "start", "hours"?, "etr_hours"?, "updates"?, "credit"?,
  "description"?}``; ``start`` is ``HH:MM`` on that day or ``"-5h"`` (hours before now);
  ``hours`` (when present) resolves the outage that long after its start; ``etr_hours`` (also in
  each update) sets the ETR that many hours after the start, so updates make an ETR history.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pendulum

from ... import timeutil
from ...context import ServiceContext
from ..downtime import outages
from ..rentals import reservations
from ..rentals.projects import find_project


def _at(ctx: ServiceContext, day: int, start: str) -> datetime:
    now = pendulum.instance(ctx.now()).in_timezone(ctx.tz)
    if start.endswith("h"):  # relative to now, e.g. "-5h"
        return now.add(hours=int(start[:-1])).replace(second=0, microsecond=0)
    hh, mm = (int(x) for x in start.split(":"))
    d = now.date() + timedelta(days=day)
    return pendulum.datetime(d.year, d.month, d.day, hh, mm, tz=ctx.tz)


def load_bookings_demo(ctx: ServiceContext, doc: dict[str, Any]) -> dict[str, int]:
    today: date = timeutil.local_day(ctx.now(), ctx.tz)
    n_res = 0
    for r in doc.get("reservations", []):
        project = find_project(ctx, r["project"])
        draft = reservations.ReservationDraft(
            node=r["node"],
            project=project.title,
            start_date=today + timedelta(days=r["day"]),
            blocks=r["blocks"],
            requested_for=r.get("for") or project.owner.username,
            notes=r.get("notes", ""),
        )
        status = r["status"]
        made = reservations.record_reservation(
            ctx, draft, approve=status in ("approved", "cancelled"), waive_policy=True
        ).reservation
        if status == "declined":
            reservations.decline_reservation(ctx, made.id, r.get("reason", "declined"))
        elif status == "cancelled":
            reservations.cancel_reservation(ctx, made.id, reason=r.get("reason", ""))
        n_res += 1

    n_out = 0
    for o in doc.get("outages", []):
        start = _at(ctx, o.get("day", 0), o["start"])

        def etr(spec: dict[str, Any], start: datetime = start) -> datetime | None:
            return start + timedelta(hours=spec["etr_hours"]) if "etr_hours" in spec else None

        made_o = outages.create_outage(
            ctx,
            outages.OutageDraft(
                title=o["title"],
                nodes=tuple(o["nodes"]),
                start=start,
                etr=etr(o),
                credit=o.get("credit", True),
                description=o.get("description", ""),
            ),
        ).outage
        for u in o.get("updates", []):
            outages.update_outage(
                ctx,
                made_o.id,
                outages.OutageChanges(
                    status=u.get("status", outages.UNSET),
                    etr=etr(u) if "etr_hours" in u else outages.UNSET,
                    description=u.get("description", outages.UNSET),
                ),
            )
        if "hours" in o:
            outages.resolve_outage(ctx, made_o.id, start + timedelta(hours=o["hours"]))
        n_out += 1
    return {"reservations": n_res, "outages": n_out}
