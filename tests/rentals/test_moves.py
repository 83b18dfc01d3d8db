"""Moving a reservation to another node (core/services/rentals/moves.py), on both back ends.

The clock is 2026-02-15 10:00 New York. Nodes n1..n4 are A100 ($8/h), h1 an H100.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core.errors import ConflictError, LockedError, NotFoundError, PermissionDenied, ValidationError
from nodedesk.core.models import ActivityEntry, Notice, Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime.impact import assess
from nodedesk.core.services.downtime.windows import Scope
from nodedesk.core.services.invoicing import invoices
from nodedesk.core.services.rentals import moves
from nodedesk.core.services.site import users
from sqlalchemy import select

from tests.billing.factory import Builder
from tests.helpers import local, runtime_as


def _centre(runtime: Runtime) -> dict[str, int]:
    with runtime.write() as ctx:
        users.add_user(ctx, "alice", "viewer", email="alice@example.org")
        users.add_user(ctx, "rita", "rental_manager")
        b = Builder(ctx.session, ctx.now())
        b.rate("NODE_A100", "8.00", date(2026, 1, 1))
        b.rate("NODE_H100", "20.00", date(2026, 1, 1))
        gen = b.project("Genomics", "alice")
        n = {name: b.node(name) for name in ("n1", "n2", "n3", "n4")}
        n["h1"] = b.node("h1", "H100")
        ids = {
            "later": b.reservation(n["n1"], gen, "2026-02-20 16:00", "2026-02-22 09:00", blocks=4).id,
            "running": b.reservation(n["n2"], gen, "2026-02-14 16:00", "2026-02-16 09:00", blocks=4).id,
            "blocker": b.reservation(n["n3"], gen, "2026-02-21 16:00", "2026-02-22 09:00").id,
            "past": b.reservation(n["n4"], gen, "2026-02-10 16:00", "2026-02-11 09:00").id,
        }
        b.window("Firmware", "2026-02-21 06:00", "2026-02-21 08:00", nodes=(n["n4"],))
        return ids


def _amount(ctx, period: str = "2026-02") -> Decimal:  # type: ignore[no-untyped-def]
    return invoices.compute_invoice(ctx, period).result.totals.amount  # type: ignore[union-attr]


def test_an_upcoming_reservation_moves_whole(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.read() as ctx:
        total = _amount(ctx)
        dry = moves.move_reservation(ctx, ids["later"], "n2", dry_run=True)
        assert dry.dry_run and not dry.split and dry.to_node == "n2"
    with runtime.read() as ctx:
        assert ctx.session.get(Reservation, ids["later"]).node.name == "n1"  # type: ignore[union-attr]
    with runtime.write() as ctx:
        done = moves.move_reservation(ctx, ids["later"], "n2")
        assert (done.from_node, done.to_node, done.split, done.continued_as) == ("n1", "n2", False, None)
    with runtime.read() as ctx:
        r = ctx.session.get(Reservation, ids["later"])
        assert r is not None and r.node.name == "n2"
        span = (local("2026-02-20 16:00"), local("2026-02-22 09:00"))
        assert (r.start, r.end, r.status) == (*span, "approved")
        assert _amount(ctx) == total  # same type, same rate
        entry = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.id.desc())).first()
        assert entry is not None and entry.action == "reservation.moved"
        notice = ctx.session.scalars(select(Notice).where(Notice.event == "reservation.moved")).one()
        assert notice.recipient == "alice" and "now on n2" in notice.subject
        assert "From:    n1" in notice.body and "To:      n2" in notice.body


def test_a_running_reservation_is_split_at_now_and_billing_adds_up(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.read() as ctx:
        total = _amount(ctx)
        lines = invoices.compute_invoice(ctx, "2026-02").result.lines()  # type: ignore[union-attr]
        before = {line.node: line.amount for line in lines if getattr(line, "reservation_id", None)}
    with runtime.write() as ctx:
        done = moves.move_reservation(ctx, ids["running"], "n4")
        assert done.split and done.moved_from == local("2026-02-15 10:00") and done.continued_as
    with runtime.read() as ctx:
        old = ctx.session.get(Reservation, ids["running"])
        new = ctx.session.get(Reservation, done.continued_as)
        assert old is not None and new is not None
        start, now, end = local("2026-02-14 16:00"), local("2026-02-15 10:00"), local("2026-02-16 09:00")
        assert (old.node.name, old.start, old.end) == ("n2", start, now)
        assert (new.node.name, new.start, new.end) == ("n4", now, end)
        assert new.status == "approved" and new.project_id == old.project_id
        assert f"continues reservation #{old.id}" in new.notes
        # The invoice bills 18 h on n2 and 23 h on n4: the same 41 h and the same total.
        result = invoices.compute_invoice(ctx, "2026-02").result  # type: ignore[union-attr]
        amounts = {
            (line.reservation_id, line.node): line.amount
            for line in result.lines()
            if getattr(line, "reservation_id", None) in (old.id, new.id)
        }
        assert amounts == {(old.id, "n2"): Decimal("144.00"), (new.id, "n4"): Decimal("184.00")}
        assert before["n2"] == Decimal("328.00") == sum(amounts.values())
        assert _amount(ctx) == total


def test_refusals_name_the_field_and_change_nothing(runtime: Runtime) -> None:
    ids = _centre(runtime)
    cases = [
        (ids["later"], "n3", ConflictError, "already booked"),  # n3 has a reservation then
        (ids["later"], "n4", ConflictError, "maintenance window"),  # n4 has a window then
        (ids["later"], "h1", ValidationError, "same type"),
        (ids["later"], "n1", ValidationError, "already on n1"),
        (ids["later"], "nope", NotFoundError, "no node named"),
    ]
    for rid, node, error, words in cases:
        with runtime.write() as ctx, pytest.raises(error) as info:
            moves.move_reservation(ctx, rid, node)
        assert info.value.field == "to_node" and words in info.value.message
    with runtime.write() as ctx, pytest.raises(LockedError):
        moves.move_reservation(ctx, ids["past"], "n1")
    # Permission: the renter may not, the rental manager may (the same move).
    with runtime_as(runtime, "alice").write() as ctx, pytest.raises(PermissionDenied):
        moves.move_reservation(ctx, ids["later"], "n2")
    with runtime_as(runtime, "rita").write() as ctx:
        assert moves.move_reservation(ctx, ids["later"], "n2").to_node == "n2"


def test_the_database_still_refuses_an_overlap(runtime: Runtime) -> None:
    """Even a row written behind the service's back cannot land on a booked node."""
    ids = _centre(runtime)
    with pytest.raises(ConflictError, match="refused by the database"), runtime.write() as ctx:
        r = ctx.session.get(Reservation, ids["later"])
        blocker = ctx.session.get(Reservation, ids["blocker"])
        assert r is not None and blocker is not None
        r.node_id = blocker.node_id
        ctx.session.flush()


