"""The unit-of-work context every service receives: session, actor, clock, site settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from . import audit, timeutil
from .clock import Clock
from .db.base import TrackedMixin
from .errors import ConflictError
from .identity import Actor
from .models import ActivityEntry
from .site import SiteSettings


@dataclass
class ServiceContext:
    session: Session
    actor: Actor
    clock: Clock
    site: SiteSettings

    @property
    def tz(self) -> str:
        return self.site.site_timezone

    def now(self) -> datetime:
        return self.clock.now()

    def require(self, capability: str) -> None:
        self.actor.require(capability)

    def check_version(self, row: TrackedMixin, expected: int | None, noun: str) -> None:
        """Refuse a save based on an older version of ``row`` than the one stored (the form was
        opened before someone else's save), saying who changed it and when."""
        if expected is not None and row.version != expected:
            raise ConflictError(
                f"{noun} #{row.id} was changed by {row.modified_by} at "  # type: ignore[attr-defined]
                f"{timeutil.format_local(row.modified_at, self.tz)} since you opened it; "
                "reload it and try again",
                field="version",
            )

    def record(
        self,
        action: str,
        target_type: str,
        target_id: str | int = "",
        label: str = "",
        *,
        before: Any = None,
        after: Any = None,
        reason: str = "",
    ) -> ActivityEntry:
        """Append the activity-log entry for this change, in this transaction."""
        return audit.append(
            self.session,
            occurred_at=self.now(),
            actor=self.actor.username,
            real_user=self.actor.real_user,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_label=label,
            before=before,
            after=after,
            reason=reason,
            clock_frozen=self.clock.frozen,
        )
