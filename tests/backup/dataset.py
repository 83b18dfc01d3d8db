"""A rich centre for backup tests: the demo plus every kind the demo may lack, with awkward text."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from nodedesk.core.models import (
    InvoicePeriod,
    MaintenanceSchedule,
    Notice,
    ProjectMember,
    ScheduleException,
)
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoices
from nodedesk.core.services.site.demo import load_demo

from tests.billing.factory import Builder
from tests.helpers import local

# No control characters: stored text never holds them and an import refuses them (help/backup.md).
AWKWARD = 'line one\nline two "quoted" \\ back-slash, ünïcødé 🚀 \u2028 \u202e tab\tend [bold red]x[/]'
# Titles are one line (the console refuses a newline or tab in them, and so does an import).
AWKWARD_LINE = AWKWARD.replace("\n", " ").replace("\t", " ")


def load_rich(runtime: Runtime) -> dict[str, Any]:
    """Demo data, then rows of every kind through the ORM, then finalized invoice months."""
    with runtime.write() as ctx:
        load_demo(ctx)
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("bk-alice")
        b.user("bk-bob", ("rental_manager", "billing_manager"))
        gpu = b.node_type("BKGPU")
        b.rate("NODE_BKGPU", "8.00", date(2026, 1, 1))
        b.rate("NODE_BKGPU", "9.500001", date(2026, 3, 1))
        b.rate("MAINT_STANDARD", "25.00", date(2026, 1, 1))
        proj = b.project("bk Genomics — ünïcødé", "bk-alice")
        proj.description = AWKWARD
        bob = b.user("bk-bob")
        ctx.session.add(
            ProjectMember(
                project_id=proj.id,
                user_id=bob.id,
                role="technical_admin",
                added_at=ctx.now(),
                added_by="admin",
            )
        )
        other = b.project("bk Physics", "bk-bob")
        b.split(proj, date(2026, 1, 1), {"GRANT-A": "60", "GRANT-B": "40"})
        b.split(proj, date(2026, 3, 1), {"GRANT-C": "100"}, status="pending")
        b.split(other, date(2026, 1, 1), {"PHYS-1": "33.3333", "PHYS-2": "66.6667"})
        n = [b.node(f"bknode{i:02d}", "BKGPU") for i in range(1, 5)]
        r1 = b.reservation(n[0], proj, "2026-02-14 16:00", "2026-02-16 09:00", blocks=4)
        r2 = b.reservation(n[1], proj, "2026-01-30 16:00", "2026-02-02 09:00", blocks=6)
        b.reservation(n[2], other, "2026-03-02 16:00", "2026-03-03 09:00", status="pending")
        b.reservation(n[3], other, "2026-02-20 16:00", "2026-02-21 09:00", status="cancelled")
        b.window(
            "bk scoped " + AWKWARD_LINE, "2026-02-15 08:00", "2026-02-15 20:00", nodes=(n[0],), types=(gpu,)
        )
        b.window("bk Jan 31", "2026-01-31 00:00", "2026-02-01 00:00", nodes=(n[1],))
        b.outage("bk PSU", "2026-01-20 10:00", "2026-01-21 10:00", nodes=(n[0], n[1]))
        b.outage("bk open", "2026-02-14 12:00", None, nodes=(n[2],), credit=False)
        # A recurring schedule on one node, one skipped occurrence and one materialised window.
        sched = MaintenanceSchedule(
            title="bk 3rd Tuesday " + AWKWARD_LINE,
            description=AWKWARD,
            rrule="FREQ=MONTHLY;BYDAY=+3TU",
            timezone=ctx.tz,
            first_date=date(2026, 2, 1),
            start_time="06:00",
            duration_minutes=720,
            until_date=date(2026, 12, 31),
            all_nodes=False,
            nodes=[n[3]],
            created_at=ctx.now(),
            created_by="admin",
            modified_at=ctx.now(),
            modified_by="admin",
        )
        ctx.session.add(sched)
        ctx.session.flush()
        linked = b.window("bk 3rd Tuesday", "2026-02-17 06:00", "2026-02-17 18:00", nodes=(n[3],))
        linked.schedule_id, linked.occurrence_start = sched.id, linked.start
        ctx.session.add(
            ScheduleException(
                schedule_id=sched.id,
                occurrence_start=local("2026-03-17 06:00"),
                kind="skip",
                reason="bk freeze",
                created_at=ctx.now(),
                created_by="admin",
            )
        )
        # An outbox notice that failed twice (awkward text in every text column).
        ctx.session.flush()
        ctx.session.add(
            Notice(
                created_at=ctx.now(),
                event_key="window:bk:window.created:0123456789abcdef",
                event="window.created",
                subject_type="window",
                subject_id=linked.id,
                recipient="bk-alice",
                email="bk-alice@example.org",
                subject="bk notice ünïcødé 🚀",
                body=AWKWARD.replace("\x1b", ""),  # stored text never holds controls
                ics="BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
                status="failed",
                attempts=2,
                last_error="bk 550 " + AWKWARD.replace("\x1b", ""),
                last_attempt_at=ctx.now(),
            )
        )
        first = b.fee("bk-alice", "MAINT_STANDARD", proj, date(2026, 1, 1), date(2026, 1, 20))
        first.closed_at, first.closed_by = ctx.now(), "admin"
        b.override("2026-02", r1, "hours", hours="20.5")
        b.override("2026-01", r2, "charge_to", charge_to=other)
        ctx.session.flush()
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    with runtime.write() as ctx:
        invoices.unfinalize(ctx, "2026-01", "re-issue after review")
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    with runtime.read() as ctx:
        return {"months": invoices.billable_months(ctx)}


def invoice_docs(runtime: Runtime, months: list[str]) -> dict[str, Any]:
    """Every month's invoice as shown (snapshot if finalized, else live), plus stored snapshots."""
    from sqlalchemy import select

    with runtime.read() as ctx:
        shown = {m: invoices.compute_invoice(ctx, m).to_json() for m in months}
        live = {m: invoices.live_invoice(ctx, m).to_json() for m in months}
        rows = {
            p.period: (
                p.status,
                p.snapshot_json,
                p.snapshot_sha256,
                [(h.snapshot_sha256, h.unfinalize_reason) for h in p.history],
            )
            for p in ctx.session.scalars(select(InvoicePeriod))
        }
    for doc in live.values():
        doc.pop("snapshot", None)  # carries row ids
    return {"shown": shown, "live": live, "rows": rows}


def data_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name != "manifest.json"}


def edit_kind(directory: Path, kind: str, change: Any, *, reseal: bool = True, recount: bool = False) -> None:
    """Rewrite ``<kind>.json`` with ``change(records)`` applied; reseal the manifest's checksums.

    With ``recount`` the counts follow the records. Resealing models an export edited by
    someone who also fixed the checksums, so the tests
    reach the content checks that stand behind them.
    """
    import json

    from nodedesk.core.backup.jsonstream import file_digest
    from nodedesk.core.backup.manifest import root_sha256

    path = directory / f"{kind}.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["records"] = change(doc["records"]) or doc["records"]
    if recount:
        doc["count"] = len(doc["records"])
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
    if reseal:
        manifest_path = directory / "manifest.json"
        manifest = json.loads(manifest_path.read_text("utf-8"))
        for entry in manifest["files"]:
            if entry["name"] == path.name:
                entry["size"], entry["sha256"] = file_digest(path)
                if recount:
                    entry["count"] = manifest["counts"][kind] = doc["count"]
        manifest["root_sha256"] = root_sha256(manifest["files"])
        manifest_path.write_text(json.dumps(manifest, indent=2), "utf-8")
