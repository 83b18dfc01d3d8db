"""One list of windows and outages (core/services/downtime_list.py, help/downtime.md), on both
back ends. Clock: 2026-02-15 10:00 New York."""

from __future__ import annotations

from dataclasses import replace

import pytest
from nodedesk.core.errors import NotFoundError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import downtime_list as dl

from tests.billing.factory import Builder
from tests.centre.support import queries
from tests.helpers import SITE_TZ, local


def _centre(runtime: Runtime) -> dict[str, int]:
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("alice")
        gen, cli = b.project("Genomics", "alice"), b.project("Climate", "alice")
        n1, n2, n3 = b.node("n1"), b.node("n2"), b.node("n3")
        h1 = b.node("h1", "H100")
        b.reservation(n1, gen, "2026-02-14 16:00", "2026-02-16 09:00")
        b.reservation(n2, cli, "2026-02-20 16:00", "2026-02-21 09:00", status="pending")
        b.reservation(h1, cli, "2026-02-20 16:00", "2026-02-21 09:00", status="cancelled")  # not counted
        ids = {
            "past": b.outage("PSU", "2026-02-10 06:00", "2026-02-10 09:00", nodes=(n1,)).id,
            "all": b.window("Kernel patch", "2026-02-21 06:00", "2026-02-21 08:00").id,
            "typed": b.window(
                "H100 firmware", "2026-02-21 06:00", "2026-02-21 08:00", types=(b.node_type("H100"),)
            ).id,
            "now": b.window("Cooling", "2026-02-15 08:00", "2026-02-15 12:00", nodes=(n1, n3)).id,
        }
        o = b.outage("Fan", "2026-02-15 06:00", None, nodes=(n2,), credit=False)
        o.etr = local("2026-02-21 08:00")
        ids["open"] = o.id
        b.s.flush()
    return ids


def test_rows_in_start_order_with_nodes_status_and_renters(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.read() as ctx:
        page = dl.list_downtime(ctx)
    got = [(r.kind, r.id, r.phase, r.status) for r in page.items]
    assert got == [
        ("outage", ids["past"], "past", "resolved"),
        ("outage", ids["open"], "now", "investigating"),
        ("window", ids["now"], "now", "in_progress"),
        ("window", ids["all"], "upcoming", "upcoming"),
        ("window", ids["typed"], "upcoming", "upcoming"),
    ]
    rows = {(r.kind, r.id): r for r in page.items}
    everyone = rows[("window", ids["all"])]
    assert (everyone.scope_label, everyone.node_count, everyone.nodes) == ("all nodes (4)", 4, ())
    assert everyone.renters == ("Climate",) and everyone.reservations == 1  # n2's pending booking
    cooling = rows[("window", ids["now"])]
    assert (cooling.nodes, cooling.renters) == (("n1", "n3"), ("Genomics",))
    typed = rows[("window", ids["typed"])]
    assert (typed.scope_label, typed.renters) == ("H100 (1 node)", ())  # the cancelled booking does not count
    fan = rows[("outage", ids["open"])]
    assert fan.end is None and fan.until == local("2026-02-21 08:00") and not fan.credit
    assert fan.end_text(SITE_TZ) == "ETR 2026-02-21 08:00" and fan.renters == ("Climate",)
    assert rows[("outage", ids["past"])].renters == ()  # n1's booking started later
    doc = fan.to_json(SITE_TZ)
    assert doc["until"] == "2026-02-21T08:00:00-05:00" and doc["phase"] == "now" and doc["end"] is None
    assert page.total == 5 and not page.more and page.next_key is None


def test_filters(runtime: Runtime) -> None:
    ids = _centre(runtime)
    q = dl.DowntimeQuery
    with runtime.read() as ctx:

        def keys(**kw: object) -> list[tuple[str, int]]:
            return [(r.kind, r.id) for r in dl.list_downtime(ctx, q(**kw)).items]  # type: ignore[arg-type]

        assert keys(kind="outage") == [("outage", ids["past"]), ("outage", ids["open"])]
        assert keys(phase="upcoming") == [("window", ids["all"]), ("window", ids["typed"])]
        assert keys(phase="now") == [("outage", ids["open"]), ("window", ids["now"])]
        assert keys(phase="past") == [("outage", ids["past"])]
        assert keys(node="h1") == [("window", ids["all"]), ("window", ids["typed"])]  # all nodes, by type
        assert keys(node="n2") == [("outage", ids["open"]), ("window", ids["all"])]
        assert keys(text="COOL") == [("window", ids["now"])]
        assert keys(start_from=local("2026-02-16 00:00"), end_before=local("2026-02-22 00:00")) == [
            ("outage", ids["open"]),
            ("window", ids["all"]),
            ("window", ids["typed"]),
        ]
        assert keys(descending=True)[0] == ("window", ids["typed"])
        with pytest.raises(NotFoundError, match="node: no node named 'zz'"):
            keys(node="zz")
        with pytest.raises(ValidationError, match="phase: must be one of upcoming, now, past"):
            keys(phase="soon")
        with pytest.raises(ValidationError, match="limit: must be between 1 and 1000"):
            keys(limit=0)
        assert dl.get_downtime(ctx, "window", ids["all"]).title == "Kernel patch"
        with pytest.raises(NotFoundError, match="id: no outage #99"):
            dl.get_downtime(ctx, "outage", 99)


@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_equal_offset_pages(runtime: Runtime, descending: bool) -> None:
    _centre(runtime)
    with runtime.read() as ctx:
        whole = [r.key for r in dl.list_downtime(ctx, dl.DowntimeQuery(descending=descending)).items]
        by_offset = [
            r.key
            for off in range(0, 5, 2)
            for r in dl.list_downtime(ctx, dl.DowntimeQuery(descending=descending, offset=off, limit=2)).items
        ]
        by_key, q = [], dl.DowntimeQuery(descending=descending, limit=2)
        while True:
            page = dl.list_downtime(ctx, q)
            by_key += [r.key for r in page.items]
            if page.next_key is None:
                break
            assert dl.DowntimeKey.parse(page.next_key.token()) == page.next_key
            q = replace(q, after=page.next_key)
        assert whole == by_offset == by_key and len(whole) == 5
        assert [r.key for r in dl.page_all(ctx, dl.DowntimeQuery(descending=descending), size=2)] == whole
        after_first = dl.DowntimeQuery(descending=descending, after=whole[0])
        assert [r.key for r in dl.page_all(ctx, after_first, size=2)] == whole[1:]
    with pytest.raises(
        ValidationError, match=r"after: must be a key printed by an earlier page \(START\|KIND\|ID\)"
    ):
        dl.DowntimeKey.parse("yesterday|window|1")


def test_a_fixed_number_of_queries(runtime: Runtime) -> None:
    _centre(runtime)

    def count() -> int:
        return queries(runtime, dl.list_downtime)

    before = count()
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        n = b.node("x1")
        for i in range(10):
            b.window(f"w{i}", f"2026-02-{16 + i} 06:00", f"2026-02-{16 + i} 07:00", nodes=(n,))
            b.outage(f"o{i}", "2026-02-11 06:00", "2026-02-11 07:00", nodes=(n,))
    assert count() == before
