"""Reading the activity log (writing happens in ServiceContext.record)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from ... import audit, timeutil
from ...context import ServiceContext
from ...errors import ValidationError
from ...models import ActivityEntry

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class ActivityView:
    seq: int
    occurred_at: datetime
    actor: str
    real_user: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    before: Any
    after: Any
    reason: str
    clock_frozen: bool
    recorded_at: datetime | None = None  # the real write time (None on legacy entries)
    target_uuid: str = ""

    @property
    def real_time_differs(self) -> bool:
        """The entry's service time is not when it was really written (a frozen or forged
        clock); a second or less is the same moment."""
        return self.recorded_at is not None and abs((self.recorded_at - self.occurred_at).total_seconds()) > 1

    @property
    def actor_label(self) -> str:
        return self.actor if self.actor == self.real_user else f"{self.real_user} as {self.actor}"

    @property
    def target(self) -> str:
        ident = f"{self.target_type}:{self.target_id}" if self.target_id else self.target_type
        return f"{ident} {self.target_label}".strip()

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "seq": self.seq,
            "time": timeutil.iso_local(self.occurred_at, tz),
            "actor": self.actor,
            "real_user": self.real_user,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_label": self.target_label,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "clock_frozen": self.clock_frozen,
            "recorded_at": timeutil.iso_local(self.recorded_at, tz) if self.recorded_at else None,
            "target_uuid": self.target_uuid,
        }


def _view(e: ActivityEntry) -> ActivityView:
    return ActivityView(
        e.seq,
        e.occurred_at,
        e.actor,
        e.real_user,
        e.action,
        e.target_type,
        e.target_id,
        e.target_label,
        json.loads(e.before_json),
        json.loads(e.after_json),
        e.reason,
        e.clock_frozen,
        e.recorded_at,
        e.target_uuid,
    )


@dataclass(frozen=True)
class ActivityQuery:
    action: str = ""
    actor: str = ""
    target: str = ""  # "window:12", "window:<uuid>" or "window"
    text: str = ""
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class ActivityPage:
    items: list[ActivityView]
    total: int
    offset: int
    limit: int


def _conditions(q: ActivityQuery) -> list[ColumnElement[bool]]:
    A = ActivityEntry
    conds: list[ColumnElement[bool]] = []
    if q.action:
        conds.append(A.action.startswith(q.action) if q.action.endswith(".") else A.action == q.action)
    if q.actor:
        conds.append((A.actor == q.actor) | (A.real_user == q.actor))
    if q.target:
        kind, _, ident = q.target.partition(":")
        conds.append(A.target_type == kind)
        if _UUID.match(ident):
            conds.append(A.target_uuid == ident.lower())
        elif ident:
            conds.append(A.target_id == ident)
    if q.text.strip():
        needle = f"%{q.text.strip()}%"
        conds.append(
            A.target_label.ilike(needle)
            | A.action.ilike(needle)
            | A.actor.ilike(needle)
            | A.reason.ilike(needle)
        )
    return conds


def list_activity(ctx: ServiceContext, query: ActivityQuery = ActivityQuery()) -> ActivityPage:
    """Newest first, one page, filtered in SQL."""
    ctx.require("read")
    if query.limit < 1 or query.limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    conds = _conditions(query)
    total = ctx.session.scalar(select(func.count(ActivityEntry.id)).where(*conds)) or 0
    rows = ctx.session.scalars(
        select(ActivityEntry)
        .where(*conds)
        .order_by(ActivityEntry.seq.desc())
        .offset(max(query.offset, 0))
        .limit(query.limit)
    ).all()
    return ActivityPage([_view(e) for e in rows], total, query.offset, query.limit)


def verify(ctx: ServiceContext) -> audit.VerifyResult:
    """The whole log against the site's audit key and anchor (core/audit.py, help/audit.md)."""
    ctx.require("read")
    return audit.verify(ctx.session, ctx.seal)
