"""Availability (core/services/availability.py, help/availability.md): segments, cells, the
timeline of many nodes, and the free-slot query. Properties: for every node, its free and busy
segments together are exactly the range, without overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.core.errors import NotFoundError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import availability as av
from nodedesk.core.services.nodes import node_lifecycle as nodes

from tests.billing.factory import Builder
from tests.centre.support import queries
from tests.helpers import SITE_TZ, local

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _partition_holds(segs: list[av.Segment], start: datetime, end: datetime) -> None:
    assert segs[0].start == start and segs[-1].end == end
    for a, b in pairwise(segs):
        assert a.end == b.start  # no gap, no overlap
        assert (a.kind, a.subject_type, a.subject_id) != (b.kind, b.subject_type, b.subject_id)
    free = sum((s.end - s.start for s in segs if not s.busy), timedelta(0))
    busy = sum((s.end - s.start for s in segs if s.busy), timedelta(0))
    assert free + busy == end - start


_source = st.builds(
    lambda kind, a, n, ident: av.Source(kind, T0 + a * HOUR, T0 + (a + n) * HOUR, "x", ident),
    st.sampled_from(av.BUSY_KINDS),
    st.integers(-10, 60),
    st.integers(1, 30),
    st.integers(1, 5),
)


@given(st.lists(_source, max_size=12), st.integers(0, 20), st.integers(1, 48))
def test_segments_partition_the_range_and_follow_the_precedence(
    sources: list[av.Source], a: int, n: int
) -> None:
    start, end = T0 + a * HOUR, T0 + (a + n) * HOUR
    segs = av.segments(sources, start, end)
    _partition_holds(segs, start, end)
    for seg in segs:  # at every instant the first applicable kind wins
        mid = seg.start + (seg.end - seg.start) / 2
        covering = [s for s in sources if s.start <= mid < s.end]
        expected = min((av.KINDS.index(s.kind) for s in covering), default=av.KINDS.index("free"))
        assert seg.kind == av.KINDS[expected]


@given(st.lists(_source, max_size=8), st.integers(1, 10))
def test_cells_show_the_first_kind_in_each_bucket(sources: list[av.Source], width: int) -> None:
    start, end = T0, T0 + 48 * HOUR
    segs = av.segments(sources, start, end)
    bounds = [start + k * width * HOUR for k in range(48 // width + 1)] + [end]
    bounds = sorted(set(b for b in bounds if b <= end))
    for (a, b), cell in zip(pairwise(bounds), av.cells(segs, bounds), strict=True):
        present = {s.kind for s in segs if s.start < b and s.end > a}
        assert cell.kind == min(present, key=av.KINDS.index) and cell.mixed == (len(present) > 1)


def test_buckets_are_site_days_and_hours_across_dst() -> None:
    start, end = av.day_range(datetime(2026, 3, 7).date(), datetime(2026, 3, 9).date(), SITE_TZ)
    days = av.buckets(start, end, SITE_TZ)
    assert days == [local("2026-03-07 00:00"), local("2026-03-08 00:00"), local("2026-03-09 00:00"), end]
    assert (days[2] - days[1]) == timedelta(hours=23)  # clocks go forward on 03-08
    hours = av.buckets(local("2026-03-08 00:30"), local("2026-03-08 04:00"), SITE_TZ, "hour")
    assert len(hours) == 4 and hours[1] == local("2026-03-08 01:00")  # 02:00 does not exist
    with pytest.raises(ValidationError, match="to: must be on or after 2026-03-09"):
        av.day_range(datetime(2026, 3, 9).date(), datetime(2026, 3, 8).date(), SITE_TZ)


def _centre(b: Builder) -> None:
    b.user("alice")
    gen = b.project("Genomics", "alice")
    n1, n2, n3, n4, n5 = (b.node(f"n{i}") for i in range(1, 6))
    b.node("h1", "H100")
    b.reservation(n1, gen, "2026-02-20 16:00", "2026-02-22 09:00")
    b.reservation(n2, gen, "2026-02-20 16:00", "2026-02-21 09:00", status="pending")
    b.reservation(n3, gen, "2026-02-21 16:00", "2026-02-22 09:00", status="cancelled")  # not busy
    b.window("Firmware", "2026-02-21 08:00", "2026-02-21 12:00", nodes=(n1, n2))
    b.window("Racks", "2026-02-21 11:00", "2026-02-21 14:00", types=(b.node_type("H100"),))
    b.outage("PSU", "2026-02-21 10:00", "2026-02-21 11:00", nodes=(n1,), credit=False)
    o = b.outage("Fan", "2026-02-15 06:00", None, nodes=(n4,))
    o.etr = local("2026-02-21 18:00")
    n5.rentable = False
    b.s.flush()


def test_timeline_of_all_nodes_with_every_kind(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        _centre(Builder(ctx.session, ctx.now()))
    start, end = local("2026-02-21 00:00"), local("2026-02-22 00:00")
    with runtime.read() as ctx:
        t = av.timeline(ctx, av.TimelineQuery(start, end))
    rows = {r.node: r for r in t.rows}
    assert list(rows) == ["h1", "n1", "n2", "n3", "n4", "n5"] and t.total == 6
    kinds = {name: [(s.kind, s.start.astimezone(UTC).hour) for s in r.segments] for name, r in rows.items()}
    assert [s.kind for s in rows["n1"].segments] == [
        "rented",
        "maintenance",
        "outage",
        "maintenance",
        "rented",
    ]
    assert [(s.start, s.end) for s in rows["n1"].segments][2] == (
        local("2026-02-21 10:00"),
        local("2026-02-21 11:00"),
    )
    assert [s.kind for s in rows["n2"].segments] == ["pending", "maintenance", "free"]
    assert [s.kind for s in rows["n3"].segments] == ["free"]  # a cancelled reservation is not busy
    assert [s.kind for s in rows["h1"].segments] == ["free", "maintenance", "free"]  # by node type
    # the open outage is expected until its ETR (18:00), not forever
    assert [(s.kind, s.end) for s in rows["n4"].segments] == [
        ("outage", local("2026-02-21 18:00")),
        ("free", end),
    ]
    assert rows["n4"].segments[0].open and kinds["n5"] == [("free", 5)]
    for r in t.rows:
        _partition_holds(list(r.segments), start, end)
    hours = av.buckets(start, end, SITE_TZ, "hour")
    line = "".join(c.glyph for c in rows["n1"].cells(hours))
    assert line[:8] == "●" * 8 and line[8:10] == "⚒⚒" and line[10] == "✖" and line[11] == "⚒"
    doc = t.to_json(SITE_TZ)
    assert doc["nodes"][1]["segments"][1]["subject"]["type"] == "window"  # type: ignore[index]
    with runtime.read() as ctx:  # a page, one type, chosen nodes
        page = av.timeline(ctx, av.TimelineQuery(start, end, offset=2, limit=2))
        assert [r.node for r in page.rows] == ["n2", "n3"] and page.total == 6
        assert [r.node for r in av.timeline(ctx, av.TimelineQuery(start, end, node_type="H100")).rows] == [
            "h1"
        ]
        assert [r.node for r in av.timeline(ctx, av.TimelineQuery(start, end, nodes=("n4", "n1"))).rows] == [
            "n1",
            "n4",
        ]


def test_free_nodes_for_a_range(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        _centre(Builder(ctx.session, ctx.now()))
    with runtime.read() as ctx:
        found = av.free_nodes(ctx, local("2026-02-21 00:00"), local("2026-02-23 00:00"), "A100")
        assert [r.node for r in found.free] == ["n3"]  # n5 is not rentable
        assert [r.node for r in found.busy] == ["n1", "n2", "n4"]
        assert found.summary() == "1 of 4 rentable A100 nodes free"
        later = av.free_nodes(ctx, local("2026-02-22 09:00"), local("2026-02-25 00:00"), "A100")
        assert [r.node for r in later.free] == ["n1", "n2", "n3", "n4"]  # the outage is expected back
        doc = found.to_json(SITE_TZ)
        assert doc["free"] == ["n3"] and doc["busy"][0]["busy"][0]["kind"] == "rented"  # type: ignore[index]


def test_retired_nodes(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        _centre(Builder(ctx.session, ctx.now()))
    with runtime.write() as ctx:
        nodes.retire_node(ctx, "n3")  # 02-15 10:00
    with runtime.read() as ctx:
        t = av.timeline(
            ctx, av.TimelineQuery(local("2026-02-14 00:00"), local("2026-02-16 00:00"), nodes=("n3",))
        )
        assert [(s.kind, s.start) for s in t.rows[0].segments] == [
            ("free", local("2026-02-14 00:00")),
            ("retired", local("2026-02-15 10:00")),
        ]
        after = av.timeline(ctx, av.TimelineQuery(local("2026-02-16 00:00"), local("2026-02-17 00:00")))
        assert "n3" not in [r.node for r in after.rows]
        free = av.free_nodes(ctx, local("2026-02-23 00:00"), local("2026-02-24 00:00"))
        assert "n3" not in [r.node for r in free.free + free.busy]


def test_bad_queries_name_the_field(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        _centre(Builder(ctx.session, ctx.now()))
    s, e = local("2026-02-21 00:00"), local("2026-02-22 00:00")
    with runtime.read() as ctx:
        with pytest.raises(ValidationError, match=r"to: must be after the start \(from\)"):
            av.free_nodes(ctx, e, s)
        with pytest.raises(ValidationError, match="to: the range may be at most 400 days"):
            av.timeline(ctx, av.TimelineQuery(s, s + timedelta(days=401)))
        with pytest.raises(NotFoundError, match="type: no node type named 'B200'"):
            av.free_nodes(ctx, s, e, "B200")
        with pytest.raises(NotFoundError, match="node: no node named 'zz'"):
            av.timeline(ctx, av.TimelineQuery(s, e, nodes=("n1", "zz")))
        with pytest.raises(ValidationError, match="limit: must be between 1 and 1000"):
            av.timeline(ctx, av.TimelineQuery(s, e, limit=0))


def test_a_fixed_number_of_queries_whatever_the_nodes(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        _centre(Builder(ctx.session, ctx.now()))
    s, e = local("2026-02-21 00:00"), local("2026-02-22 00:00")

    def count(**kw: object) -> int:
        return queries(runtime, lambda ctx: av.timeline(ctx, av.TimelineQuery(s, e, **kw)))  # type: ignore[arg-type]

    before = (count(), count(limit=2))
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        proj = b.project("More", "alice")
        for i in range(20):
            node = b.node(f"x{i:02d}")
            b.reservation(node, proj, "2026-02-20 16:00", "2026-02-21 09:00")
            b.window(f"w{i}", "2026-02-21 10:00", "2026-02-21 11:00", nodes=(node,))
            b.outage(f"o{i}", "2026-02-21 12:00", "2026-02-21 13:00", nodes=(node,))
    assert (count(), count(limit=2)) == before


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["reservation", "pending", "window", "outage", "open"]),
            st.integers(0, 2),  # node
            st.integers(0, 96),  # start hour from 02-20 00:00
            st.integers(1, 40),  # length in hours
        ),
        max_size=10,
    )
)
def test_stored_data_partitions_every_node(runtime: Runtime, items: list[tuple[str, int, int, int]]) -> None:
    """Whatever is stored: free ∪ busy = the range for every node, and a node is free exactly
    when nothing busy overlaps the range."""
    base = local("2026-02-20 00:00")
    start, end = local("2026-02-21 00:00"), local("2026-02-23 00:00")
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("alice")
        proj = b.project("P", "alice")
        ns = [b.node(f"p{i}") for i in range(3)]
        booked: list[tuple[int, datetime, datetime]] = []
        for k, (kind, i, a, n) in enumerate(items):
            s0, e0 = base + a * HOUR, base + (a + n) * HOUR
            fmt = "%Y-%m-%d %H:%M"
            s_txt, e_txt = (x.astimezone(local("2026-02-20 00:00").tzinfo).strftime(fmt) for x in (s0, e0))
            if kind in ("reservation", "pending"):
                if any(j == i and s0 < e and s < e0 for j, s, e in booked):
                    continue  # the database refuses overlapping bookings
                booked.append((i, s0, e0))
                # made at a free placeholder span of its own, then moved where it belongs
                r = b.reservation(ns[i], proj, f"2030-01-{k + 1:02d} 00:00", f"2030-01-{k + 1:02d} 01:00")
                r.start, r.end = s0, e0
                r.status = "approved" if kind == "reservation" else "pending"
                ctx.session.flush()
            elif kind == "window":
                w = b.window("W", s_txt, e_txt, nodes=(ns[i],))
                w.start, w.end = s0, e0
            else:
                o = b.outage(
                    "O", "2026-02-15 06:00", None if kind == "open" else "2026-02-15 07:00", nodes=(ns[i],)
                )
                o.start = min(s0, ctx.now() - HOUR)
                o.end = None if kind == "open" else max(e0, o.start + HOUR)
                o.etr = e0 if kind == "open" and e0 > o.start else None
            ctx.session.flush()
        t = av.timeline(ctx, av.TimelineQuery(start, end, nodes=tuple(n.name for n in ns)))
        free = av.free_nodes(ctx, start, end)
    for row in t.rows:
        _partition_holds(list(row.segments), start, end)
    assert {r.node for r in free.free} == {r.node for r in t.rows if r.free}
    assert {r.node for r in free.free} | {r.node for r in free.busy} == {n for n in ("p0", "p1", "p2")}
