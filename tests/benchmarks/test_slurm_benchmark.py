"""Benchmark: the Slurm sync's reads and plan on a big centre, and a real sync's cost per change.

Run with ``.venv/bin/python -m pytest -m benchmark -s -p no:cacheprovider
tests/benchmarks/test_slurm_benchmark.py`` (``make bench`` runs it too). It prints figures and
asserts none of them.

1. A centre of 1,000 nodes in 8 node types and 2,000 windows not yet over (1,200 on 4 named
   nodes, 700 on a node type, 100 on all nodes), every one already in Slurm as the last sync
   left it: nodedesk's side of a sync (windows resolved to Slurm node names), the push plan
   against Slurm's copy (nothing to change), ``slurm status``'s summary and the dashboard's
   quick part, which includes it.
2. The real slurmctld of tests/slurm: a first sync of 200 windows (200 ``scontrol create``
   runs), then a second one that changes nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.models import MaintenanceWindow, Node, NodeType, SlurmSyncRun
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.views import dashboard
from nodedesk.core.slurm import hostlist, plan, state, status
from nodedesk.core.slurm.config import RESERVATION_PREFIX, SlurmConfig
from nodedesk.core.slurm.parse import SlurmReservation
from nodedesk.core.slurm.sync import run_sync

from tests.slurm.conftest import SlurmCluster, real_now, slurm, slurm_cluster  # noqa: F401

pytestmark = pytest.mark.benchmark
T = TypeVar("T")


def timed(label: str, fn: Callable[[], T], runs: int = 3) -> T:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    walls.sort()
    print(
        f"  {label:<58} median {walls[len(walls) // 2] * 1000:8.1f} ms  cpu best {min(cpus) * 1000:8.1f} ms"
    )
    return result  # type: ignore[return-value]


def _centre(runtime: Runtime, clock: FrozenClock) -> None:
    now = clock.now()
    by = {"created_at": now, "created_by": "admin", "modified_at": now, "modified_by": "admin"}
    with runtime.write() as ctx:
        s = ctx.session
        types = [NodeType(name=f"T{t}", category="CPU", **by) for t in range(8)]
        s.add_all(types)
        s.flush()
        nodes = [Node(name=f"n{i:04d}", node_type_id=types[i % 8].id, **by) for i in range(1000)]
        s.add_all(nodes)
        s.flush()
        for i in range(2000):
            start = now + timedelta(hours=2 + i)
            w = MaintenanceWindow(title=f"W{i}", start=start, end=start + timedelta(hours=4), **by)
            if i < 1200:
                w.all_nodes, w.nodes = False, nodes[(i * 4) % 1000 : (i * 4) % 1000 + 4]
            elif i < 1900:
                w.all_nodes, w.node_types = False, [types[i % 8]]
            else:
                w.all_nodes = True
            s.add(w)
        s.flush()
    with runtime.write() as ctx:
        side = state.nodedesk_side(ctx, SlurmConfig.from_site(ctx.site).node_map)
        copy = [
            SlurmReservation(w.name, w.start, w.end, w.nodes, frozenset({"MAINT", "IGNORE_JOBS"}), "INACTIVE")
            for w in side.wanted
        ]
        state.remember(ctx, copy, RESERVATION_PREFIX)
        ctx.session.add(
            SlurmSyncRun(
                started_at=now,
                finished_at=now,
                actor="admin",
                scope="both",
                outcome="ok",
                changes=len(copy),
                problems=0,
                summary_json=json.dumps({"slurm_nodes": hostlist.compress(n.name for n in nodes)}),
            )
        )


def test_sync_reads_and_plan_on_a_big_centre(runtime: Runtime, clock: FrozenClock, backend: str) -> None:
    t0 = time.perf_counter()
    _centre(runtime, clock)
    print(f"\nSlurm sync on a big centre ({backend}; built in {time.perf_counter() - t0:.1f} s; "
          f"load {os.getloadavg()[0]:.2f})")  # fmt: skip
    with runtime.read() as ctx:
        node_map = SlurmConfig.from_site(ctx.site).node_map
        side = timed(
            "nodedesk's side: 2,000 windows to Slurm node names", lambda: state.nodedesk_side(ctx, node_map)
        )
        seen = state.last_seen(ctx)
        known = frozenset(f"n{i:04d}" for i in range(1000))
        result = timed(
            "push plan against Slurm's copy (nothing to change)",
            lambda: plan.plan_push(
                side.wanted, list(seen.values()), seen, known_nodes=known, user="root", now=clock.now()
            ),
        )
        assert result.actions == ()
        summary = timed("slurm status summary (presence of 2,000 windows)", lambda: status.sync_summary(ctx))
        assert summary.drift_total == 0
        timed("dashboard, quick part (includes the summary)", lambda: dashboard.dashboard(ctx, slow=False))


def test_a_real_sync_of_200_windows(
    runtime: Runtime,
    clock: FrozenClock,
    slurm: SlurmCluster,  # noqa: F811 (the fixture imported above)
    backend: str,
) -> None:
    from nodedesk.core.services.nodes import inventory
    from nodedesk.core.services.site import settings

    clock.set(real_now())
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "CPU", "CPU")
        for name in ("node2433", "node2434", "node2435", "node2436"):
            inventory.add_node(ctx, name, "CPU")
        settings.set_setting(ctx, "slurm_conf", str(slurm.conf))
        now = clock.now()
        for i in range(200):
            start = now + timedelta(hours=3 + 5 * i)
            ctx.session.add(
                MaintenanceWindow(
                    title=f"W{i}",
                    start=start,
                    end=start + timedelta(hours=4),
                    all_nodes=False,
                    nodes=[ctx.session.query(Node).filter_by(name=f"node{2433 + i % 4}").one()],
                    created_at=now,
                    created_by="admin",
                    modified_at=now,
                    modified_by="admin",
                )
            )
    print(f"\nA real sync against slurmctld ({backend}; load {os.getloadavg()[0]:.2f})")
    first = timed("first sync: 200 scontrol create", lambda: run_sync(runtime), runs=1)
    assert first.changes == 200 and not first.failures
    second = timed("second sync: nothing to change", lambda: run_sync(runtime), runs=3)
    assert second.changes == 0
