"""Writing exports in the ORCD plugin's own format (``export_portal_data`` v2.0.0), for tests.

:class:`ExportBuilder` holds records the way the plugin's exporters serialize them (natural
keys, the same field names) and writes the directory with the plugin's manifests and checksums
(sha256 over the sorted ``*.json`` files below each directory, manifests excluded).
:func:`big_centre` builds a synthetic centre of thousands of reservations for the benchmark.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

VERSION = "2.0.0"
FORMAT = "orcd-portal-export"
SOFTWARE = {
    "coldfront": "1.1.7",
    "coldfront_orcd_direct_charge": "0.1.0",
    "django": "4.2.30",
    "python": "3.11.7",
}
PERM = "coldfront_orcd_direct_charge."
CORE_MODELS = ("users", "groups", "user_group_memberships", "projects", "project_users", "field_of_science")
PLUGIN_MODELS = (
    "node_types",
    "gpu_node_instances",
    "cpu_node_instances",
    "rental_skus",
    "rental_rates",
    "project_cost_allocations",
    "project_cost_objects",
    "cost_allocation_snapshots",
    "cost_object_snapshots",
    "project_member_roles",
    "user_maintenance_statuses",
    "reservations",
    "reservation_metadata_entries",
    "maintenance_windows",
    "invoice_periods",
    "invoice_line_overrides",
)
T0 = "2024-06-01T12:00:00+00:00"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class ExportBuilder:
    def __init__(
        self, *, created_at: str = "2027-04-02T12:00:00+00:00", tz: str = "America/New_York"
    ) -> None:
        self.created_at = created_at
        self.tz = tz
        self.models: dict[str, list[dict[str, Any]]] = {m: [] for m in (*CORE_MODELS, *PLUGIN_MODELS)}
        self._ids: dict[str, int] = {}

    def _next(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def add(self, model: str, key: list[Any], fields: dict[str, Any]) -> None:
        self.models[model].append({"natural_key": key, "fields": fields})

    # -- people ----------------------------------------------------------------------------
    def group(self, name: str, *perms: str) -> None:
        self.add("groups", [name], {"name": name, "permission_codenames": [PERM + p for p in perms]})

    def manager_groups(self) -> None:
        self.group("Billing Manager", "can_manage_billing")
        self.group("Rate Manager", "can_manage_rates")
        self.group("Rental Manager", "can_manage_rentals")

    def user(
        self,
        username: str,
        *groups: str,
        active: bool = True,
        superuser: bool = False,
        email: str | None = None,
    ) -> None:
        self.add(
            "users",
            [username],
            {
                "username": username,
                "email": f"{username}@example.edu" if email is None else email,
                "first_name": "",
                "last_name": "",
                "is_active": active,
                "is_staff": superuser,
                "is_superuser": superuser,
                "date_joined": T0,
                "last_login": None,
                "last_modified": T0,
                "group_names": list(groups),
            },
        )
        if groups:
            self.add("user_group_memberships", [username], {"username": username, "groups": list(groups)})
        self.add(
            "user_maintenance_statuses",
            [username],
            {
                "username": username,
                "status": "inactive",
                "billing_project_title": None,
                "created": T0,
                "modified": T0,
            },
        )

    def amf(self, username: str, status: str, project: str, activated: str) -> None:
        for rec in self.models["user_maintenance_statuses"]:
            if rec["natural_key"] == [username]:
                rec["fields"].update(
                    {"status": status, "billing_project_title": project, "created": activated}
                )

    def project(self, title: str, pi: str, status: str = "Active") -> None:
        self.add(
            "projects",
            [title],
            {
                "title": title,
                "description": f"Project {title}",
                "pi_username": pi,
                "field_of_science": "Other",
                "status": status,
                "force_review": False,
                "requires_review": True,
                "created": T0,
                "modified": T0,
            },
        )
        self.add(
            "project_users",
            [title, pi],
            {
                "project_title": title,
                "username": pi,
                "role": "Manager",
                "status": "Active",
                "enable_notifications": True,
                "created": T0,
                "modified": T0,
            },
        )

    def member(self, project: str, username: str, role: str) -> None:
        if not any(r["natural_key"] == [project, username] for r in self.models["project_users"]):
            self.add(
                "project_users",
                [project, username],
                {
                    "project_title": project,
                    "username": username,
                    "role": "User",
                    "status": "Active",
                    "enable_notifications": True,
                    "created": T0,
                    "modified": T0,
                },
            )
        self.add(
            "project_member_roles",
            [project, username, role],
            {"project_title": project, "username": username, "role": role, "created": T0, "modified": T0},
        )

    # -- inventory and prices --------------------------------------------------------------
    def node_type(self, name: str, category: str = "GPU") -> None:
        self.add(
            "node_types",
            [name],
            {
                "name": name,
                "category": category,
                "description": f"{name} nodes",
                "is_active": True,
                "created": T0,
                "modified": T0,
            },
        )
        self.sku(f"NODE_{name}", f"{name} Node", "NODE", "HOURLY", f"NodeType:{name}")

    def node(self, address: str, node_type: str, *, gpu: bool = True, rentable: bool = True) -> None:
        self.add(
            "gpu_node_instances" if gpu else "cpu_node_instances",
            [address],
            {
                "node_type": [node_type],
                "is_rentable": rentable,
                "status": "AVAILABLE",
                "associated_resource_address": address,
                "created": T0,
                "modified": T0,
            },
        )

    def sku(self, code: str, name: str, sku_type: str, unit: str, linked: str = "") -> None:
        self.add(
            "rental_skus",
            [code],
            {
                "sku_code": code,
                "name": name,
                "description": name,
                "sku_type": sku_type,
                "billing_unit": unit,
                "is_active": True,
                "linked_model": linked,
                "is_public": True,
                "metadata": {},
                "created": T0,
                "modified": T0,
            },
        )
        self.rate(code, "0.010000", "1999-01-01", None, "Initial placeholder rate")

    def fee_skus(self) -> None:
        self.sku("MAINT_STANDARD", "Standard Account Maintenance Fee", "MAINTENANCE", "MONTHLY")
        self.sku("MAINT_ADVANCED", "Advanced Account Maintenance Fee", "MAINTENANCE", "MONTHLY")

    def rate(
        self, sku: str, amount: str, effective: str, set_by: str | None = "rtm", notes: str = "rate"
    ) -> None:
        self.add(
            "rental_rates",
            [sku, effective],
            {
                "sku_code": sku,
                "rate": amount,
                "effective_date": effective,
                "set_by_username": set_by,
                "notes": notes,
                "created": T0,
                "modified": T0,
            },
        )

    # -- billing ---------------------------------------------------------------------------
    def allocation(
        self, project: str, parts: dict[str, str], approved_at: str, status: str = "APPROVED"
    ) -> None:
        self.add(
            "project_cost_allocations",
            [project],
            {
                "project_title": project,
                "notes": "",
                "status": status,
                "reviewed_by_username": "bim" if status != "PENDING" else None,
                "reviewed_at": approved_at if status != "PENDING" else None,
                "review_notes": "ok" if status == "APPROVED" else "",
                "created": T0,
                "modified": approved_at,
            },
        )
        for code, pct in parts.items():
            self.add(
                "project_cost_objects",
                [self._next("cost_object")],
                {
                    "allocation_project_title": project,
                    "cost_object": code,
                    "percentage": pct,
                    "created": T0,
                    "modified": T0,
                },
            )
        if status == "APPROVED":
            self.snapshot(project, parts, approved_at)

    def snapshot(
        self, project: str, parts: dict[str, str], approved_at: str, superseded_at: str | None = None
    ) -> None:
        sid = self._next("snapshot")
        self.add(
            "cost_allocation_snapshots",
            [sid],
            {
                "allocation_project_title": project,
                "approved_at": approved_at,
                "approved_by_username": "bim",
                "superseded_at": superseded_at,
                "created": approved_at,
                "modified": approved_at,
            },
        )
        for code, pct in parts.items():
            self.add(
                "cost_object_snapshots",
                [self._next("snapshot_part")],
                {
                    "snapshot_pk": sid,
                    "cost_object": code,
                    "percentage": pct,
                    "created": approved_at,
                    "modified": approved_at,
                },
            )

    def reservation(
        self,
        rid: int,
        node: str,
        project: str,
        requester: str,
        start_date: str,
        blocks: int = 2,
        status: str = "APPROVED",
        notes: str = "",
        processed_by: str | None = "rem",
    ) -> None:
        self.add(
            "reservations",
            [rid],
            {
                "node_instance": [node],
                "project_title": project,
                "requesting_user_username": requester,
                "start_date": start_date,
                "num_blocks": blocks,
                "status": status,
                "manager_notes": "",
                "processed_by_username": processed_by if status != "PENDING" else None,
                "rental_notes": notes,
                "rental_management_metadata": "",
                "created": T0,
                "modified": T0,
            },
        )

    def window(self, title: str, start: str, end: str) -> None:
        self.add(
            "maintenance_windows",
            [title, start],
            {
                "title": title,
                "description": "",
                "start_datetime": start,
                "end_datetime": end,
                "created_by_username": None,
                "created": T0,
                "modified": T0,
            },
        )

    def period(
        self, year: int, month: int, status: str = "DRAFT", by: str | None = None, at: str | None = None
    ) -> None:
        self.add(
            "invoice_periods",
            [year, month],
            {
                "year": year,
                "month": month,
                "status": status,
                "finalized_by_username": by,
                "finalized_at": at,
                "notes": "",
                "created": T0,
                "modified": T0,
            },
        )

    def override(
        self, oid: int, year: int, month: int, reservation: int, kind: str, value: dict[str, Any], notes: str
    ) -> None:
        self.add(
            "invoice_line_overrides",
            [oid],
            {
                "invoice_period_year": year,
                "invoice_period_month": month,
                "reservation_pk": reservation,
                "override_type": kind,
                "original_value": {},
                "override_value": value,
                "notes": notes,
                "created_by_username": "bim",
                "created": T0,
                "modified": T0,
            },
        )

    # -- writing ---------------------------------------------------------------------------
    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        components: dict[str, dict[str, int]] = {}
        for component, models in (("coldfront_core", CORE_MODELS), ("orcd_plugin", PLUGIN_MODELS)):
            folder = directory / component
            folder.mkdir(exist_ok=True)
            counts = {}
            for model in models:
                records = self.models[model]
                doc = {"model": model, "count": len(records), "records": records}
                (folder / f"{model}.json").write_text(json.dumps(doc, indent=2), "utf-8")
                counts[model] = len(records)
            components[component] = counts
            schema = (
                {"coldfront_orcd_direct_charge": "0031_alter_invoicelineoverride_override_type_and_more"}
                if component == "orcd_plugin"
                else {"auth": "0012_alter_user_first_name_max_length"}
            )
            write_manifest(
                folder,
                {
                    "export_version": VERSION,
                    "export_format": FORMAT,
                    "created_at": self.created_at,
                    "component": component,
                    "source_portal": {"url": "", "name": "Synthetic ORCD"},
                    "software_versions": SOFTWARE,
                    "schema_versions": schema,
                    "data_counts": counts,
                },
            )
        config = directory / "config"
        config.mkdir(exist_ok=True)
        settings = {
            "TIME_ZONE": {
                "value": self.tz,
                "type": "str",
                "source": "django_settings",
                "description": "Server timezone",
            }
        }
        (config / "django_config.json").write_text(
            json.dumps(
                {
                    "export_version": VERSION,
                    "exported_at": self.created_at,
                    "category": "django_config",
                    "settings": settings,
                },
                indent=2,
            ),
            "utf-8",
        )
        write_manifest(
            config,
            {
                "export_version": VERSION,
                "export_format": FORMAT,
                "created_at": self.created_at,
                "component": "config",
                "categories": {"django_config": 1},
                "total_settings": 1,
            },
        )
        components["config"] = {"django_config": 1}
        root = {
            "export_version": VERSION,
            "export_format": FORMAT,
            "created_at": self.created_at,
            "source_portal": {"url": "", "name": "Synthetic ORCD"},
            "software_versions": SOFTWARE,
            "components": {
                name: {
                    "path": f"{name}/",
                    "manifest": f"{name}/manifest.json",
                    "data_counts": counts,
                    "record_count": sum(counts.values()),
                }
                for name, counts in components.items()
            },
            "total_records": sum(sum(c.values()) for c in components.values()),
        }
        write_manifest(directory, root)
        return directory


def checksum(directory: Path) -> str:
    """The plugin's calculate_checksum: every *.json below, manifests excluded, sorted by path."""
    sha = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*.json") if p.name != "manifest.json"):
        sha.update(path.read_bytes())
    return sha.hexdigest()


