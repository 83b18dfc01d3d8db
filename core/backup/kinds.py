"""The entity kinds a backup carries: one declaration per kind.

To add a kind (a new table), add one ``Kind(...)`` line below: its file name, its model and its
natural key (a unique column that is the same in every database: a name, a code, or the row's
``uuid``). Child tables with no identity of their own (roles, scopes, split parts, members) are
embedded in their parent with ``Child(field, table, parent_fk_column)``. Fields, references
(foreign keys are written as the referenced record's natural key) and the import order are
derived from the schema; ``tests/backup/test_registry.py`` fails if a table is not covered.
"""

from __future__ import annotations

from functools import lru_cache

from ..models import (
    ActivityEntry,
    ApiToken,
    BillingOverride,
    CostSplitPart,
    CostSplitVersion,
    FeeSubscription,
    FeeSubscriptionPeriod,
    InvoicePeriod,
    InvoiceSnapshot,
    MaintenanceSchedule,
    MaintenanceWindow,
    Node,
    NodeType,
    Notice,
    Outage,
    Project,
    ProjectMember,
    Rate,
    Reservation,
    ScheduleException,
    Setting,
    Sku,
    SlurmReservation,
    SlurmSyncRun,
    User,
    UserRole,
    outage_nodes,
    schedule_scope_node_types,
    schedule_scope_nodes,
    window_scope_node_types,
    window_scope_nodes,
)
from .registry import Child, Kind, Registry

KINDS: tuple[Kind, ...] = (
    Kind("settings", Setting, key=("key",)),
    Kind("users", User, key=("username",), children=(Child("roles", UserRole, "user_id"),)),
    Kind("node_types", NodeType, key=("name",)),
    Kind("nodes", Node, key=("name",)),
    Kind(
        "maintenance_schedules",
        MaintenanceSchedule,
        key=("uuid",),
        children=(
            Child("scope_nodes", schedule_scope_nodes, "schedule_id"),
            Child("scope_node_types", schedule_scope_node_types, "schedule_id"),
        ),
    ),
    Kind("schedule_exceptions", ScheduleException, key=("uuid",)),
    Kind(
        "maintenance_windows",
        MaintenanceWindow,
        key=("uuid",),
        children=(
            Child("scope_nodes", window_scope_nodes, "window_id"),
            Child("scope_node_types", window_scope_node_types, "window_id"),
        ),
    ),
    Kind("projects", Project, key=("title",), children=(Child("members", ProjectMember, "project_id"),)),
    Kind(
        "cost_split_versions",
        CostSplitVersion,
        key=("uuid",),
        children=(Child("parts", CostSplitPart, "split_id"),),
    ),
    Kind("skus", Sku, key=("code",)),
    Kind("rates", Rate, key=("uuid",)),
    Kind("reservations", Reservation, key=("uuid",)),
    Kind("fee_subscriptions", FeeSubscription, key=("uuid",)),
    Kind("fee_subscription_periods", FeeSubscriptionPeriod, key=("uuid",)),
    Kind("outages", Outage, key=("uuid",), children=(Child("nodes", outage_nodes, "outage_id"),)),
    Kind("invoice_periods", InvoicePeriod, key=("period",)),
    Kind("invoice_snapshots", InvoiceSnapshot, key=("uuid",)),
    Kind("billing_overrides", BillingOverride, key=("uuid",)),
    Kind("notices", Notice, key=("uuid",)),
    Kind("api_tokens", ApiToken, key=("name",)),
    Kind("slurm_sync_runs", SlurmSyncRun, key=("uuid",)),
    Kind("slurm_reservations", SlurmReservation, key=("name",)),
    # Append-only and hash-chained: see importer._LogChain.
    Kind("activity_log", ActivityEntry, key=("seq",), append_only=True),
)


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The validated registry (built on first use, never at import time)."""
    return Registry(KINDS)
