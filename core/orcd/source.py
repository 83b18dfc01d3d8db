"""The plugin's records as typed data: what each exported field means (read from the plugin's
models and exporters; help/migrate.md has the mapping table).

Only the structure is checked here (a field of the wrong type refuses the whole export, one line
naming the file, record and field). Whether a value obeys nodedesk's rules is the migration's
business (core/orcd/migrator.py), which skips a record it cannot keep and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from .export import OrcdExport, OrcdRecord

PLACEHOLDER_AMOUNT = Decimal("0.01")
# The plugin's own STATUS_TO_SKU (utils/invoice_builders.py): the AMF level billed as which SKU.
AMF_SKUS = {"basic": "MAINT_STANDARD", "advanced": "MAINT_ADVANCED"}
# The plugin's AMF_DEFAULT_END_DATE: its exporter leaves AMF end dates out, so every fee is read
# as running to this default (effectively open-ended).
AMF_DEFAULT_END = date(2100, 1, 1)


@dataclass(frozen=True)
class OUser:
    rec: OrcdRecord
    username: str
    email: str
    full_name: str
    active: bool
    superuser: bool
    groups: tuple[str, ...]


@dataclass(frozen=True)
class OGroup:
    rec: OrcdRecord
    name: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class OMembership:
    rec: OrcdRecord
    username: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class OProject:
    rec: OrcdRecord
    title: str
    pi: str
    description: str
    status: str  # ColdFront: Active, New, Archived


@dataclass(frozen=True)
class OProjectUser:
    rec: OrcdRecord
    project: str
    username: str
    role: str  # ColdFront: Manager, User
    status: str  # ColdFront: Active, Pending - Add, Pending - Remove, Denied, Removed


@dataclass(frozen=True)
class OMemberRole:
    rec: OrcdRecord
    project: str
    username: str
    role: str  # financial_admin, technical_admin, member (the owner is the PI, never stored)


@dataclass(frozen=True)
class ONodeType:
    rec: OrcdRecord
    name: str
    category: str
    description: str
    active: bool


@dataclass(frozen=True)
class ONode:
    rec: OrcdRecord
    name: str  # associated_resource_address, the natural key
    node_type: str
    rentable: bool
    status: str  # AVAILABLE, PLACEHOLDER
    gpu: bool


@dataclass(frozen=True)
class OSku:
    rec: OrcdRecord
    code: str
    name: str
    description: str
    sku_type: str  # NODE, MAINTENANCE, QOS
    billing_unit: str  # HOURLY, MONTHLY
    active: bool
    linked_model: str  # "NodeType:H200x8" for NODE SKUs

    @property
    def node_type(self) -> str | None:
        kind, _, name = self.linked_model.partition(":")
        return name if kind == "NodeType" and name else None


@dataclass(frozen=True)
class ORate:
    rec: OrcdRecord
    sku: str
    amount: Decimal
    effective: date
    set_by: str | None
    notes: str

    @property
    def placeholder(self) -> bool:
        """The plugin's own test (its migration 0028): $0.01 with "placeholder" in the notes."""
        return self.amount == PLACEHOLDER_AMOUNT and "placeholder" in self.notes.lower()


@dataclass(frozen=True)
class OAllocation:
    rec: OrcdRecord
    project: str
    status: str  # PENDING, APPROVED, REJECTED
    notes: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_notes: str
    modified: datetime


@dataclass(frozen=True)
class OCostObject:
    rec: OrcdRecord
    project: str
    code: str
    percent: Decimal


@dataclass(frozen=True)
class OSnapshot:
    rec: OrcdRecord
    id: int
    project: str
    approved_at: datetime
    approved_by: str | None
    superseded_at: datetime | None
    parts: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True)
class OSnapshotPart:
    rec: OrcdRecord
    snapshot_id: int
    code: str
    percent: Decimal


@dataclass(frozen=True)
class OReservation:
    rec: OrcdRecord
    id: int
    node: str
    project: str
    requester: str
    start_date: date
    blocks: int
    status: str  # PENDING, APPROVED, DECLINED, CANCELLED
    manager_notes: str
    processed_by: str | None
    rental_notes: str
    metadata: str
    created: datetime
    modified: datetime


@dataclass(frozen=True)
class OMetadataEntry:
    rec: OrcdRecord
    id: int
    reservation_id: int
    content: str
    created: datetime


@dataclass(frozen=True)
class OWindow:
    rec: OrcdRecord
    title: str
    description: str
    start: datetime
    end: datetime
    created_by: str | None
    created: datetime


