"""SKUs (automatic NODE_<TYPE>, shipped fee SKUs) and append-only rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core.errors import LockedError, NotFoundError, PermissionDenied, ValidationError
from nodedesk.core.models import ActivityEntry, NodeType, Rate, Sku
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import rates
from nodedesk.core.services.nodes import inventory
from sqlalchemy import func, select

from tests.helpers import runtime_as
from tests.rentals.projects_helpers import finalize_month, last_entry


def set_rate(runtime: Runtime, sku: str, amount: str, day: date, notes: str = "") -> rates.RateView:
    with runtime.write() as ctx:
        return rates.set_rate(ctx, sku, amount, day, notes)


def amount_on(runtime: Runtime, sku: str, day: date) -> Decimal | None:
    with runtime.read() as ctx:
        r = rates.rate_in_force(ctx, sku, day)
    return r.amount if r else None


# ---------------------------------------------------------------- SKUs


def test_node_type_gets_hourly_sku(centre: Runtime) -> None:
    with centre.write() as ctx:
        inventory.add_node_type(ctx, "l40s-x", "GPU")
    entry = last_entry(centre)
    assert entry["action"] == "node_type.created"
    assert entry["after"]["sku"] == "NODE_L40S_X"
    with centre.read() as ctx:
        a100 = rates.get_sku(ctx, "node_a100")
        l40 = rates.get_sku(ctx, "NODE_L40S_X")
    assert (a100.kind, a100.unit, a100.node_type, a100.category) == ("hourly", "hour", "A100", "node")
    assert l40.node_type == "l40s-x"


def test_rename_keeps_sku_and_rates(centre: Runtime) -> None:
    set_rate(centre, "NODE_A100", "8.00", date(2026, 1, 1))
    with centre.read() as ctx:
        sku_id = rates.find_sku(ctx, "NODE_A100").id
    with centre.write() as ctx:
        inventory.rename_node_type(ctx, "A100", "A100-80G")
    entry = last_entry(centre)
    assert entry["action"] == "node_type.renamed"
    assert (entry["before"]["name"], entry["after"]["name"], entry["after"]["sku"]) == (
        "A100",
        "A100-80G",
        "NODE_A100",
    )
    with centre.read() as ctx:
        sku = rates.get_sku(ctx, "NODE_A100")
        assert sku.id == sku_id
        assert sku.node_type == "A100-80G"
        assert ctx.session.scalar(select(func.count(Sku.id)).where(Sku.kind == "hourly")) == 1
    assert amount_on(centre, "NODE_A100", date(2026, 2, 1)) == Decimal("8.00")
    with pytest.raises(ValidationError, match=r"NODE_A100 .* already used"), centre.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")  # the old name is free again; its SKU code is not
    with centre.read() as ctx:  # the refused node type was not created
        assert ctx.session.scalar(select(NodeType).where(NodeType.name == "A100")) is None


def test_shipped_fee_skus_loaded_at_init(runtime: Runtime) -> None:
    with runtime.read() as ctx:
        fees = {s.code: s for s in rates.list_skus(ctx, kind="monthly")}
        init = ctx.session.scalar(select(ActivityEntry).where(ActivityEntry.action == "site.initialized"))
        init_after = init.after_json  # type: ignore[union-attr]
    assert {"MAINT_STANDARD", "MAINT_ADVANCED", "QOS_PRIORITY"} <= set(fees)
    assert fees["MAINT_STANDARD"].category == "maintenance"
    assert fees["QOS_PRIORITY"].category == "qos"
    assert all(s.unit == "month" and s.rate is None for s in fees.values())
    assert '"MAINT_ADVANCED"' in init_after
    with runtime.write() as ctx:  # loading again creates nothing
        assert rates.load_skus(ctx) == []


def test_list_skus_shows_rate_in_force(centre: Runtime) -> None:
    set_rate(centre, "NODE_A100", "8.00", date(2026, 1, 1))
    set_rate(centre, "NODE_A100", "9.00", date(2026, 3, 1))
    with centre.read() as ctx:
        listed = {s.code: s for s in rates.list_skus(ctx)}
        later = {s.code: s for s in rates.list_skus(ctx, on=date(2026, 3, 1))}
    assert next(iter(listed)) == "NODE_A100"  # hourly first
    assert listed["NODE_A100"].to_json("UTC")["rate"] == "8.00"
    assert later["NODE_A100"].rate.amount == Decimal("9.00")  # type: ignore[union-attr]
    assert listed["MAINT_STANDARD"].to_json("UTC")["rate"] is None


# ---------------------------------------------------------------- rates


def test_rate_in_force_at_boundaries(centre: Runtime) -> None:
    set_rate(centre, "NODE_A100", "8.00", date(2026, 1, 1))
    set_rate(centre, "NODE_A100", "9.50", date(2026, 3, 1))
    assert amount_on(centre, "NODE_A100", date(2025, 12, 31)) is None
    assert amount_on(centre, "NODE_A100", date(2026, 1, 1)) == Decimal("8.00")
    assert amount_on(centre, "NODE_A100", date(2026, 2, 28)) == Decimal("8.00")
    assert amount_on(centre, "NODE_A100", date(2026, 3, 1)) == Decimal("9.50")
    assert amount_on(centre, "NODE_A100", date(2031, 1, 1)) == Decimal("9.50")
    with centre.read() as ctx:
        timeline = rates.rate_timeline(ctx, "NODE_A100")
    assert rates.pick_rate(timeline, date(2026, 2, 28)).amount == Decimal("8.00")  # type: ignore[union-attr]
    assert rates.pick_rate(timeline, date(2025, 2, 28)) is None


@pytest.mark.parametrize(
    ("given", "stored", "shown"),
    [
        ("0.123456", "0.123456", "0.123456"),
        ("8", "8.000000", "8.00"),
        ("2.125", "2.125000", "2.125"),
        ("0", "0.000000", "0.00"),
        ("$1,250.5", "1250.500000", "1250.50"),
        ("12345678901234.999999", "12345678901234.999999", "12345678901234.999999"),
    ],
)
def test_six_decimal_amounts_stored_exactly(centre: Runtime, given: str, stored: str, shown: str) -> None:
    v = set_rate(centre, "MAINT_STANDARD", given, date(2026, 1, 1))
    assert v.to_json("UTC")["amount"] == shown
    with centre.read() as ctx:
        row = ctx.session.get(Rate, v.id)
        assert format(row.amount, "f") == stored  # type: ignore[union-attr]
    assert amount_on(centre, "MAINT_STANDARD", date(2026, 1, 1)) == Decimal(stored)


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ("0.1234567", "more than 6 decimal places"),
        ("-0.01", "must not be negative"),
        ("abc", "not an amount"),
        ("Infinity", "not an amount"),
        ("123456789012345", "too large"),
    ],
)
def test_bad_amounts(centre: Runtime, given: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        set_rate(centre, "NODE_A100", given, date(2026, 1, 1))
    with centre.read() as ctx:
        assert ctx.session.scalar(select(func.count(Rate.id))) == 0


def test_float_amount_refused_and_unknown_sku(centre: Runtime) -> None:
    with pytest.raises(ValidationError, match="never a float"):
        set_rate(centre, "NODE_A100", 8.5, date(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no SKU 'NODE_NOPE'"):
        set_rate(centre, "NODE_NOPE", "1", date(2026, 1, 1))


def test_correction_is_a_new_row(centre: Runtime) -> None:
    first = set_rate(centre, "NODE_A100", "9.50", date(2026, 3, 1), "board decision")
    assert last_entry(centre)["action"] == "rate.set"
    with pytest.raises(ValidationError, match="correction needs notes"):
        set_rate(centre, "NODE_A100", "9.25", date(2026, 3, 1))
    fixed = set_rate(centre, "NODE_A100", "9.25", date(2026, 3, 1), "typo: board said 9.25")
    assert fixed.id != first.id
    entry = last_entry(centre)
    assert entry["action"] == "rate.corrected"
    assert entry["reason"] == "typo: board said 9.25"
    assert entry["before"]["amount"] == "9.50"
    assert entry["after"]["amount"] == "9.25"
    assert amount_on(centre, "NODE_A100", date(2026, 3, 1)) == Decimal("9.25")
    with centre.read() as ctx:
        old = ctx.session.get(Rate, first.id)
        assert (old.amount, old.notes) == (Decimal("9.50"), "board decision")  # type: ignore[union-attr]
        history = rates.rate_history(ctx, "NODE_A100")
    assert [(h.id, h.superseded_by) for h in history] == [(fixed.id, None), (first.id, fixed.id)]


def test_rate_permissions(centre: Runtime) -> None:
    set_rate(runtime_as(centre, "ratemgr"), "NODE_A100", "8", date(2026, 1, 1))
    assert last_entry(centre)["actor"] == "ratemgr"
    for login in ("bmgr", "rmgr", "vic"):
        with pytest.raises(PermissionDenied, match="may not manage rates"):
            set_rate(runtime_as(centre, login), "NODE_A100", "9", date(2026, 1, 1), "x")


def test_rate_change_reaching_finalized_month_is_refused(centre: Runtime) -> None:
    set_rate(centre, "NODE_A100", "8.00", date(2026, 1, 1))
    finalize_month(centre, "2026-01")
    with pytest.raises(LockedError, match="finalized invoice for 2026-01"):
        set_rate(centre, "NODE_A100", "9.00", date(2026, 1, 31))
    with pytest.raises(LockedError, match="2026-01"):  # a correction of January's row too
        set_rate(centre, "NODE_A100", "7.00", date(2026, 1, 1), "fix")
    with pytest.raises(LockedError, match="2026-01"):  # a new SKU dated before the month
        set_rate(centre, "MAINT_STANDARD", "25", date(2025, 12, 1))
    set_rate(centre, "NODE_A100", "8.00", date(2026, 1, 15), "same amount: changes nothing")
    set_rate(centre, "NODE_A100", "7.50", date(2025, 12, 1))  # December only: Jan 1 row takes over
    set_rate(centre, "NODE_A100", "9.00", date(2026, 2, 1))
    assert amount_on(centre, "NODE_A100", date(2026, 1, 31)) == Decimal("8.00")
    assert amount_on(centre, "NODE_A100", date(2026, 2, 1)) == Decimal("9.00")
    assert amount_on(centre, "NODE_A100", date(2025, 12, 31)) == Decimal("7.50")
