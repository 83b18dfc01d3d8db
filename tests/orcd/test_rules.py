"""How the migration keeps nodedesk's rules on what the plugin allowed, and how the comparison
classifies each known difference, on an export built in the plugin's format. Both back ends."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import PermissionDenied, ValidationError
from nodedesk.core.models import BillingOverride, CostSplitVersion, Project, Reservation, User
from nodedesk.core.orcd.compare import InvoiceComparison, compare_file, compare_invoice
from nodedesk.core.orcd.export import read_export
from nodedesk.core.orcd.invoice import OrcdInvoice, parse_invoice
from nodedesk.core.orcd.migrator import migrate_orcd
from nodedesk.core.orcd.plugin_model import plugin_invoice
from nodedesk.core.orcd.report import MigrationReport
from nodedesk.core.orcd.source import read_source
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoices
from nodedesk.core.services.site import setup
from sqlalchemy import select

from tests.backup.conftest import make_runtime
from tests.conftest import BACKENDS
from tests.helpers import runtime_as
from tests.orcd.conftest import REFERENCE_EXPORT, invoice_file, new_database
from tests.orcd.exportgen import ExportBuilder, small_centre

NOW = datetime(2027, 4, 10, 15, 0, tzinfo=UTC)  # March 2027 is over
TZ = "America/New_York"


def rules_centre() -> ExportBuilder:
    b = small_centre(ExportBuilder(created_at="2027-04-02T12:00:00+00:00"))
    b.user("carol", active=False)
    b.member("climate", "carol", "member")
    b.project("archive-me", "carol", status="Archived")
    b.user("x@y")  # not a login name nodedesk accepts
    b.project("badpi", "x@y")
    b.user("dave")
    b.add(  # a ColdFront member of genomics without any ORCD role
        "project_users",
        ["genomics", "dave"],
        {
            "project_title": "genomics",
            "username": "dave",
            "role": "User",
            "status": "Active",
            "enable_notifications": True,
            "created": "2024-06-01T12:00:00+00:00",
            "modified": "2024-06-01T12:00:00+00:00",
        },
    )
    b.project("physics", "bob")
    b.snapshot("physics", {"PH-1": "100.00"}, "2026-06-01T16:30:00+00:00")
    b.allocation("physics", {"PH-1": "50.00", "PH-2": "50.00"}, "2027-03-30T12:00:00+00:00", status="PENDING")
    b.project("chem", "alice")
    b.allocation("chem", {"CH-1": "100.00"}, "2027-03-30T12:00:00+00:00", status="REJECTED")
    b.amf("alice", "basic", "climate", "2026-06-01T16:00:00+00:00")
    b.amf("bob", "advanced", "genomics", "2026-06-01T16:00:00+00:00")
    r = b.reservation
    r(1, "gpu01", "climate", "alice", "2027-03-01", status="PENDING")
    r(2, "gpu01", "climate", "alice", "2027-03-01")  # the plugin allowed both; approved wins
    r(3, "gpu01", "genomics", "bob", "2027-03-03", status="DECLINED")
    r(4, "gpu01", "genomics", "bob", "2027-03-03", status="CANCELLED")
    r(5, "gpu02", "genomics", "bob", "2027-03-05")
    r(6, "gpu02", "climate", "bob", "2027-03-08")
    r(7, "gpu02", "climate", "alice", "2027-03-15")
    r(8, "gpu01", "climate", "alice", "2027-03-20", blocks=6)
    r(9, "gpu01", "genomics", "bob", "2027-03-13")  # the night the clocks go forward
    r(10, "gpu02", "genomics", "bob", "2027-03-10")
    r(11, "gpu02", "badpi", "bob", "2027-03-25")
    r(12, "gpu01", "climate", "alice", "2027-02-10")
    r(13, "gpu02", "chem", "alice", "2027-03-28", notes="x" * 2100)
    for rec in b.models["projects"]:
        if rec["natural_key"] == ["chem"]:
            rec["fields"]["description"] = "Organic\r\nchemistry\x07"  # as a browser sent it
    b.window("W1", "2027-03-16T11:00:00+00:00", "2027-03-16T23:00:00+00:00")  # 07:00-19:00 EDT
    b.window("W2", "2027-03-16T13:00:00+00:00", "2027-03-16T15:00:00+00:00")
    b.window("W3", "2027-03-21T10:00:00+00:00", "2027-03-21T14:00:00+00:00")  # 06:00-10:00 EDT
    b.window("W4", "2027-03-21T12:00:00+00:00", "2027-03-21T16:00:00+00:00")  # 08:00-12:00 EDT
    b.window("W5", "2027-02-11T12:00:00+00:00", "2027-02-11T14:00:00+00:00")  # 07:00-09:00 EST
    b.period(2027, 2, "FINALIZED", "bim", "2027-03-02T15:00:00+00:00")
    b.period(2027, 3)
    b.override(1, 2027, 3, 5, "EXCLUDE", {"excluded": True}, "test node, not billed")
    b.override(
        2,
        2027,
        3,
        6,
        "COST_SPLIT",
        {"cost_breakdown": [{"cost_object": "CC-1", "hours": 10.0}, {"cost_object": "CC-9", "hours": 7.0}]},
        "split by agreement",
    )
    b.override(3, 2027, 3, 10, "HOURS", {"hours": 10.5}, "half the night was lost")
    b.override(4, 2027, 3, 2, "CHARGE_PROJECT", {"target_project_id": 17}, "billed to the group")
    return b


@dataclasses.dataclass
class Site:
    rt: Runtime
    report: MigrationReport
    export: Path


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("rules")
    export = rules_centre().write(folder / "export")
    with new_database(request, request.param, folder) as url:
        rt = make_runtime(url, FrozenClock(NOW))
        yield Site(rt, migrate_orcd(rt, export), export)
        rt.close()


def _skips(report: MigrationReport, model: str) -> dict[str, list[str]]:
    return report.kinds[model].skipped


def test_every_record_is_accounted_for(site: Site) -> None:
    assert site.report.unaccounted() == []
    assert all(k.read == k.accounted for k in site.report.kinds.values())


def test_an_overlap_the_plugin_allowed_is_reported_not_merged(site: Site) -> None:
    (reason,) = _skips(site.report, "reservations").keys() - {
        r for r in _skips(site.report, "reservations") if "not migrated" in r
    }
    assert "overlaps reservation #2 on node gpu01" in reason and "nodedesk keeps the first" in reason
    assert _skips(site.report, "reservations")[reason] == ["[1]"]
    assert [o["reservation"] for o in site.report.overlaps] == [1]
    with site.rt.read() as ctx:
        statuses = dict(ctx.session.execute(select(Reservation.id, Reservation.status)).all())
    assert statuses == {
        2: "approved",
        3: "declined",
        4: "cancelled",
        5: "approved",
        6: "approved",
        7: "approved",
        8: "approved",
        9: "approved",
        10: "approved",
        12: "approved",
        13: "approved",
    }


def test_what_cannot_be_kept_is_listed_with_its_reason(site: Site) -> None:
    r = site.report
    assert list(_skips(r, "users")) == [
        "not a nodedesk login name: 'x@y' may only use letters, digits, "
        "'.', '_' and '-' (starting with a letter or digit)"
    ]
    assert _skips(r, "projects") == {"its PI 'x@y' was not migrated": ['["badpi"]']}
    assert _skips(r, "reservations")["its project 'badpi' was not migrated"] == ["[11]"]
    members = _skips(r, "project_users")
    (reason,) = [k for k in members if k.startswith("a ColdFront member without an ORCD project role")]
    assert members[reason] == ['["genomics", "dave"]']
    assert members["its project was not migrated"] == ['["badpi", "x@y"]']
    assert "names its target project by the plugin's database id" in next(
        iter(_skips(r, "invoice_line_overrides"))
    )


def test_free_text_is_cleaned_and_a_long_one_cut_with_a_warning(site: Site) -> None:
    with site.rt.read() as ctx:
        description = ctx.session.scalar(select(Project.description).where(Project.title == "chem"))
        notes = ctx.session.scalar(select(Reservation.notes).where(Reservation.id == 13))
    assert description == "Organic\nchemistry"
    assert notes is not None and len(notes) == 2000 and notes.endswith("x…")
    warnings = site.report.warnings
    assert "projects [\"chem\"]: 1 control character(s) removed from 'description'" in warnings
    assert (
        "reservation #13 notes: 2100 characters, nodedesk keeps the first 2000 (the export has it all)"
        in warnings
    )


def test_inactive_users_and_archived_projects_keep_their_state(site: Site) -> None:
    with site.rt.read() as ctx:
        carol = ctx.session.scalar(select(User).where(User.username == "carol"))
        archived = ctx.session.scalar(select(Project.status).where(Project.title == "archive-me"))
        assert carol is not None and not carol.active
    assert archived == "archived"


def test_pending_and_rejected_allocations_stay_so(site: Site) -> None:
    with site.rt.read() as ctx:
        rows = ctx.session.execute(
            select(
                Project.title,
                CostSplitVersion.status,
                CostSplitVersion.effective_date,
                CostSplitVersion.decided_by,
            )
            .join(Project, Project.id == CostSplitVersion.project_id)
            .where(Project.title.in_(["physics", "chem"]))
            .order_by(Project.title, CostSplitVersion.id)
        ).all()
    assert [(t, s, str(d), by) for t, s, d, by in rows] == [
        ("chem", "rejected", "2027-04-03", "bim"),
        # approved 2026-06-01 12:30 EDT: in force from the next local midnight, as the plugin bills
        ("physics", "approved", "2026-06-02", "bim"),
        ("physics", "pending", "2027-04-03", None),  # awaits a billing manager, from after the export
    ]


def test_overrides_are_carried_with_their_reasons(site: Site) -> None:
    with site.rt.read() as ctx:
        rows = {
            o.reservation_id: (o.kind, o.hours, json.loads(o.split_json) if o.split_json else None, o.reason)
            for o in ctx.session.scalars(select(BillingOverride))
        }
    assert rows == {
        5: ("exclude", None, None, "test node, not billed"),
        6: ("split", None, {"CC-1": "58.8235", "CC-9": "41.1765"}, "split by agreement"),
        10: ("hours", Decimal("10.5"), None, "half the night was lost"),
    }


def test_a_month_the_plugin_finalized_is_finalized_with_the_difference_reported(site: Site) -> None:
    (month,) = site.report.finalized
    assert (month.period, month.finalized_by) == ("2027-02", "bim")
    # reservation #12: 17 h less the 2 h window W5 = 15 h at 8.00 = 120.00, plus alice's 56.00
    # (bob's advanced fee has only the placeholder rate: 0.00 here, 0.01 in the plugin)
    assert month.ours == {"net_hours": "15.00", "amount": "176.00"}
    assert month.plugin == {"hours": "17.00", "amount": "192.01"}
    assert month.causes["maintenance_not_deducted"]["hours"] == "2.00"
    assert month.causes["maintenance_not_deducted"]["amount"] == "16.00"
    assert month.causes["placeholder_rate"]["amount"] == "0.01"
    with site.rt.read() as ctx:
        inv = invoices.compute_invoice(ctx, "2027-02")
    assert inv.status == "finalized" and inv.totals["amount"] == "176.00"
    assert inv.sha256 == month.sha256


def _march(site: Site) -> tuple[OrcdInvoice, InvoiceComparison]:
    src = read_source(read_export(site.export))
    orcd = plugin_invoice(src, TZ, "2027-03")
    with site.rt.read() as ctx:
        return orcd, compare_invoice(ctx, orcd)


def test_compare_api_daylight_saving_and_maintenance(site: Site) -> None:
    _orcd, result = _march(site)
    lines = {line.key: line for line in result.lines}
    dst = lines["reservation #9"]  # 16:00 Mar 13 -> 09:00 Mar 14: 17 h of wall clock, 16 h real
    assert (dst.orcd_hours, dst.ours_hours) == (Decimal(17), Decimal(16))
    assert [(c.code, c.hours, c.amount) for c in dst.causes] == [("daylight_saving", Decimal(1), Decimal(8))]
    seven = lines["reservation #7"]
    assert [(c.code, c.hours) for c in seven.causes] == [("maintenance_not_deducted", Decimal(2))]
    eight = lines["reservation #8"]  # two overlapping windows: 6 h of maintenance, counted once
    assert [(c.code, c.hours) for c in eight.causes] == [("maintenance_not_deducted", Decimal(6))]
    for key in ("reservation #2", "reservation #5", "reservation #6", "reservation #10"):
        assert lines[key].causes == (), key  # overrides and plain lines agree
    assert lines["reservation #5"].ours_amount == Decimal(0)  # excluded on both sides
    # the plugin billed #11 (project badpi, whose PI could not be migrated): only it has the line
    (only,) = lines["reservation #11"].causes
    assert only.code == "other" and "is not in nodedesk" in only.text and only.amount == Decimal("136.00")
    assert result.projects["badpi"].orcd_amount == "136.00" and result.projects["badpi"].ours_amount == "0.00"


def test_compare_web_view_timezone_shift_and_double_counting(site: Site) -> None:
    orcd, _result = _march(site)
    deductions = {7: Decimal(0), 8: Decimal(8)}  # what the plugin's web view deducts (worked by hand)
    web = dataclasses.replace(
        orcd,
        source="web",
        reservations=tuple(
            dataclasses.replace(r, maintenance_deduction=deductions.get(r.reservation_id, Decimal(0)))
            for r in orcd.reservations
        ),
    )
    with site.rt.read() as ctx:
        lines = {line.key: line for line in compare_invoice(ctx, web).lines}
    # W1 is 07:00-19:00 EDT on the 16th; read as 11:00-23:00 it misses the reservation's last 2 h
    seven = lines["reservation #7"]
    assert [(c.code, c.hours, c.amount) for c in seven.causes] == [
        ("timezone_shift", Decimal(2), Decimal(16))
    ]
    # W3 and W4 overlap by 2 h; the web view deducts 4 + 4 = 8 h for 6 h of maintenance
    eight = lines["reservation #8"]
    assert (eight.orcd_hours, eight.ours_hours) == (Decimal(57), Decimal(59))
    assert [(c.code, c.hours) for c in eight.causes] == [("overlap_counted_twice", Decimal(-2))]


def test_the_web_view_json_is_recognised() -> None:
    doc = json.loads(invoice_file("2026-12").read_text("utf-8"))
    for project in doc["projects"]:
        for line in project["reservations"]:
            line["maintenance_deduction"] = 0
    assert parse_invoice(doc).source == "web"


def test_only_billing_managers_may_read_a_plugin_invoice(site: Site) -> None:
    viewer = runtime_as(site.rt, "alice")
    with viewer.read() as ctx, pytest.raises(PermissionDenied, match="manage invoices"):
        compare_file(ctx, "2027-03", invoice_file("2026-12"))
    with site.rt.read() as ctx, pytest.raises(ValidationError, match="is for 2026-12, not 2027-03"):
        compare_file(ctx, "2027-03", invoice_file("2026-12"))


def test_a_second_run_adds_nothing_here_either(site: Site) -> None:
    again = migrate_orcd(site.rt, site.export)
    assert again.outcome == "already migrated" and again.created == 0
    assert {k.model: k.present for k in again.kinds.values()} == {
        k.model: k.created for k in site.report.kinds.values()
    }


def test_another_export_or_an_existing_site_is_refused(
    site: Site, tmp_path: Path, clock: FrozenClock
) -> None:
    with pytest.raises(ValidationError, match="migrated from another ORCD export"):
        migrate_orcd(site.rt, REFERENCE_EXPORT)
    rt = make_runtime(f"sqlite:///{tmp_path / 'existing.db'}", clock)
    try:
        setup.initialize(rt.database, "admin", timezone=TZ, clock=clock, seal=rt.seal)
        with pytest.raises(ValidationError, match="already holds a nodedesk site"):
            migrate_orcd(rt, REFERENCE_EXPORT)
        with rt.read() as ctx:
            assert [u.username for u in ctx.session.scalars(select(User))] == ["admin"]
    finally:
        rt.close()
