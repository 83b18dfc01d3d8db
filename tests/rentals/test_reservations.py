"""Reservations on both back ends: creating, the no-overlap rule, policy, workflow, permissions."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from nodedesk.core import audit
from nodedesk.core.errors import (
    ConflictError,
    LockedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from nodedesk.core.models import ActivityEntry, InvoicePeriod, Node, Project, Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, windows
from nodedesk.core.services.rentals import reservations as svc
from nodedesk.core.site import store
from sqlalchemy import func, select

from tests.helpers import local, runtime_as
from tests.rentals.support import draft, finalize_month, overlapping_pairs, record, seed


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    seed(runtime)
    return runtime


def _count(rt: Runtime) -> int:
    with rt.read() as ctx:
        return ctx.session.scalar(select(func.count(Reservation.id))) or 0


@dataclass
class Entry:
    action: str
    before: dict
    after: dict
    reason: str


def _last_audit(rt: Runtime) -> Entry:
    with rt.read() as ctx:
        e = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq.desc()).limit(1)).one()
        return Entry(e.action, json.loads(e.before_json), json.loads(e.after_json), e.reason)


# ---------------------------------------------------------------- create and show


def test_record_computes_span_hours_and_json(rt: Runtime) -> None:
    with rt.write() as ctx:
        res = svc.record_reservation(ctx, draft("2026-02-23", 4, notes="training run"), approve=True)
    v = res.reservation
    assert (v.start, v.end) == (local("2026-02-23 16:00"), local("2026-02-25 09:00"))
    assert v.status == "approved" and v.decided_by == "admin" and v.requested_for == "admin"
    assert not v.policy_waived and res.waived == ()
    with rt.read() as ctx:
        doc = svc.get_reservation(ctx, v.id).to_json(ctx.tz)
    assert doc["hours"] == "41.00"
    assert doc["start"] == "2026-02-23T16:00:00-05:00" and doc["end"] == "2026-02-25T09:00:00-05:00"
    assert doc["node"] == "n1" and doc["project"] == "Climate" and doc["blocks"] == 4
    assert doc["downtime"] == [] and doc["downtime_hours"] == "0.00"
    entry = _last_audit(rt)
    assert entry.action == "reservation.recorded"
    assert entry.after["status"] == "approved"


def test_dst_night_hours_through_the_service(rt: Runtime) -> None:
    with rt.write() as ctx:
        autumn = svc.record_reservation(ctx, draft("2026-10-31", 2), waive_policy=True).reservation
        spring = svc.record_reservation(ctx, draft("2026-03-07", 2, node="n2")).reservation
        tz = ctx.tz
    assert autumn.to_json(tz)["hours"] == "18.00"
    assert spring.to_json(tz)["hours"] == "16.00"


def test_unknown_node_non_rentable_and_archived_project_are_refused(rt: Runtime) -> None:
    with rt.write() as ctx, pytest.raises(NotFoundError) as err:
        svc.record_reservation(ctx, draft("2026-02-23", 2, node="nope"))
    assert err.value.field == "node"
    with rt.write() as ctx, pytest.raises(ValidationError, match="n3 is not rentable") as err:
        svc.record_reservation(ctx, draft("2026-02-23", 2, node="n3"))
    with rt.write() as ctx, pytest.raises(NotFoundError):
        svc.record_reservation(ctx, draft("2026-02-23", 2, project="Nope"))
    with rt.write() as ctx:
        ctx.session.scalars(select(Project).where(Project.title == "Genomics")).one().status = "archived"
    with rt.write() as ctx, pytest.raises(LockedError, match="archived") as err:
        svc.record_reservation(ctx, draft("2026-02-23", 2, project="Genomics"))
    assert err.value.field == "project"
    assert _count(rt) == 0


# ---------------------------------------------------------------- the no-overlap rule


def test_overlap_is_refused_naming_the_clashing_reservation(rt: Runtime) -> None:
    first = record(rt, "2026-02-23", 4)  # Feb 23 16:00 → Feb 25 09:00
    with rt.write() as ctx, pytest.raises(ConflictError) as err:
        svc.record_reservation(ctx, draft("2026-02-24", 2, project="Genomics"))
    message = str(err.value)
    assert err.value.field == "node"
    assert f"reservation #{first.id}" in message
    assert "'Climate'" in message and "approved" in message
    assert "2026-02-23 16:00 -05:00 → 2026-02-25 09:00 -05:00" in message
    assert _count(rt) == 1


def test_pending_reservations_block_too_but_declined_and_cancelled_do_not(rt: Runtime) -> None:
    pending = record(rt, "2026-02-23", 2, approve=False)
    with rt.write() as ctx, pytest.raises(ConflictError, match=f"#{pending.id}"):
        svc.record_reservation(ctx, draft("2026-02-23", 1))
    with rt.write() as ctx:
        svc.decline_reservation(ctx, pending.id, "node promised elsewhere")
    second = record(rt, "2026-02-23", 2)
    with rt.write() as ctx:
        svc.cancel_reservation(ctx, second.id, reason="plans changed")
    third = record(rt, "2026-02-23", 2)
    assert third.status == "approved"
    assert overlapping_pairs(rt) == 0


def test_back_to_back_and_other_nodes_are_fine(rt: Runtime) -> None:
    record(rt, "2026-02-23", 2)  # Feb 23 16:00 → Feb 24 09:00
    record(rt, "2026-02-24", 2)  # next evening on the same node
    record(rt, "2026-02-23", 2, node="n2")  # same time on another node
    assert _count(rt) == 3


def test_touching_reservations_do_not_overlap(rt: Runtime) -> None:
    """With a 16:00 cap, 2 blocks run 16:00 → 16:00 and the next day's booking touches it."""
    with rt.write() as ctx:
        store(ctx.session, "reservation_end_cap_time", "16:00", by="admin", at=ctx.now())
    a = record(rt, "2026-02-23", 2)
    b = record(rt, "2026-02-24", 2)
    assert a.end == b.start == local("2026-02-24 16:00")
    assert a.hours == 24
    with rt.write() as ctx, pytest.raises(ConflictError, match=f"#{b.id}"):
        svc.record_reservation(ctx, draft("2026-02-24", 1))


