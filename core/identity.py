"""Who is acting, and what they may do.

The acting user is the OS account the kernel vouches for: the effective uid's name from the
password database (never ``LOGNAME``/``USER``, which anyone can set), or the sudo caller when
nodedesk runs through sudo as the site's service account (:mod:`nodedesk.core.deploy`). An admin
may act as another registered user with ``NODEDESK_USER``; the audit log then records "admin as
name".
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .deploy import login_name
from .errors import PermissionDenied
from .models import User

# What each capability needs. ``admin`` may do everything; the lists name the other roles.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"rental_manager", "billing_manager", "rate_manager", "viewer"}),
    "manage_users": frozenset(),
    "manage_settings": frozenset(),
    "manage_inventory": frozenset({"rental_manager"}),
    "manage_windows": frozenset({"rental_manager"}),
    "correct": frozenset(),  # admin corrections of locked records
    "manage_outages": frozenset({"rental_manager"}),
    "manage_reservations": frozenset({"rental_manager"}),
    "manage_projects": frozenset({"rental_manager", "billing_manager"}),
    "request_splits": frozenset({"rental_manager", "billing_manager"}),
    "approve_splits": frozenset({"billing_manager"}),
    "manage_rates": frozenset({"rate_manager"}),
    "manage_subscriptions": frozenset({"billing_manager", "rental_manager"}),
    "manage_billing": frozenset({"billing_manager"}),
    "backup": frozenset(),
}

CAPABILITY_LABELS: dict[str, str] = {
    "read": "view data",
    "manage_users": "manage users",
    "manage_settings": "change site settings",
    "manage_inventory": "manage node types and nodes",
    "manage_windows": "manage maintenance windows",
    "correct": "make corrections",
    "manage_outages": "manage outages",
    "manage_reservations": "manage reservations",
    "manage_projects": "manage projects",
    "request_splits": "propose cost splits",
    "approve_splits": "approve cost splits",
    "manage_rates": "manage rates",
    "manage_subscriptions": "manage fee subscriptions",
    "manage_billing": "manage invoices and overrides",
    "backup": "export or import backups",
}


@dataclass(frozen=True)
class Actor:
    """The user a unit of work runs as."""

    username: str
    roles: frozenset[str]
    real_user: str
    # Set when a request to the HTTP API acts with a token (core/services/api_tokens.py): its
    # name and scope. A read or feed token only reads, whatever the user's roles.
    token: str = ""
    token_scope: str = ""

    @property
    def impersonated(self) -> bool:
        return self.username != self.real_user

    @property
    def audit_name(self) -> str:
        name = f"{self.real_user} as {self.username}" if self.impersonated else self.username
        return f"{name} via {self.via}" if self.via else name

    @property
    def via(self) -> str:
        """How this actor reached nodedesk when not from the console (the activity log's ``via``)."""
        return f"API token {self.token}" if self.token else ""

    @property
    def read_only(self) -> bool:
        return bool(self.token) and self.token_scope != "write"

    def can(self, capability: str) -> bool:
        if self.read_only and capability != "read":
            return False
        if "admin" in self.roles:
            return True
        return bool(self.roles & PERMISSIONS[capability])

    def require(self, capability: str) -> None:
        if self.read_only and capability != "read":
            raise PermissionDenied(
                f"the {self.token_scope} API token {self.token!r} may only read "
                f"({CAPABILITY_LABELS[capability]} needs a write token)"
            )
        if not self.can(capability):
            needed = sorted({"admin"} | PERMISSIONS[capability])
            raise PermissionDenied(
                f"{self.username} may not {CAPABILITY_LABELS[capability]} (needs role {' or '.join(needed)})"
            )


def os_login() -> str:
    """The effective uid's account name (see :func:`nodedesk.core.deploy.acting_login` for sudo)."""
    return login_name(os.geteuid())


def _load(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def resolve_actor(session: Session, login: str, override: str | None = None) -> Actor:
    """Map the OS login (and an optional ``NODEDESK_USER``) to a registered, active user."""
    user = _load(session, login)
    if user is not None and not user.active:
        raise PermissionDenied(
            f"user {login!r} is deactivated in nodedesk; ask an admin to run "
            f"'nodedesk user edit {login} --active yes'"
        )
    if user is None:
        raise PermissionDenied(
            f"user {login!r} is not registered with nodedesk; ask an admin to run "
            f"'nodedesk user add {login} --role viewer'"
        )
    real_roles = frozenset(user.role_names)
    if override and override != login:
        if "admin" not in real_roles:
            raise PermissionDenied(
                f"NODEDESK_USER: only an admin may act as another user ({login} is not an admin)"
            )
        target = _load(session, override)
        if target is None:
            raise PermissionDenied(f"NODEDESK_USER: user {override!r} is not registered")
        if not target.active:
            raise PermissionDenied(f"NODEDESK_USER: user {override!r} is deactivated")
        return Actor(username=target.username, roles=frozenset(target.role_names), real_user=login)
    return Actor(username=user.username, roles=real_roles, real_user=login)