def test_plan_and_move_all_off_a_proposed_window(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        gen = ctx.session.get(Reservation, ids["later"]).project  # type: ignore[union-attr]
        n5 = b.node("n5")
        extra = b.reservation(n5, gen, "2026-02-21 16:00", "2026-02-22 09:00").id
    scope = Scope(("n1", "n3", "n5"))
    with runtime.read() as ctx:
        impact = assess(ctx, local("2026-02-21 12:00"), local("2026-02-22 06:00"), scope)
        plan = moves.plan_moves(ctx, impact, scope)
        by_id = {o.reservation_id: o for o in plan.options}
        assert set(by_id) == {ids["later"], ids["blocker"], extra}
        # n2 is free (its reservation ends Feb 16); n4 has a window on Feb 21 06:00-08:00, which
        # the 'later' reservation (from Feb 20) covers but the two from Feb 21 16:00 do not.
        assert by_id[ids["later"]].free_nodes == ("n2",)
        assert by_id[ids["blocker"]].free_nodes == ("n2", "n4")
        planned = [by_id[i].planned for i in (ids["later"], ids["blocker"], extra)]
        assert planned == ["n2", "n4", None]  # never two on one node at once
        assert plan.summary() == "2 of 3 affected reservation(s) can move to a free node"
    with runtime.write() as ctx:
        result = moves.move_all(ctx, plan)
        assert [m.to_node for m in result.moves] == ["n2", "n4"]
        assert [o.reservation_id for o in result.left] == [extra]
    with runtime.read() as ctx:
        after = assess(ctx, local("2026-02-21 12:00"), local("2026-02-22 06:00"), scope)
        assert [line.reservation_id for line in after.lines] == [extra]
