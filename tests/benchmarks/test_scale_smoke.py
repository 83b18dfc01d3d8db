"""Smoke run of the scale benchmark (part of the normal suite; no timing assertions).

A tiny centre goes through the same generator and the same measurement code as ``make bench``,
so neither can rot: the generator's data passes ``audit verify`` and keeps reservations apart per
node, every in-app step finds what it waits for, and no table holds more than its page.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from nodedesk.core import audit
from nodedesk.core.clock import FrozenClock
from nodedesk.core.models import ActivityEntry, MaintenanceWindow, Outage, Reservation
from nodedesk.core.runtime import Runtime
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tests.benchmarks import bigcentre, scale


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, built = bigcentre.cached_sqlite(bigcentre.SMOKE, directory=tmp_path_factory.mktemp("cache"))
    assert built
    assert bigcentre.cached_sqlite(bigcentre.SMOKE, directory=path.parent) == (path, False)  # cached
    return path


def test_generator_makes_a_valid_centre(centre: Path) -> None:
    runtime = Runtime(
        bigcentre.config(f"sqlite:///{centre}"), clock=FrozenClock(bigcentre.NOW), login=bigcentre.LOGIN
    )
    try:
        with runtime.read() as ctx:
            s = ctx.session
            assert s.scalar(select(func.count()).select_from(Reservation)) == bigcentre.SMOKE.reservations
            assert s.scalar(select(func.count()).select_from(MaintenanceWindow)) == bigcentre.SMOKE.windows
            assert s.scalar(select(func.count()).select_from(Outage)) == bigcentre.SMOKE.outages
            statuses = set(s.scalars(select(Reservation.status).distinct()))
            assert {"pending", "approved", "cancelled"} <= statuses
            other = aliased(Reservation)
            clash = select(func.count()).where(
                Reservation.node_id == other.node_id,
                Reservation.id < other.id,
                Reservation.start < other.end,
                other.start < Reservation.end,
            )
            assert s.scalar(clash) == 0
            result = audit.verify(s)
            assert result.ok, result
            assert audit.count(s) > bigcentre.SMOKE.activity
    finally:
        runtime.close()


def test_same_seed_same_centre(centre: Path, tmp_path: Path) -> None:
    """Deterministic: a second build has the same cache key and the same audit chain head."""
    again = tmp_path / "again.db"
    bigcentre.build(f"sqlite:///{again}", bigcentre.SMOKE)

    def head(path: Path) -> tuple[object, ...]:
        runtime = Runtime(bigcentre.config(f"sqlite:///{path}"), login=bigcentre.LOGIN)
        try:
            with runtime.read() as ctx:
                last = select(ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
                uuids = select(Reservation.uuid, Reservation.start).order_by(Reservation.id).limit(50)
                return (ctx.session.scalar(last), *ctx.session.execute(uuids).all())
        finally:
            runtime.close()

    assert head(again) == head(centre)


def test_measurement_code_runs(centre: Path, tmp_path: Path) -> None:
    url = scale.prepare(centre, tmp_path)
    report = scale.Report()
    asyncio.run(scale.measure_app(url, report, filter_text="Cooling", node="n0007", moves_n=2))
    names = [f.name for f in report.figures]
    for expected in (
        "Windows: open",
        "Reservations: open",
        "Activity: open",
        "Calendar: open",
        "Invoices: open",
    ):
        assert any(n.startswith(expected) for n in names), (expected, names)
    assert 0 < report.max_rows_held <= report.page_size
    if shutil.which("tmux"):
        scale.measure_cold(url, report, runs=1, imports=0)
        assert report.figures[-2].name.startswith("cold start: exec to first frame")
    print("\n" + report.table())
