"""Whether this session may take an action, asked before a key is offered (the service checks
again when it runs; core/identity.py owns the permission table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodedesk.core.identity import CAPABILITY_LABELS, PERMISSIONS

if TYPE_CHECKING:
    from ..session import AppSession


def not_allowed(session: AppSession, capability: str) -> str:
    """Why the UI does not offer an action to this user, or '' when it does."""
    if session.readonly and capability != "read":
        return "nodedesk was started with --readonly: nothing can be changed in this session"
    if not session.actor.can(capability):
        needed = " or ".join(sorted({"admin"} | PERMISSIONS[capability]))
        return f"{session.actor.username} may not {CAPABILITY_LABELS[capability]} (needs role {needed})"
    return ""


def may_request(session: AppSession) -> str:
    """Why this user may not request reservations ('' when they may): everyone but a viewer."""
    if session.readonly:
        return "nodedesk was started with --readonly: nothing can be changed in this session"
    if not (session.actor.roles - {"viewer"}):
        return f"{session.actor.username} may not request or cancel reservations (viewers are read-only)"
    return ""
