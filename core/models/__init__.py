"""All ORM models. Importing this package registers every table on ``Base.metadata``."""

from ..db.base import Base
from .apitokens import TOKEN_SCOPES, ApiToken
from .billing import (
    INVOICE_STATUSES,
    OVERRIDE_KINDS,
    BillingOverride,
    InvoicePeriod,
    InvoiceSnapshot,
)
from .identity import SYSTEM_ROLES, ActivityEntry, Setting, User, UserRole
from .inventory import NODE_CATEGORIES, Node, NodeType
from .notices import NOTICE_STATUSES, Notice
from .rentals import (
    ACTIVE_RESERVATION_STATUSES,
    OUTAGE_SOURCES,
    OUTAGE_STATUSES,
    PROJECT_ROLES,
    PROJECT_STATUSES,
    RESERVATION_STATUSES,
    SKU_KINDS,
    SPLIT_STATUSES,
    UNALLOCATED,
    CostSplitPart,
    CostSplitVersion,
    FeeSubscription,
    FeeSubscriptionPeriod,
    Outage,
    Project,
    ProjectMember,
    Rate,
    Reservation,
    Sku,
    outage_nodes,
)
from .schedules import (
    SCHEDULE_EXCEPTION_KINDS,
    MaintenanceSchedule,
    ScheduleException,
    schedule_scope_node_types,
    schedule_scope_nodes,
)
from .slurm import SlurmReservation, SlurmSyncRun
from .windows import MaintenanceWindow, window_scope_node_types, window_scope_nodes


def _never_reuse_ids() -> None:
    """Ids that users see or the activity log names are never handed out twice: on SQLite a
    table's integer primary key is AUTOINCREMENT (without it a deleted newest row's id goes to
    the next row). PostgreSQL sequences never go back."""
    for table in Base.metadata.tables.values():
        key = list(table.primary_key.columns)
        if len(key) == 1 and key[0].name == "id":
            table.dialect_kwargs["sqlite_autoincrement"] = True


_never_reuse_ids()

__all__ = [
    "ACTIVE_RESERVATION_STATUSES",
    "INVOICE_STATUSES",
    "NODE_CATEGORIES",
    "NOTICE_STATUSES",
    "OUTAGE_SOURCES",
    "OUTAGE_STATUSES",
    "OVERRIDE_KINDS",
    "PROJECT_ROLES",
    "PROJECT_STATUSES",
    "RESERVATION_STATUSES",
    "SCHEDULE_EXCEPTION_KINDS",
    "SKU_KINDS",
    "SPLIT_STATUSES",
    "SYSTEM_ROLES",
    "TOKEN_SCOPES",
    "UNALLOCATED",
    "ActivityEntry",
    "ApiToken",
    "Base",
    "BillingOverride",
    "CostSplitPart",
    "CostSplitVersion",
    "FeeSubscription",
    "FeeSubscriptionPeriod",
    "InvoicePeriod",
    "InvoiceSnapshot",
    "MaintenanceSchedule",
    "MaintenanceWindow",
    "Node",
    "NodeType",
    "Notice",
    "Outage",
    "Project",
    "ProjectMember",
    "Rate",
    "Reservation",
    "ScheduleException",
    "Setting",
    "Sku",
    "SlurmReservation",
    "SlurmSyncRun",
    "User",
    "UserRole",
    "outage_nodes",
    "schedule_scope_node_types",
    "schedule_scope_nodes",
    "window_scope_node_types",
    "window_scope_nodes",
]