def write_manifest(directory: Path, doc: dict[str, Any]) -> None:
    doc = {**doc, "checksum": {"algorithm": "sha256", "value": checksum(directory)}}
    (directory / "manifest.json").write_text(json.dumps(doc, indent=2), "utf-8")


def reseal(directory: Path) -> None:
    """Recompute every checksum after a test edited a file on purpose (the export stays sound)."""
    for component in ("coldfront_core", "orcd_plugin", "config"):
        manifest = directory / component / "manifest.json"
        doc = json.loads(manifest.read_text("utf-8"))
        doc.pop("checksum", None)
        write_manifest(directory / component, doc)
    doc = json.loads((directory / "manifest.json").read_text("utf-8"))
    doc.pop("checksum", None)
    write_manifest(directory, doc)


def small_centre(builder: ExportBuilder | None = None) -> ExportBuilder:
    """A few people, one GPU type with a rate, two nodes and a split project: tests add the rest."""
    b = builder or ExportBuilder()
    b.manager_groups()
    b.user("admin", superuser=True)
    b.user("bim", "Billing Manager")
    b.user("rem", "Rental Manager")
    b.user("rtm", "Rate Manager")
    b.user("alice")
    b.user("bob")
    b.project("climate", "alice")
    b.member("climate", "bob", "member")
    b.project("genomics", "bob")
    b.node_type("A100")
    b.node("gpu01", "A100")
    b.node("gpu02", "A100")
    b.rate("NODE_A100", "8.000000", "2026-01-01")
    b.fee_skus()
    b.rate("MAINT_STANDARD", "56.000000", "2026-01-01")
    b.allocation("climate", {"CC-1": "60.00", "CC-2": "40.00"}, "2026-01-01T05:00:00+00:00")
    b.allocation("genomics", {"GEN-1": "100.00"}, "2026-01-01T05:00:00+00:00")
    return b


