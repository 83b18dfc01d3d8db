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
from ..services import outages, windows
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
    index = load_downtime(ctx.session, now, FAR, now, credited_only=True)
    in_scope: dict[int, list[str]] = {}
    in_maintenance: dict[str, int] = {}
    for n in nodes:
        for src in index.for_node(n.id, n.node_type_id):
            if src.source != "maintenance":
                continue
            in_scope.setdefault(src.id, []).append(node_map.slurm_name(n.name))
            if src.interval.start <= now < src.interval.end:
                in_maintenance.setdefault(n.name, src.id)
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
            nodes=tuple(sorted(in_scope.get(r.id, ()))),
            in_progress=windows.status_at(r.start, r.end, now) == "in_progress",
        )
        for r in rows
        if window_ids is None or r.id in window_ids
    ]
    titles = {r.uuid: (r.id, r.title) for r in rows}
    return NodedeskSide(wanted, to_nodedesk, in_maintenance, titles)


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
    return {
        r.name: InSlurm(
            name=r.name,
            start=r.start,
            end=r.end,
            nodes=tuple(sorted(hostlist.expand(r.nodes))),
            flags=frozenset(f for f in r.flags.split(",") if f),
            state=r.state,
        )
        for r in ctx.session.scalars(select(SlurmReservation))
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