def test_overlap_is_never_waivable(rt: Runtime) -> None:
    first = record(rt, "2026-02-23", 2)
    with rt.write() as ctx, pytest.raises(ConflictError, match=f"#{first.id}"):
        svc.record_reservation(ctx, draft("2026-02-23", 2), approve=True, waive_policy=True)


def test_overlap_and_downtime_preview(rt: Runtime) -> None:
    first = record(rt, "2026-02-23", 2)
    with rt.read() as ctx:
        check = svc.check_draft(ctx, "n1", local("2026-02-23 00:00").date(), 4)
    assert check.hours == 41
    assert len(check.clashes) == 1 and check.clashes[0].startswith(f"#{first.id} Climate (approved)")
    assert check.violations == () and check.node_rentable


# ---------------------------------------------------------------- booking policy


def test_request_enforces_lead_time_and_horizon(rt: Runtime) -> None:
    carol = runtime_as(rt, "carol")
    with carol.write() as ctx, pytest.raises(ValidationError, match="7 days' notice") as err:
        svc.request_reservation(ctx, draft("2026-02-21", 2))
    assert err.value.field == "start_date" and "waive" not in str(err.value)
    with carol.write() as ctx, pytest.raises(ValidationError, match="more than 105 days"):
        svc.request_reservation(ctx, draft("2026-06-01", 2))
    with carol.write() as ctx:
        ok = svc.request_reservation(ctx, draft("2026-02-22", 2)).reservation
        last = svc.request_reservation(ctx, draft("2026-05-31", 2)).reservation
    assert ok.status == last.status == "pending"
    assert ok.requested_for == "carol" and not ok.policy_waived


