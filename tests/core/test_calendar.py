"""The calendar service on both back ends: ranges, per-day bucketing in the site timezone (DST
days included), node and node-type filters, open outages, reservation statuses, and a query
count that does not grow with the range or the number of events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from nodedesk.core.errors import NotFoundError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, reservations
from nodedesk.core.services.views import calendar as cal
from sqlalchemy import event

from tests.helpers import local


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    """Types A100 (n1, n2) and H100 (h1); projects Climate and Genomics."""
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node_type(ctx, "H100", "GPU")
        for name, nt in (("n1", "A100"), ("n2", "A100"), ("h1", "H100")):
            inventory.add_node(ctx, name, nt)
        projects.add_project(ctx, "Climate", "admin")
        projects.add_project(ctx, "Genomics", "admin")
    return runtime


def window(rt: Runtime, title: str, start: str, end: str, nodes=(), types=()) -> int:  # type: ignore[no-untyped-def]
    with rt.write() as ctx:
        draft = win.WindowDraft(title, local(start), local(end), scope=win.Scope(tuple(nodes), tuple(types)))
        reason = "history" if local(start) < ctx.now() else ""
        return win.create_window(ctx, draft, reason=reason).window.id


def outage(rt: Runtime, title: str, nodes: tuple[str, ...], start: str, end: str | None = None, **kw) -> int:  # type: ignore[no-untyped-def]
    with rt.write() as ctx:
        draft = outages.OutageDraft(title, nodes, local(start), local(end) if end else None, **kw)
        return outages.create_outage(ctx, draft).outage.id


def reservation(
    rt: Runtime, node: str, project: str, start_date: str, blocks: int, approve: bool = True
) -> int:
    with rt.write() as ctx:
        draft = reservations.ReservationDraft(node, project, date.fromisoformat(start_date), blocks)
        return reservations.record_reservation(ctx, draft, approve=approve, waive_policy=True).reservation.id


def load(rt: Runtime, first: str, last: str, **kw) -> cal.CalendarRange:  # type: ignore[no-untyped-def]
    flt = cal.CalendarFilter(kw.pop("node", None), kw.pop("node_type", None))
    with rt.read() as ctx:
        return cal.calendar(ctx, date.fromisoformat(first), date.fromisoformat(last), flt, **kw)


def on(span: cal.CalendarRange, day: str) -> list[str]:
    found = span.day(date.fromisoformat(day))
    assert found is not None
    return [f"{e.kind}:{e.title}" for e in found.events]


def days_of(span: cal.CalendarRange, key: str) -> list[str]:
    return [d.day.isoformat() for d in span.days if any(e.key == key for e in d.events)]


# ---------------------------------------------------------------- ranges (pure)


def test_week_and_month_grid_ranges() -> None:
    assert cal.week_of(date(2026, 2, 15)) == (date(2026, 2, 9), date(2026, 2, 15))  # a Sunday
    assert cal.week_of(date(2026, 2, 16)) == (date(2026, 2, 16), date(2026, 2, 22))
    assert cal.month_grid(2026, 2) == (date(2026, 1, 26), date(2026, 3, 1))  # Feb 1 is a Sunday
    assert cal.month_grid(2026, 11) == (date(2026, 10, 26), date(2026, 12, 6))  # six weeks
    assert cal.month_grid(2021, 2) == (date(2021, 2, 1), date(2021, 2, 28))  # exactly four
    assert cal.month_grid(2026, 12)[1] == date(2027, 1, 3)


# ---------------------------------------------------------------- bucketing


def test_events_are_bucketed_per_site_local_day(rt: Runtime) -> None:
    evening = window(rt, "Evening swap", "2026-02-16 20:00", "2026-02-17 02:00")  # UTC: all on the 17th
    to_midnight = window(rt, "To midnight", "2026-02-18 08:00", "2026-02-19 00:00")
    long = window(rt, "Long", "2026-02-20 12:00", "2026-02-23 06:00")
    span = load(rt, "2026-02-16", "2026-02-22")
    assert days_of(span, f"window:{evening}") == ["2026-02-16", "2026-02-17"]
    assert days_of(span, f"window:{to_midnight}") == ["2026-02-18"]  # half-open: not on the 19th
    assert days_of(span, f"window:{long}") == ["2026-02-20", "2026-02-21", "2026-02-22"]  # clipped
    assert [e.key for e in span.events] == [f"window:{i}" for i in (evening, to_midnight, long)]
    assert span.day(date(2026, 2, 15)) is None and span.day(date(2026, 2, 23)) is None
    assert span.day(date(2026, 2, 16)).counts() == {"outage": 0, "window": 1, "reservation": 0}  # type: ignore[union-attr]


def test_dst_days_have_their_real_length(rt: Runtime) -> None:
    spring = window(rt, "Spring day", "2026-03-08 00:00", "2026-03-09 00:00")
    autumn = window(rt, "Autumn night", "2026-11-01 23:30", "2026-11-02 00:30")
    march = load(rt, "2026-03-07", "2026-03-09")
    assert [d.hours for d in march.days] == [24, 23, 24]
    assert days_of(march, f"window:{spring}") == ["2026-03-08"]
    nov = load(rt, "2026-10-31", "2026-11-02")
    assert [d.hours for d in nov.days] == [24, 25, 24]
    assert days_of(nov, f"window:{autumn}") == ["2026-11-01", "2026-11-02"]
    first = nov.day(date(2026, 11, 1))
    assert first is not None and first.start == local("2026-11-01 00:00") and first.end == local("2026-11-02")


def test_reservations_across_a_dst_night(rt: Runtime) -> None:
    rid = reservation(rt, "n1", "Climate", "2026-10-31", 2)  # 16:00 → Nov 1 09:00 (18 h elapsed)
    span = load(rt, "2026-10-26", "2026-11-08")
    assert days_of(span, f"reservation:{rid}") == ["2026-10-31", "2026-11-01"]
    r = next(e for e in span.events if e.kind == "reservation")
    assert r.title == "Climate" and r.project == "Climate" and r.nodes == ("n1",) and r.where() == "n1"
    assert r.status == "approved" and (r.until - r.start) == timedelta(hours=18)


def test_each_day_lists_outages_then_windows_then_reservations(rt: Runtime) -> None:
    reservation(rt, "n1", "Climate", "2026-02-14", 2)  # Feb 14 16:00 → Feb 15 09:00
    window(rt, "Patch", "2026-02-15 12:00", "2026-02-15 13:00")
    window(rt, "Early", "2026-02-15 01:00", "2026-02-15 02:00")
    outage(rt, "PSU", ("n2",), "2026-02-15 09:30")
    span = load(rt, "2026-02-15", "2026-02-15")
    assert on(span, "2026-02-15") == ["outage:PSU", "window:Early", "window:Patch", "reservation:Climate"]


# ---------------------------------------------------------------- filters


def test_node_and_node_type_filters(rt: Runtime) -> None:
    window(rt, "everywhere", "2026-02-20 08:00", "2026-02-20 09:00")
    window(rt, "on n1", "2026-02-20 09:00", "2026-02-20 10:00", nodes=("n1",))
    window(rt, "on A100", "2026-02-20 10:00", "2026-02-20 11:00", types=("A100",))
    window(rt, "on h1", "2026-02-20 11:00", "2026-02-20 12:00", nodes=("h1",))
    window(rt, "on H100", "2026-02-20 12:00", "2026-02-20 13:00", types=("H100",))
    outage(rt, "n1 and h1 down", ("n1", "h1"), "2026-02-14 08:00", "2026-02-14 09:00")
    outage(rt, "n2 down", ("n2",), "2026-02-14 10:00", "2026-02-14 11:00")
    reservation(rt, "n1", "Climate", "2026-02-20", 1)
    reservation(rt, "h1", "Genomics", "2026-02-20", 1)

    def titles(**kw: str) -> list[str]:
        return [e.title for e in load(rt, "2026-02-14", "2026-02-20", **kw).events]

    everything = titles()
    assert len(everything) == 9
    assert titles(node="n1") == ["n1 and h1 down", "everywhere", "on n1", "on A100", "Climate"]
    assert titles(node="n2") == ["n2 down", "everywhere", "on A100"]
    # A type matches windows naming it or naming one of its nodes, and its nodes' outages.
    assert titles(node_type="A100") == [
        "n1 and h1 down",
        "n2 down",
        "everywhere",
        "on n1",
        "on A100",
        "Climate",
    ]
    assert titles(node_type="H100") == ["n1 and h1 down", "everywhere", "on h1", "on H100", "Genomics"]
    with rt.read() as ctx:
        flt = cal.CalendarFilter(node_type="H100")
        assert cal.calendar(ctx, date(2026, 2, 20), date(2026, 2, 20), flt).filter.label() == "node type H100"
    w = next(e for e in load(rt, "2026-02-20", "2026-02-20").events if e.title == "on A100")
    assert w.where() == "A100" and w.node_types == ("A100",) and not w.all_nodes


def test_filter_refusals(rt: Runtime) -> None:
    with pytest.raises(NotFoundError) as err:
        load(rt, "2026-02-01", "2026-02-28", node="nope")
    assert err.value.field == "node"
    with pytest.raises(NotFoundError) as err:
        load(rt, "2026-02-01", "2026-02-28", node_type="V100")
    assert err.value.field == "node_type"
    with pytest.raises(ValidationError) as err:
        load(rt, "2026-02-01", "2026-02-28", node="n1", node_type="A100")
    assert err.value.field == "node_type"
    with pytest.raises(ValidationError) as err:
        load(rt, "2026-02-10", "2026-02-09")
    assert err.value.field == "last"
    with pytest.raises(ValidationError):
        load(rt, "2026-01-01", "2027-06-01")
    with pytest.raises(ValidationError) as err:
        load(rt, "2026-02-01", "2026-02-02", kinds=("meeting",))
    assert err.value.field == "kinds"


# ---------------------------------------------------------------- statuses


def test_window_status_follows_the_clock(rt: Runtime) -> None:
    window(rt, "done", "2026-02-14 08:00", "2026-02-14 09:00")
    window(rt, "now", "2026-02-15 08:00", "2026-02-15 12:00")
    window(rt, "later", "2026-02-16 08:00", "2026-02-16 09:00")
    span = load(rt, "2026-02-14", "2026-02-16")
    assert [(e.title, e.status) for e in span.events] == [
        ("done", "completed"),
        ("now", "in_progress"),
        ("later", "upcoming"),
    ]


def test_open_outages_reach_now_or_their_etr(rt: Runtime) -> None:
    plain = outage(rt, "open", ("n1",), "2026-02-13 06:00")
    with_etr = outage(
        rt, "etr", ("n2",), "2026-02-14 06:00", etr=local("2026-02-17 12:00"), status="identified"
    )
    overdue = outage(rt, "overdue", ("h1",), "2026-02-12 06:00", etr=local("2026-02-13 12:00"))
    done = outage(rt, "done", ("n1",), "2026-02-10 22:00", "2026-02-11 02:00")
    span = load(rt, "2026-02-09", "2026-02-22")
    assert days_of(span, f"outage:{plain}") == ["2026-02-13", "2026-02-14", "2026-02-15"]  # up to now
    assert days_of(span, f"outage:{with_etr}") == ["2026-02-14", "2026-02-15", "2026-02-16", "2026-02-17"]
    assert days_of(span, f"outage:{overdue}") == ["2026-02-12", "2026-02-13", "2026-02-14", "2026-02-15"]
    assert days_of(span, f"outage:{done}") == ["2026-02-10", "2026-02-11"]
    by_id = {e.id: e for e in span.events}
    assert by_id[with_etr].open and by_id[with_etr].status == "identified" and by_id[with_etr].end is None
    assert not by_id[done].open and by_id[done].status == "resolved"
    # Next week: only the outage whose ETR reaches into it.
    assert [e.id for e in load(rt, "2026-02-16", "2026-02-22").events] == [with_etr]


def test_reservations_shown_are_the_ones_holding_their_node(rt: Runtime) -> None:
    approved = reservation(rt, "n1", "Climate", "2026-02-20", 2)
    pending = reservation(rt, "n2", "Genomics", "2026-02-20", 2, approve=False)
    cancelled = reservation(rt, "h1", "Climate", "2026-02-20", 2)
    with rt.write() as ctx:
        reservations.cancel_reservation(ctx, cancelled, reason="plans changed")
    shown = load(rt, "2026-02-16", "2026-02-22")
    assert [(e.id, e.status) for e in shown.events] == [(approved, "approved"), (pending, "pending")]
    everything = load(rt, "2026-02-16", "2026-02-22", include_inactive=True)
    assert {e.id for e in everything.events} == {approved, pending, cancelled}
    only = load(rt, "2026-02-16", "2026-02-22", kinds=("window", "outage"))
    assert only.events == ()


def test_json_shape(rt: Runtime) -> None:
    outage(rt, "PSU", ("n2", "n1"), "2026-02-15 09:30")
    doc = load(rt, "2026-02-15", "2026-02-16").to_json()
    assert doc["first"] == "2026-02-15" and doc["timezone"] == "America/New_York"
    (ev,) = doc["events"]  # type: ignore[misc]
    assert ev["kind"] == "outage" and ev["open"] is True and ev["end"] is None
    assert ev["start"] == "2026-02-15T09:30:00-05:00" and ev["until"] == "2026-02-15T10:00:00-05:00"
    assert ev["where"] == "n1, n2"
    assert [d["events"] for d in doc["days"]] == [[f"outage:{ev['id']}"], []]  # type: ignore[index]


# ---------------------------------------------------------------- query count


class QueryCounter:
    def __init__(self, runtime: Runtime) -> None:
        self.engine = runtime.database.engine
        self.count = 0

    def _hit(self, *args: object) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hit)


def _queries(rt: Runtime, first: str, last: str, **kw: str) -> tuple[int, int]:
    with rt.read() as ctx, QueryCounter(rt) as counter:
        flt = cal.CalendarFilter(kw.get("node"), kw.get("node_type"))
        span = cal.calendar(ctx, date.fromisoformat(first), date.fromisoformat(last), flt)
    return counter.count, sum(len(d.events) for d in span.days)


def test_the_number_of_queries_does_not_grow_with_days_or_events(rt: Runtime) -> None:
    window(rt, "one", "2026-02-16 08:00", "2026-02-16 09:00", nodes=("n1",), types=("H100",))
    outage(rt, "one", ("n1",), "2026-02-14 06:00", "2026-02-14 07:00")
    reservation(rt, "n1", "Climate", "2026-02-20", 1)
    small, small_events = _queries(rt, "2026-02-14", "2026-02-20")  # one of each kind
    for day in range(1, 28, 2):
        window(
            rt,
            f"w{day}",
            f"2026-03-{day:02d} 08:00",
            f"2026-03-{day + 1:02d} 09:00",
            nodes=("n2",),
            types=("A100",),
        )
        reservation(rt, "h1", "Genomics", f"2026-03-{day:02d}", 2)
        if day < 14:
            outage(rt, f"o{day}", ("n2", "h1"), f"2026-02-{day:02d} 01:00", f"2026-02-{day:02d} 03:00")
    big, big_events = _queries(rt, "2026-01-26", "2026-03-29")
    assert big_events > small_events + 50
    assert big == small, (small, big)
    assert small <= 8
    assert _queries(rt, "2026-01-26", "2026-03-29", node_type="A100")[0] == small + 1  # + the type lookup


# ---------------------------------------------------------------- the week as an hour grid


def week(rt: Runtime, day: str, **kw) -> cal.CalendarWeek:  # type: ignore[no-untyped-def]
    flt = cal.CalendarFilter(kw.pop("node", None), kw.pop("node_type", None))
    with rt.read() as ctx:
        return cal.calendar_week(ctx, date.fromisoformat(day), flt, **kw)


def hours_of(grid: cal.CalendarWeek, day: str, key: str) -> list[tuple[int, int]]:
    return [s.row for s in grid.slots(date.fromisoformat(day)) if any(e.key == key for e in s.events)]


def test_the_week_grid_puts_each_event_in_the_hours_it_overlaps(rt: Runtime) -> None:
    patch = window(rt, "Patch", "2026-02-17 08:00", "2026-02-17 10:30", nodes=("n1",))
    psu = outage(rt, "PSU", ("h1",), "2026-02-11 23:15", "2026-02-12 01:00")  # the week before
    rid = reservation(rt, "n2", "Climate", "2026-02-20", 1)  # Fri 16:00 → Sat 04:00
    grid = week(rt, "2026-02-19")  # a Thursday: the week of Mon 16 → Sun 22
    assert (grid.first, grid.span.last) == (date(2026, 2, 16), date(2026, 2, 22))
    assert grid.rows == tuple((h, 0) for h in range(24))
    assert all(len(grid.slots(d)) == 24 for d in cal.days_between(grid.first, grid.span.last))
    assert hours_of(grid, "2026-02-17", f"window:{patch}") == [(8, 0), (9, 0), (10, 0)]
    before = week(rt, "2026-02-15")  # a Sunday: Mon 9 → Sun 15
    assert hours_of(before, "2026-02-11", f"outage:{psu}") == [(23, 0)]
    assert hours_of(before, "2026-02-12", f"outage:{psu}") == [(0, 0)]  # half-open: not at 01:00
    assert hours_of(grid, "2026-02-20", f"reservation:{rid}") == [(h, 0) for h in range(16, 24)]
    assert hours_of(grid, "2026-02-21", f"reservation:{rid}") == [(h, 0) for h in range(4)]
    eight = grid.slot(date(2026, 2, 17), (8, 0))
    assert eight is not None
    assert (eight.start, eight.end) == (local("2026-02-17 08:00"), local("2026-02-17 09:00"))
    assert [e.key for e in eight.starting()] == [f"window:{patch}"]
    nine = grid.slot(date(2026, 2, 17), (9, 0))
    assert nine is not None and nine.starting() == () and [e.key for e in nine.events] == [f"window:{patch}"]
    assert grid.slot(date(2026, 2, 23), (8, 0)) is None and grid.slots(date(2026, 2, 15)) == ()


def test_an_hour_lists_downtime_first_and_the_filter_applies(rt: Runtime) -> None:
    reservation(rt, "n1", "Climate", "2026-02-12", 1)  # Thu 16:00 → Fri 04:00
    window(rt, "Swap", "2026-02-12 18:00", "2026-02-12 20:00", nodes=("n1",))
    outage(rt, "Fan", ("n1",), "2026-02-12 18:30", "2026-02-12 19:00")
    outage(rt, "Other", ("h1",), "2026-02-12 18:00", "2026-02-12 19:00")
    slot = week(rt, "2026-02-12").slot(date(2026, 2, 12), (18, 0))
    assert slot is not None
    assert [f"{e.kind}:{e.title}" for e in slot.events] == [
        "outage:Other",
        "outage:Fan",
        "window:Swap",
        "reservation:Climate",
    ]
    only = week(rt, "2026-02-12", node="n1").slot(date(2026, 2, 12), (18, 0))
    assert only is not None and [e.title for e in only.events] == ["Fan", "Swap", "Climate"]


def test_dst_weeks_have_the_hours_of_site_time(rt: Runtime) -> None:
    # Spring: Sun 2026-03-08 has no 02:00 (01:59 EST is followed by 03:00 EDT).
    spring = window(rt, "Night work", "2026-03-08 01:00", "2026-03-08 04:00")
    march = week(rt, "2026-03-08")
    assert march.rows == tuple((h, 0) for h in range(24))  # the other days have their 02:00
    sunday = march.slots(date(2026, 3, 8))
    assert [s.hour for s in sunday] == [0, 1, *range(3, 24)] and len(sunday) == 23
    assert march.slot(date(2026, 3, 8), (2, 0)) is None
    assert march.slot(date(2026, 3, 7), (2, 0)) is not None
    assert hours_of(march, "2026-03-08", f"window:{spring}") == [(1, 0), (3, 0)]  # two real hours
    three = march.slot(date(2026, 3, 8), (3, 0))
    assert three is not None
    assert three.start == local("2026-03-08 03:00") == local("2026-03-08 01:00") + timedelta(hours=1)
    assert not march.repeated(1)
    # Autumn: Sun 2026-11-01 has 01:00 twice (EDT, then EST); the week shows a second 01:00 row.
    twice = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second pass
    with rt.write() as ctx:
        draft = win.WindowDraft("Chiller", twice, twice + timedelta(hours=1))
        wid = win.create_window(ctx, draft).window.id
    nov = week(rt, "2026-11-01")
    assert nov.first == date(2026, 10, 26)
    assert nov.rows == ((0, 0), (1, 0), (1, 1), *((h, 0) for h in range(2, 24)))
    assert nov.repeated(1) and not nov.repeated(2)
    sunday = nov.slots(date(2026, 11, 1))
    assert len(sunday) == 25 and [s.row for s in sunday][:4] == [(0, 0), (1, 0), (1, 1), (2, 0)]
    first, second = nov.slot(date(2026, 11, 1), (1, 0)), nov.slot(date(2026, 11, 1), (1, 1))
    assert first is not None and second is not None
    assert first.start == datetime(2026, 11, 1, 5, 0, tzinfo=UTC) and second.start == first.end
    assert nov.slot(date(2026, 10, 31), (1, 1)) is None  # Saturday has one 01:00
    assert hours_of(nov, "2026-11-01", f"window:{wid}") == [(1, 1), (2, 0)]
    assert sum((s.end - s.start for s in sunday), timedelta()) == timedelta(hours=25)


def test_the_week_grid_costs_the_same_queries_as_the_week(rt: Runtime) -> None:
    window(rt, "one", "2026-02-16 08:00", "2026-02-16 09:00", nodes=("n1",))
    reservation(rt, "n1", "Climate", "2026-02-20", 1)
    plain, _ = _queries(rt, "2026-02-16", "2026-02-22")
    with rt.read() as ctx, QueryCounter(rt) as counter:
        cal.calendar_week(ctx, date(2026, 2, 18))
    assert counter.count == plain
    with pytest.raises(NotFoundError):
        week(rt, "2026-02-18", node="nope")
