"""``nodedesk migrate orcd``: an ORCD export becomes a new nodedesk site, in one transaction.

Like a restore (core/backup/importer.py), it runs into a new, empty database: the schema is
created if the database is blank (``prepare_target``), the site's settings come from the
export (its ``TIME_ZONE``), the login running it becomes an admin, and everything else is
created through the core services, so every rule holds (help/migrate.md has the mapping).
Three kinds are written directly, with the same validators, because their service would change
what happened: maintenance windows (the service would notify renters again and call a past
window "backdated"), cost split versions (the service would name the migration's admin and
time as the approver's) and reservations (kept with the plugin's own ids, so ``reservation #2``
is the same in both systems and an invoice line can be matched; 5,000 of them one service call
at a time would also take a minute or more). No two active reservations overlap
(core/backup/clashes.py, as in a restore) and the database's own guarantee stays the backstop.

A record that breaks a nodedesk rule is not half-written: each is created inside a savepoint,
and one that is refused is skipped and listed in the report with the reason. Everything else
is all or nothing: any other failure rolls the whole migration back.

A second run of the same export into the site it created adds nothing: it finds every record
by its natural key and reports it as present (help/migrate.md, "Running it twice").
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, timeutil, validate
from .. import site as site_settings
from ..auditseal import AuditSeal
from ..backup.bulk import insert_rows
from ..backup.clashes import Booking, ClashGuard
from ..backup.importer import _is_empty, _reset_sequences, prepare_target
from ..backup.kinds import registry
from ..db import migrate
from ..db.base import new_uuid
from ..errors import NodedeskError, PermissionDenied, ValidationError
from ..identity import Actor
from ..intervals import Interval
from ..models import (
    ActivityEntry,
    BillingOverride,
    CostSplitPart,
    CostSplitVersion,
    FeeSubscription,
    FeeSubscriptionPeriod,
    InvoicePeriod,
    MaintenanceWindow,
    Node,
    NodeType,
    Project,
    ProjectMember,
    Rate,
    Reservation,
    Sku,
    User,
)
from ..runtime import Runtime
from ..services.invoicing import invoices, overrides, rates
from ..services.nodes import inventory
from ..services.rentals import projects, reservations, splits, subscriptions
from ..services.rentals.reservation_policy import ReservationPolicy, check_blocks, reservation_span
from ..services.site import users
from ..services.site.setup import wipe
from . import compare
from .context import MigratingContext
from .export import OrcdExport, read_export
from .plugin_model import plugin_invoice
from .report import FinalizedMonth, KindTally, MigrationReport, NotMapped, SettingChoice
from .source import (
    AMF_SKUS,
    OAllocation,
    OrcdSource,
    OReservation,
    OSnapshot,
    read_source,
)

SUMMARY_ACTION = "orcd.migrated"
CURRENCY = "USD"
RESERVATION_BATCH = 1000
SAVEPOINT_BATCH = 200  # records created under one savepoint (see _Migration.settle)

# What a ColdFront group's permission lets its members do in the plugin → the nodedesk role.
GROUP_ROLES = {
    "coldfront_orcd_direct_charge.can_manage_rentals": "rental_manager",
    "coldfront_orcd_direct_charge.can_manage_billing": "billing_manager",
    "coldfront_orcd_direct_charge.can_manage_invoices": "billing_manager",
    "coldfront_orcd_direct_charge.can_manage_rates": "rate_manager",
}
RESERVATION_STATUS = {
    "PENDING": "pending",
    "APPROVED": "approved",
    "DECLINED": "declined",
    "CANCELLED": "cancelled",
}
SKU_CATEGORIES = {"MAINTENANCE": "maintenance", "QOS": "qos"}
PROJECT_ROLES = ("financial_admin", "technical_admin", "member")

# What nodedesk does with each kind of the export (the report's "becomes" column).
TARGETS = {
    "users": "users (roles from their groups)",
    "groups": "system roles of their members",
    "user_group_memberships": "system roles of the user",
    "node_types": "node types, each with its hourly SKU",
    "gpu_node_instances": "nodes",
    "cpu_node_instances": "nodes",
    "rental_skus": "SKUs (NODE_ SKUs are the node types' own)",
    "rental_rates": "rates with their effective dates",
    "projects": "projects (owner = the PI)",
    "project_member_roles": "project members with their project role",
    "project_users": "project members (through the ORCD project roles)",
    "cost_allocation_snapshots": "approved cost split versions",
    "cost_object_snapshots": "parts of those split versions",
    "project_cost_allocations": "the current split (pending ones stay pending)",
    "project_cost_objects": "parts of the current split",
    "user_maintenance_statuses": "account maintenance fee subscriptions",
    "maintenance_windows": "maintenance windows on all nodes",
    "reservations": "reservations (same ids)",
    "reservation_metadata_entries": "the reservation's notes",
    "invoice_line_overrides": "billing overrides with their reasons",
    "invoice_periods": "finalized months (drafts are computed live)",
}

NOT_MAPPED = {
    "field_of_science": "ColdFront's fields of science: nodedesk projects do not carry one",
    "permissions": "Django permissions: roles come from the groups instead",
    "user_permissions": "per-user Django permissions: roles come from the groups instead",
    "allocations": "ColdFront resource allocations: the plugin bills reservations and fees, not these",
    "allocation_attributes": "ColdFront allocation attributes (no billing meaning)",
    "allocation_attribute_types": "ColdFront lookup table",
    "allocation_statuses": "ColdFront lookup table",
    "allocation_users": "ColdFront allocation users: the plugin bills reservations and fees, not these",
    "allocation_user_statuses": "ColdFront lookup table",
    "resources": "ColdFront resources: nodes come from the plugin's node instances",
    "resource_attributes": "ColdFront resource attributes (no billing meaning)",
    "resource_attribute_types": "ColdFront lookup table",
    "resource_types": "ColdFront lookup table",
    "grants": "research grants: not billing data",
    "grant_statuses": "ColdFront lookup table",
    "grant_funding_agencies": "ColdFront lookup table",
    "publications": "publications: not billing data",
    "publication_sources": "ColdFront lookup table",
    "project_reviews": "ColdFront's periodic project reviews: nodedesk has none",
    "project_statuses": "ColdFront lookup table (each project's status is mapped with it)",
    "project_user_roles": "ColdFront lookup table (Manager/User; the ORCD project roles are mapped)",
    "project_user_statuses": "ColdFront lookup table (each membership's status is judged with it)",
}


# ------------------------------------------------------------------------------------------
# Small helpers


def _tz_day(instant: datetime, tz: str) -> date:
    return timeutil.local_day(instant, tz)


def first_midnight_from(instant: datetime, tz: str) -> date:
    """The first site-local day whose midnight is at or after ``instant``: the plugin applies a
    cost allocation approved during a day from the next local midnight on."""
    day = _tz_day(instant, tz)
    if timeutil.start_of_day(day, tz) >= instant:
        return day
    return day + timedelta(days=1)


def _percent_parts(hours: list[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """A split given in hours (the plugin's COST_SPLIT override) as percentages with 4 places
    summing to exactly 100 (the rounding remainder goes to the largest part)."""
    total = sum((h for _c, h in hours), Decimal(0))
    parts = [(c, (h * 100 / total).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)) for c, h in hours]
    gap = Decimal(100) - sum((p for _c, p in parts), Decimal(0))
    if gap:
        i = max(range(len(parts)), key=lambda k: parts[k][1])
        parts[i] = (parts[i][0], parts[i][1] + gap)
    return parts


def _fit(report: MigrationReport, text: str, limit: int, where: str) -> str:
    """Free text within nodedesk's length for the field; a longer one is cut, and said so."""
    text = text.strip()
    if len(text) <= limit:
        return text
    report.warn(f"{where}: {len(text)} characters, nodedesk keeps the first {limit} (the export has it all)")
    return text[: limit - 1] + "…"


def _doc_time(instant: datetime | None, tz: str) -> str | None:
    return timeutil.iso_local(instant, tz) if instant is not None else None


class _Skip(Exception):
    """A record nodedesk cannot keep; ``str()`` is the reason shown in the report."""


@dataclass
class _Job:
    model: str
    key: str
    exists: Callable[[], bool]
    create: Callable[[], object]
    ok: Callable[[], object] | None = None


# ------------------------------------------------------------------------------------------
# The migration proper


class _Migration:
    def __init__(
        self, ctx: MigratingContext, src: OrcdSource, report: MigrationReport, *, verify: bool
    ) -> None:
        self.ctx = ctx
        self.session: Session = ctx.session
        self.src = src
        self.export = src.export
        self.report = report
        self.verify = verify  # a second run: look, never write
        self.tz = ctx.tz
        self.users: set[str] = set()  # usernames in nodedesk
        self.inactive: list[str] = []
        self.node_types: set[str] = set()
        self.nodes: set[str] = set()
        self.sku_map: dict[str, str] = {}  # plugin SKU code -> nodedesk SKU code
        self.projects: set[str] = set()
        self.archived: list[str] = []
        self.roles: dict[tuple[str, str], set[str]] = defaultdict(set)  # (project, user) -> roles
        self.snapshots_done: set[int] = set()
        self.allocations_done: set[str] = set()
        self.reservations: dict[int, str] = {}  # plugin id -> nodedesk status, for those kept
        self.placeholders: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.jobs: list[_Job] = []

    # -- bookkeeping -----------------------------------------------------------------------
    def tally(self, model: str) -> KindTally:
        tally = self.report.kind(model, self.export.component_of(model), TARGETS.get(model, ""))
        tally.read = self.export.counts.get(tally.component, {}).get(model, tally.read)
        return tally

    def place(
        self,
        model: str,
        key: str,
        exists: Callable[[], bool],
        create: Callable[[], object],
        ok: Callable[[], object] | None = None,
    ) -> None:
        """Queue one record: :meth:`settle` counts it as present (a second run), creates it, or
        skips it with the reason, and calls ``ok`` once it is in nodedesk."""
        self.jobs.append(_Job(model, key, exists, create, ok))

    def settle(self) -> None:
        """Create the queued records, many to a savepoint; when one is refused, its batch is
        rolled back and done again one record to a savepoint, so only that one is skipped
        (a refused record leaves no trace)."""
        jobs, self.jobs = self.jobs, []
        if self.verify:
            for job in jobs:
                tally = self.tally(job.model)
                if job.exists():
                    tally.present += 1
                    if job.ok is not None:
                        job.ok()
                else:
                    tally.skip(job.key, "not in this database (removed or changed since the migration?)")
            return
        for i in range(0, len(jobs), SAVEPOINT_BATCH):
            chunk = jobs[i : i + SAVEPOINT_BATCH]
            if len(chunk) > 1 and self._try(chunk):
                for job in chunk:
                    self._done(job)
                continue
            for job in chunk:
                if self._try([job], one=True):
                    self._done(job)

    def _try(self, jobs: list[_Job], one: bool = False) -> bool:
        mark = self.ctx.mark()
        try:
            with self.session.begin_nested():
                for job in jobs:
                    with self.ctx.source(job.model, job.key):
                        job.create()
        except (_Skip, NodedeskError) as exc:
            self.ctx.drop_since(mark)
            if one:
                why = str(exc) if isinstance(exc, _Skip) else f"refused by nodedesk: {exc}"
                self.tally(jobs[0].model).skip(jobs[0].key, why)
            return False
        return True

    def _done(self, job: _Job) -> None:
        self.tally(job.model).created += 1
        if job.ok is not None:
            job.ok()

    def skip(self, model: str, key: str, reason: str) -> None:
        self.tally(model).skip(key, reason)

    def merged(self, model: str) -> None:
        self.tally(model).merged += 1

    def _exists(self, stmt: Any) -> bool:
        return self.session.execute(stmt.limit(1)).first() is not None

    # -- users -----------------------------------------------------------------------------
    def group_roles(self) -> dict[str, set[str]]:
        roles: dict[str, set[str]] = {}
        for g in self.src.groups:
            mapped = {GROUP_ROLES[p] for p in g.permissions if p in GROUP_ROLES}
            roles[g.name] = mapped
            if mapped:
                self.merged("groups")
            else:
                self.skip("groups", g.rec.label, "grants no plugin management permission: no nodedesk role")
        return roles

    def roles_of(self, groups: set[str], group_roles: dict[str, set[str]]) -> list[str]:
        found: set[str] = set()
        for name in groups:
            found |= group_roles.get(name, set())
        return sorted(found) or ["viewer"]

    def migrate_users(self) -> None:
        group_roles = self.group_roles()
        login = self.ctx.actor.real_user
        groups: dict[str, set[str]] = defaultdict(set)  # the user's groups, from both places
        for u in self.src.users:
            groups[u.username].update(u.groups)
        for m in self.src.memberships:
            groups[m.username].update(m.groups)
        for u in sorted(self.src.users, key=lambda u: u.username):
            key = u.rec.label
            try:
                username = validate.name(u.username, "username")
            except ValidationError as exc:
                self.skip("users", key, f"not a nodedesk login name: {exc.message}")
                continue
            roles = self.roles_of(groups[u.username], group_roles)
            email, full_name = u.email, u.full_name
            try:
                email = users.validate_email(email)
            except ValidationError as exc:
                self.report.warn(f"user {username}: {exc.message}; migrated without an email address")
                email = ""
            try:
                full_name = users.validate_full_name(full_name)
            except ValidationError as exc:
                self.report.warn(f"user {username}: full name {exc.message}; migrated without it")
                full_name = ""
            if u.superuser and username != login:
                self.report.warn(
                    f"user {username} is a ColdFront superuser; in nodedesk a {', '.join(roles)} "
                    f"(give admin with 'nodedesk user roles {username} --role admin' if they need it)"
                )
            if username == login and not self.verify:
                # created first by the bootstrap, as the site's admin (the login running this)
                self.users.add(username)
                self.tally("users").created += 1
                if not u.active:
                    self.report.warn(
                        f"user {username} is inactive in the plugin but runs this migration: kept active"
                    )
                continue

            def exists(name: str = username) -> bool:
                return self._exists(select(User.id).where(User.username == name))

            def create(
                name: str = username, r: list[str] = roles, e: str = email, f: str = full_name
            ) -> None:
                users.add_user(self.ctx, name, r, full_name=f, email=e)

            def ok(name: str = username, active: bool = u.active or username == login) -> None:
                self.users.add(name)
                if not active:
                    self.inactive.append(name)

            self.place("users", key, exists, create, ok)
        self.settle()
        for m in self.src.memberships:
            if m.username in self.users:
                self.merged("user_group_memberships")
            else:
                self.skip("user_group_memberships", m.rec.label, "its user was not migrated")

    # -- inventory -------------------------------------------------------------------------
    def migrate_inventory(self) -> None:
        for t in sorted(self.src.node_types, key=lambda t: t.name):
            if not t.active:
                self.report.warn(
                    f"node type {t.name} is inactive in the plugin; nodedesk keeps node types active"
                )

            def exists(name: str = t.name) -> bool:
                return self._exists(select(NodeType.id).where(NodeType.name == name))

            def create(t: Any = t) -> None:
                description = _fit(self.report, t.description, 2000, f"node type {t.name} description")
                inventory.add_node_type(self.ctx, t.name, t.category, description)

            self.place("node_types", t.rec.label, exists, create, lambda t=t: self.node_types.add(t.name))
        self.settle()
        for n in sorted(self.src.nodes, key=lambda n: n.name):
            model = "gpu_node_instances" if n.gpu else "cpu_node_instances"
            if n.node_type not in self.node_types:
                self.skip(model, n.rec.label, f"its node type {n.node_type!r} was not migrated")
                continue
            description = "" if n.status == "AVAILABLE" else f"status {n.status} in the plugin"

            def exists(name: str = n.name) -> bool:
                return self._exists(select(Node.id).where(Node.name == name))

            def create(n: Any = n, d: str = description) -> None:
                inventory.add_node(self.ctx, n.name, n.node_type, rentable=n.rentable, description=d)

            self.place(model, n.rec.label, exists, create, lambda n=n: self.nodes.add(n.name))
        self.settle()
        self.migrate_skus()
        self.migrate_rates()

    def migrate_skus(self) -> None:
        for s in sorted(self.src.skus, key=lambda s: s.code):
            key = s.rec.label
            if s.sku_type == "NODE" or s.node_type is not None:
                node_type = s.node_type
                if node_type is None or node_type not in self.node_types:
                    self.skip("rental_skus", key, f"its node type {node_type!r} was not migrated")
                    continue
                ours = rates.node_sku_code(node_type)
                self.sku_map[s.code] = ours
                self.merged("rental_skus")
                if not s.active:
                    self.report.warn(
                        f"SKU {s.code} is inactive in the plugin; its node type's SKU {ours} stays"
                    )
                continue
            category = SKU_CATEGORIES.get(s.sku_type)
            if category is None or s.billing_unit != "MONTHLY":
                self.skip(
                    "rental_skus",
                    key,
                    f"a {s.billing_unit.lower()} {s.sku_type} SKU: nodedesk bills hourly only node types "
                    "and monthly fees",
                )
                continue
            code = s.code.strip().upper()

            def exists(code: str = code) -> bool:
                return self._exists(select(Sku.id).where(Sku.code == code))

            def create(s: Any = s, code: str = code, category: str = category) -> None:
                description = _fit(self.report, s.description, 2000, f"SKU {code} description")
                rates.create_fee_sku(self.ctx, code, s.name, category, description)

            def ok(s: Any = s, code: str = code) -> None:
                self.sku_map[s.code] = code
                if not s.active:
                    self.report.warn(f"SKU {s.code} is inactive in the plugin; nodedesk keeps it offered")

            self.place("rental_skus", key, exists, create, ok)
        self.settle()

    def migrate_rates(self) -> None:
        for r in sorted(self.src.rates, key=lambda r: (r.sku, r.effective)):
            key = r.rec.label
            ours = self.sku_map.get(r.sku)
            if r.placeholder:
                self.placeholders[ours or r.sku].append(
                    {
                        "sku": ours or r.sku,
                        "orcd_sku": r.sku,
                        "amount": rates.format_amount(r.amount),
                        "effective_date": r.effective.isoformat(),
                    }
                )
                self.skip(
                    "rental_rates",
                    key,
                    "the plugin's $0.01 placeholder (its stand-in until a real rate is set): "
                    "nodedesk bills time without a rate at 0.00 and warns on the invoice",
                )
                continue
            if ours is None:
                self.skip("rental_rates", key, f"its SKU {r.sku} was not migrated")
                continue
            notes = r.notes if r.set_by is None else f"{r.notes} (set by {r.set_by} in the plugin)".strip()

            def exists(ours: str = ours, r: Any = r) -> bool:
                return self._exists(
                    select(Rate.id)
                    .join(Sku, Sku.id == Rate.sku_id)
                    .where(Sku.code == ours, Rate.effective_date == r.effective, Rate.amount == r.amount)
                )

            def create(ours: str = ours, r: Any = r, notes: str = notes) -> None:
                where = f"rate {r.sku} {r.effective} notes"
                rates.set_rate(self.ctx, ours, r.amount, r.effective, _fit(self.report, notes, 2000, where))

            self.place("rental_rates", key, exists, create)
        self.settle()
        self.report.placeholder_rates = [p for items in self.placeholders.values() for p in items]

    # -- projects --------------------------------------------------------------------------
    def migrate_projects(self) -> None:
        for p in sorted(self.src.projects, key=lambda p: p.title):
            if p.pi not in self.users:
                self.skip("projects", p.rec.label, f"its PI {p.pi!r} was not migrated")
                continue

            def exists(title: str = p.title) -> bool:
                return self._exists(select(Project.id).where(Project.title == title))

            description = _fit(self.report, p.description, 4000, f"project {p.title} description")

            def create(p: Any = p, d: str = description) -> None:
                projects.add_project(self.ctx, p.title, p.pi, d)

            def ok(p: Any = p) -> None:
                self.projects.add(p.title)
                self.roles[(p.title, p.pi)].add("owner")
                if p.status == "Archived":
                    self.archived.append(p.title)

            self.place("projects", p.rec.label, exists, create, ok)
        self.settle()
        for m in sorted(self.src.member_roles, key=lambda m: (m.project, m.username, m.role)):
            key = m.rec.label
            if m.project not in self.projects or m.username not in self.users:
                what = "project" if m.project not in self.projects else "user"
                self.skip("project_member_roles", key, f"its {what} was not migrated")
                continue
            if m.role not in PROJECT_ROLES:
                self.skip("project_member_roles", key, f"unknown project role {m.role!r}")
                continue

            def exists(m: Any = m) -> bool:
                return self._exists(
                    select(ProjectMember.id)
                    .join(Project, Project.id == ProjectMember.project_id)
                    .join(User, User.id == ProjectMember.user_id)
                    .where(
                        Project.title == m.project, User.username == m.username, ProjectMember.role == m.role
                    )
                )

            def create(m: Any = m) -> None:
                projects.add_member(self.ctx, m.project, m.username, m.role)

            self.place(
                "project_member_roles",
                key,
                exists,
                create,
                lambda m=m: self.roles[(m.project, m.username)].add(m.role),
            )
        self.settle()
        for pu in self.src.project_users:
            key = pu.rec.label
            if pu.project not in self.projects:
                self.skip("project_users", key, "its project was not migrated")
            elif pu.status != "Active":
                self.skip("project_users", key, f"ColdFront membership status {pu.status!r}: not a member")
            elif self.roles.get((pu.project, pu.username)):
                self.merged("project_users")
            else:
                self.skip(
                    "project_users",
                    key,
                    "a ColdFront member without an ORCD project role (the plugin lets them neither "
                    "reserve nor be billed); add one with 'nodedesk member add PROJECT USER --role ROLE'",
                )

    # -- cost splits -----------------------------------------------------------------------
    def _split(
        self,
        project: str,
        parts: list[tuple[str, Decimal]],
        effective: date,
        status: str,
        *,
        by: str | None,
        at: datetime,
        reason: str = "",
    ) -> None:
        """A split version as the plugin decided it, who and when included (the split service
        would name the migration's admin and time instead). The same rules as a proposed split
        (splits.validate_parts); no finalized month exists yet that it could change."""
        checked = splits.validate_parts(parts)
        owner = projects.find_project(self.ctx, project)
        decider = by if by in self.users else self.ctx.actor.username
        decided = status != "pending"
        now, actor = self.ctx.now(), self.ctx.actor.username
        version = CostSplitVersion(
            project=owner,
            effective_date=effective,
            status=status,
            decided_by=decider if decided else None,
            decided_at=at if decided else None,
            decision_reason=_fit(self.report, reason, 2000, f"{project} review notes")
            if status == "rejected"
            else "",
            created_at=at,
            created_by=decider,
            modified_at=now,
            modified_by=actor,
        )
        version.parts = [CostSplitPart(cost_object=p.cost_object, percent=p.percent) for p in checked]
        self.session.add(version)
        self.session.flush()
        self.ctx.record(
            "split.migrated",
            "cost_split",
            version.id,
            owner.title,
            after=splits.view(version).to_json(self.tz),
        )

    def _split_exists(
        self, project: str, parts: list[tuple[str, Decimal]], effective: date, status: str
    ) -> bool:
        wanted = {(c, Decimal(p)) for c, p in parts}
        for v in self.session.scalars(
            select(CostSplitVersion)
            .join(Project, Project.id == CostSplitVersion.project_id)
            .where(
                Project.title == project,
                CostSplitVersion.effective_date == effective,
                CostSplitVersion.status == status,
            )
        ):
            if {(p.cost_object, Decimal(p.percent)) for p in v.parts} == wanted:
                return True
        return False

    def migrate_splits(self) -> None:
        by_project: dict[str, list[OSnapshot]] = defaultdict(list)
        for s in self.src.snapshots:
            by_project[s.project].append(s)
        for project in sorted(by_project):
            for s in sorted(by_project[project], key=lambda s: (s.approved_at, s.id)):
                key = s.rec.label
                if project not in self.projects:
                    self.skip("cost_allocation_snapshots", key, "its project was not migrated")
                    continue
                if not s.parts:
                    self.skip("cost_allocation_snapshots", key, "holds no cost objects")
                    continue
                effective = first_midnight_from(s.approved_at, self.tz)
                parts = list(s.parts)
                who = f" by {s.approved_by}" if s.approved_by else ""
                note = f"{key} (approved{who} at {_doc_time(s.approved_at, self.tz)} in the plugin)"

                def exists(p: str = project, parts: list[Any] = parts, e: date = effective) -> bool:
                    return self._split_exists(p, parts, e, "approved")

                def create(
                    p: str = project, parts: list[Any] = parts, e: date = effective, n: str = note, s: Any = s
                ) -> None:
                    with self.ctx.source("cost_allocation_snapshots", n):
                        self._split(p, parts, e, "approved", by=s.approved_by, at=s.approved_at)

                self.place(
                    "cost_allocation_snapshots",
                    key,
                    exists,
                    create,
                    lambda s=s: self.snapshots_done.add(s.id),
                )
        self.settle()
        for part in self.src.snapshot_parts:
            if part.snapshot_id in self.snapshots_done:
                self.merged("cost_object_snapshots")
            else:
                self.skip("cost_object_snapshots", part.rec.label, "its snapshot was not migrated")
        current: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        for co in self.src.cost_objects:
            current[co.project].append((co.code, co.percent))
        latest = {
            p: max(snaps, key=lambda s: (s.approved_at, s.id)) for p, snaps in by_project.items() if snaps
        }
        for a in sorted(self.src.allocations, key=lambda a: a.project):
            self._allocation(a, sorted(current.get(a.project, [])), latest.get(a.project))
        self.settle()
        for co in self.src.cost_objects:
            if co.project in self.allocations_done:
                self.merged("project_cost_objects")
            else:
                self.skip("project_cost_objects", co.rec.label, "its cost allocation was not migrated")

    def _allocation(self, a: OAllocation, parts: list[tuple[str, Decimal]], last: OSnapshot | None) -> None:
        key = a.rec.label
        if a.project not in self.projects:
            self.skip("project_cost_allocations", key, "its project was not migrated")
            return
        if not parts:
            self.skip("project_cost_allocations", key, "holds no cost objects")
            return
        if a.status == "APPROVED" and last is not None:
            if last.id in self.snapshots_done:
                self.merged("project_cost_allocations")
                self.allocations_done.add(a.project)
                if sorted(last.parts) != parts:
                    self.report.warn(
                        f"project {a.project}: the current cost allocation differs from its last approved "
                        "snapshot; nodedesk keeps the snapshot (what the plugin bills)"
                    )
            else:
                self.skip("project_cost_allocations", key, "its approved snapshot was not migrated")
            return
        at = a.reviewed_at or a.modified
        if a.status == "APPROVED":
            status, effective = "approved", first_midnight_from(at, self.tz)
        elif a.status in ("PENDING", "REJECTED"):
            status = a.status.lower()
            effective = _tz_day(datetime.fromisoformat(self.export.created_at), self.tz) + timedelta(days=1)
        else:
            self.skip("project_cost_allocations", key, f"unknown allocation status {a.status!r}")
            return
        reason = a.review_notes.strip() or "rejected in the plugin"

        def exists() -> bool:
            return self._split_exists(a.project, parts, effective, status)

        def create() -> None:
            by = a.reviewed_by if status != "pending" else None
            self._split(a.project, parts, effective, status, by=by, at=at, reason=reason)

        self.place(
            "project_cost_allocations", key, exists, create, lambda: self.allocations_done.add(a.project)
        )

    # -- fee subscriptions -----------------------------------------------------------------
    def migrate_subscriptions(self) -> None:
        if any(s.sku_type == "QOS" for s in self.src.skus):
            self.report.warn(
                "the plugin's export carries no QoS subscriptions (its exporter has no such model): "
                "add them with 'nodedesk subscription add'; orcd-compare lists the plugin's QoS lines"
            )
        told = False
        for amf in sorted(self.src.amf, key=lambda a: a.username):
            key = amf.rec.label
            if amf.status not in AMF_SKUS:
                self.skip(
                    "user_maintenance_statuses", key, f"status {amf.status!r}: no account maintenance fee"
                )
                continue
            if not amf.billing_project:
                self.skip("user_maintenance_statuses", key, "no billing project: the plugin bills nothing")
                continue
            sku = self.sku_map.get(AMF_SKUS[amf.status])
            if sku is None:
                self.skip(
                    "user_maintenance_statuses", key, f"its SKU {AMF_SKUS[amf.status]} was not migrated"
                )
                continue
            if amf.username not in self.users or amf.billing_project not in self.projects:
                what = "user" if amf.username not in self.users else "billing project"
                self.skip("user_maintenance_statuses", key, f"its {what} was not migrated")
                continue
            start = _tz_day(amf.created, self.tz)
            if not told:
                self.report.warn(
                    "the plugin's export carries no AMF end dates: fees are migrated open-ended, as the "
                    "plugin's default end (2100-01-01); end one with 'nodedesk subscription end ID --on DATE'"
                )
                told = True

            def exists(amf: Any = amf, sku: str = sku, start: date = start) -> bool:
                return self._exists(
                    select(FeeSubscriptionPeriod.id)
                    .join(FeeSubscription, FeeSubscription.id == FeeSubscriptionPeriod.subscription_id)
                    .join(User, User.id == FeeSubscription.user_id)
                    .join(Sku, Sku.id == FeeSubscriptionPeriod.sku_id)
                    .join(Project, Project.id == FeeSubscriptionPeriod.project_id)
                    .where(
                        User.username == amf.username,
                        Sku.code == sku,
                        Project.title == amf.billing_project,
                        FeeSubscriptionPeriod.start_date == start,
                    )
                )

            def create(amf: Any = amf, sku: str = sku, start: date = start) -> None:
                subscriptions.add_subscription(self.ctx, amf.username, sku, amf.billing_project, start)

            self.place("user_maintenance_statuses", key, exists, create)
        self.settle()

    # -- maintenance windows ---------------------------------------------------------------
    def migrate_windows(self) -> None:
        for w in sorted(self.src.windows, key=lambda w: (w.start, w.title)):

            def exists(w: Any = w) -> bool:
                return self._exists(
                    select(MaintenanceWindow.id).where(
                        MaintenanceWindow.title == w.title.strip(),
                        MaintenanceWindow.start == w.start,
                        MaintenanceWindow.end == w.end,
                    )
                )

            self.place("maintenance_windows", w.rec.label, exists, lambda w=w: self._window(w))
        self.settle()

    def _window(self, w: Any) -> None:
        """The same field rules as a window saved in the app (core/services/windows.py), on all
        nodes as every plugin window is; no notices (the plugin announced it already)."""
        title = validate.title(w.title)
        description = validate.text(
            _fit(self.report, w.description, 10_000, f"window {title}"), "description"
        )
        if not w.end > w.start:
            raise ValidationError("must be after the start", field="end")
        by = w.created_by if w.created_by in self.users else self.ctx.actor.username
        now = self.ctx.now()
        window = MaintenanceWindow(
            title=title,
            description=description,
            start=w.start,
            end=w.end,
            all_nodes=True,
            backdated=False,
            created_at=w.created,
            created_by=by,
            modified_at=now,
            modified_by=self.ctx.actor.username,
        )
        self.session.add(window)
        self.session.flush()
        self.ctx.record(
            "window.migrated",
            "window",
            window.id,
            window.title,
            after={
                "title": title,
                "start": _doc_time(w.start, self.tz),
                "end": _doc_time(w.end, self.tz),
                "scope": "all nodes",
                "created_by": by,
            },
            row=window,
        )

    # -- reservations ----------------------------------------------------------------------
    def _notes(self, r: OReservation, entries: list[Any]) -> str:
        parts = [r.rental_notes.strip()]
        if r.metadata.strip():
            parts.append(f"[manager metadata] {r.metadata.strip()}")
        for e in sorted(entries, key=lambda e: (e.created, e.id)):
            parts.append(f"[manager note {_doc_time(e.created, self.tz)}] {e.content.strip()}")
        text = "\n".join(p for p in parts if p)
        return reservations.validate_notes(_fit(self.report, text, 2000, f"reservation #{r.id} notes"))

    def _reservation_row(
        self,
        r: OReservation,
        policy: ReservationPolicy,
        lookups: dict[str, dict[str, Any]],
        entries: list[Any],
    ) -> dict[str, Any]:
        node = lookups["nodes"].get(r.node)
        if node is None:
            raise _Skip(f"its node {r.node!r} was not migrated")
        project = lookups["projects"].get(r.project)
        if project is None:
            raise _Skip(f"its project {r.project!r} was not migrated")
        if r.requester not in self.users:
            raise _Skip(f"its requester {r.requester!r} was not migrated")
        status = RESERVATION_STATUS.get(r.status)
        if status is None:
            raise _Skip(f"unknown status {r.status!r}")
        try:
            check_blocks(policy, r.blocks)
            span = reservation_span(policy, r.start_date, r.blocks)
            notes = self._notes(r, entries)
            reason = _fit(self.report, r.manager_notes, 2000, f"reservation #{r.id} manager notes")
        except ValidationError as exc:
            raise _Skip(f"refused by nodedesk: {exc}") from None
        decider = r.processed_by if r.processed_by in self.users else None
        if not node[2] and status in reservations.ACTIVE:
            self.report.warn(
                f"reservation #{r.id} is on {r.node}, which is not rentable now; kept as the plugin had it"
            )
        return {
            "id": r.id,
            "uuid": new_uuid(),
            "node_id": node[0],
            "project_id": project,
            "requested_for": r.requester,
            "start_at": span.start,
            "end_at": span.end,
            "blocks": r.blocks,
            "status": status,
            "notes": notes,
            "policy_waived": False,
            "decided_by": decider if status != "pending" else None,
            "decided_at": r.modified if status != "pending" and decider else None,
            "decision_reason": reason,
            "version": 1,
            "created_at": r.created,
            "created_by": r.requester,
            "modified_at": r.modified,
            "modified_by": decider or r.requester,
        }

    def migrate_reservations(self) -> None:
        tally = self.tally("reservations")
        entries: dict[int, list[Any]] = defaultdict(list)
        for e in self.src.metadata_entries:
            entries[e.reservation_id].append(e)
        policy = ReservationPolicy.from_site(self.ctx.site)
        lookups = {
            "nodes": {
                name: (nid, tid, rentable)
                for nid, name, tid, rentable in self.session.execute(
                    select(Node.id, Node.name, Node.node_type_id, Node.rentable)
                )
            },
            "projects": {
                title: pid for title, pid in self.session.execute(select(Project.title, Project.id))
            },
        }
        here = set(self.session.scalars(select(Reservation.id)))
        guard = ClashGuard(self.session, restore=True)
        kept: dict[int, str] = {}
        # Active ones in the order they were booked; approved before pending, so an overlap the
        # plugin allowed keeps the confirmed booking.
        rank = {"APPROVED": 0, "PENDING": 1}
        ordered = sorted(self.src.reservations, key=lambda r: (rank.get(r.status, 2), r.id))
        rows: list[dict[str, Any]] = []
        for r in ordered:
            key = r.rec.label
            if r.id in here:
                tally.present += 1
                self.reservations[r.id] = RESERVATION_STATUS.get(r.status, "")
                continue
            if self.verify:
                tally.skip(key, "not in this database (removed or changed since the migration?)")
                continue
            try:
                row = self._reservation_row(r, policy, lookups, entries[r.id])
            except _Skip as exc:
                tally.skip(key, str(exc))
                continue
            if row["status"] in reservations.ACTIVE:
                booking = Booking(f"#{r.id}", None, row["node_id"], Interval(row["start_at"], row["end_at"]))
                hit = guard.check([booking], set())
                if hit is not None:
                    tally.skip(key, f"{hit[1]} (the plugin allowed both; nodedesk keeps the first)")
                    self.report.overlaps.append(
                        {
                            "reservation": r.id,
                            "node": r.node,
                            "start_date": r.start_date.isoformat(),
                            "why": hit[1],
                        }
                    )
                    continue
            rows.append(row)
            kept[r.id] = row["status"]
        rows.sort(key=lambda row: row["id"])
        conn = self.session.connection()
        for i in range(0, len(rows), RESERVATION_BATCH):
            insert_rows(conn, Reservation.__table__, rows[i : i + RESERVATION_BATCH])
        _reset_sequences(self.session, [registry()["reservations"]])  # new bookings go on from the last id
        projects_by_id = {pid: title for title, pid in lookups["projects"].items()}
        nodes_by_id = {v[0]: name for name, v in lookups["nodes"].items()}
        logged = []
        for row in rows:
            node, project = nodes_by_id[row["node_id"]], projects_by_id[row["project_id"]]
            doc = {
                "node": node,
                "project": project,
                "requested_for": row["requested_for"],
                "start": _doc_time(row["start_at"], self.tz),
                "end": _doc_time(row["end_at"], self.tz),
                "blocks": row["blocks"],
                "status": row["status"],
                "decided_by": row["decided_by"],
            }
            label = f"reservation #{row['id']} ({node}, {project})"
            pending = audit.Pending(
                "reservation.migrated", "reservation", row["id"], label, row["uuid"], None, doc
            )
            logged.append((f"reservations [{row['id']}]", pending))
        self.ctx.hold(logged)
        tally.created += len(rows)
        self.reservations.update(kept)
        self.session.expire_all()
        for e in self.src.metadata_entries:
            if e.reservation_id in self.reservations:
                self.merged("reservation_metadata_entries")
            else:
                self.skip("reservation_metadata_entries", e.rec.label, "its reservation was not migrated")

    # -- billing overrides -----------------------------------------------------------------
    def migrate_overrides(self) -> None:
        for o in sorted(self.src.overrides, key=lambda o: o.id):
            key = o.rec.label
            if self.reservations.get(o.reservation_id) != "approved":
                self.skip(
                    "invoice_line_overrides",
                    key,
                    f"reservation #{o.reservation_id} is not billed in nodedesk",
                )
                continue
            reason = o.notes.strip() or f"{o.kind} override set in the plugin"
            args: dict[str, Any] = {
                "kind": "",
                "reason": _fit(self.report, reason, 2000, f"override {key} notes"),
            }
            if o.kind == "EXCLUDE":
                args["kind"] = "exclude"
            elif o.kind == "HOURS":
                hours = o.value.get("hours")
                if isinstance(hours, bool) or not isinstance(hours, (int, float)):
                    self.skip("invoice_line_overrides", key, "its hours are not a number")
                    continue
                args |= {"kind": "hours", "hours": Decimal(str(hours))}
            elif o.kind == "COST_SPLIT":
                items = o.value.get("cost_breakdown")
                pairs = [
                    (str(i.get("cost_object")), Decimal(str(i.get("hours"))))
                    for i in items or []
                    if isinstance(i, dict) and isinstance(i.get("hours"), (int, float)) and i.get("hours")
                ]
                if not pairs or sum(h for _c, h in pairs) <= 0:
                    self.skip("invoice_line_overrides", key, "its cost split has no hours")
                    continue
                args |= {"kind": "split", "split": _percent_parts(pairs)}
            elif o.kind == "CHARGE_PROJECT":
                self.skip(
                    "invoice_line_overrides",
                    key,
                    "names its target project by the plugin's database id, which the export does "
                    "not carry; set it again with 'nodedesk override set PERIOD ID --charge-to "
                    "PROJECT --reason R'",
                )
                continue
            else:
                self.skip("invoice_line_overrides", key, f"unknown override type {o.kind!r}")
                continue

            def exists(o: Any = o) -> bool:
                return self._exists(
                    select(BillingOverride.id).where(
                        BillingOverride.period == o.period, BillingOverride.reservation_id == o.reservation_id
                    )
                )

            def create(o: Any = o, args: dict[str, Any] = args) -> None:
                overrides.set_override(self.ctx, o.period, o.reservation_id, **args)

            self.place("invoice_line_overrides", key, exists, create)
        self.settle()

    # -- last: states that lock what came before ------------------------------------------
    def finish_people(self) -> None:
        if self.verify:
            return
        for name in self.inactive:
            with self.ctx.source("users", json.dumps([name])):
                users.update_user(self.ctx, name, active=False)
        for title in self.archived:
            mark = self.ctx.mark()
            try:
                with self.session.begin_nested(), self.ctx.source("projects", json.dumps([title])):
                    projects.set_project_status(self.ctx, title, "archived", reason="archived in the plugin")
            except NodedeskError as exc:
                self.ctx.drop_since(mark)
                self.report.warn(f"project {title} is archived in the plugin but stays active here: {exc}")

    def migrate_periods(self) -> None:
        for p in sorted(self.src.periods, key=lambda p: p.period):
            key = p.rec.label
            if p.status != "FINALIZED":
                self.merged("invoice_periods")  # a draft month is computed live, nothing to store
                continue

            def exists(period: str = p.period) -> bool:
                return self._exists(
                    select(InvoicePeriod.id).where(
                        InvoicePeriod.period == period, InvoicePeriod.status == "finalized"
                    )
                )

            def create(p: Any = p) -> None:
                at = _doc_time(p.finalized_at, self.tz)
                note = f"finalized in the plugin by {p.finalized_by or '?'} at {at}"
                with self.ctx.source("invoice_periods", f"{p.rec.label} ({note})"):
                    invoices.finalize(self.ctx, p.period)

            self.place(
                "invoice_periods",
                key,
                exists,
                create,
                lambda p=p: self.report.finalized.append(self.check_month(p)),
            )
        self.settle()

    def check_month(self, p: Any) -> FinalizedMonth:
        """Our snapshot of a month the plugin had finalized, beside the plugin's own figures."""
        plugin = plugin_invoice(self.src, self.tz, p.period, status="Finalized")
        found = compare.compare_invoice(self.ctx, plugin, placeholders=self.report.placeholder_rates)
        row = self.session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == p.period))
        return FinalizedMonth(
            period=p.period,
            finalized_by=p.finalized_by or "",
            finalized_at=_doc_time(p.finalized_at, self.tz) or "",
            sha256=(row.snapshot_sha256 or "") if row is not None else "",
            ours={"net_hours": found.totals.ours_hours, "amount": found.totals.ours_amount},
            plugin={"hours": found.totals.orcd_hours, "amount": found.totals.orcd_amount},
            causes=found.summary_json(),
        )

    def list_not_mapped(self) -> None:
        for component, models in self.export.counts.items():
            if component == "config":
                for category, count in models.items():
                    why = (
                        "TIME_ZONE sets the site time zone; the rest is portal configuration"
                        if category == "django_config"
                        else "portal configuration: no billing meaning"
                    )
                    self.report.not_mapped.append(NotMapped(category, component, count, why))
                continue
            for model, count in models.items():
                if model in TARGETS:
                    self.tally(model)  # listed even when empty
                    continue
                why = NOT_MAPPED.get(model, "not known to this version of nodedesk")
                self.report.not_mapped.append(NotMapped(model, component, count, why))

    def run(self) -> None:
        for note in self.export.cleaned:
            self.report.warn(note)
        for model in TARGETS:  # the report lists the kinds in the order they are migrated
            if self.export.component_of(model):
                self.tally(model)
        self.list_not_mapped()
        self.migrate_users()
        self.migrate_inventory()
        self.migrate_projects()
        self.migrate_splits()
        self.migrate_subscriptions()
        self.migrate_windows()
        self.migrate_reservations()
        self.migrate_overrides()
        self.finish_people()
        self.migrate_periods()


