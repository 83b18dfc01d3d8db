"""What the TUI knows about the running session: runtime, acting user, site settings, mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodedesk.core.identity import Actor
from nodedesk.core.runtime import Runtime
from nodedesk.core.site import SiteSettings
from textual.app import App
from textual.message_pump import MessagePump


@dataclass(frozen=True)
class AppSession:
    """Loaded once when the app is built (the acting user cannot change while it runs)."""

    runtime: Runtime
    actor: Actor
    site: SiteSettings
    readonly: bool = False

    @property
    def tz(self) -> str:
        return self.site.site_timezone

    @property
    def clock_frozen(self) -> bool:
        return self.runtime.clock_for(self.tz).frozen

    def now(self) -> datetime:
        """The clock is in memory (no database work), so the UI thread may ask it."""
        return self.runtime.clock_for(self.tz).now()

    def can(self, capability: str) -> bool:
        """Whether the UI should offer an action (the service checks again on save)."""
        if self.readonly and capability != "read":
            return False
        return self.actor.can(capability)

    @classmethod
    def load(cls, runtime: Runtime, *, readonly: bool = False) -> AppSession:
        """Resolve the acting user and site settings (refuses unregistered users)."""
        with runtime.read() as ctx:
            return cls(runtime=runtime, actor=ctx.actor, site=ctx.site, readonly=readonly)


def session_of(node: MessagePump) -> AppSession:
    """The session of the app ``node`` is (or runs in): tui/app.py gives the app one before any
    screen shows; screens, dialogs and widgets reach it through here."""
    app = node if isinstance(node, App) else node.app
    session = getattr(app, "session", None)
    if not isinstance(session, AppSession):
        raise RuntimeError(f"{type(app).__name__} has no nodedesk session")
    return session