@dataclass(frozen=True)
class OAmf:
    rec: OrcdRecord
    username: str
    status: str  # inactive, basic, advanced
    billing_project: str | None
    created: datetime  # the plugin's activation instant (UserMaintenanceStatus.activated_at)


@dataclass(frozen=True)
class OPeriod:
    rec: OrcdRecord
    year: int
    month: int
    status: str  # DRAFT, FINALIZED
    finalized_by: str | None
    finalized_at: datetime | None
    notes: str

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class OOverride:
    rec: OrcdRecord
    id: int
    year: int
    month: int
    reservation_id: int
    kind: str  # HOURS, COST_SPLIT, EXCLUDE, CHARGE_PROJECT
    value: dict[str, object]
    notes: str
    created_by: str | None

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def _int_key(rec: OrcdRecord) -> int:
    if len(rec.key) == 1 and isinstance(rec.key[0], int) and not isinstance(rec.key[0], bool):
        return rec.key[0]
    raise rec.bad("natural_key", "must be one whole number (the plugin's record id)")


@dataclass
class OrcdSource:
    """Everything the migration and the plugin's invoice model read, typed."""

    export: OrcdExport
    users: list[OUser] = field(default_factory=list)
    groups: list[OGroup] = field(default_factory=list)
    memberships: list[OMembership] = field(default_factory=list)
    projects: list[OProject] = field(default_factory=list)
    project_users: list[OProjectUser] = field(default_factory=list)
    member_roles: list[OMemberRole] = field(default_factory=list)
    node_types: list[ONodeType] = field(default_factory=list)
    nodes: list[ONode] = field(default_factory=list)
    skus: list[OSku] = field(default_factory=list)
    rates: list[ORate] = field(default_factory=list)
    allocations: list[OAllocation] = field(default_factory=list)
    cost_objects: list[OCostObject] = field(default_factory=list)
    snapshots: list[OSnapshot] = field(default_factory=list)
    snapshot_parts: list[OSnapshotPart] = field(default_factory=list)
    reservations: list[OReservation] = field(default_factory=list)
    metadata_entries: list[OMetadataEntry] = field(default_factory=list)
    windows: list[OWindow] = field(default_factory=list)
    amf: list[OAmf] = field(default_factory=list)
    periods: list[OPeriod] = field(default_factory=list)
    overrides: list[OOverride] = field(default_factory=list)

    @property
    def timezone(self) -> str | None:
        value = self.export.setting("django_config", "TIME_ZONE")
        return value if isinstance(value, str) else None