# ------------------------------------------------------------------------------------------
# Entry point


def _settings_for(src: OrcdSource) -> list[SettingChoice]:
    tz = src.timezone
    if not tz:
        raise ValidationError(
            "the export's config holds no TIME_ZONE (django_config); the site time zone comes from it; "
            "nothing was migrated",
            field="TIME_ZONE",
        )
    try:
        timeutil.check_timezone(tz, field="TIME_ZONE")
    except ValidationError as exc:
        raise ValidationError(f"{exc.message}; nothing was migrated", field="TIME_ZONE") from None
    blocks = max((r.blocks for r in src.reservations), default=14)
    max_blocks = min(max(14, blocks), site_settings.INT_RANGES["reservation_max_blocks"][1])
    return [
        SettingChoice("site_timezone", tz, "the export's TIME_ZONE"),
        SettingChoice(
            "currency",
            CURRENCY,
            "the plugin has no currency; change it with 'nodedesk settings set currency'",
        ),
        SettingChoice("reservation_start_time", "16:00", "the plugin's fixed reservation start"),
        SettingChoice("reservation_block_hours", "12", "the plugin's 12-hour blocks"),
        SettingChoice("reservation_end_cap_time", "09:00", "the plugin's 09:00 end cap"),
        SettingChoice(
            "reservation_max_blocks",
            str(max_blocks),
            "the plugin's 14 blocks"
            if max_blocks == 14
            else f"the longest reservation in the export ({blocks} blocks)",
        ),
        SettingChoice("reservation_lead_days", "7", "the plugin's 7 days' notice"),
        SettingChoice(
            "reservation_horizon_days",
            "105",
            "the plugin allows start dates to the end of the third month ahead; nodedesk counts days",
        ),
    ]


