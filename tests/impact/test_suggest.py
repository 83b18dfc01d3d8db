"""The least-impact slot finder (core/services/downtime/suggest.py) against the impact preview.

The clock is 2026-02-15 10:00 New York. Rates are whole dollars per quarter hour and every time
is on the quarter hour, so the sweep's figures (before rounding) equal the preview's (rounded
per line): the property tests compare them start by start.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.core import timeutil
from nodedesk.core.errors import NotFoundError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import suggest as svc
from nodedesk.core.services.downtime.impact import assess
from nodedesk.core.services.downtime.windows import Scope

from tests.billing.factory import Builder
from tests.helpers import SITE_TZ, local


def _centre(b: Builder) -> dict[str, object]:
    b.user("alice")
    b.user("bob")
    b.node_type("A100")
    b.rate("NODE_A100", "4.00", date(2026, 1, 1))
    b.rate("NODE_A100", "8.00", date(2026, 2, 20))  # a rate change inside the range
    gen = b.project("Genomics", "alice")
    cli = b.project("Climate", "bob")
    nodes = {name: b.node(name) for name in ("n1", "n2", "n3")}
    return {"nodes": nodes, "projects": (gen, cli)}


def test_a_free_slot_comes_first_and_costs_follow_the_preview(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        n, (gen, cli) = made["nodes"], made["projects"]  # type: ignore[misc]
        # Busy Feb 16 08:00 -> Feb 17 20:00 on n1 and n2; Feb 17 from 20:00 is free.
        b.reservation(n["n1"], gen, "2026-02-16 08:00", "2026-02-17 20:00")
        b.reservation(n["n2"], cli, "2026-02-16 08:00", "2026-02-17 12:00", status="pending")
        found = svc.suggest(
            ctx, "4h", local("2026-02-16 08:00"), local("2026-02-18 00:00"), nodes=("n1", "n2"), count=3
        )
        first = found.candidates[0]
        assert first.free and first.start == local("2026-02-17 20:00")
        assert first.not_billed == 0 and first.renters == 0 and not first.marked
        assert found.considered == 4 * 36 + 1  # 08:00 .. 20:00 the next day, quarter hours
        # Every candidate's figures are the preview's for the same window.
        for c in found.candidates:
            preview = assess(ctx, c.start, c.end, Scope(("n1", "n2")))
            assert (c.not_billed, c.hours) == (preview.not_billed, preview.hours)
            assert c.impact == preview
        # The costliest slots hit both renters: ask for all of them, the last hits two.
        everything = svc.suggest(
            ctx, "4h", local("2026-02-16 08:00"), local("2026-02-18 00:00"), nodes=("n1", "n2"), count=50
        )
        keys = [(c.not_billed, c.hours, c.renters, c.start) for c in everything.candidates]
        assert keys == sorted(keys)
        assert (
            svc.suggest(ctx, "4h", local("2026-02-16 08:00"), local("2026-02-16 12:00"), nodes=("n1", "n2"))
            .candidates[0]
            .renters
            == 2
        )


def test_hours_weekdays_and_marks(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        n = made["nodes"]  # type: ignore[assignment]
        b.window("Firmware", "2026-02-23 06:00", "2026-02-23 08:00", nodes=(n["n3"],))  # a Monday
        found = svc.suggest(
            ctx,
            timedelta(hours=2),
            local("2026-02-21 00:00"),  # a Saturday
            local("2026-02-25 00:00"),
            nodes=("n3",),
            between="06:00-09:00",
            weekdays="mon-fri",
            count=50,
        )
        for c in found.candidates:
            wall = timeutil.to_local(c.start, SITE_TZ)
            assert wall.weekday() < 5 and time(6) <= wall.time() < time(9) and wall.minute % 15 == 0
        assert found.considered == 2 * 12  # Mon and Tue, 06:00 .. 08:45
        marked = {c.start for c in found.candidates if c.marked}
        assert local("2026-02-23 06:00") in marked and local("2026-02-24 06:00") not in marked
        # Everything is free: the earliest comes first.
        assert found.candidates[0].start == local("2026-02-23 06:00")
        # Hours that wrap past midnight.
        day = (local("2026-02-21 00:00"), local("2026-02-22 00:00"))
        night = svc.suggest(ctx, "1h", *day, between="22:00-02:00")
        assert {timeutil.to_local(c.start, SITE_TZ).hour for c in night.candidates} <= {0, 1, 22}


def test_daylight_saving_changes(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        Builder(ctx.session, ctx.now()).node_type("A100")
        # 2026-03-08 02:00 does not exist in New York; 2026-11-01 01:00-02:00 happens twice.
        spring = svc.suggest(
            ctx, "1h", local("2026-03-08 00:00"), local("2026-03-08 06:00"), between="01:00-04:00", count=50
        )
        walls = sorted(timeutil.to_local(c.start, SITE_TZ).format("HH:mm") for c in spring.candidates)
        assert walls == ["01:00", "01:15", "01:30", "01:45", "03:00", "03:15", "03:30", "03:45"]
        assert all(c.end - c.start == timedelta(hours=1) for c in spring.candidates)
        autumn = svc.suggest(
            ctx, "30m", local("2026-11-01 00:00"), local("2026-11-01 04:00"), between="01:00-02:00", count=50
        )
        assert len(autumn.candidates) == 8  # 01:00 .. 01:45, twice
        assert len({c.start for c in autumn.candidates}) == 8


def test_bad_input_names_the_field(runtime: Runtime) -> None:
    with runtime.read() as ctx:
        a, z = local("2026-03-01 00:00"), local("2026-03-02 00:00")
        cases = [
            (lambda: svc.suggest(ctx, "soon", a, z), "duration"),
            (lambda: svc.suggest(ctx, "1h", z, a), "to"),
            (lambda: svc.suggest(ctx, "1h", a, a + timedelta(days=200)), "to"),
            (lambda: svc.suggest(ctx, "1h", a, z, between="06:00"), "between"),
            (lambda: svc.suggest(ctx, "1h", a, z, weekdays="mon-funday"), "weekdays"),
            (lambda: svc.suggest(ctx, "1h", a, z, count=0), "count"),
            (lambda: svc.suggest(ctx, "1h", a, z, nodes=("nope",)), "node"),
            (lambda: svc.suggest(ctx, "1h", a, z, node_types=("nope",)), "node_type"),
        ]
        for call, field in cases:
            with pytest.raises((ValidationError, NotFoundError)) as info:
                call()
            assert info.value.field == field
        assert svc.parse_weekdays("fri-mon") == frozenset({4, 5, 6, 0})
        # A range in the past has no start left.
        past = svc.suggest(ctx, "1h", local("2026-02-01 00:00"), local("2026-02-02 00:00"))
        assert past.considered == 0 and past.candidates == ()


QUARTERS = st.integers(0, 4 * 24 * 2 - 1)  # quarter hours from Feb 16 00:00, two days


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reservations=st.lists(
        st.tuples(st.integers(0, 2), QUARTERS, st.integers(1, 80), st.booleans()), max_size=5
    ),
    windows=st.lists(st.tuples(st.integers(0, 2), QUARTERS, st.integers(1, 24)), max_size=2),
    length=st.integers(1, 16),
    count=st.integers(1, 6),
)
def test_property_ranking_is_the_preview_order(
    runtime: Runtime,
    reservations: list[tuple[int, int, int, bool]],
    windows: list[tuple[int, int, int]],
    length: int,
    count: int,
) -> None:
    """No returned candidate costs more than one it outranks; none left out costs less than the
    last returned; a fully free slot, when one exists, comes first."""
    origin = local("2026-02-16 00:00")

    def at(q: int) -> str:
        return timeutil.format_short(origin + timedelta(minutes=15 * q), SITE_TZ)

    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        n, (gen, cli) = list(made["nodes"].values()), made["projects"]  # type: ignore[attr-defined,misc]
        taken: dict[int, list[tuple[int, int]]] = {}
        for node, q, size, pending in reservations:
            spans = taken.setdefault(node, [])
            if any(q < e and q + size > s for s, e in spans):
                continue  # reservations on a node never overlap
            spans.append((q, q + size))
            status = "pending" if pending else "approved"
            b.reservation(n[node], gen if node % 2 else cli, at(q), at(q + size), status)
        for node, q, size in windows:
            b.window("w", at(q), at(q + size), nodes=(n[node],))
        duration = timedelta(minutes=15 * length)
        lo, hi = origin, origin + timedelta(days=2)
        found = svc.suggest(ctx, duration, lo, hi, count=count)
        keys = [(c.not_billed, c.hours, c.renters, c.start) for c in found.candidates]
        assert keys == sorted(keys)
        every = []
        s = lo
        while s + duration <= hi:
            preview = assess(ctx, s, s + duration, Scope())
            renters = len({line.project for line in preview.lines})
            every.append((preview.not_billed, preview.hours, renters, s))
            s += timedelta(minutes=15)
        assert found.considered == len(every)
        every.sort()
        assert keys == every[: len(keys)]
        free = [k for k in every if k[1] == 0]
        if free:
            assert found.candidates[0].free and found.candidates[0].start == free[0][3]
