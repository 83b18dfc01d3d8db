"""Impact preview (core/services/impact.assess) against the billing engine.

The key property: the preview's "not billed" amount equals the invoice difference the billing
engine computes with and without the window (approved reservations; pending ones are listed and
priced as if approved, but no invoice bills them yet).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.core.errors import NotFoundError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime.impact import assess, assess_many
from nodedesk.core.services.downtime.windows import Scope
from nodedesk.core.services.invoicing import invoices

from tests.billing.factory import Builder
from tests.helpers import local

MONTHS = ("2026-02", "2026-03")


def _totals(ctx) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    return {m: invoices.compute_invoice(ctx, m).result.totals.amount for m in MONTHS}  # type: ignore[union-attr]


def _invoice_difference(ctx, b: Builder, title: str, start: str, end: str, nodes=()) -> Decimal:  # type: ignore[no-untyped-def]
    """Invoice totals without the window minus with it (the window is added in this session)."""
    before = _totals(ctx)
    b.window(title, start, end, nodes=nodes)
    after = _totals(ctx)
    return sum((before[m] - after[m] for m in MONTHS), Decimal(0))


def _centre(b: Builder) -> dict[str, object]:
    b.user("alice")
    b.user("bob")
    b.node_type("A100")
    b.node_type("H100")
    b.rate("NODE_A100", "8.00", date(2026, 1, 1))
    b.rate("NODE_A100", "10.50", date(2026, 3, 1))  # a month boundary with a rate change
    b.rate("NODE_H100", "12.345678", date(2026, 1, 1))
    gen = b.project("Genomics", "alice")
    cli = b.project("Climate", "bob")
    n = {
        name: b.node(name, "H100" if name == "gpu9" else "A100") for name in ("n1", "n2", "n3", "n4", "gpu9")
    }
    r = {
        "plain": b.reservation(n["n1"], gen, "2026-02-20 16:00", "2026-02-22 09:00", blocks=4),
        "windowed": b.reservation(n["n2"], gen, "2026-02-20 16:00", "2026-02-22 09:00", blocks=4),
        "outage": b.reservation(n["n3"], cli, "2026-02-20 16:00", "2026-02-22 09:00", blocks=4),
        "month": b.reservation(n["n4"], cli, "2026-02-27 16:00", "2026-03-02 09:00", blocks=6),
        "pending": b.reservation(n["gpu9"], cli, "2026-02-20 16:00", "2026-02-21 09:00", status="pending"),
    }
    b.window("Existing", "2026-02-21 06:00", "2026-02-21 12:00", nodes=(n["n2"],))
    b.outage("PSU", "2026-02-21 10:00", "2026-02-21 14:00", nodes=(n["n3"],))
    b.outage("Not credited", "2026-02-21 15:00", "2026-02-21 16:00", nodes=(n["n3"],), credit=False)
    return {"nodes": n, "reservations": r}


def test_a_window_over_many_cases_equals_the_invoice_difference(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        r = made["reservations"]
        # All nodes, Feb 21 08:00 -> Mar 1 12:00: every reservation, the pending one too.
        impact = assess(ctx, local("2026-02-21 08:00"), local("2026-03-01 12:00"), Scope())
        by_id = {line.reservation_id: line for line in impact.lines}
        assert set(by_id) == {x.id for x in r.values()}  # type: ignore[attr-defined]
        plain = by_id[r["plain"].id]  # type: ignore[attr-defined]
        # Feb 21 08:00 -> Feb 22 09:00 = 25 h at $8.
        assert (plain.hours, plain.not_billed) == (Decimal(25), Decimal("200.00"))
        assert (plain.node, plain.project, plain.owner, plain.status) == (
            "n1",
            "Genomics",
            "alice",
            "approved",
        )
        # The existing window (06:00-12:00) already covers 08:00-12:00: only 21 h are added.
        assert by_id[r["windowed"].id].hours == Decimal(21)  # type: ignore[attr-defined]
        # The credited outage (10:00-14:00) covers 4 h; the uncredited one counts for nothing.
        assert by_id[r["outage"].id].hours == Decimal(21)  # type: ignore[attr-defined]
        # Feb 27 16:00 -> Mar 1 12:00: the February part at $8, the March part at $10.50.
        month = by_id[r["month"].id]  # type: ignore[attr-defined]
        feb = Decimal(32)  # Feb 27 16:00 -> Mar 1 00:00 (2026 is no leap year)
        mar = Decimal(12)
        assert month.hours == feb + mar
        assert month.not_billed == feb * 8 + mar * Decimal("10.50")
        assert month.months == ("2026-02", "2026-03")
        pending = by_id[r["pending"].id]  # type: ignore[attr-defined]
        assert pending.status == "pending" and pending.hours == Decimal(1)  # 08:00 -> 09:00
        assert pending.not_billed == Decimal("12.35")  # 1 h at 12.345678, rounded as a line
        assert impact.currency == "USD"
        assert impact.node_count == 5
        approved = sum((x.not_billed for x in impact.lines if x.status == "approved"), Decimal(0))
        assert approved == _invoice_difference(ctx, b, "new", "2026-02-21 08:00", "2026-03-01 12:00")
        assert impact.not_billed == approved + pending.not_billed
        assert impact.hours == sum((x.hours for x in impact.lines), Decimal(0))


@pytest.mark.parametrize(
    ("start", "end", "nodes"),
    [
        ("2026-02-21 09:00", "2026-02-21 11:00", ("n2",)),  # inside an existing window: nothing
        ("2026-02-21 11:00", "2026-02-21 15:00", ("n2", "n3")),  # overlaps a window and an outage
        ("2026-02-22 08:00", "2026-02-23 00:00", ("n1",)),  # reservation partly covered at its end
        ("2026-02-28 22:00", "2026-03-01 02:30", ("n4",)),  # crosses the month boundary
        ("2026-02-10 00:00", "2026-02-12 00:00", ()),  # hits nobody
    ],
)
def test_preview_equals_invoice_difference(
    runtime: Runtime, start: str, end: str, nodes: tuple[str, ...]
) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        impact = assess(ctx, local(start), local(end), Scope(nodes=nodes))
        approved = sum((x.not_billed for x in impact.lines if x.status == "approved"), Decimal(0))
        node_rows = tuple(made["nodes"][n] for n in nodes)  # type: ignore[index]
        assert approved == _invoice_difference(ctx, b, "new", start, end, nodes=node_rows)
        if start == "2026-02-21 09:00":
            assert impact.lines == ()
        if start == "2026-02-22 08:00":
            assert [x.hours for x in impact.lines] == [Decimal(1)]  # 08:00 -> 09:00, its end
        if start == "2026-02-28 22:00":
            (line,) = impact.lines
            assert line.not_billed == 2 * 8 + Decimal("2.5") * Decimal("10.50")
            assert line.months == ("2026-02", "2026-03")


def test_conflict_warnings_on_shared_nodes_only(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        n = made["nodes"]
        other = b.window("Other racks", "2026-02-21 00:00", "2026-02-22 00:00", nodes=(n["n4"],))  # type: ignore[index]
        typed = b.window(
            "H100 firmware", "2026-02-21 13:00", "2026-02-21 14:00", types=(b.node_type("H100"),)
        )
        open_outage = b.outage("Fan", "2026-02-15 09:00", None, nodes=(n["n3"], n["n1"]))  # type: ignore[index]
        impact = assess(ctx, local("2026-02-21 11:00"), local("2026-02-21 15:30"), Scope(nodes=("n2", "n3")))
        assert [(w.title, w.nodes) for w in impact.windows] == [("Existing", ("n2",))]
        outages = {o.title: o for o in impact.outages}
        assert set(outages) == {"PSU", "Not credited", "Fan"}
        assert outages["Fan"].end is None and outages["Fan"].nodes == ("n3",)
        assert outages["Not credited"].credit is False
        # A type scope meets the window on that type; all nodes meets every window.
        h100 = assess(ctx, local("2026-02-21 13:30"), local("2026-02-21 16:00"), Scope(node_types=("H100",)))
        assert [w.id for w in h100.windows] == [typed.id]
        everything = assess(ctx, local("2026-02-21 11:00"), local("2026-02-21 13:30"), Scope())
        assert {w.id for w in everything.windows} >= {other.id, typed.id}
        assert open_outage.id in {o.id for o in everything.outages}
        doc = impact.to_json(ctx.tz)
        assert doc["warnings"]["windows"][0]["title"] == "Existing"  # type: ignore[index]
        assert doc["warnings"]["outages"][0]["start"].endswith("-05:00")  # type: ignore[index]
        texts = impact.warning_texts(ctx.tz)
        assert any("window #" in t and "'Existing'" in t for t in texts)


def test_moving_a_window_does_not_count_its_current_version(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        w = b.window("Move me", "2026-02-21 08:00", "2026-02-21 20:00", nodes=(made["nodes"]["n1"],))  # type: ignore[index]
        scope = Scope(nodes=("n1",))
        extended = assess(
            ctx, local("2026-02-21 08:00"), local("2026-02-21 22:00"), scope, exclude_window_id=w.id
        )
        assert [x.hours for x in extended.lines] == [Decimal(14)]
        assert [x.not_billed for x in extended.lines] == [Decimal("112.00")]
        assert extended.windows == ()  # its own current version is no conflict
        counted = assess(ctx, local("2026-02-21 08:00"), local("2026-02-21 22:00"), scope)
        assert [x.hours for x in counted.lines] == [Decimal(2)]
        assert [c.id for c in counted.windows] == [w.id]


def test_exclude_override_means_nothing_billed_changes(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        b.override("2026-02", made["reservations"]["plain"], "exclude")  # type: ignore[index]
        impact = assess(ctx, local("2026-02-21 08:00"), local("2026-02-21 20:00"), Scope(nodes=("n1",)))
        (line,) = impact.lines
        assert (line.hours, line.not_billed, line.months) == (Decimal(12), Decimal("0.00"), ())
        assert Decimal(0) == _invoice_difference(
            ctx,
            b,
            "x",
            "2026-02-21 08:00",
            "2026-02-21 20:00",
            nodes=(made["nodes"]["n1"],),  # type: ignore[index]
        )


def test_assess_many_and_bad_input(runtime: Runtime) -> None:
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        _centre(b)
        spans = [
            (local("2026-02-21 08:00"), local("2026-02-21 20:00")),
            (local("2026-03-01 00:00"), local("2026-03-01 06:00")),
        ]
        first, second = assess_many(ctx, spans, Scope(nodes=("n1", "n4")))
        assert [(x.node, x.hours) for x in first.lines] == [("n1", Decimal(12))]
        assert [(x.node, x.not_billed) for x in second.lines] == [("n4", Decimal("63.00"))]
        assert assess_many(ctx, [], Scope()) == []
        with pytest.raises(NotFoundError) as err:
            assess(ctx, local("2026-02-21 08:00"), local("2026-02-21 20:00"), Scope(nodes=("nope",)))
        assert err.value.field == "node"
        with pytest.raises(ValidationError) as bad:
            assess(ctx, local("2026-02-21 08:00"), local("2026-02-21 08:00"), Scope())
        assert bad.value.field == "end"


def test_a_fixed_number_of_queries(runtime: Runtime) -> None:
    from sqlalchemy import event

    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        made = _centre(b)
        count = [0]

        def counter(*_a) -> None:  # type: ignore[no-untyped-def]
            count[0] += 1

        engine = ctx.session.get_bind()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assess(ctx, local("2026-02-21 08:00"), local("2026-03-01 12:00"), Scope())
            few = count[0]
            proj = made["reservations"]["plain"].project  # type: ignore[index]
            for i in range(20):
                node = b.node(f"x{i:02d}")
                b.reservation(node, proj, "2026-02-23 16:00", "2026-02-24 09:00")
                b.window(f"w{i}", "2026-02-23 18:00", "2026-02-23 19:00", nodes=(node,))
            count[0] = 0
            many = assess(ctx, local("2026-02-21 08:00"), local("2026-03-01 12:00"), Scope())
            assert count[0] == few
            assert len(many.lines) == 25 and len(many.windows) == 21
        finally:
            event.remove(engine, "before_cursor_execute", counter)


HOUR_SLOTS = st.integers(min_value=0, max_value=24 * 14)  # hours from Feb 24 00:00 local (to Mar 10)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reservations=st.lists(st.tuples(st.integers(0, 2), HOUR_SLOTS, st.integers(1, 60)), max_size=4),
    windows=st.lists(st.tuples(st.integers(0, 2), HOUR_SLOTS, st.integers(1, 30)), max_size=3),
    outage=st.one_of(st.none(), st.tuples(st.integers(0, 2), HOUR_SLOTS, st.integers(1, 30))),
    proposed=st.tuples(st.lists(st.integers(0, 2), max_size=2, unique=True), HOUR_SLOTS, st.integers(1, 72)),
)
def test_property_preview_equals_invoice_difference(
    runtime: Runtime,
    reservations,
    windows,
    outage,
    proposed,  # type: ignore[no-untyped-def]
) -> None:
    """Random reservations, windows and an outage around the Feb/Mar boundary (a rate change) and
    the March DST change."""
    from datetime import timedelta

    base = local("2026-02-24 00:00")

    def at(hour: int) -> str:
        """An instant ``hour`` real hours on, with its offset (the span crosses the DST change)."""
        return (base + timedelta(hours=hour)).isoformat()

    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("alice")
        b.rate("NODE_A100", "8.00", date(2026, 1, 1))
        b.rate("NODE_A100", "9.125", date(2026, 3, 1))
        proj = b.project("P", "alice")
        nodes = [b.node(f"n{i}") for i in range(3)]
        taken: dict[int, list[tuple[int, int]]] = {}
        for node, start, length in reservations:
            if any(start < e and s < start + length for s, e in taken.get(node, [])):
                continue  # reservations on one node never overlap
            taken.setdefault(node, []).append((start, start + length))
            b.reservation(nodes[node], proj, at(start), at(start + length))
        for node, start, length in windows:
            b.window("w", at(start), at(start + length), nodes=(nodes[node],))
        if outage:
            node, start, length = outage
            b.outage("o", at(start), at(start + length), nodes=(nodes[node],))
        chosen, start, length = proposed
        impact = assess(
            ctx, local(at(start)), local(at(start + length)), Scope(nodes=tuple(f"n{i}" for i in chosen))
        )
        diff = _invoice_difference(
            ctx, b, "proposed", at(start), at(start + length), nodes=tuple(nodes[i] for i in chosen)
        )
        assert impact.not_billed == diff
