"""Outages on both back ends: workflow, end required when resolved, ETR history, downtime."""

from __future__ import annotations

import pytest
from nodedesk.core import audit
from nodedesk.core.clock import FrozenClock
from nodedesk.core.downtime import load_downtime
from nodedesk.core.errors import (
    ConflictError,
    LockedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from nodedesk.core.models import ActivityEntry, InvoicePeriod, Node
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages as svc
from sqlalchemy import select

from tests.helpers import local, runtime_as
from tests.rentals.support import finalize_month, seed


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    seed(runtime)
    return runtime


def _open(rt: Runtime, **kw: object) -> svc.OutageView:
    fields: dict[str, object] = {
        "title": "GPU fell off the bus",
        "nodes": ("n1",),
        "start": local("2026-02-15 06:00"),
    }
    fields.update(kw)
    with rt.write() as ctx:
        return svc.create_outage(ctx, svc.OutageDraft(**fields)).outage  # type: ignore[arg-type]


def _actions(rt: Runtime, outage_id: int) -> list[str]:
    with rt.read() as ctx:
        return list(
            ctx.session.scalars(
                select(ActivityEntry.action)
                .where(ActivityEntry.target_type == "outage", ActivityEntry.target_id == str(outage_id))
                .order_by(ActivityEntry.seq)
            )
        )


def test_create_defaults_and_json(rt: Runtime) -> None:
    o = _open(rt, nodes=("n2", "n1", "n2"), description="Xid 79 on GPU 3", etr=local("2026-02-15 18:00"))
    assert o.status == "reported" and o.open and o.credit and o.end is None
    assert o.nodes == ("n1", "n2")
    with rt.read() as ctx:
        doc = svc.get_outage(ctx, o.id).to_json(ctx.tz)
    assert doc["duration_hours"] == "4.00"  # 06:00 → now (10:00)
    assert doc["etr"] == "2026-02-15T18:00:00-05:00" and doc["etr_overdue"] is False
    assert doc["nodes"] == ["n1", "n2"] and doc["end"] is None and doc["open"] is True
    assert _actions(rt, o.id) == ["outage.created"]


def test_create_validation(rt: Runtime) -> None:
    cases = [
        ({"nodes": ()}, "node"),
        ({"nodes": ("zz",)}, "node"),
        ({"title": " "}, "title"),
        ({"start": local("2026-02-15 11:00")}, "start"),  # in the future
        ({"status": "resolved"}, "end"),  # resolved needs an end
        ({"end": local("2026-02-15 05:00")}, "end"),  # before the start
        ({"end": local("2026-02-15 12:00")}, "end"),  # in the future
        ({"status": "investigating", "end": local("2026-02-15 08:00")}, "end"),  # open with an end
        ({"etr": local("2026-02-15 05:00")}, "etr"),
        ({"status": "fixed"}, "status"),
    ]
    for kw, field in cases:
        with pytest.raises((ValidationError, NotFoundError)) as err:
            _open(rt, **kw)
        assert err.value.field == field, kw
    with rt.read() as ctx:
        assert svc.list_outages(ctx).total == 0


def test_recorded_after_the_fact_is_resolved(rt: Runtime) -> None:
    o = _open(rt, start=local("2026-02-10 01:00"), end=local("2026-02-10 03:30"), credit=False)
    assert o.status == "resolved" and not o.open and not o.credit
    assert o.to_json("America/New_York")["duration_hours"] == "2.50"


def test_workflow_forward_back_resolve_and_reopen(rt: Runtime) -> None:
    o = _open(rt)
    with rt.write() as ctx:
        assert (
            svc.update_outage(ctx, o.id, svc.OutageChanges(status="identified")).outage.status == "identified"
        )
        assert (
            svc.update_outage(ctx, o.id, svc.OutageChanges(status="investigating")).outage.status
            == "investigating"
        )
        with pytest.raises(ValidationError, match="cannot go from investigating to reported") as err:
            svc.update_outage(ctx, o.id, svc.OutageChanges(status="reported"))
        assert err.value.field == "status"
        svc.update_outage(ctx, o.id, svc.OutageChanges(status="monitoring"))
        with pytest.raises(ValidationError, match="end") as err:
            svc.update_outage(ctx, o.id, svc.OutageChanges(status="resolved"))
        assert err.value.field == "end"
        with pytest.raises(ValidationError, match="status resolved") as err:
            svc.update_outage(ctx, o.id, svc.OutageChanges(end=local("2026-02-15 09:00")))
        resolved = svc.resolve_outage(ctx, o.id, local("2026-02-15 09:00")).outage
    assert resolved.status == "resolved" and resolved.end == local("2026-02-15 09:00")
    assert resolved.duration.total_seconds() == 3 * 3600
    with rt.write() as ctx:
        moved = svc.update_outage(ctx, o.id, svc.OutageChanges(end=local("2026-02-15 09:30"))).outage
        assert moved.status == "resolved" and moved.end == local("2026-02-15 09:30")
        reopened = svc.update_outage(ctx, o.id, svc.OutageChanges(status="investigating")).outage
    assert reopened.status == "investigating" and reopened.end is None and reopened.open
    assert _actions(rt, o.id) == [
        "outage.created",
        "outage.status_changed",
        "outage.status_changed",
        "outage.status_changed",
        "outage.resolved",
        "outage.updated",
        "outage.reopened",
    ]
    assert svc.allowed_transitions("resolved") == ("investigating", "identified", "monitoring")
    assert "reported" not in svc.allowed_transitions("reported")


def test_etr_revisions_are_kept_in_the_audit_log(rt: Runtime, clock: FrozenClock) -> None:
    o = _open(rt, etr=local("2026-02-15 12:00"))
    clock.set(local("2026-02-15 11:00"))
    with rt.write() as ctx:
        svc.revise_etr(ctx, o.id, local("2026-02-15 16:00"))
        svc.update_outage(ctx, o.id, svc.OutageChanges(status="identified", etr=local("2026-02-16 09:00")))
        svc.update_outage(ctx, o.id, svc.OutageChanges(description="waiting for a spare GPU"))
    clock.set(local("2026-02-15 12:00"))
    with rt.write() as ctx:
        svc.revise_etr(ctx, o.id, None)
        history = svc.etr_history(ctx, o.id)
    assert [(h.action, h.before, h.after) for h in history] == [
        ("outage.created", None, "2026-02-15T12:00:00-05:00"),
        ("outage.etr_revised", "2026-02-15T12:00:00-05:00", "2026-02-15T16:00:00-05:00"),
        ("outage.etr_revised", "2026-02-15T16:00:00-05:00", "2026-02-16T09:00:00-05:00"),
        ("outage.etr_revised", "2026-02-16T09:00:00-05:00", None),
    ]
    assert [h.at for h in history][-1] == local("2026-02-15 12:00")
    assert _actions(rt, o.id)[-2] == "outage.updated"
    with rt.read() as ctx:
        assert audit.verify(ctx.session).ok


def test_open_outage_is_downtime_up_to_now(rt: Runtime, clock: FrozenClock) -> None:
    o = _open(rt)  # 06:00, now 10:00
    with rt.read() as ctx:
        n1 = ctx.session.scalars(select(Node).where(Node.name == "n1")).one()
        index = load_downtime(ctx.session, local("2026-02-15 00:00"), local("2026-02-16 00:00"), ctx.now())
        [src] = index.for_node(n1.id, n1.node_type_id)
    assert src.open and src.interval.end == local("2026-02-15 10:00")
    clock.set(local("2026-02-15 14:00"))
    with rt.read() as ctx:
        assert svc.get_outage(ctx, o.id).duration.total_seconds() == 8 * 3600
        assert svc.get_outage(ctx, o.id).etr_overdue is False  # no ETR set


def test_list_open_only_and_newest_first(rt: Runtime) -> None:
    old = _open(rt, title="old", start=local("2026-02-01 10:00"), end=local("2026-02-01 12:00"))
    a = _open(rt, title="a", start=local("2026-02-14 10:00"), etr=local("2026-02-14 12:00"))
    b = _open(rt, title="b", nodes=("n2",), status="monitoring")
    with rt.read() as ctx:
        all_ = svc.list_outages(ctx)
        open_ = svc.list_outages(ctx, svc.OutageQuery(open_only=True))
        on_n2 = svc.list_outages(ctx, svc.OutageQuery(node="n2"))
        page = svc.list_outages(ctx, svc.OutageQuery(limit=1, offset=1))
    assert [o.id for o in all_.items] == [b.id, a.id, old.id]
    assert [o.id for o in open_.items] == [b.id, a.id]
    assert [o.id for o in on_n2.items] == [b.id]
    assert page.total == 3 and [o.id for o in page.items] == [a.id]
    assert open_.items[1].etr_overdue  # ETR yesterday, still open


def test_permissions_and_stale_versions(rt: Runtime) -> None:
    with runtime_as(rt, "carol").write() as ctx, pytest.raises(PermissionDenied, match="manage outages"):
        svc.create_outage(ctx, svc.OutageDraft("x", ("n1",), local("2026-02-15 06:00")))
    o = _open(rt)
    with runtime_as(rt, "rmgr").write() as ctx:
        svc.update_outage(ctx, o.id, svc.OutageChanges(status="investigating"), expected_version=o.version)
    with rt.write() as ctx, pytest.raises(ConflictError, match="changed by rmgr") as err:
        svc.update_outage(ctx, o.id, svc.OutageChanges(status="identified"), expected_version=o.version)
    assert err.value.field == "version"
    with rt.write() as ctx, pytest.raises(ValidationError, match="nothing to change"):
        svc.update_outage(ctx, o.id, svc.OutageChanges())


def test_finalized_months_are_protected(rt: Runtime) -> None:
    finalize_month(rt, "2026-01")
    with rt.write() as ctx, pytest.raises(LockedError, match="2026-01"):
        svc.create_outage(ctx, svc.OutageDraft("late report", ("n1",), local("2026-01-31 20:00")))
    # Uncredited outages never change an invoice.
    uncredited = _open(rt, start=local("2026-01-31 20:00"), credit=False)
    o = _open(rt, start=local("2026-02-01 02:00"))
    with rt.write() as ctx, pytest.raises(LockedError):
        svc.update_outage(ctx, o.id, svc.OutageChanges(start=local("2026-01-31 22:00")))
    with rt.write() as ctx, pytest.raises(LockedError):
        svc.update_outage(ctx, uncredited.id, svc.OutageChanges(credit=True))
    with runtime_as(rt, "rmgr").write() as ctx, pytest.raises(PermissionDenied):
        svc.update_outage(
            ctx, o.id, svc.OutageChanges(start=local("2026-01-31 22:00")), correction=True, reason="x"
        )
    with rt.write() as ctx:
        res = svc.update_outage(
            ctx, o.id, svc.OutageChanges(start=local("2026-01-31 22:00")), correction=True, reason="NOC log"
        )
    assert res.drifted_months == ["2026-01"] and _actions(rt, o.id)[-1] == "outage.corrected"
    with rt.read() as ctx:
        assert ctx.session.scalars(select(InvoicePeriod)).one().drifted
