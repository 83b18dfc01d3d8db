"""Properties of the migration and the comparison on random exports (SQLite; each example is a
whole migration into a new database, so there are few of them).

- every record of the export is accounted for (created, merged, present or skipped);
- no two active reservations overlap on a node afterwards, and each one left out is reported;
- each reservation line's difference from the plugin is entirely put down to its causes, and
  with only windows and clock changes in play those causes are maintenance and daylight saving.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.core.clock import FrozenClock
from nodedesk.core.models import Reservation
from nodedesk.core.orcd.compare import compare_invoice
from nodedesk.core.orcd.export import read_export
from nodedesk.core.orcd.migrator import migrate_orcd
from nodedesk.core.orcd.plugin_model import plugin_invoice
from nodedesk.core.orcd.source import read_source
from sqlalchemy import select

from tests.backup.conftest import make_runtime
from tests.orcd.exportgen import ExportBuilder, small_centre

EXAMPLES = int(os.environ.get("NODEDESK_FUZZ_EXAMPLES", "8"))
MARCH = date(2027, 3, 1)  # the clocks go forward on the 14th
NOW = datetime(2027, 4, 20, 12, 0, tzinfo=UTC)

bookings = st.lists(
    st.tuples(
        st.sampled_from(["gpu01", "gpu02"]),
        st.integers(0, 27),  # start day in March
        st.integers(1, 6),  # blocks
        st.sampled_from(["APPROVED", "APPROVED", "PENDING", "DECLINED"]),
    ),
    min_size=1,
    max_size=12,
)
windows = st.lists(st.tuples(st.integers(0, 30 * 24), st.integers(1, 30)), max_size=5)  # start hour, hours


def _export(folder: Path, plan: list[tuple[str, int, int, str]], downs: list[tuple[int, int]]) -> Path:
    b = small_centre(ExportBuilder(created_at="2027-04-15T12:00:00+00:00"))
    for rid, (node, day, blocks, status) in enumerate(plan, start=1):
        b.reservation(
            rid, node, "climate", "alice", (MARCH + timedelta(days=day)).isoformat(), blocks, status
        )
    start = datetime(2027, 3, 1, tzinfo=UTC)
    for i, (hour, length) in enumerate(downs):
        a = start + timedelta(hours=hour)
        b.window(f"w{i}", a.isoformat(), (a + timedelta(hours=length)).isoformat())
    return b.write(folder / "export")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=bookings, downs=windows)
def test_migration_and_comparison_invariants(
    plan: list[tuple[str, int, int, str]], downs: list[tuple[int, int]], tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("prop")
    export = _export(folder, plan, downs)
    rt = make_runtime(f"sqlite:///{folder / 'site.db'}", FrozenClock(NOW))
    try:
        report = migrate_orcd(rt, export)
        assert report.unaccounted() == []
        with rt.read() as ctx:
            rows = ctx.session.execute(
                select(Reservation.id, Reservation.node_id, Reservation.start, Reservation.end).where(
                    Reservation.status.in_(["pending", "approved"])
                )
            ).all()
            for a, b in itertools.combinations(rows, 2):
                assert not (a.node_id == b.node_id and a.start < b.end and b.start < a.end), (a.id, b.id)
            kept = {r.id for r in rows}
            active = {i for i, p in enumerate(plan, start=1) if p[3] != "DECLINED"}
            assert active - kept == {o["reservation"] for o in report.overlaps}

            orcd = plugin_invoice(read_source(read_export(export)), "America/New_York", "2027-03")
            result = compare_invoice(ctx, orcd)
        for line in result.lines:
            if line.kind != "reservation" or line.ours_hours is None:
                continue
            told = sum((c.hours for c in line.causes if c.hours is not None), Decimal(0))
            assert abs(line.hours_diff - told) < Decimal("0.01"), line.to_json()
            assert {c.code for c in line.causes} <= {"maintenance_not_deducted", "daylight_saving"}, (
                line.to_json()
            )
    finally:
        rt.close()
