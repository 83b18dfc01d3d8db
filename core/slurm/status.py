"""What the last Slurm sync saw, without asking Slurm (help/slurm.md): when it ran, each
window's presence in Slurm, the drift, and the nodes it found out of service. Read by the
dashboard, ``nodedesk slurm status`` and the window views.

A window's presence compares the window as it is now with its reservation as the last sync left
it in Slurm (core/slurm/plan.py decides what "the same" means, for the sync and for this):

- ``yes``: Slurm has it as nodedesk wants it;
- ``drift``: Slurm has it, but not as the window is now (the window changed since the last
  sync, or the reservation was changed in Slurm and the sync could not set it back);
- ``no``: Slurm did not have it at the last sync (or no sync has run);
- ``n/a``: nothing to push (the window is over, or no node in its scope is a Slurm node).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import timeutil
from ..context import ServiceContext
from ..errors import NodedeskError
from ..models import SlurmSyncRun
from . import hostlist, plan, state
from .config import NodeMap, SlurmConfig
from .parse import SlurmReservation

STATES = ("yes", "no", "drift", "n/a")
LIMIT = 50  # drift items listed; the total says how many there are


@dataclass(frozen=True)
class Presence:
    state: str  # STATES
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"in_slurm": self.state, "detail": self.detail}


@dataclass(frozen=True)
class LastRun:
    at: datetime
    by: str
    scope: str
    outcome: str  # ok | partial
    changes: int
    problems: int
    report: dict[str, Any]  # the run's report as stored (core/slurm/sync.py SyncReport.to_json)

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "at": timeutil.iso_local(self.at, tz),
            "by": self.by,
            "only": self.scope,
            "outcome": self.outcome,
            "changes": self.changes,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class DriftItem:
    window_id: int | None
    subject: str
    text: str

    def to_json(self) -> dict[str, object]:
        return {"window": self.window_id, "subject": self.subject, "text": self.text}


@dataclass(frozen=True)
class SyncSummary:
    last: LastRun | None
    drift: tuple[DriftItem, ...]  # up to LIMIT
    drift_total: int
    found_by_last_run: tuple[str, ...]  # reservations changed by hand that the last run set back
    nodes_out: tuple[tuple[str, str], ...]  # (node, what the last run saw and did) for nodes out of service

    @property
    def used(self) -> bool:
        return self.last is not None

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "last_sync": self.last.to_json(tz) if self.last else None,
            "drift": {"total": self.drift_total, "items": [d.to_json() for d in self.drift]},
            "found_by_last_sync": list(self.found_by_last_run),
            "nodes_out_of_service": [{"node": n, "detail": d} for n, d in self.nodes_out],
        }


def last_run(ctx: ServiceContext) -> LastRun | None:
    ctx.require("read")
    row = ctx.session.scalars(
        select(SlurmSyncRun).order_by(SlurmSyncRun.finished_at.desc(), SlurmSyncRun.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    try:
        report = json.loads(row.summary_json)
    except ValueError:
        report = {}
    return LastRun(
        row.finished_at,
        row.actor,
        row.scope,
        row.outcome,
        row.changes,
        row.problems,
        report if isinstance(report, dict) else {},
    )


def _known_nodes(run: LastRun | None) -> frozenset[str] | None:
    text = run.report.get("slurm_nodes") if run else None
    if not isinstance(text, str) or not text:
        return None
    try:
        return frozenset(hostlist.expand(text))
    except ValueError:  # pragma: no cover - written by the sync itself
        return None


def window_presence(ctx: ServiceContext, window_ids: Iterable[int] | None = None) -> dict[int, Presence]:
    """Each window's presence in Slurm (every window not over, or those of ``window_ids``;
    ids of windows that are over or unknown are ``n/a``)."""
    ctx.require("read")
    ids = set(window_ids) if window_ids is not None else None
    presence, _side, _seen = _presence(ctx, last_run(ctx), ids)
    return presence


def synced_presence(ctx: ServiceContext, window_ids: Iterable[int]) -> dict[int, Presence] | None:
    """:func:`window_presence` of these windows, or None when no Slurm sync has ever run on this
    site (then one query, the last run's, is all it costs)."""
    ctx.require("read")
    run = last_run(ctx)
    if run is None:
        return None
    return _presence(ctx, run, set(window_ids))[0]


def _presence(
    ctx: ServiceContext, run: LastRun | None, ids: set[int] | None
) -> tuple[dict[int, Presence], state.NodedeskSide, dict[str, SlurmReservation]]:
    try:
        side = state.nodedesk_side(ctx, SlurmConfig.from_site(ctx.site).node_map, ids)
    except NodedeskError as exc:  # a Slurm setting a sync would refuse: say so, do not fail
        side = state.nodedesk_side(ctx, NodeMap({}), ids)
        unknown = {w.window_id: Presence("n/a", f"cannot tell: {exc}") for w in side.wanted}
        for wid in ids or ():
            unknown.setdefault(wid, Presence("n/a", "over, or no such window"))
        return unknown, side, {}
    kept, _notes = plan.slurm_nodes_of(side.wanted, _known_nodes(run))
    pushable = {w.window_id: w for w in kept}
    seen = state.last_seen(ctx)
    now = ctx.now()
    result: dict[int, Presence] = {}
    for w in side.wanted:
        wanted = pushable.get(w.window_id)
        if wanted is None:
            result[w.window_id] = Presence("n/a", "no Slurm node in its scope")
        elif run is None:
            result[w.window_id] = Presence("no", "no Slurm sync has run")
        elif wanted.name not in seen:
            when = timeutil.format_short(run.at, ctx.tz)
            result[w.window_id] = Presence("no", f"not in Slurm at the last sync ({when})")
        else:
            diff = plan.differences(wanted, seen[wanted.name], now, ctx.tz)
            text = "; ".join(f"{f} {theirs} in Slurm, {ours} here" for f, theirs, ours in diff)
            result[w.window_id] = Presence("drift", text) if diff else Presence("yes", wanted.name)
    for wid in ids or ():
        result.setdefault(wid, Presence("n/a", "over, or no such window"))
    return result, side, seen


def sync_summary(ctx: ServiceContext) -> SyncSummary:
    """The last sync and the drift now. Cheap on a site that never synced (one query)."""
    ctx.require("read")
    run = last_run(ctx)
    if run is None:
        return SyncSummary(None, (), 0, (), ())
    presence, side, seen = _presence(ctx, run, None)
    drift = [
        DriftItem(wid, f"window #{wid}", f"in Slurm: {p.state} ({p.detail})")
        for wid, p in sorted(presence.items())
        if p.state in ("no", "drift") or p.detail.startswith("cannot tell")
    ]
    wanted = {w.name for w in side.wanted}
    now = ctx.now()
    for name, r in sorted(seen.items()):
        if name not in wanted and r.end > now:
            drift.append(
                DriftItem(None, name, "left in Slurm: no window wants it (deleted, or no Slurm node)")
            )
    report = run.report
    found = tuple(str(n.get("text", "")) for n in report.get("drift", []) if isinstance(n, dict))
    return SyncSummary(
        run, tuple(drift[:LIMIT]), len(drift), found, tuple(sorted(_nodes_out(report).items()))
    )


def _nodes_out(report: dict[str, Any]) -> dict[str, str]:
    """Node -> what the run saw in Slurm and did, for the nodes out of service."""
    nodes: dict[str, str] = {}
    for item in report.get("pull", []):
        if isinstance(item, dict) and item.get("action") in ("open", "investigate"):
            outage = f"outage #{item.get('outage')}" if item.get("outage") else "no outage"
            detail = f"{item.get('error')}" if item.get("error") else f"{outage} {item.get('status')}"
            nodes[str(item.get("node"))] = f"{item.get('slurm', {}).get('state', '')}: {detail}"
    for note in report.get("notes", []):
        if isinstance(note, dict) and note.get("kind") in ("maintenance", "already_open", "no_reason"):
            nodes.setdefault(str(note.get("subject")), str(note.get("text")))
    return nodes


def nodes_out_of_service(ctx: ServiceContext) -> tuple[LastRun | None, dict[str, str]]:
    """The last sync, and the nodes it found out of service in Slurm (what it saw and did):
    for the node list, without the windows' presence (help/slurm.md)."""
    run = last_run(ctx)
    return run, (_nodes_out(run.report) if run else {})