def big_centre(
    reservations: int = 5000, *, seed: int = 16, year: int = 2027, month: int = 3
) -> ExportBuilder:
    """A synthetic centre: ``reservations`` two-block reservations in one month on 200 GPU nodes
    (a node's reservations touch, never overlap), 400 users, 200 projects with splits, weekly
    maintenance windows and 200 account maintenance fees."""
    rng = random.Random(seed)
    b = ExportBuilder(created_at=f"{year}-{month + 1:02d}-05T12:00:00+00:00")
    b.manager_groups()
    b.user("admin", superuser=True)
    for name, group in (("bim", "Billing Manager"), ("rem", "Rental Manager"), ("rtm", "Rate Manager")):
        b.user(name, group)
    people = [f"user{i:03d}" for i in range(400)]
    for name in people:
        b.user(name)
    types = ["H200x8", "H200x4", "L40Sx4", "L40Sx2"]
    for t in types:
        b.node_type(t)
        b.rate(f"NODE_{t}", f"{rng.randint(2, 12)}.000000", "2026-01-01")
    b.node_type("CPU_384G", "CPU")
    b.fee_skus()
    b.rate("MAINT_STANDARD", "56.000000", "2026-01-01")
    b.rate("MAINT_ADVANCED", "126.000000", "2026-01-01")
    nodes = [f"node{3000 + i}" for i in range(200)]
    for i, n in enumerate(nodes):
        b.node(n, types[i % len(types)])
    for i in range(20):
        b.node(f"cpu{i:03d}", "CPU_384G", gpu=False)
    projects = [f"proj{i:03d}" for i in range(200)]
    for i, title in enumerate(projects):
        owner = people[i]
        b.project(title, owner)
        for k in range(1, 4):
            b.member(
                title,
                people[(i + 37 * k) % len(people)],
                ("member", "technical_admin", "financial_admin")[k - 1],
            )
        parts = {f"CO-{i:03d}-A": "60.00", f"CO-{i:03d}-B": "40.00"} if i % 2 else {f"CO-{i:03d}-A": "100.00"}
        b.allocation(title, parts, "2026-01-01T05:00:00+00:00")
    for i, title in enumerate(projects):  # each owner pays an account maintenance fee to their project
        b.amf(people[i], "basic" if i % 3 else "advanced", title, "2026-02-01T05:00:00+00:00")
    first = date(year, month, 1)
    days = 28
    rid = 0
    statuses = ["APPROVED"] * 18 + ["PENDING", "CANCELLED"]
    for n in nodes:
        for d in range(days):
            if rid >= reservations:
                break
            rid += 1
            project = projects[rng.randrange(len(projects))]
            b.reservation(
                rid,
                n,
                project,
                people[projects.index(project)],
                (first + timedelta(days=d)).isoformat(),
                2,
                rng.choice(statuses),
            )
    for week in range(5):
        day = first + timedelta(days=2 + 7 * week)
        start = datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)
        b.window(f"Weekly maintenance {day}", iso(start), iso(start + timedelta(hours=6)))
    b.period(year, month)
    return b