def _bootstrap(
    runtime: Runtime,
    session: Session,
    src: OrcdSource,
    report: MigrationReport,
    seal: AuditSeal,
    revision: str,
) -> MigratingContext:
    """Settings, then the login running the migration as the site's admin (as ``init`` does)."""
    choices = _settings_for(src)
    login = runtime.login
    clock = runtime.clock_for(choices[0].value)
    now = clock.now()
    for choice in choices:
        site_settings.store(session, choice.name, choice.value, by=login, at=now)
    report.settings = choices
    mine = next((u for u in src.users if u.username == login), None)
    roles = {"admin"}
    if mine is not None:
        names = set(mine.groups) | {g for m in src.memberships if m.username == login for g in m.groups}
        roles |= {
            GROUP_ROLES[p] for g in src.groups if g.name in names for p in g.permissions if p in GROUP_ROLES
        }
    full_name, email = "", ""
    if mine is not None:
        try:
            full_name = users.validate_full_name(mine.full_name)
            email = users.validate_email(mine.email)
        except ValidationError:
            full_name, email = "", ""
    try:
        validate.name(login, "login")
    except ValidationError as exc:
        raise PermissionDenied(
            f"the login running the migration cannot be a nodedesk user: {exc.message}"
        ) from None
    admin = users.create_user_row(
        session, login, sorted(roles), at=now, by=login, full_name=full_name, email=email
    )
    actor = Actor(login, frozenset(roles), login)
    runtime.check_clock(actor)
    ctx = MigratingContext(
        session=session,
        actor=actor,
        clock=clock,
        site=site_settings.load(session),
        seal=seal,
        origin=src.export.label,
    )
    audit.reset_anchor_on_commit(session)  # a new log: its head replaces any old anchor
    ctx.record(
        "site.initialized",
        "site",
        "",
        "nodedesk",
        after={
            "timezone": ctx.tz,
            "currency": CURRENCY,
            "admin": login,
            "schema": revision,
            "from": src.export.label,
        },
    )
    with ctx.source("users", json.dumps([login]) if mine is not None else ""):
        ctx.record("user.created", "user", admin.id, login, after=users.view(admin).to_json())
    report.login = login
    return ctx


