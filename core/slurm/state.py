"""nodedesk's side of a sync, read in one unit of work with a fixed number of queries: the
reservations its windows want, the nodes a window covers now, the open outages, and what the
last sync left in Slurm (help/slurm.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select

from ..context import ServiceContext
from ..downtime import load_downtime
from ..models import MaintenanceWindow, Node, SlurmReservation
from ..services.downtime import outages, windows
from . import hostlist
from .config import NodeMap
from .parse import SlurmReservation as InSlurm
from .plan import OpenOutage, WantedReservation

# Later than any window: "every window that has not ended".
FAR = datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NodedeskSide:
    wanted: list[WantedReservation]  # upcoming and in-progress windows, by start
    to_nodedesk: dict[str, str]  # Slurm node name -> nodedesk node name
    in_maintenance: dict[str, int]  # nodedesk node -> a window covering it now
    titles: dict[str, tuple[int, str]]  # window uuid -> (id, title), for every window not over


def nodedesk_side(ctx: ServiceContext, node_map: NodeMap, window_ids: set[int] | None = None) -> NodedeskSide:
    """The windows that have not ended, their nodes as Slurm names (all of them, or those of
    ``window_ids``), and which nodes a window covers now."""
    now = ctx.now()
    nodes = ctx.session.execute(select(Node.id, Node.name, Node.node_type_id).order_by(Node.name)).all()
    to_nodedesk = node_map.reverse([n.name for n in nodes])
    slurm_name = {n.id: node_map.slurm_name(n.name) for n in nodes}
    by_type: dict[int, list[int]] = {}
    for n in nodes:
        by_type.setdefault(n.node_type_id, []).append(n.id)
    index = load_downtime(ctx.session, now, FAR, now, credited_only=True)
    # Each scope resolved once (many windows share one: all nodes, one node type), by the rule
    # of core/downtime.py (WindowScope.applies_to): all nodes, or its nodes and its types' nodes.
    resolved: dict[tuple[bool, frozenset[int], frozenset[int]], tuple[int, ...]] = {}
    in_scope: dict[int, tuple[int, ...]] = {}
    for src, scope in index.windows:
        key = (scope.all_nodes, scope.node_ids, scope.node_type_ids)
        if key not in resolved:
            if scope.all_nodes:
                ids: set[int] = set(slurm_name)
            else:
                ids = {i for i in scope.node_ids if i in slurm_name}
                for t in scope.node_type_ids:
                    ids.update(by_type.get(t, ()))
            resolved[key] = tuple(sorted(ids))
        in_scope[src.id] = resolved[key]
    names = {n.id: n.name for n in nodes}
    in_maintenance: dict[str, int] = {}
    for src, _scope in sorted(index.windows, key=lambda ws: (ws[0].interval.start, ws[0].id)):
        if src.interval.start <= now < src.interval.end:
            for i in in_scope[src.id]:
                in_maintenance.setdefault(names[i], src.id)
    slurm_nodes: dict[tuple[int, ...], tuple[str, ...]] = {}
    rows = ctx.session.execute(
        select(
            MaintenanceWindow.id,
            MaintenanceWindow.uuid,
            MaintenanceWindow.title,
            MaintenanceWindow.start,
            MaintenanceWindow.end,
        )
        .where(MaintenanceWindow.end > now)
        .order_by(MaintenanceWindow.start, MaintenanceWindow.id)
    ).all()
    wanted = [
        WantedReservation(
            window_id=r.id,
            window_uuid=r.uuid,
            title=r.title,
            start=r.start,
            end=r.end,
            nodes=_slurm_nodes(in_scope.get(r.id, ()), slurm_name, slurm_nodes),
            in_progress=windows.status_at(r.start, r.end, now) == "in_progress",
        )
        for r in rows
        if window_ids is None or r.id in window_ids
    ]
    titles = {r.uuid: (r.id, r.title) for r in rows}
    return NodedeskSide(wanted, to_nodedesk, in_maintenance, titles)


def _slurm_nodes(
    ids: tuple[int, ...], slurm_name: dict[int, str], done: dict[tuple[int, ...], tuple[str, ...]]
) -> tuple[str, ...]:
    if ids not in done:
        done[ids] = tuple(sorted(slurm_name[i] for i in ids))
    return done[ids]


def open_outages(ctx: ServiceContext) -> list[OpenOutage]:
    """Every outage not yet resolved (through the outages service, a page at a time)."""
    found: list[OpenOutage] = []
    offset = 0
    while True:
        page = outages.list_outages(
            ctx, outages.OutageQuery(open_only=True, descending=False, offset=offset, limit=1000)
        )
        found += [OpenOutage(o.id, o.status, o.source, o.nodes) for o in page.items]
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return found


def last_seen(ctx: ServiceContext) -> dict[str, InSlurm]:
    """nodedesk's reservations as the last sync left them in Slurm, by name."""
    rows = ctx.session.execute(
        select(
            SlurmReservation.name,
            SlurmReservation.start,
            SlurmReservation.end,
            SlurmReservation.nodes,
            SlurmReservation.flags,
            SlurmReservation.state,
        )
    )
    return {
        r.name: InSlurm(
            name=r.name,
            start=r.start,
            end=r.end,
            nodes=hostlist.expand_sorted(r.nodes),
            flags=frozenset(f for f in r.flags.split(",") if f),
            state=r.state,
        )
        for r in rows
    }


def remember(ctx: ServiceContext, seen: list[InSlurm], prefix: str) -> None:
    """Replace the stored copy with ``seen`` (the reservations named ``prefix...``)."""
    now = ctx.now()
    ours = {r.name: r for r in seen if r.name.startswith(prefix)}
    stored = {r.name: r for r in ctx.session.scalars(select(SlurmReservation))}
    gone = [name for name in stored if name not in ours]
    if gone:
        ctx.session.execute(delete(SlurmReservation).where(SlurmReservation.name.in_(gone)))
    for name, r in ours.items():
        row = stored.get(name)
        values = {
            "window_uuid": name[len(prefix) :],
            "start": r.start,
            "end": r.end,
            "nodes": r.host_list,
            "flags": ",".join(sorted(r.flags)),
            "state": r.state[:16],
        }
        if row is None:
            ctx.session.add(SlurmReservation(name=name, seen_at=now, **values))
            continue
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.seen_at = now
    ctx.session.flush()