def test_manager_may_waive_policy_and_it_is_recorded(rt: Runtime) -> None:
    rmgr = runtime_as(rt, "rmgr")
    with rmgr.write() as ctx, pytest.raises(ValidationError, match="--waive-policy"):
        svc.record_reservation(ctx, draft("2026-02-16", 2))
    with rmgr.write() as ctx:
        res = svc.record_reservation(
            ctx, draft("2026-02-16", 2, requested_for="carol"), approve=True, waive_policy=True
        )
        far = svc.record_reservation(ctx, draft("2026-03-02", 2), waive_policy=True)
    assert res.reservation.policy_waived and [v.rule for v in res.waived] == ["lead_time"]
    assert res.reservation.requested_for == "carol" and res.reservation.created_by == "rmgr"
    assert not far.reservation.policy_waived  # nothing needed waiving
    with rt.read() as ctx:
        after = json.loads(
            ctx.session.scalars(
                select(ActivityEntry.after_json).where(
                    ActivityEntry.target_type == "reservation",
                    ActivityEntry.target_id == str(res.reservation.id),
                )
            ).one()
        )
    assert after["policy_waived"] is True and "7 days' notice" in after["waived"][0]


# ---------------------------------------------------------------- workflow


def test_status_workflow_and_audit(rt: Runtime) -> None:
    a = record(rt, "2026-02-23", 2, approve=False)
    b = record(rt, "2026-02-25", 2, approve=False)
    with rt.write() as ctx:
        approved = svc.approve_reservation(ctx, a.id).reservation
        with pytest.raises(ValidationError, match="only a pending one can be approved"):
            svc.approve_reservation(ctx, a.id)
        with pytest.raises(ValidationError, match="only a pending one can be declined"):
            svc.decline_reservation(ctx, a.id, "too late")
    assert approved.status == "approved" and approved.decided_by == "admin"
    assert _last_audit(rt).action == "reservation.approved"
    with rt.write() as ctx, pytest.raises(ValidationError) as err:
        svc.decline_reservation(ctx, b.id, "  ")
    assert err.value.field == "reason"
    with rt.write() as ctx:
        declined = svc.decline_reservation(ctx, b.id, "node needed for acceptance tests").reservation
    assert declined.status == "declined" and declined.decision_reason == "node needed for acceptance tests"
    entry = _last_audit(rt)
    assert entry.action == "reservation.declined" and entry.reason == "node needed for acceptance tests"
    assert entry.before["status"] == "pending"
    with rt.write() as ctx:
        cancelled = svc.cancel_reservation(ctx, a.id).reservation
        for rid in (a.id, b.id):
            with pytest.raises(ValidationError, match="only pending or approved"):
                svc.cancel_reservation(ctx, rid)
            with pytest.raises(ValidationError):
                svc.approve_reservation(ctx, rid)
    assert cancelled.status == "cancelled"
    assert _last_audit(rt).action == "reservation.cancelled"
    with rt.read() as ctx:
        assert audit.verify(ctx.session).ok


def test_stale_version_is_refused(rt: Runtime) -> None:
    a = record(rt, "2026-02-23", 2, approve=False)
    with rt.write() as ctx:
        svc.cancel_reservation(ctx, a.id, reason="dup", expected_version=a.version)
    b = record(rt, "2026-02-25", 2, approve=False)
    with rt.write() as ctx:
        ctx.session.get(Reservation, b.id).notes = "edited elsewhere"  # type: ignore[union-attr]
    with rt.write() as ctx, pytest.raises(ConflictError, match="since you opened it") as err:
        svc.approve_reservation(ctx, b.id, expected_version=b.version)
    assert err.value.field == "version"


def test_approval_rechecks_rentable_project_and_overlap(rt: Runtime) -> None:
    a = record(rt, "2026-02-23", 2, approve=False)
    with rt.write() as ctx:
        ctx.session.scalars(select(Node).where(Node.name == "n1")).one().rentable = False
    with rt.write() as ctx, pytest.raises(ValidationError, match="not rentable"):
        svc.approve_reservation(ctx, a.id)
    with rt.write() as ctx:
        ctx.session.scalars(select(Node).where(Node.name == "n1")).one().rentable = True
        ctx.session.scalars(select(Project).where(Project.title == "Climate")).one().status = "archived"
    with rt.write() as ctx, pytest.raises(LockedError, match="archived"):
        svc.approve_reservation(ctx, a.id)
    with rt.write() as ctx:
        ctx.session.scalars(select(Project).where(Project.title == "Climate")).one().status = "active"
    # A clashing row that bypasses the services (e.g. a hand-edited import) is refused by the
    # database itself; the pending reservation can then still be approved.
    with pytest.raises(ConflictError, match="never overlap"), rt.write() as ctx:
        other = ctx.session.get(Reservation, a.id)
        assert other is not None
        intruder = Reservation(
            node_id=other.node_id,
            project_id=other.project_id,
            requested_for="bob",
            start=other.start,
            end=other.end,
            blocks=2,
            status="approved",
            created_at=ctx.now(),
            created_by="x",
            modified_at=ctx.now(),
            modified_by="x",
        )
        ctx.session.add(intruder)
        ctx.session.flush()
    with rt.write() as ctx:
        assert svc.approve_reservation(ctx, a.id).reservation.status == "approved"


