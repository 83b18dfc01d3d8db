"""Helpers for the rentals tests."""

from __future__ import annotations

import json
from datetime import datetime

from nodedesk.core.models import ActivityEntry, InvoicePeriod
from nodedesk.core.runtime import Runtime
from sqlalchemy import select


def finalize_month(runtime: Runtime, period: str) -> None:
    """Mark a month finalized directly (the billing engine is another issue)."""
    now: datetime = runtime.clock_for("America/New_York").now()
    with runtime.write() as ctx:
        ctx.session.add(
            InvoicePeriod(
                period=period,
                status="finalized",
                finalized_by="admin",
                finalized_at=now,
                created_at=now,
                created_by="admin",
                modified_at=now,
                modified_by="admin",
            )
        )


def last_entry(runtime: Runtime) -> dict[str, object]:
    """The newest audit entry as a dict (action, target, before/after parsed)."""
    with runtime.read() as ctx:
        e = ctx.session.scalar(select(ActivityEntry).order_by(ActivityEntry.seq.desc()).limit(1))
        assert e is not None
        return {
            "seq": e.seq,
            "action": e.action,
            "actor": e.actor,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "label": e.target_label,
            "before": json.loads(e.before_json),
            "after": json.loads(e.after_json),
            "reason": e.reason,
        }


def audit_seq(runtime: Runtime) -> int:
    with runtime.read() as ctx:
        return ctx.session.scalar(select(ActivityEntry.seq).order_by(ActivityEntry.seq.desc()).limit(1)) or 0
