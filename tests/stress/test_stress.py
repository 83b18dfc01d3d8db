"""Concurrency stress: several admin processes at once against one database (SQLite and PostgreSQL).

The smoke run (2 processes, a few seconds) is part of the normal suite. The long run is behind the
``stress`` marker::

    .venv/bin/python -m pytest -m stress -s -p no:cacheprovider tests/stress
    STRESS_PROCESSES=8 STRESS_SECONDS=120 .venv/bin/python -m pytest -m stress -s tests/stress

Admins also merge small backup imports of new reservations, some edited to overlap a booking.
Afterwards the database must show: no overlapping pending/approved reservations on a node; no lost
update (every window's version is 1 + the successful edits reported for it, each edit produced a
distinct version, and its title is the one the last successful edit wrote); exactly one audit entry
per successful operation and an audit chain that verifies; every invoice snapshot matching its
SHA-256, and a finalized month whose live figures still equal its snapshot.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter, defaultdict
from typing import Any

import pytest
from nodedesk.core import audit
from nodedesk.core.billing import document
from nodedesk.core.models import ActivityEntry, InvoicePeriod, InvoiceSnapshot, MaintenanceWindow
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoices
from sqlalchemy import func, select

from tests.rentals.support import overlapping_pairs
from tests.stress import worker

# Which audit action each successful operation writes (one entry each).
AUDIT_ACTION = {
    "window.create": "window.created",
    "window.edit": "window.updated",
    "window.delete": "window.deleted",
    "reservation.book": "reservation.recorded",
    "reservation.book_january": "reservation.recorded",
    "reservation.approve": "reservation.approved",
    "reservation.cancel": "reservation.cancelled",
    "invoice.finalize": "invoice.finalized",
    "invoice.unfinalize": "invoice.unfinalized",
    "reservation.import": "backup.imported",
}


def run_stress(runtime: Runtime, url: str, backend: str, processes: int, seconds: float) -> dict[str, Any]:
    worker.seed(runtime, processes)
    with runtime.read() as ctx:
        seeded = ctx.session.scalar(select(func.count(ActivityEntry.seq))) or 0
    mp = multiprocessing.get_context("spawn")
    barrier = mp.Barrier(processes)
    results = mp.Queue()
    procs = [
        mp.Process(
            target=worker.process_main,
            args=(url, i, seconds, barrier, results, str(runtime.config.site_dir)),
        )
        for i in range(processes)
    ]
    started = time.monotonic()
    for p in procs:
        p.start()
    tallies = dict(results.get(timeout=seconds + 180) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    elapsed = time.monotonic() - started
    crashed = {i: t["crash"] for i, t in tallies.items() if "crash" in t}
    assert not crashed, crashed
    _report(backend, processes, seconds, elapsed, tallies)
    _check(runtime, tallies, seeded)
    return tallies


def _report(backend: str, processes: int, seconds: float, elapsed: float, tallies: dict[int, Any]) -> None:
    print(f"\n[stress] back end={backend} processes={processes} duration={seconds:g}s (wall {elapsed:.1f}s)")
    print(f"  {'process':<8} {'ops':>6} {'conflicts':>9} {'refusals':>8} {'errors':>6}")
    total = Counter()
    for i in sorted(tallies):
        t = tallies[i]
        row = Counter(
            ops=sum(t["ops"].values()),
            conflicts=sum(t["conflicts"].values()),
            refusals=sum(t["refusals"].values()),
            errors=len(t["errors"]),
        )
        total.update(row)
        print(_row(worker.login(i), row))
    print(_row("total", total))
    by_op: dict[str, Counter[str]] = defaultdict(Counter)
    for t in tallies.values():
        for kind in ("ops", "conflicts", "refusals", "skipped"):
            for name, n in t[kind].items():
                by_op[name][kind] += n
    for name in sorted(by_op):
        c = by_op[name]
        print(
            f"  {name:<26} ok={c['ops']:<5} conflict={c['conflicts']:<5} "
            f"refused={c['refusals']:<5} nothing-to-do={c['skipped']}"
        )
    reasons: Counter[str] = Counter()
    for t in tallies.values():
        reasons.update(t["reasons"])
    for reason, n in reasons.most_common(12):
        print(f"  {n:>5} x {reason}")
    for i, t in sorted(tallies.items()):
        for err in t["errors"][:5]:
            print(f"  ERROR {worker.login(i)}: {err}")


def _row(who: str, c: Counter[str]) -> str:
    return f"  {who:<8} {c['ops']:>6} {c['conflicts']:>9} {c['refusals']:>8} {c['errors']:>6}"


def _check(runtime: Runtime, tallies: dict[int, Any], seeded: int) -> None:
    errors = [e for t in tallies.values() for e in t["errors"]]
    assert not errors, errors

    # 1. No overlapping pending/approved reservations on any node.
    assert overlapping_pairs(runtime) == 0

    # 2. No lost updates on windows (by uuid: SQLite gives a deleted newest window's id to the next).
    edits: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for t in tallies.values():
        for wid, version, title in t["edits"]:
            edits[wid].append((version, title))
    with runtime.read() as ctx:
        rows = {w.uuid: (w.version, w.title) for w in ctx.session.scalars(select(MaintenanceWindow))}
    for wid, done in edits.items():
        versions = [v for v, _ in done]
        assert len(versions) == len(set(versions)), f"window {wid}: two saves produced one version {versions}"
        if wid in rows:
            version, title = rows[wid]
            assert version == 1 + len(done), f"window {wid}: version {version}, {len(done)} successful edits"
            assert title == max(done)[1], f"window {wid}: title {title!r}, last edit wrote {max(done)[1]!r}"
    for wid, (version, _title) in rows.items():
        assert version == 1 + len(edits.get(wid, [])), f"window {wid}: version {version} without edits"

    # 3. Exactly one audit entry per successful operation, and the chain verifies.
    expected: Counter[str] = Counter()
    for t in tallies.values():
        for name, n in t["ops"].items():
            expected[AUDIT_ACTION[name]] += n
    with runtime.read() as ctx:
        got = Counter(
            dict(
                ctx.session.execute(
                    select(ActivityEntry.action, func.count())
                    .where(ActivityEntry.seq > seeded)
                    .group_by(ActivityEntry.action)
                ).all()
            )
        )
        result = audit.verify(ctx.session)
    assert got == expected
    assert result.ok, result

    # 4. Every snapshot matches its hash; a finalized month still equals its live figures.
    with runtime.read() as ctx:
        for snap in ctx.session.scalars(select(InvoiceSnapshot)):
            assert document.sha256_text(snap.snapshot_json) == snap.snapshot_sha256
        finalized = ctx.session.scalars(
            select(InvoicePeriod.period).where(InvoicePeriod.status == "finalized")
        )
        for period in list(finalized):
            check = invoices.verify(ctx, period)
            assert check.integrity_ok, period
            assert not check.items, [i.to_json() for i in check.items]


def test_stress_smoke(runtime: Runtime, backend: str, database_url: str) -> None:
    """Two admins for a few seconds: the whole pipeline, cheaply, in every run of the suite."""
    tallies = run_stress(runtime, database_url, backend, processes=2, seconds=3)
    assert sum(sum(t["ops"].values()) for t in tallies.values()) > 10


@pytest.mark.stress
def test_stress_long(runtime: Runtime, backend: str, database_url: str) -> None:
    processes = int(os.environ.get("STRESS_PROCESSES", "6"))
    seconds = float(os.environ.get("STRESS_SECONDS", "30"))
    assert 2 <= processes <= 8, "STRESS_PROCESSES must be 2..8"
    tallies = run_stress(runtime, database_url, backend, processes=processes, seconds=seconds)
    conflicts = sum(sum(t["conflicts"].values()) for t in tallies.values())
    assert conflicts > 0, "the run produced no conflict at all: it did not stress anything"