# ---------------------------------------------------------------- permissions


def test_who_may_request_record_and_decide(rt: Runtime) -> None:
    carol, vic, dave, rmgr = (runtime_as(rt, u) for u in ("carol", "vic", "dave", "rmgr"))
    with carol.write() as ctx:
        mine = svc.request_reservation(ctx, draft("2026-02-23", 2)).reservation
    with carol.write() as ctx, pytest.raises(PermissionDenied, match="Genomics"):
        svc.request_reservation(ctx, draft("2026-02-25", 2, project="Genomics"))
    with (
        carol.write() as ctx,
        pytest.raises(PermissionDenied, match="only request reservations for themselves"),
    ):
        svc.request_reservation(ctx, draft("2026-02-25", 2, requested_for="alice"))
    with vic.write() as ctx, pytest.raises(PermissionDenied, match="viewers are read-only"):
        svc.request_reservation(ctx, draft("2026-02-25", 2))
    with dave.write() as ctx, pytest.raises(PermissionDenied, match="project role"):
        svc.request_reservation(ctx, draft("2026-02-25", 2))
    for action in (
        lambda ctx: svc.record_reservation(ctx, draft("2026-02-25", 2)),
        lambda ctx: svc.approve_reservation(ctx, mine.id),
        lambda ctx: svc.decline_reservation(ctx, mine.id, "no"),
    ):
        with carol.write() as ctx, pytest.raises(PermissionDenied, match="manage reservations"):
            action(ctx)
    with dave.write() as ctx, pytest.raises(PermissionDenied):
        svc.cancel_reservation(ctx, mine.id)
    with carol.write() as ctx:
        assert svc.cancel_reservation(ctx, mine.id, reason="not needed").reservation.status == "cancelled"
    with rmgr.write() as ctx:
        rec = svc.record_reservation(ctx, draft("2026-02-25", 2, requested_for="bob", project="Genomics"))
        assert svc.approve_reservation(ctx, rec.reservation.id).reservation.decided_by == "rmgr"


def test_members_cannot_cancel_once_started(rt: Runtime) -> None:
    started = record(rt, "2026-02-14", 4)  # Feb 14 16:00 → Feb 16 09:00; now is Feb 15 10:00
    with runtime_as(rt, "carol").write() as ctx, pytest.raises(PermissionDenied, match="already started"):
        svc.cancel_reservation(ctx, started.id)
    with runtime_as(rt, "rmgr").write() as ctx:
        assert svc.cancel_reservation(ctx, started.id).reservation.status == "cancelled"


# ---------------------------------------------------------------- finalized months


def test_finalized_month_is_protected_except_admin_corrections(rt: Runtime) -> None:
    pending = record(rt, "2026-01-20", 2, approve=False)
    approved = record(rt, "2026-01-27", 2)
    finalize_month(rt, "2026-01")
    rmgr = runtime_as(rt, "rmgr")
    with rmgr.write() as ctx, pytest.raises(LockedError, match="finalized invoice for 2026-01"):
        svc.approve_reservation(ctx, pending.id)
    with rmgr.write() as ctx, pytest.raises(LockedError, match="finalized invoice for 2026-01"):
        svc.cancel_reservation(ctx, approved.id)
    with rmgr.write() as ctx, pytest.raises(LockedError):
        svc.record_reservation(ctx, draft("2026-01-05", 2, node="n2"), approve=True, waive_policy=True)
    with rmgr.write() as ctx, pytest.raises(PermissionDenied, match="make corrections"):
        svc.cancel_reservation(ctx, approved.id, correction=True, reason="booked in error")
    with rt.write() as ctx, pytest.raises(ValidationError) as err:
        svc.cancel_reservation(ctx, approved.id, correction=True)
    assert err.value.field == "reason"
    # Pending ones never reached an invoice: declining or cancelling them is fine.
    with rmgr.write() as ctx:
        svc.decline_reservation(ctx, pending.id, "too late now")
    with rt.write() as ctx:
        res = svc.cancel_reservation(ctx, approved.id, correction=True, reason="booked in error")
    assert res.drifted_months == ["2026-01"]
    with rt.read() as ctx:
        period = ctx.session.scalars(select(InvoicePeriod)).one()
        assert period.drifted and "booked in error" in period.drift_note


