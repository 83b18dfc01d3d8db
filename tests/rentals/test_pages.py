"""Paged project / SKU / subscription lists and overviews for the full-screen app (both back ends)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core.errors import PermissionDenied, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import rate_pages as rp
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.rentals import project_pages as pp
from nodedesk.core.services.rentals import projects, splits, subscriptions

from tests.helpers import runtime_as

TODAY = date(2026, 2, 15)


@pytest.fixture
def many(centre: Runtime) -> Runtime:
    """Genomics (fixture) plus: Climate with an approved split and a pending one, 'Zoo 50%_x'
    archived, and Astro with a split that only starts tomorrow."""
    with centre.write() as ctx:
        projects.add_project(ctx, "Climate", "ann", "Ensemble runs")
        splits.propose_split(
            ctx, "Climate", [("NIH-1", "60"), ("NSF-2", "40")], date(2026, 1, 1), approve=True
        )
        splits.propose_split(ctx, "Climate", [("NIH-1", "100")], date(2026, 3, 1))
        projects.add_project(ctx, "Zoo 50%_x", "pi")
        projects.archive_project(ctx, "Zoo 50%_x")
        projects.add_project(ctx, "astro", "bmgr")
        splits.propose_split(ctx, "astro", [("DOE-9", "100")], date(2026, 2, 16), approve=True)
    return centre


def page(runtime: Runtime, **kw: object) -> pp.ProjectPage:
    with runtime.read() as ctx:
        return pp.list_project_page(ctx, pp.ProjectQuery(**kw))  # type: ignore[arg-type]


def titles(p: pp.ProjectPage) -> list[str]:
    return [r.project.title for r in p.items]


def test_project_page_by_title_with_split_today_and_pending(many: Runtime) -> None:
    p = page(many)
    assert titles(p) == ["astro", "Climate", "Genomics", "Zoo 50%_x"]  # case-insensitive order
    assert p.total == 4 and p.on == TODAY
    rows = {r.project.title: r for r in p.items}
    climate = rows["Climate"]
    assert climate.split is not None and climate.split.label() == "NIH-1 60.00%, NSF-2 40.00%"
    assert climate.pending is not None and climate.pending.effective_date == date(2026, 3, 1)
    assert rows["astro"].split is None  # its first split starts tomorrow: UNALLOCATED today
    assert rows["Genomics"].split is None and rows["Genomics"].pending is None
    assert rows["Genomics"].member_count == 3  # pi, ann, fin
    # the split boundary: asked about tomorrow, astro has its split
    assert {r.project.title: r.split for r in page(many, on=date(2026, 2, 16)).items}["astro"] is not None


def test_project_page_is_paged_in_sql(many: Runtime) -> None:
    first = page(many, limit=3)
    second = page(many, limit=3, offset=3)
    assert titles(first) == ["astro", "Climate", "Genomics"] and first.total == 4
    assert titles(second) == ["Zoo 50%_x"] and second.total == 4


FILTERS: list[tuple[dict[str, object], list[str]]] = [
    ({"status": "active"}, ["astro", "Climate", "Genomics"]),
    ({"status": "archived"}, ["Zoo 50%_x"]),
    ({"status": "pending_split"}, ["Climate"]),
    ({"text": "ensemble"}, ["Climate"]),  # description
    ({"text": "PI"}, ["Genomics", "Zoo 50%_x"]),  # owner username
    ({"text": "fin"}, ["Genomics"]),  # a member
    ({"text": "nsf"}, ["Climate"]),  # a cost object
    ({"text": "50%_"}, ["Zoo 50%_x"]),  # LIKE wildcards are literal
    ({"text": "%"}, ["Zoo 50%_x"]),
    ({"text": "nothing here"}, []),
    ({"status": "active", "text": "ann"}, ["Climate", "Genomics"]),
]


def test_project_page_filters(many: Runtime) -> None:
    for kw, expected in FILTERS:
        p = page(many, **kw)
        assert (titles(p), p.total) == (expected, len(expected)), kw


def test_project_page_refuses_bad_arguments(many: Runtime) -> None:
    with pytest.raises(ValidationError, match="status"):
        page(many, status="gone")
    with pytest.raises(ValidationError, match="limit"):
        page(many, limit=0)


def test_project_overview(many: Runtime) -> None:
    with many.write() as ctx:
        subscriptions.add_subscription(ctx, "ann", "MAINT_STANDARD", "Climate", date(2026, 1, 1))
    with many.read() as ctx:
        o = pp.project_overview(ctx, projects.find_project(ctx, "Climate").id)
    assert o.project.title == "Climate" and o.today == TODAY
    assert o.split is not None and o.split.effective_date == date(2026, 1, 1)
    assert o.pending is not None and o.pending.status == "pending"
    assert [v.status for v in o.history] == ["pending", "approved"]
    assert [(s.user, s.current.sku) for s in o.subscriptions] == [("ann", "MAINT_STANDARD")]


def test_viewer_may_read_pages(many: Runtime) -> None:
    vic = runtime_as(many, "vic")
    assert page(vic).total == 4
    with vic.read() as ctx:
        assert rp.list_sku_page(ctx).total > 0


def test_unregistered_user_reads_nothing(many: Runtime) -> None:
    with pytest.raises(PermissionDenied):
        page(runtime_as(many, "stranger"))


# ---------------------------------------------------------------- SKUs


def skus(runtime: Runtime, **kw: object) -> rp.SkuPage:
    with runtime.read() as ctx:
        return rp.list_sku_page(ctx, rp.SkuQuery(**kw))  # type: ignore[arg-type]


def test_sku_page_hourly_first_with_rate_in_force(centre: Runtime) -> None:
    with centre.write() as ctx:
        rates.set_rate(ctx, "NODE_A100", "4.50", date(2025, 3, 1))
        rates.set_rate(ctx, "NODE_A100", "4.80", date(2026, 2, 16))
        rates.set_rate(ctx, "MAINT_STANDARD", "25", date(2026, 1, 1))
    p = skus(centre)
    codes = [s.code for s in p.items]
    assert codes[0] == "NODE_A100"
    assert set(codes[1:]) >= {"MAINT_STANDARD", "MAINT_ADVANCED"}
    assert all(s.kind == "monthly" for s in p.items[1:])
    assert p.total == len(codes)
    by_code = {s.code: s for s in p.items}
    assert by_code["NODE_A100"].rate is not None and by_code["NODE_A100"].rate.amount == Decimal("4.50")
    assert by_code["MAINT_STANDARD"].rate is not None and by_code["MAINT_STANDARD"].rate.amount == Decimal(25)
    assert by_code["MAINT_ADVANCED"].rate is None
    tomorrow = {s.code: s for s in skus(centre, on=date(2026, 2, 16)).items}
    assert tomorrow["NODE_A100"].rate.amount == Decimal("4.80")  # type: ignore[union-attr]


def test_sku_page_filters_and_paging(centre: Runtime) -> None:
    assert [s.code for s in skus(centre, kind="hourly").items] == ["NODE_A100"]
    assert [s.code for s in skus(centre, text="a100").items] == ["NODE_A100"]
    assert {s.code for s in skus(centre, text="maint").items} == {"MAINT_STANDARD", "MAINT_ADVANCED"}
    everything = skus(centre)
    first, rest = skus(centre, limit=2), skus(centre, limit=2, offset=2)
    assert [s.code for s in first.items + rest.items][:4] == [s.code for s in everything.items][:4]
    assert first.total == everything.total
    with pytest.raises(ValidationError, match="kind"):
        skus(centre, kind="weekly")


def test_sku_overview_history_and_next_rate(centre: Runtime) -> None:
    with centre.write() as ctx:
        rates.set_rate(ctx, "NODE_A100", "4.50", date(2025, 3, 1))
        wrong = rates.set_rate(ctx, "NODE_A100", "9.99", date(2026, 3, 1))
        fixed = rates.set_rate(ctx, "NODE_A100", "4.80", date(2026, 3, 1), "typo")
    with centre.read() as ctx:
        o = rp.sku_overview(ctx, "node_a100")
    assert o.sku.rate is not None and o.sku.rate.amount == Decimal("4.50")
    assert [r.amount for r in o.history] == [Decimal("4.80"), Decimal("9.99"), Decimal("4.50")]
    assert o.history[1].id == wrong.id and o.history[1].superseded_by == fixed.id
    nxt = o.next_rate()
    assert nxt is not None and nxt.id == fixed.id
    assert o.subscribers == 0


# ---------------------------------------------------------------- subscriptions


def subs(runtime: Runtime, **kw: object) -> rp.SubscriptionPage:
    with runtime.read() as ctx:
        return rp.list_subscription_page(ctx, rp.SubscriptionQuery(**kw))  # type: ignore[arg-type]


def test_subscription_page_status_text_and_paging(centre: Runtime) -> None:
    with centre.write() as ctx:
        ended = subscriptions.add_subscription(
            ctx, "ann", "MAINT_STANDARD", "Genomics", date(2026, 1, 1), date(2026, 2, 14)
        )
        active = subscriptions.add_subscription(
            ctx, "ann", "QOS_PRIORITY", "Genomics", date(2026, 2, 15), date(2026, 2, 15)
        )
        upcoming = subscriptions.add_subscription(ctx, "pi", "MAINT_ADVANCED", "Genomics", date(2026, 2, 16))
    assert [s.id for s in subs(centre).items] == [upcoming.id, active.id, ended.id]  # newest first
    for status, sub in (("upcoming", upcoming), ("active", active), ("ended", ended)):
        p = subs(centre, status=status)
        assert [s.id for s in p.items] == [sub.id] and p.total == 1
        assert p.items[0].status == status  # the SQL filter agrees with the view's status
    assert [s.id for s in subs(centre, text="ANN").items] == [active.id, ended.id]
    assert [s.id for s in subs(centre, text="qos_").items] == [active.id]
    assert [s.id for s in subs(centre, text="genom").items] == [upcoming.id, active.id, ended.id]
    p = subs(centre, limit=2, offset=2)
    assert [s.id for s in p.items] == [ended.id] and p.total == 3
    with pytest.raises(ValidationError, match="status"):
        subs(centre, status="paused")
    with centre.read() as ctx:
        assert rp.sku_overview(ctx, "MAINT_ADVANCED").subscribers == 1
        assert rp.sku_overview(ctx, "MAINT_STANDARD").subscribers == 0  # ended yesterday
