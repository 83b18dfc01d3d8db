"""The unit-of-work context every service receives: session, actor, clock, site settings."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from . import audit, timeutil
from .auditseal import AuditSeal
from .changes import ChangeHead
from .clock import Clock
from .config import default_data_dir
from .db.base import IdMixin
from .errors import ConflictError
from .headmemo import HeadMemo
from .identity import Actor
from .models import (
    ActivityEntry,
    BillingOverride,
    CostSplitVersion,
    FeeSubscription,
    InvoicePeriod,
    MaintenanceSchedule,
    MaintenanceWindow,
    Node,
    NodeType,
    Outage,
    Project,
    Rate,
    Reservation,
    Sku,
    User,
)
from .site import SiteSettings

T = TypeVar("T")


class Versioned(Protocol):
    """A row with an id and the TrackedMixin columns (core/db/base.py)."""

    @property
    def id(self) -> int: ...

    @property
    def version(self) -> int: ...

    @property
    def modified_by(self) -> str: ...

    @property
    def modified_at(self) -> datetime: ...


# The row behind an audit target type, so an entry can name its target's uuid (ids are short
# and meant for people; the uuid names the same record in every copy of the database).
TARGET_MODELS: dict[str, type[IdMixin]] = {
    "window": MaintenanceWindow,
    "outage": Outage,
    "reservation": Reservation,
    "project": Project,
    "rate": Rate,
    "sku": Sku,
    "invoice_period": InvoicePeriod,
    "billing_override": BillingOverride,
    "schedule": MaintenanceSchedule,
    "subscription": FeeSubscription,
    "cost_split": CostSplitVersion,
    "node": Node,
    "node_type": NodeType,
    "user": User,
}


def _uuid_in(doc: Any) -> str:
    if isinstance(doc, dict):
        value = doc.get("uuid")
        if isinstance(value, str) and value:
            return value
    return ""


def _default_seal() -> AuditSeal:
    """For contexts built without the site's seal (read-only helpers): the default data dir."""
    seal = AuditSeal(default_data_dir())
    seal.assumed = True
    return seal


@dataclass
class ServiceContext:
    session: Session
    actor: Actor
    clock: Clock
    site: SiteSettings
    # The site's audit key and anchor (see core/auditseal.py); front ends pass the site's own.
    seal: AuditSeal = field(default_factory=_default_seal)
    # A long-running reader's kept results (core/headmemo.py) and the change head this unit of
    # work read first; None for the console and the command line, which compute every time.
    memo: HeadMemo | None = None
    head: ChangeHead | None = None

    def __post_init__(self) -> None:
        # ``audit.verify(session)`` finds the site's key and anchor without being handed them.
        if not self.seal.assumed:
            audit.remember_seal(self.session, self.seal)

    @property
    def tz(self) -> str:
        return self.site.site_timezone

    def now(self) -> datetime:
        return self.clock.now()

    def require(self, capability: str) -> None:
        self.actor.require(capability)

    def kept(self, key: Hashable, compute: Callable[[], tuple[T, datetime | None]]) -> T:
        """``compute()``'s value, or the one kept for ``key`` while nothing changed and the
        instant it gave as the end of its validity has not come (core/headmemo.py). The key
        must name everything the value depends on besides the data and the clock."""
        if self.memo is None or self.head is None:
            return compute()[0]
        return self.memo.fetch(self.head, key, self.now(), compute)

    def check_version(self, row: Versioned, expected: int | None, noun: str) -> None:
        """Refuse a save based on an older version of ``row`` than the one stored (the form was
        opened before someone else's save), saying who changed it and when."""
        if expected is not None and row.version != expected:
            raise ConflictError(
                f"{noun} #{row.id} was changed by {row.modified_by} at "
                f"{timeutil.format_local(row.modified_at, self.tz)} since you opened it; "
                "reload it and try again",
                field="version",
            )

    def record(
        self, action: str, target_type: str, target_id: str | int = "", label: str = "", **kw: Any
    ) -> ActivityEntry:
        """Append the activity-log entry for this change, in this transaction (the keywords
        are :meth:`pending`'s: before, after, reason, target_uuid, row)."""
        return self.append([self.pending(action, target_type, target_id, label, **kw)])[0]

    def pending(
        self,
        action: str,
        target_type: str,
        target_id: str | int = "",
        label: str = "",
        *,
        before: Any = None,
        after: Any = None,
        reason: str = "",
        target_uuid: str = "",
        row: IdMixin | None = None,
    ) -> audit.Pending:
        """The entry :meth:`record` appends, not yet appended.

        The target's uuid is ``target_uuid``, else ``row.uuid``, else the ``"uuid"`` of the
        after/before document, else that of the row ``target_type``/``target_id`` names.
        """
        target_uuid = (
            target_uuid
            or (row.uuid if row is not None else "")
            or _uuid_in(after)
            or _uuid_in(before)
            or self._target_uuid(target_type, target_id)
        )
        return audit.Pending(action, target_type, target_id, label, target_uuid, before, after, reason)

    def append(self, items: list[audit.Pending]) -> list[ActivityEntry]:
        """Append entries made by :meth:`pending`, in order, as this context's actor and time."""
        return audit.append_many(
            self.session,
            items,
            seal=self.seal,
            occurred_at=self.now(),
            actor=self.actor.username,
            real_user=self.actor.real_user,
            clock_frozen=self.clock.frozen,
            via=self.actor.via,
        )

    def _target_uuid(self, target_type: str, target_id: str | int) -> str:
        model = TARGET_MODELS.get(target_type)
        if model is None or not str(target_id).isdigit():
            return ""
        found = self.session.get(model, int(target_id))  # usually already in this session
        return found.uuid if found is not None else ""