def read_source(export: OrcdExport) -> OrcdSource:
    """Type every record the migration uses (see the module docstring)."""
    src = OrcdSource(export)
    c = export.cleaned  # free text with control characters removed, for the report
    c.clear()
    rec: OrcdRecord
    for rec in export.records("users"):
        first, last = rec.text("first_name").strip(), rec.text("last_name").strip()
        src.users.append(
            OUser(
                rec,
                rec.text("username"),
                rec.text("email"),
                f"{first} {last}".strip(),
                rec.flag("is_active"),
                rec.flag("is_superuser") if rec.has("is_superuser") else False,
                tuple(rec.string_list("group_names")) if rec.has("group_names") else (),
            )
        )
    for rec in export.records("groups"):
        perms = rec.string_list("permission_codenames") if rec.has("permission_codenames") else []
        src.groups.append(OGroup(rec, rec.text("name"), tuple(perms)))
    for rec in export.records("user_group_memberships"):
        src.memberships.append(OMembership(rec, rec.text("username"), tuple(rec.string_list("groups"))))
    for rec in export.records("projects"):
        src.projects.append(
            OProject(
                rec,
                rec.text("title"),
                rec.text("pi_username"),
                rec.prose("description", c),
                rec.text("status"),
            )
        )
    for rec in export.records("project_users"):
        src.project_users.append(
            OProjectUser(
                rec, rec.text("project_title"), rec.text("username"), rec.text("role"), rec.text("status")
            )
        )
    for rec in export.records("project_member_roles"):
        src.member_roles.append(
            OMemberRole(rec, rec.text("project_title"), rec.text("username"), rec.text("role"))
        )
    for rec in export.records("node_types"):
        src.node_types.append(
            ONodeType(
                rec,
                rec.text("name"),
                rec.text("category"),
                rec.prose("description", c),
                rec.flag("is_active"),
            )
        )
    for model, gpu in (("gpu_node_instances", True), ("cpu_node_instances", False)):
        for rec in export.records(model):
            src.nodes.append(
                ONode(
                    rec,
                    rec.text("associated_resource_address"),
                    rec.key_text("node_type"),
                    rec.flag("is_rentable"),
                    rec.text("status"),
                    gpu,
                )
            )
    for rec in export.records("rental_skus"):
        src.skus.append(
            OSku(
                rec,
                rec.text("sku_code"),
                rec.text("name"),
                rec.prose("description", c),
                rec.text("sku_type"),
                rec.text("billing_unit"),
                rec.flag("is_active"),
                rec.text("linked_model"),
            )
        )
    for rec in export.records("rental_rates"):
        src.rates.append(
            ORate(
                rec,
                rec.text("sku_code"),
                rec.decimal("rate"),
                rec.day("effective_date"),
                rec.opt_text("set_by_username"),
                rec.prose("notes", c),
            )
        )
    for rec in export.records("project_cost_allocations"):
        src.allocations.append(
            OAllocation(
                rec,
                rec.text("project_title"),
                rec.text("status"),
                rec.prose("notes", c),
                rec.opt_text("reviewed_by_username"),
                rec.opt_instant("reviewed_at"),
                rec.prose("review_notes", c),
                rec.instant("modified"),
            )
        )
    for rec in export.records("project_cost_objects"):
        src.cost_objects.append(
            OCostObject(
                rec, rec.text("allocation_project_title"), rec.text("cost_object"), rec.decimal("percentage")
            )
        )
    for rec in export.records("cost_object_snapshots"):
        src.snapshot_parts.append(
            OSnapshotPart(rec, rec.integer("snapshot_pk"), rec.text("cost_object"), rec.decimal("percentage"))
        )
    parts: dict[int, list[tuple[str, Decimal]]] = {}
    for part in src.snapshot_parts:
        parts.setdefault(part.snapshot_id, []).append((part.code, part.percent))
    for rec in export.records("cost_allocation_snapshots"):
        sid = _int_key(rec)
        src.snapshots.append(
            OSnapshot(
                rec,
                sid,
                rec.text("allocation_project_title"),
                rec.instant("approved_at"),
                rec.opt_text("approved_by_username"),
                rec.opt_instant("superseded_at"),
                tuple(sorted(parts.get(sid, []))),
            )
        )
    for rec in export.records("reservations"):
        src.reservations.append(
            OReservation(
                rec,
                _int_key(rec),
                rec.key_text("node_instance"),
                rec.text("project_title"),
                rec.text("requesting_user_username"),
                rec.day("start_date"),
                rec.integer("num_blocks"),
                rec.text("status"),
                rec.prose("manager_notes", c),
                rec.opt_text("processed_by_username"),
                rec.prose("rental_notes", c),
                rec.prose("rental_management_metadata", c),
                rec.instant("created"),
                rec.instant("modified"),
            )
        )
    for rec in export.records("reservation_metadata_entries"):
        src.metadata_entries.append(
            OMetadataEntry(
                rec,
                _int_key(rec),
                rec.integer("reservation_pk"),
                rec.prose("content", c),
                rec.instant("created"),
            )
        )
    for rec in export.records("maintenance_windows"):
        src.windows.append(
            OWindow(
                rec,
                rec.text("title"),
                rec.prose("description", c),
                rec.instant("start_datetime"),
                rec.instant("end_datetime"),
                rec.opt_text("created_by_username"),
                rec.instant("created"),
            )
        )
    for rec in export.records("user_maintenance_statuses"):
        src.amf.append(
            OAmf(
                rec,
                rec.text("username"),
                rec.text("status"),
                rec.opt_text("billing_project_title"),
                rec.instant("created"),
            )
        )
    for rec in export.records("invoice_periods"):
        src.periods.append(
            OPeriod(
                rec,
                rec.integer("year"),
                rec.integer("month"),
                rec.text("status"),
                rec.opt_text("finalized_by_username"),
                rec.opt_instant("finalized_at"),
                rec.prose("notes", c),
            )
        )
    for rec in export.records("invoice_line_overrides"):
        src.overrides.append(
            OOverride(
                rec,
                _int_key(rec),
                rec.integer("invoice_period_year"),
                rec.integer("invoice_period_month"),
                rec.integer("reservation_pk"),
                rec.text("override_type"),
                rec.json_object("override_value"),
                rec.prose("notes", c),
                rec.opt_text("created_by_username"),
            )
        )
    return src
