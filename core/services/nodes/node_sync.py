"""One node as the last Slurm sync left it (help/slurm.md), without asking Slurm: when that sync
ran, whether it found the node out of service in Slurm (and what it did), and the drift of the
windows on the node: a maintenance window not over whose scope includes the node and whose
reservation Slurm did not have, or had otherwise, at that sync (core/slurm/status.py decides
what a window's presence is). Nothing at all while no sync has run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ...context import ServiceContext
from ...downtime import load_downtime
from ...slurm import status as slurm_status
from .inventory import get_node

FAR = datetime(9000, 1, 1, tzinfo=UTC)  # "every window that has not ended"


@dataclass(frozen=True)
class WindowDrift:
    window_id: int
    title: str
    presence: slurm_status.Presence  # "no" or "drift"

    def text(self) -> str:
        state = "missing in Slurm" if self.presence.state == "no" else "differs in Slurm"
        return f"window #{self.window_id} {self.title!r} {state}: {self.presence.detail}"


@dataclass(frozen=True)
class NodeSync:
    last: slurm_status.LastRun
    out_of_service: str | None  # what the last sync saw in Slurm and did; None: in service
    drift: tuple[WindowDrift, ...]

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "last_sync": self.last.to_json(tz),
            "out_of_service": self.out_of_service,
            "drift": [{"window": d.window_id, "title": d.title} | d.presence.to_json() for d in self.drift],
        }


def node_sync(ctx: ServiceContext, name: str) -> NodeSync | None:
    """The last sync's view of node ``name``, or None when no sync has run."""
    ctx.require("read")
    node = get_node(ctx, name)
    run, out = slurm_status.nodes_out_of_service(ctx)
    if run is None:
        return None
    now = ctx.now()
    index = load_downtime(ctx.session, now, FAR, now, nodes=[(node.id, node.node_type_id)])
    titles = {
        src.id: src.title for src, scope in index.windows if scope.applies_to(node.id, node.node_type_id)
    }
    presence = slurm_status.window_presence(ctx, titles) if titles else {}
    drift = tuple(
        WindowDrift(wid, titles[wid], p)
        for wid, p in sorted(presence.items())
        if wid in titles and p.state in ("no", "drift")
    )
    return NodeSync(run, out.get(node.name), drift)
