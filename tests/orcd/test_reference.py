"""The plugin's own reference export (tests/fixtures/orcd-reference): dry run, migration, counts,
a second run, every month's invoice against figures worked by hand, and the comparison with
what the plugin billed. Both back ends."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from nodedesk.core import audit
from nodedesk.core.clock import FrozenClock
from nodedesk.core.models import (
    ActivityEntry,
    CostSplitVersion,
    FeeSubscriptionPeriod,
    MaintenanceWindow,
    Node,
    Project,
    ProjectMember,
    Rate,
    Reservation,
    User,
)
from nodedesk.core.orcd.compare import compare_invoice
from nodedesk.core.orcd.export import read_export
from nodedesk.core.orcd.invoice import read_invoice_file
from nodedesk.core.orcd.migrator import migrate_orcd
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoices
from nodedesk.core.services.rentals import reservations
from nodedesk.core.services.site import users
from nodedesk.core.timeutil import iso_local
from sqlalchemy import func, select

from tests.backup.conftest import make_runtime
from tests.orcd.conftest import MONTHS, REFERENCE_EXPORT, has_tables, invoice_file, is_empty

TZ = "America/New_York"

# What becomes of each kind of the export: (created, merged, skipped).
EXPECTED = {
    "users": (14, 0, 0),
    "groups": (0, 3, 0),
    "user_group_memberships": (0, 3, 0),
    "node_types": (9, 0, 0),
    "gpu_node_instances": (62, 0, 0),
    "cpu_node_instances": (50, 0, 0),
    "rental_skus": (2, 9, 0),  # the two fee SKUs; NODE_ SKUs are the node types' own
    "rental_rates": (11, 0, 11),  # 11 placeholders left out
    "projects": (34, 0, 0),
    "project_member_roles": (67, 0, 0),
    "project_users": (0, 95, 0),
    "cost_allocation_snapshots": (20, 0, 0),
    "cost_object_snapshots": (0, 32, 0),
    "project_cost_allocations": (0, 20, 0),
    "project_cost_objects": (0, 32, 0),
    "user_maintenance_statuses": (10, 0, 4),  # 4 inactive: no fee
    "maintenance_windows": (5, 0, 0),
    "reservations": (2, 0, 0),
    "reservation_metadata_entries": (0, 0, 0),
    "invoice_line_overrides": (0, 0, 0),
    "invoice_periods": (0, 5, 0),  # all drafts: nodedesk computes them live
}


def _count(rt: Runtime, model: type) -> int:
    with rt.read() as ctx:
        return ctx.session.scalar(select(func.count()).select_from(model)) or 0


def _counts(rt: Runtime) -> dict[str, int]:
    models = (User, Node, Project, ProjectMember, Rate, CostSplitVersion, FeeSubscriptionPeriod)
    out = {m.__name__: _count(rt, m) for m in (*models, MaintenanceWindow, Reservation, ActivityEntry)}
    return out


@pytest.fixture
def migrated(reference_site: Runtime) -> Runtime:
    return reference_site


def test_dry_run_reports_everything_and_changes_nothing(target: Runtime) -> None:
    report = migrate_orcd(target, REFERENCE_EXPORT, dry_run=True)
    assert report.dry_run and report.outcome == "migrated"
    assert {k.model: (k.created, k.merged, k.skipped_count) for k in report.kinds.values()} == EXPECTED
    assert is_empty(target)
    assert not target.seal.key_path.exists()  # not even the site's audit key


def test_dry_run_leaves_a_blank_database_blank(blank_url: str, clock: FrozenClock) -> None:
    rt = make_runtime(blank_url, clock)
    try:
        report = migrate_orcd(rt, REFERENCE_EXPORT, dry_run=True)
        assert report.created == 286
        assert not has_tables(rt)
    finally:
        rt.close()


def test_counts_per_kind_match_the_export(migrated: Runtime) -> None:
    export = read_export(REFERENCE_EXPORT)
    report = migrate_orcd(migrated, REFERENCE_EXPORT, dry_run=True)  # the second look: all present
    for models in export.counts.values():
        for model, count in models.items():
            if model in report.kinds:
                assert report.kinds[model].read == count, model
            else:
                assert any(n.model == model and n.count == count for n in report.not_mapped), model
    counts = _counts(migrated)
    assert counts["User"] == 14
    assert counts["Node"] == 112
    assert counts["Project"] == 34
    assert counts["ProjectMember"] == 34 + 67  # the owners and the ORCD roles
    assert counts["Rate"] == 11
    assert counts["CostSplitVersion"] == 20
    assert counts["FeeSubscriptionPeriod"] == 10
    assert counts["MaintenanceWindow"] == 5
    with migrated.read() as ctx:
        assert set(ctx.session.scalars(select(Reservation.id))) == {1, 2}  # the plugin's ids


def test_people_and_roles(migrated: Runtime) -> None:
    with migrated.read() as ctx:
        roles = {u.username: u.roles for u in users.list_users(ctx)}
        site = ctx.site
    assert roles["admin"] == ("admin",)  # the login running the migration
    assert roles["orcd_bim"] == ("billing_manager",)
    assert roles["orcd_rem"] == ("rental_manager",)
    assert roles["orcd_rtm"] == ("rate_manager",)
    assert roles["orcd_u3"] == ("viewer",)
    assert site.site_timezone == TZ and site.currency == "USD"


def test_every_migrated_record_has_an_entry_naming_its_source(migrated: Runtime) -> None:
    export = read_export(REFERENCE_EXPORT)
    with migrated.read() as ctx:
        assert audit.verify(ctx.session).ok
        entries = list(ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq)))
        ctx.session.expunge_all()  # read on after the unit of work
    assert entries[0].action == "site.initialized" and entries[-1].action == "orcd.migrated"
    sources = [e.reason for e in entries]
    assert all(export.label in s for s in sources)
    by_target = {(e.target_type, e.target_id): e for e in entries}
    reservation = by_target[("reservation", "1")]
    assert reservation.action == "reservation.migrated"
    assert reservation.reason.endswith(f"migrated from {export.label}: reservations [1]")
    # one entry per created record, plus the two the new site itself starts with
    created = sum(c for c, _m, _s in EXPECTED.values())
    assert len(entries) == created + 2
    summary = json.loads(entries[-1].after_json)
    assert summary["sha256"] == export.sha256
    assert len(summary["placeholder_rates"]) == 11


def test_a_second_run_adds_nothing(migrated: Runtime) -> None:
    before = _counts(migrated)
    report = migrate_orcd(migrated, REFERENCE_EXPORT)
    assert report.outcome == "already migrated"
    assert report.created == 0 and report.audit_seq is None
    assert {k.model: k.present for k in report.kinds.values()} == {
        m: c for m, (c, _m, _s) in EXPECTED.items()
    }
    assert _counts(migrated) == before


# ------------------------------------------------------------------------------------------
# Invoices, worked by hand (help/migrate.md, "A worked example")


def _invoice(rt: Runtime, period: str) -> invoices.Invoice:
    with rt.read() as ctx:
        return invoices.compute_invoice(ctx, period)


def _lines(inv: invoices.Invoice, kind: str) -> dict[object, dict]:
    key = "reservation_id" if kind == "reservation" else "user"
    return {line[key]: line for _p, line in inv.lines() if line["type"] == kind}


def test_december_reservations_net_of_maintenance(migrated: Runtime) -> None:
    inv = _invoice(migrated, "2026-12")
    res = _lines(inv, "reservation")
    one, two = res[1], res[2]
    # node2433 from 12-14 16:00 to 12-15 09:00 (2 blocks): 17 h; the 06:00-18:00 window of 12-15
    # takes 3 h; 14 h at 8.00 = 112.00, all to CO-U0-A (the split approved on 12-07).
    assert one["start"] == "2026-12-14T16:00:00-05:00" and one["end"] == "2026-12-15T09:00:00-05:00"
    assert (one["gross_hours"], one["downtime_hours"], one["net_hours"]) == ("17.00", "3.00", "14.00")
    assert (one["rate"], one["amount"]) == ("8.00", "112.00")
    assert [(s["cost_object"], s["hours"], s["amount"]) for s in one["split"]] == [
        ("CO-U0-A", "14.00", "112.00")
    ]
    assert one["downtime"][0]["title"] == "Monthly scheduled maintenance (Dec 15, 2026)"
    # 12-21 16:00 to 12-22 09:00: no window; 17 h at 8.00 = 136.00 to CO-U1-A.
    assert (two["gross_hours"], two["downtime_hours"], two["amount"]) == ("17.00", "0.00", "136.00")
    assert [s["cost_object"] for s in two["split"]] == ["CO-U1-A"]
    assert inv.totals["amount"] == "248.00" and inv.totals["net_hours"] == "31.00"


def test_fees_before_the_real_rates_are_billed_at_zero_with_a_warning(migrated: Runtime) -> None:
    for period, payers in (("2026-10", {"orcd_u0", "orcd_u2"}), ("2026-11", {"orcd_u0", "orcd_u2"})):
        inv = _invoice(migrated, period)
        fees = _lines(inv, "fee")
        assert set(fees) == payers
        assert all(f["amount"] == "0.00" and f["rate"] is None for f in fees.values())
        assert inv.totals["amount"] == "0.00"
        assert any("no monthly rate for MAINT_STANDARD" in w for w in inv.warnings)
    december = _lines(_invoice(migrated, "2026-12"), "fee")
    assert len(december) == 10
    # activated 2026-12-07: 25 of 31 days; 2024-11-15: the whole month; no rate on the 1st
    assert december["orcd_u1"]["days"] == 25 and december["orcd_u0"]["days"] == 31
    assert {f["amount"] for f in december.values()} == {"0.00"}


@pytest.mark.parametrize("period", ["2027-01", "2027-02"])
def test_january_and_february_fees(migrated: Runtime, period: str) -> None:
    inv = _invoice(migrated, period)
    fees = _lines(inv, "fee")
    # six standard fees at 56.00 and four advanced at 126.00, whole months
    assert sorted(f["amount"] for f in fees.values()) == ["126.00"] * 4 + ["56.00"] * 6
    assert inv.totals["amount"] == "840.00"
    objects = {code: v["amount"] for code, v in inv.totals["cost_objects"].items()}
    assert objects == {
        "CO-U0-A": "56.00",
        "CO-U0-B": "75.60",  # orcd_u6's 126.00, 60 % / 40 %
        "CO-U0-C": "50.40",
        "CO-U1-A": "252.00",  # orcd_u1 and orcd_u3, both advanced, billed to orcd_u1_p1
        "CO-U2-A": "56.00",
        "CO-U4-B": "44.80",  # 80 % / 20 % of 56.00
        "CO-U4-C": "11.20",
        "CO-U5-A": "56.00",
        "CO-U7-B": "30.80",  # 55 % / 45 %
        "CO-U7-C": "25.20",
        "CO-U8-A": "126.00",
        "CO-U9-A": "56.00",
    }
    assert inv.warnings == []


# ------------------------------------------------------------------------------------------
# What the plugin billed, beside nodedesk


def _compare(rt: Runtime, period: str):  # type: ignore[no-untyped-def]
    with rt.read() as ctx:
        return compare_invoice(ctx, read_invoice_file(invoice_file(period)))


def test_compare_december_classifies_each_difference(migrated: Runtime) -> None:
    result = _compare(migrated, "2026-12")
    lines = {line.key: line for line in result.lines}
    one = lines["reservation #1"]
    assert (one.orcd_hours, one.ours_hours, one.orcd_amount, one.ours_amount) == (
        Decimal("17"),
        Decimal("14"),
        Decimal("136.00"),
        Decimal("112.00"),
    )
    assert [(c.code, c.hours, c.amount) for c in one.causes] == [
        ("maintenance_not_deducted", Decimal(3), Decimal(24))
    ]
    assert lines["reservation #2"].causes == ()
    fees = [line for line in result.lines if line.kind == "fee"]
    assert len(fees) == 10
    for fee in fees:
        assert [c.code for c in fee.causes] == ["placeholder_rate", "fee_priced_on_first"]
        assert (fee.orcd_amount, fee.ours_amount) == (Decimal("0.01"), Decimal("0.00"))
        assert fee.causes[0].amount == Decimal("0.01")
    summary = result.summary()
    assert summary["maintenance_not_deducted"]["amount"] == Decimal(24)
    assert summary["placeholder_rate"]["lines"] == 10
    totals = result.totals.to_json()
    assert (totals["orcd_amount"], totals["nodedesk_amount"], totals["amount_difference"]) == (
        "272.10",
        "248.00",
        "24.10",
    )
    assert result.cost_objects["CO-U0-A"].to_json()["amount_difference"] == "24.00"
    assert result.cost_objects["UNALLOCATED"].orcd_amount == "0.10"  # the plugin's UNKNOWN


@pytest.mark.parametrize("period", ["2026-10", "2026-11"])
def test_compare_autumn_placeholder_fees(migrated: Runtime, period: str) -> None:
    result = _compare(migrated, period)
    assert [line.key for line in result.lines] == ["fee orcd_u0 MAINT_STANDARD", "fee orcd_u2 MAINT_STANDARD"]
    assert {c.code for line in result.lines for c in line.causes} == {"placeholder_rate"}
    assert result.totals.to_json()["amount_difference"] == "0.02"


@pytest.mark.parametrize("period", ["2027-01", "2027-02"])
def test_compare_months_that_agree(migrated: Runtime, period: str) -> None:
    result = _compare(migrated, period)
    assert len(result.lines) == 10
    assert not any(line.differs for line in result.lines)
    assert result.totals.to_json()["amount_difference"] == "0.00"


def test_every_month_of_the_scenario_is_compared(migrated: Runtime) -> None:
    """Every line the plugin billed is matched or explained, and both totals add up."""
    for period in MONTHS:
        result = _compare(migrated, period)
        inv = _invoice(migrated, period)
        assert result.totals.ours_amount == inv.totals["amount"], period
        for line in result.lines:
            told = sum((c.amount for c in line.causes if c.amount is not None), Decimal(0))
            assert abs(line.amount_diff - told) <= Decimal("0.01"), (period, line.key)


def test_reservation_times_are_the_plugins_policy(migrated: Runtime) -> None:
    with migrated.read() as ctx:
        rows = {r.id: r for r in ctx.session.scalars(select(Reservation))}
        ctx.session.expunge_all()
    assert iso_local(rows[2].start, TZ) == "2026-12-21T16:00:00-05:00"
    assert iso_local(rows[2].end, TZ) == "2026-12-22T09:00:00-05:00"
    assert rows[2].requested_for == "orcd_u3" and rows[2].decided_by == "orcd_rem"
    assert rows[2].status == "approved" and rows[2].notes == "Short single-block reservation by tech admin"
    assert rows[2].decision_reason == "Approved during test setup"


def test_the_export_fixture_is_the_plugins_own(tmp_path: Path) -> None:
    """The copy in the repository still verifies (its checksums are the plugin's)."""
    export = read_export(REFERENCE_EXPORT)
    assert export.sha256 == "657201b83d74dae3c07a880942298866a876248bc05fd83e18f09eea7026b2b1"
    assert export.counts["orcd_plugin"]["reservations"] == 2


def test_new_bookings_go_on_from_the_plugins_last_id(target: Runtime) -> None:
    migrate_orcd(target, REFERENCE_EXPORT)
    draft = reservations.ReservationDraft("node2433", "orcd_u0_p1", date(2027, 4, 1), 2, "orcd_u0")
    with target.write() as ctx:
        made = reservations.record_reservation(ctx, draft, approve=True, waive_policy=True)
    assert made.reservation.id == 3