# ---------------------------------------------------------------- downtime


def test_downtime_overlapping_a_reservation_is_reported(rt: Runtime) -> None:
    with rt.write() as ctx:
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Firmware", local("2026-02-24 08:00"), local("2026-02-24 20:00"), scope=windows.Scope(("n1",))
            ),
        )
        outages.create_outage(
            ctx, outages.OutageDraft("PSU", ("n2",), local("2026-02-15 08:00"), etr=local("2026-02-15 18:00"))
        )
        outages.create_outage(
            ctx,
            outages.OutageDraft(
                "Fan", ("n2",), local("2026-02-14 18:00"), end=local("2026-02-14 19:00"), credit=False
            ),
        )
    res = record(rt, "2026-02-23", 4)  # Feb 23 16:00 → Feb 25 09:00
    assert [(d.source, d.title, d.hours) for d in res.downtime] == [("maintenance", "Firmware", 12)]
    with rt.write() as ctx:
        on_n2 = svc.record_reservation(ctx, draft("2026-02-14", 4, node="n2"), waive_policy=True).reservation
    # The open outage counts up to now (10:00); the uncredited one is not downtime.
    [open_outage] = on_n2.downtime
    assert (open_outage.source, open_outage.open, open_outage.hours) == ("outage", True, 2)
    with rt.read() as ctx:
        doc = svc.get_reservation(ctx, on_n2.id).to_json(ctx.tz)
        page = svc.list_reservations(ctx)
    assert doc["downtime_hours"] == "2.00"
    assert doc["downtime"][0]["start"] == "2026-02-15T08:00:00-05:00"
    assert doc["downtime"][0]["end"] == "2026-02-15T10:00:00-05:00"
    assert {v.id: v.downtime_hours for v in page.items} == {res.id: 12, on_n2.id: 2}


# ---------------------------------------------------------------- listing


def test_list_filters_and_paging(rt: Runtime) -> None:
    a = record(rt, "2026-02-23", 2)
    b = record(rt, "2026-02-25", 2, approve=False)
    c = record(rt, "2026-03-02", 2, node="n2", project="Genomics", requested_for="bob")
    d = record(rt, "2026-03-10", 2, approve=False)
    with rt.write() as ctx:
        svc.decline_reservation(ctx, d.id, "no")

    def ids(**kw: object) -> list[int]:
        with rt.read() as ctx:
            return [v.id for v in svc.list_reservations(ctx, svc.ReservationQuery(**kw)).items]  # type: ignore[arg-type]

    assert ids() == [a.id, b.id, c.id, d.id]
    assert ids(status="pending") == [b.id]
    assert ids(node="n2") == [c.id]
    assert ids(project="Genomics") == [c.id]
    assert ids(requested_for="bob") == [c.id]
    assert ids(start_from=local("2026-02-24 09:00"), end_before=local("2026-03-03 00:00")) == [b.id, c.id]
    assert ids(start_from=local("2026-02-24 08:59"), end_before=local("2026-02-25 16:00")) == [a.id]
    assert ids(sort="start", descending=True) == [d.id, c.id, b.id, a.id]
    assert ids(sort="node") == [a.id, b.id, d.id, c.id]
    with rt.read() as ctx:
        page = svc.list_reservations(ctx, svc.ReservationQuery(offset=1, limit=2))
    assert page.total == 4 and [v.id for v in page.items] == [b.id, c.id]
    with rt.read() as ctx, pytest.raises(ValidationError):
        svc.list_reservations(ctx, svc.ReservationQuery(status="bogus"))
    with rt.read() as ctx, pytest.raises(NotFoundError):
        svc.list_reservations(ctx, svc.ReservationQuery(node="zz"))
