"""The unit-of-work context every service receives: session, actor, clock, site settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from . import audit
from .clock import Clock
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
