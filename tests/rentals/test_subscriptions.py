"""Fee subscriptions: membership rule, period history that is never rewritten, finalized months."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core.errors import (
    ConflictError,
    LockedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from nodedesk.core.models import FeeSubscriptionPeriod
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import projects, subscriptions
from sqlalchemy import select

from tests.helpers import runtime_as
from tests.rentals.projects_helpers import audit_seq, finalize_month, last_entry

TZ = "America/New_York"


def add(
    runtime: Runtime,
    user: str = "ann",
    sku: str = "MAINT_STANDARD",
    project: str = "Genomics",
    start=date(2026, 2, 1),
    end=None,
):  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        return subscriptions.add_subscription(ctx, user, sku, project, start, end)


def period_rows(runtime: Runtime, sub_id: int) -> list[dict[str, object]]:
    with runtime.read() as ctx:
        rows = ctx.session.scalars(
            select(FeeSubscriptionPeriod)
            .where(FeeSubscriptionPeriod.subscription_id == sub_id)
            .order_by(FeeSubscriptionPeriod.start_date)
        )
        return [
            {
                "id": p.id,
                "sku": p.sku.code,
                "project": p.project.title,
                "start": p.start_date,
                "end": p.end_date,
                "created_by": p.created_by,
                "created_at": p.created_at,
                "closed_by": p.closed_by,
            }
            for p in rows
        ]


# ---------------------------------------------------------------- membership rule


@pytest.mark.parametrize(("user", "role"), [("pi", "owner"), ("ann", "member"), ("fin", "technical_admin")])
def test_owner_member_or_technical_admin_may_subscribe(centre: Runtime, user: str, role: str) -> None:
    if role == "technical_admin":
        with centre.write() as ctx:
            projects.add_member(ctx, "Genomics", user, role)
    sub = add(centre, user=user)
    assert (sub.user, sub.current.project, sub.status) == (user, "Genomics", "active")


def test_financial_admin_only_is_refused(centre: Runtime) -> None:
    seq = audit_seq(centre)
    with pytest.raises(ValidationError, match="fin is only financial_admin on 'Genomics'"):
        add(centre, user="fin")
    with pytest.raises(ValidationError, match="vic is not a member"):
        add(centre, user="vic")
    assert audit_seq(centre) == seq  # refused: nothing written
    with centre.read() as ctx:
        assert subscriptions.list_subscriptions(ctx) == []


def test_other_refusals(centre: Runtime) -> None:
    with pytest.raises(ValidationError, match="hourly SKU"):
        add(centre, sku="NODE_A100")
    with pytest.raises(NotFoundError, match="no SKU"):
        add(centre, sku="GOLD")
    with pytest.raises(ValidationError, match="end: must be on or after the start"):
        add(centre, start=date(2026, 3, 1), end=date(2026, 2, 28))
    with pytest.raises(NotFoundError, match="no project titled"):
        add(centre, project="Nope")
    with pytest.raises(PermissionDenied, match="may not manage fee subscriptions"):
        add(runtime_as(centre, "ratemgr"))
    add(runtime_as(centre, "bmgr"), start=date(2026, 2, 1), end=date(2026, 2, 1))  # one day is fine


def test_no_overlapping_same_sku_or_two_maintenance_fees(centre: Runtime) -> None:
    first = add(centre, start=date(2026, 1, 1), end=date(2026, 3, 31))
    with pytest.raises(ConflictError, match=f"subscription #{first.id}"):
        add(centre, start=date(2026, 3, 31))
    with pytest.raises(ConflictError, match="one account maintenance fee at a time"):
        add(centre, sku="MAINT_ADVANCED", start=date(2026, 2, 1))
    add(centre, sku="QOS_PRIORITY", start=date(2026, 2, 1))  # add-ons stack
    add(centre, sku="MAINT_ADVANCED", start=date(2026, 4, 1))  # touching, not overlapping


# ---------------------------------------------------------------- history


def test_end_closes_current_period(centre: Runtime) -> None:
    sub = add(centre, start=date(2026, 1, 1))
    with runtime_as(centre, "bmgr").write() as ctx:
        ended = subscriptions.end_subscription(ctx, sub.id, date(2026, 2, 28))
    assert ended.end_date == date(2026, 2, 28)
    assert ended.version == sub.version + 1
    assert ended.status == "active"  # today is 2026-02-15
    rows = period_rows(centre, sub.id)
    assert len(rows) == 1
    assert (rows[0]["start"], rows[0]["end"], rows[0]["closed_by"]) == (
        date(2026, 1, 1),
        date(2026, 2, 28),
        "bmgr",
    )
    entry = last_entry(centre)
    assert entry["action"] == "subscription.ended"
    assert entry["before"]["periods"][0]["end_date"] is None
    assert entry["after"]["periods"][0]["end_date"] == "2026-02-28"
    with pytest.raises(LockedError, match="ended on 2026-02-28"), centre.write() as ctx:
        subscriptions.end_subscription(ctx, sub.id, date(2026, 2, 20))


def test_end_date_rules(centre: Runtime) -> None:
    sub = add(centre, start=date(2026, 2, 1), end=date(2026, 6, 30))
    with centre.write() as ctx:
        subscriptions.change_subscription(ctx, sub.id, date(2026, 3, 1), sku_code="MAINT_ADVANCED")
    with pytest.raises(ConflictError, match="since you opened it"), centre.write() as ctx:
        subscriptions.end_subscription(ctx, sub.id, date(2026, 3, 31), expected_version=sub.version)
    with pytest.raises(ValidationError, match="before the current period's start"), centre.write() as ctx:
        subscriptions.end_subscription(ctx, sub.id, date(2026, 2, 20))  # inside the closed period
    with pytest.raises(ValidationError, match="before the current period's start"), centre.write() as ctx:
        subscriptions.end_subscription(ctx, sub.id, date(2026, 1, 31))
    with pytest.raises(ValidationError, match="already ends on 2026-06-30"), centre.write() as ctx:
        subscriptions.end_subscription(ctx, sub.id, date(2026, 7, 31))
    with centre.write() as ctx:
        assert subscriptions.end_subscription(ctx, sub.id, date(2026, 3, 1)).end_date == date(2026, 3, 1)


def test_change_project_gives_two_period_rows_old_untouched(centre: Runtime) -> None:
    with centre.write() as ctx:
        projects.add_project(ctx, "Climate", "ann")
    sub = add(centre, start=date(2026, 1, 1), end=date(2026, 12, 31))
    before = period_rows(centre, sub.id)
    centre.clock_for(TZ).set(centre.clock_for(TZ).now().replace(day=20))  # a later session
    with runtime_as(centre, "rmgr").write() as ctx:
        changed = subscriptions.change_subscription(ctx, sub.id, date(2026, 3, 1), project_ref="Climate")
    rows = period_rows(centre, sub.id)
    assert len(rows) == 2
    old, new = rows
    for key in ("id", "sku", "project", "start", "created_by", "created_at"):
        assert old[key] == before[0][key]  # the old row keeps what it said
    assert (old["end"], old["closed_by"]) == (date(2026, 2, 28), "rmgr")
    assert (new["project"], new["sku"], new["start"], new["end"], new["closed_by"]) == (
        "Climate",
        "MAINT_STANDARD",
        date(2026, 3, 1),
        date(2026, 12, 31),  # the planned end carries over
        None,
    )
    assert changed.current.project == "Climate"
    assert [p.project for p in changed.periods] == ["Genomics", "Climate"]
    entry = last_entry(centre)
    assert entry["action"] == "subscription.changed"
    assert len(entry["before"]["periods"]) == 1
    assert len(entry["after"]["periods"]) == 2
    doc = changed.to_json(TZ)
    assert doc["start_date"] == "2026-01-01"
    assert doc["periods"][0]["closed_by"] == "rmgr"
    assert doc["periods"][1]["start_date"] == "2026-03-01"


def test_change_sku_then_end(centre: Runtime) -> None:
    sub = add(centre, start=date(2026, 1, 1))
    with centre.write() as ctx:
        subscriptions.change_subscription(ctx, sub.id, date(2026, 2, 1), sku_code="MAINT_ADVANCED")
        ended = subscriptions.end_subscription(ctx, sub.id, date(2026, 4, 30))
    assert [(p.sku, p.start_date, p.end_date) for p in ended.periods] == [
        ("MAINT_STANDARD", date(2026, 1, 1), date(2026, 1, 31)),
        ("MAINT_ADVANCED", date(2026, 2, 1), date(2026, 4, 30)),
    ]


def test_change_rules(centre: Runtime) -> None:
    sub = add(centre, start=date(2026, 2, 1))
    with pytest.raises(ValidationError, match="after the current period's start"), centre.write() as ctx:
        subscriptions.change_subscription(ctx, sub.id, date(2026, 2, 1), sku_code="MAINT_ADVANCED")
    with pytest.raises(ValidationError, match="already bills"), centre.write() as ctx:
        subscriptions.change_subscription(ctx, sub.id, date(2026, 3, 1), project_ref="Genomics")
    with pytest.raises(ValidationError, match="only financial_admin"), centre.write() as ctx:
        projects.add_project(ctx, "Climate", "pi")
        projects.add_member(ctx, "Climate", "ann", "financial_admin")
        subscriptions.change_subscription(ctx, sub.id, date(2026, 3, 1), project_ref="Climate")
    assert len(period_rows(centre, sub.id)) == 1


def test_list_and_filters(centre: Runtime) -> None:
    a = add(centre, start=date(2026, 1, 1), end=date(2026, 1, 31))
    b = add(centre, user="pi", sku="QOS_PRIORITY", start=date(2026, 2, 1))
    c = add(centre, user="pi", start=date(2026, 3, 1))
    with centre.read() as ctx:
        assert [s.id for s in subscriptions.list_subscriptions(ctx)] == [a.id, b.id, c.id]
        assert [s.status for s in subscriptions.list_subscriptions(ctx)] == ["ended", "active", "upcoming"]
        assert [s.id for s in subscriptions.list_subscriptions(ctx, user="pi")] == [b.id, c.id]
        assert [s.id for s in subscriptions.list_subscriptions(ctx, sku="qos_priority")] == [b.id]
        assert [s.id for s in subscriptions.list_subscriptions(ctx, status="active")] == [b.id]
        lines = subscriptions.periods_overlapping(ctx, date(2026, 2, 1), date(2026, 2, 28))
    assert [(p.user, p.sku) for p in lines] == [("pi", "QOS_PRIORITY")]


def test_finalized_months_are_protected(centre: Runtime) -> None:
    sub = add(centre, start=date(2026, 1, 1))
    finalize_month(centre, "2026-01")
    with pytest.raises(LockedError, match="finalized invoice for 2026-01"):
        add(centre, sku="QOS_PRIORITY", start=date(2026, 1, 15))
    with pytest.raises(LockedError, match="2026-01"), centre.write() as ctx:
        subscriptions.end_subscription(ctx, sub.id, date(2026, 1, 20))
    with pytest.raises(LockedError, match="2026-01"), centre.write() as ctx:
        subscriptions.change_subscription(ctx, sub.id, date(2026, 1, 20), sku_code="MAINT_ADVANCED")
    with centre.write() as ctx:  # from February on is open
        subscriptions.change_subscription(ctx, sub.id, date(2026, 2, 1), sku_code="MAINT_ADVANCED")
        subscriptions.end_subscription(ctx, sub.id, date(2026, 2, 10))
    add(centre, sku="QOS_PRIORITY", start=date(2026, 2, 1))