def find_migration(session: Session) -> dict[str, Any] | None:
    """The summary the migration left in the activity log (None: this site was not migrated)."""
    text = session.scalar(
        select(ActivityEntry.after_json)
        .where(ActivityEntry.action == SUMMARY_ACTION)
        .order_by(ActivityEntry.seq.desc())
        .limit(1)
    )
    if text is None:
        return None
    doc = json.loads(text)
    return doc if isinstance(doc, dict) else None


def _existing_site(runtime: Runtime, session: Session, src: OrcdSource) -> MigratingContext:
    """A second run: only into the site this very export created, and only by an admin."""
    done = find_migration(session)
    if done is None:
        raise ValidationError(
            "this database already holds a nodedesk site; a migration creates a new site: point "
            "NODEDESK_DATABASE_URL at a new, empty database (nothing was migrated)",
            field="database",
        )
    if done.get("sha256") != src.export.sha256:
        raise ValidationError(
            f"this site was migrated from another ORCD export ({done.get('export_created_at')}, sha256 "
            f"{str(done.get('sha256', ''))[:12]}); a migration runs once, into a new, empty database",
            field="database",
        )
    site = site_settings.load(session)
    actor = runtime.actor(session)
    actor.require("backup")
    return MigratingContext(
        session=session,
        actor=actor,
        clock=runtime.clock_for(site.site_timezone),
        site=site,
        seal=runtime.seal,
        origin=src.export.label,
    )


