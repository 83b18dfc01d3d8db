"""Invoices from the database on both back ends: loading, overrides, finalize, verify, drift."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core import audit
from nodedesk.core.errors import (
    ConflictError,
    LockedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from nodedesk.core.models import ActivityEntry, InvoicePeriod, MaintenanceWindow, Project, Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from nodedesk.core.services.invoicing import invoices, overrides
from sqlalchemy import event, select

from tests.billing.factory import Builder
from tests.helpers import local, runtime_as


def entries_of(ctx) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    """(action, reason, before JSON) of every audit entry, oldest first."""
    rows = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq))
    return [(e.action, e.reason, e.before_json) for e in rows]


def line_of(inv: invoices.Invoice, reservation_id: int) -> dict:
    (found,) = [line for _p, line in inv.lines() if line.get("reservation_id") == reservation_id]
    return found


def build(runtime: Runtime, fn):  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        return fn(Builder(ctx.session, ctx.now()))


def people(b: Builder) -> None:
    b.user("bob", ("billing_manager",))
    b.user("vic", ("viewer",))
    b.user("rita", ("rental_manager",))


# ---------------------------------------------------------------- loading


def test_scopes_outages_and_statuses(runtime: Runtime) -> None:
    def setup(b: Builder) -> dict[str, int]:
        b.rate("NODE_A100", "8.00", date(2026, 1, 1))
        b.node_type("H100")
        b.rate("NODE_H100", "20.00", date(2026, 1, 1))
        p = b.project("Genomics")
        b.split(p, date(2026, 1, 1), {"G1": "100"})
        a, h = b.node("a1", "A100"), b.node("h1", "H100")
        ra = b.reservation(a, p, "2026-02-02 16:00", "2026-02-03 09:00")
        rh = b.reservation(h, p, "2026-02-02 16:00", "2026-02-03 09:00")
        b.reservation(a, p, "2026-02-05 16:00", "2026-02-06 09:00", status="pending")
        b.reservation(a, p, "2026-02-07 16:00", "2026-02-08 09:00", status="cancelled")
        b.reservation(h, p, "2026-02-07 16:00", "2026-02-08 09:00", status="declined")
        b.window("All nodes", "2026-02-02 20:00", "2026-02-02 21:00")  # 1 h on both
        b.window("H100 type", "2026-02-02 22:00", "2026-02-02 23:00", types=(b.node_type("H100"),))
        b.window("Other node", "2026-02-03 01:00", "2026-02-03 02:00", nodes=(b.node("x1"),))
        b.outage("PSU", "2026-02-03 03:00", "2026-02-03 05:00", (a,))  # credited: 2 h on a1
        b.outage("Uncredited", "2026-02-03 06:00", "2026-02-03 07:00", (a,), credit=False)
        return {"a": ra.id, "h": rh.id}

    ids = build(runtime, setup)
    with runtime.read() as ctx:
        inv = invoices.compute_invoice(ctx, "2026-02")
    la, lh = line_of(inv, ids["a"]), line_of(inv, ids["h"])
    assert (la["downtime_hours"], la["net_hours"], la["amount"]) == ("3.00", "14.00", "112.00")
    assert [d["title"] for d in la["downtime"]] == ["All nodes", "PSU"]
    assert (lh["downtime_hours"], lh["net_hours"], lh["amount"], lh["sku"]) == (
        "2.00",
        "15.00",
        "300.00",
        "NODE_H100",
    )
    assert len(list(inv.lines())) == 2  # pending/cancelled/declined are not billed
    assert any("1 pending reservation overlaps 2026-02" in w for w in inv.warnings)


def test_open_outage_counts_up_to_now(runtime: Runtime) -> None:
    def setup(b: Builder) -> int:
        b.rate("NODE_A100", "8.00", date(2026, 1, 1))
        p = b.project("Genomics")
        n = b.node("a1")
        r = b.reservation(n, p, "2026-02-14 16:00", "2026-02-16 09:00")
        b.outage("GPU fault", "2026-02-15 06:00", None, (n,))
        return r.id

    rid = build(runtime, setup)  # now is 2026-02-15 10:00
    with runtime.read() as ctx:
        inv = invoices.compute_invoice(ctx, "2026-02")
    line = line_of(inv, rid)
    assert (line["downtime_hours"], line["net_hours"]) == ("4.00", "37.00")
    assert line["downtime"][0]["open"] is True
    assert any("GPU fault" in w and "still open" in w for w in inv.warnings)
    assert any("no approved cost split" in w for w in inv.warnings)


def test_fee_lines_and_months(runtime: Runtime, reference: dict) -> None:
    def setup(b: Builder) -> None:
        b.rate("MAINT_STANDARD", "56.00", date(2025, 1, 1))
        genomics = b.s.scalar(select(Project).where(Project.title == "Genomics"))
        b.fee("carol", "MAINT_STANDARD", genomics, date(2026, 1, 15), date(2026, 2, 14))

    build(runtime, setup)
    with runtime.read() as ctx:
        jan = invoices.compute_invoice(ctx, "2026-01")
        months = invoices.list_months(ctx)
    (fee,) = [line for _p, line in jan.lines() if line["type"] == "fee"]
    assert (fee["user"], fee["days"], fee["days_in_month"], fee["fraction"], fee["amount"]) == (
        "carol",
        17,
        31,
        "0.548387",
        "30.71",
    )
    assert fee["split"] == [
        {"cost_object": "GRANT-A", "amount": "18.43"},
        {"cost_object": "GRANT-B", "amount": "12.28"},
    ]
    assert [m.period for m in months] == ["2026-01", "2026-02"]
    assert months[1].amount == "1796.00"  # 1768.00 + 14/28 × 56.00
    assert months[0].status == "draft" and months[0].lines == 2


def test_project_filter(runtime: Runtime, reference: dict) -> None:
    def setup(b: Builder) -> None:
        other = b.project("Climate", "dora")
        b.reservation(b.node("c1"), other, "2026-02-02 16:00", "2026-02-03 09:00")

    build(runtime, setup)
    with runtime.read() as ctx:
        whole = invoices.compute_invoice(ctx, "2026-02")
        one = invoices.compute_invoice(ctx, "2026-02", project="climate")  # case-insensitive title
        with pytest.raises(NotFoundError):
            invoices.compute_invoice(ctx, "2026-02", project="Nope")
        with pytest.raises(ValidationError) as err:
            invoices.compute_invoice(ctx, "2026-13")
    assert err.value.field == "period"
    assert [p["project"] for p in whole.projects] == ["Climate", "Genomics"]
    assert [p["project"] for p in one.projects] == ["Climate"]
    assert one.totals["amount"] == "136.00" and whole.totals["amount"] == "1904.00"


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


def _month_queries(runtime: Runtime) -> tuple[int, int]:
    with runtime.read() as ctx, QueryCounter(runtime) as counter:
        inv = invoices.compute_invoice(ctx, "2026-02")
    return counter.count, len(list(inv.lines()))


def test_a_month_loads_with_a_fixed_number_of_queries(runtime: Runtime, reference: dict) -> None:
    build(runtime, lambda b: b.outage("o", "2026-02-01 01:00", "2026-02-01 02:00", (b.node("spare"),)))
    small, small_lines = _month_queries(runtime)

    def grow(b: Builder) -> None:
        b.node_type("L40S")
        b.rate("NODE_L40S", "3.00", date(2026, 1, 1))
        b.rate("NODE_L40S", "4.00", date(2026, 2, 10))
        nt = b.node_type("L40S")
        for i in range(12):
            p = b.project(f"P{i}", f"owner{i}")
            b.split(p, date(2026, 1, 1), {"X": "50", "Y": "50"})
            b.split(p, date(2026, 2, 12), {"Z": "100"})
            n = b.node(f"l{i}", "L40S")
            for day in range(1, 25, 3):
                b.reservation(n, p, f"2026-02-{day:02d} 16:00", f"2026-02-{day + 1:02d} 09:00")
            b.window(
                f"w{i}", f"2026-02-{i + 2:02d} 00:00", f"2026-02-{i + 2:02d} 06:00", nodes=(n,), types=(nt,)
            )
            b.outage(f"o{i}", f"2026-02-{i + 3:02d} 01:00", f"2026-02-{i + 3:02d} 02:00", (n,))
            b.fee(f"owner{i}", "MAINT_STANDARD", p, date(2026, 1, 1))

    build(runtime, grow)
    big, big_lines = _month_queries(runtime)
    assert big_lines > small_lines + 100
    assert big == small, (small, big)
    assert big <= 16


# ---------------------------------------------------------------- overrides


def test_override_kinds_through_the_service(runtime: Runtime, reference: dict) -> None:
    build(runtime, people)
    build(runtime, lambda b: b.split(b.project("Climate", "dora"), date(2026, 1, 1), {"CL-1": "100"}))
    rid = reference["reservation_ids"][2]  # the 29 h line
    bob = runtime_as(runtime, "bob")
    with bob.write() as ctx:
        v = overrides.set_override(ctx, "2026-02", rid, kind="hours", hours="10", reason="agreed with PI")
    assert (v.kind, v.value, v.by) == ("hours", "10.00", "bob")
    with runtime.read() as ctx:
        line = line_of(invoices.compute_invoice(ctx, "2026-02"), rid)
    assert (line["net_hours"], line["computed_net_hours"], line["amount"]) == ("10.00", "29.00", "80.00")
    assert line["override"] == {"kind": "hours", "value": "10.00", "reason": "agreed with PI", "by": "bob"}

    with bob.write() as ctx:  # replacing: one override per line and month
        overrides.set_override(
            ctx, "2026-02", rid, kind="split", split=[("X", "75"), ("Y", "25")], reason="r"
        )
    with runtime.read() as ctx:
        line = line_of(invoices.compute_invoice(ctx, "2026-02"), rid)
        assert [(s["cost_object"], s["amount"]) for s in line["split"]] == [("X", "174.00"), ("Y", "58.00")]
        assert len(overrides.list_overrides(ctx, "2026-02")) == 1

    with bob.write() as ctx:
        overrides.set_override(
            ctx, "2026-02", rid, kind="charge_to", charge_to="Climate", reason="their data"
        )
    with runtime.read() as ctx:
        inv = invoices.compute_invoice(ctx, "2026-02")
    (climate,) = [p for p in inv.projects if p["project"] == "Climate"]
    assert climate["owner"] == "dora"
    assert climate["lines"][0]["charged_from"] == "Genomics"
    assert climate["totals"]["cost_objects"] == {"CL-1": {"hours": "29.00", "amount": "232.00"}}

    with bob.write() as ctx:
        overrides.set_override(ctx, "2026-02", rid, kind="exclude", reason="goodwill")
    with runtime.read() as ctx:
        line = line_of(invoices.compute_invoice(ctx, "2026-02"), rid)
    assert (line["excluded"], line["amount"], line["split"]) == (True, "0.00", [])

    with bob.write() as ctx:
        cleared = overrides.clear_override(ctx, "2026-02", rid, reason="back to normal")
    assert cleared.kind == "exclude"
    with runtime.read() as ctx:
        assert line_of(invoices.compute_invoice(ctx, "2026-02"), rid)["amount"] == "232.00"
        entries = [e for e in entries_of(ctx) if e[0].startswith("override.")]
    assert [e[0] for e in entries] == ["override.set"] * 4 + ["override.cleared"]
    assert all(e[1] for e in entries) and entries[1][2]


def test_override_refusals(runtime: Runtime, reference: dict) -> None:
    build(runtime, people)
    ids = reference["reservation_ids"]

    def cancelled(b: Builder) -> int:
        r = b.s.get(Reservation, ids[1])
        return b.reservation(r.node, r.project, "2026-02-20 16:00", "2026-02-21 09:00", status="cancelled").id

    cancelled_id = build(runtime, cancelled)
    for who, exc in (("vic", PermissionDenied), ("rita", PermissionDenied)):
        with runtime_as(runtime, who).write() as ctx, pytest.raises(exc):
            overrides.set_override(ctx, "2026-02", ids[2], kind="exclude", reason="x")
    cases = [
        (dict(kind="exclude", reason=" "), "reason"),
        (dict(kind="bogus", reason="x"), "kind"),
        (dict(kind="hours", hours="41.5", reason="x"), "hours"),  # more than the 41 h reserved
        (dict(kind="hours", hours="-1", reason="x"), "hours"),
        (dict(kind="hours", reason="x"), "hours"),
        (dict(kind="exclude", hours="3", reason="x"), "hours"),
        (dict(kind="split", split=[("X", "60"), ("Y", "30")], reason="x"), "split"),
        (dict(kind="charge_to", charge_to="Genomics", reason="x"), "charge_to"),
    ]
    with runtime_as(runtime, "bob").write() as ctx:
        for kwargs, field in cases:
            with pytest.raises(ValidationError) as err:
                overrides.set_override(ctx, "2026-02", ids[2], **kwargs)  # type: ignore[arg-type]
            assert err.value.field == field, kwargs
        with pytest.raises(NotFoundError):
            overrides.set_override(ctx, "2026-02", 9999, kind="exclude", reason="x")
        with pytest.raises(ValidationError, match="cancelled"):
            overrides.set_override(ctx, "2026-02", cancelled_id, kind="exclude", reason="x")
        with pytest.raises(ValidationError, match="not billed in 2026-03"):
            overrides.set_override(ctx, "2026-03", ids[2], kind="exclude", reason="x")
        with pytest.raises(NotFoundError):
            overrides.clear_override(ctx, "2026-02", ids[2], reason="x")
        with pytest.raises(NotFoundError):
            overrides.set_override(ctx, "2026-02", ids[2], kind="charge_to", charge_to="Nope", reason="x")
        assert overrides.list_overrides(ctx, "2026-02") == []


# ---------------------------------------------------------------- finalize, verify, drift


def test_finalize_snapshot_correction_verify_unfinalize_refinalize(
    runtime: Runtime, reference: dict, clock
) -> None:  # type: ignore[no-untyped-def]
    build(runtime, people)
    bob = runtime_as(runtime, "bob")
    rid = reference["reservation_ids"][2]

    with bob.write() as ctx, pytest.raises(ValidationError, match="not over yet"):
        invoices.finalize(ctx, "2026-02")
    clock.set(local("2026-03-03 09:00"))
    with runtime_as(runtime, "vic").write() as ctx, pytest.raises(PermissionDenied):
        invoices.finalize(ctx, "2026-02")
    with bob.write() as ctx:
        fin = invoices.finalize(ctx, "2026-02")
    assert fin.status == "finalized" and fin.doc["finalized"]["by"] == "bob" and len(fin.sha256 or "") == 64
    with bob.write() as ctx, pytest.raises(ConflictError, match="already finalized"):
        invoices.finalize(ctx, "2026-02")

    # shown from the snapshot, even after the live data changes
    def cancel(b: Builder) -> None:
        b.s.get(Reservation, reference["reservation_ids"][1]).status = "cancelled"

    build(runtime, cancel)
    with runtime.read() as ctx:
        shown = invoices.compute_invoice(ctx, "2026-02")
        live = invoices.live_invoice(ctx, "2026-02")
    assert shown.status == "finalized" and not shown.live
    assert shown.totals["amount"] == "1768.00" and live.totals["amount"] == "1440.00"
    stored = json.loads(_stored(runtime, "2026-02"))  # the figures; who and when sit beside them
    assert stored["finalized"] is None and stored["generated_at"] is None
    assert shown.doc["finalized"] == {"by": "bob", "at": "2026-03-03T09:00:00-05:00"}
    assert shown.doc["generated_at"] == "2026-03-03T09:00:00-05:00"
    assert {
        k: v for k, v in shown.doc.items() if k not in ("snapshot", "digest", "finalized", "generated_at")
    } == {k: v for k, v in stored.items() if k not in ("finalized", "generated_at")}

    # ordinary changes that would alter the finalized month are refused
    with bob.write() as ctx, pytest.raises(LockedError, match="finalized"):
        overrides.set_override(ctx, "2026-02", rid, kind="exclude", reason="late")
    with runtime.write() as ctx, pytest.raises(LockedError):
        windows.create_window(
            ctx,
            windows.WindowDraft("Backdated", local("2026-02-15 01:00"), local("2026-02-15 02:00")),
            reason="forgot",
        )

    # an admin correction goes through and flags the month
    with runtime.read() as ctx:
        firmware = ctx.session.scalar(
            select(MaintenanceWindow.id).where(MaintenanceWindow.title == "Firmware")
        )
    with runtime.write() as ctx:
        res = windows.update_window(
            ctx,
            firmware,
            windows.WindowChanges(end=local("2026-02-15 14:00")),
            correction=True,
            reason="ended early",
        )
    assert res.drifted_months == ["2026-02"]
    with runtime.read() as ctx:
        result = invoices.verify(ctx, "2026-02")
        flagged = invoices.compute_invoice(ctx, "2026-02")
    assert flagged.drifted and "ended early" in flagged.drift_note
    assert result.drifted and result.flagged and result.integrity_ok
    by_key = {i.key: i for i in result.items}
    changed = by_key[f"reservation:{rid}"]
    assert changed.kind == "line_changed"
    assert {
        c.field: (c.before, c.after) for c in changed.changes if c.field in ("downtime_hours", "amount")
    } == {
        "downtime_hours": ("12.00", "6.00"),
        "amount": ("232.00", "280.00"),
    }
    assert by_key[f"reservation:{reference['reservation_ids'][1]}"].kind == "line_removed"
    assert by_key["invoice"].changes[-1].before == "1768.00"
    assert result.live_totals["amount"] == "1488.00"

    with bob.write() as ctx, pytest.raises(ValidationError):
        invoices.unfinalize(ctx, "2026-02", "  ")
    with bob.write() as ctx:
        undone = invoices.unfinalize(ctx, "2026-02", "correct the firmware window")
    assert undone.sha256 == fin.sha256
    with runtime.read() as ctx:
        assert invoices.compute_invoice(ctx, "2026-02").status == "draft"
        with pytest.raises(ValidationError, match="not finalized"):
            invoices.verify(ctx, "2026-02")
    with bob.write() as ctx:
        again = invoices.finalize(ctx, "2026-02")
    assert again.totals["amount"] == "1488.00" and again.sha256 != fin.sha256 and not again.drifted
    with runtime.read() as ctx:
        assert not invoices.verify(ctx, "2026-02").drifted
        history = invoices.snapshot_history(ctx, "2026-02")
        actions = [e[0] for e in entries_of(ctx) if e[0].startswith("invoice.")]
    assert [(h.amount, h.unfinalize_reason) for h in history] == [
        ("1768.00", "correct the firmware window"),
        ("1488.00", ""),
    ]
    assert actions == ["invoice.finalized", "invoice.unfinalized", "invoice.finalized"]
    with runtime.read() as ctx:
        assert audit.verify(ctx.session).ok


def _stored(runtime: Runtime, period: str) -> str:
    with runtime.read() as ctx:
        return ctx.session.scalar(select(InvoicePeriod.snapshot_json).where(InvoicePeriod.period == period))


def test_verify_reports_rate_rows_and_tampering(runtime: Runtime, reference: dict, clock) -> None:  # type: ignore[no-untyped-def]
    build(runtime, people)
    clock.set(local("2026-03-01 00:00"))
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    build(runtime, lambda b: b.rate("NODE_A100", "9.00", date(2026, 1, 31)))  # behind the guard's back
    with runtime.read() as ctx:
        result = invoices.verify(ctx, "2026-01")
    assert not result.drifted  # Jan 31 was all downtime: nothing billed changes
    build(runtime, lambda b: b.rate("NODE_A100", "9.00", date(2026, 1, 30)))
    with runtime.read() as ctx:
        result = invoices.verify(ctx, "2026-01")
    assert result.drifted and result.items[0].changes[0].field == "amount"
    assert result.items[0].changes[0].before == "64.00" and result.items[0].changes[0].after == "72.00"

    with runtime.write() as ctx:
        row = ctx.session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == "2026-01"))
        row.snapshot_json = row.snapshot_json.replace('"64.00"', '"6.40"')
    with runtime.read() as ctx:
        result = invoices.verify(ctx, "2026-01")
    assert not result.integrity_ok and result.items[0].kind == "integrity"


def test_unfinalize_refusals(runtime: Runtime, reference: dict) -> None:
    build(runtime, people)
    with runtime_as(runtime, "bob").write() as ctx, pytest.raises(ValidationError, match="not finalized"):
        invoices.unfinalize(ctx, "2026-01", "why")
    with runtime_as(runtime, "vic").write() as ctx, pytest.raises(PermissionDenied):
        invoices.unfinalize(ctx, "2026-01", "why")


def test_decimal_override_hours_are_exact(runtime: Runtime, reference: dict) -> None:
    build(runtime, people)
    rid = reference["reservation_ids"][1]
    with runtime_as(runtime, "bob").write() as ctx:
        overrides.set_override(ctx, "2026-02", rid, kind="hours", hours=Decimal("0.333333"), reason="x")
        with pytest.raises(ValidationError, match="decimal places"):
            overrides.set_override(ctx, "2026-02", rid, kind="hours", hours="0.1234567", reason="x")
    with runtime.read() as ctx:
        line = line_of(invoices.compute_invoice(ctx, "2026-02"), rid)
    assert (line["net_hours"], line["amount"], line["override"]["value"]) == ("0.33", "2.67", "0.333333")