def migrate_orcd(
    runtime: Runtime, directory: str | Path | OrcdExport, *, dry_run: bool = False
) -> MigrationReport:
    """Verify the export (unless ``read_export`` just did), then migrate it in one transaction
    (``dry_run``: then roll back)."""
    started = time.perf_counter()
    export = directory if isinstance(directory, OrcdExport) else read_export(directory)
    src = read_source(export)
    _settings_for(src)  # a missing or bad TIME_ZONE refuses before the database is touched
    report = MigrationReport(
        directory=export.directory,
        source={
            "name": export.source_name,
            "export_created_at": export.created_at,
            "export_version": export.export_version,
            "sha256": export.sha256,
            "software": export.software,
            "plugin_schema": export.plugin_schema,
        },
        dry_run=dry_run,
    )
    if export.plugin_schema and not export.plugin_schema.startswith("0031"):
        report.warn(
            f"the plugin's schema is {export.plugin_schema}; this nodedesk reads its fields as of "
            "migration 0031 (check the report closely)"
        )
    created_schema = prepare_target(runtime)
    revision = migrate.current_revision(runtime.database.engine) or ""
    scratch = tempfile.TemporaryDirectory(prefix="nodedesk-migrate-") if dry_run else None
    try:
        with runtime.database.write(dry_run=dry_run) as session:
            if _is_empty(session):
                seal = AuditSeal(Path(scratch.name)) if scratch is not None else runtime.seal
                if scratch is None:
                    seal.create_key()  # kept if this site's private dir already has one
                ctx = _bootstrap(runtime, session, src, report, seal, revision)
                verify = False
            else:
                ctx = _existing_site(runtime, session, src)
                verify = True
            job = _Migration(ctx, src, report, verify=verify)
            job.run()
            report.outcome = "already migrated" if verify else "migrated"
            if not verify:
                ctx.current = ""
                ctx.record(
                    SUMMARY_ACTION,
                    "site",
                    "",
                    export.label,
                    after={
                        "source": export.source_name,
                        "export_created_at": export.created_at,
                        "sha256": export.sha256,
                        "counts": {k.model: k.created for k in report.kinds.values() if k.created},
                        "placeholder_rates": report.placeholder_rates,
                        "settings": {s.name: s.value for s in report.settings},
                    },
                )
                audit.reset_anchor_on_commit(session)  # (again: a refused record's rollback drops it)
                report.audit_seq = ctx.flush()[-1].seq
    finally:
        if scratch is not None:
            scratch.cleanup()
        if dry_run and created_schema:
            wipe(runtime.database)  # the dry run leaves a blank database blank
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["SUMMARY_ACTION", "find_migration", "first_midnight_from", "migrate_orcd"]
