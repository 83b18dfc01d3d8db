"""Who may do what, written from the role rules users read (help/security.md, "Roles"), NOT from
core.identity.PERMISSIONS, or the permission tests would prove nothing.

The roles: ``admin`` everything, including corrections; ``rental_manager`` nodes, windows,
outages, reservations; ``billing_manager`` cost-split approval, invoices, overrides, finalize;
``rate_manager`` SKUs and rates; ``viewer`` read only; unregistered users are refused.

Details the role summary leaves open, as decided (and said here):
- projects and members: rental and billing managers (projects are created at the rental desk
  and are the unit billing works on);
- proposing a cost split: rental and billing managers (approving stays with billing);
- fee subscriptions: rental and billing managers (they are booked with rentals and feed billing);
- recurring schedules and notice reminders are maintenance windows: rental managers;
- users, site settings and backups (export/import): admins only.

Site-wide actions outside the capability list (help/security.md), admins only:
- ``init`` over an existing site (``--force`` wipes it) and ``db upgrade``;
- ``import`` (a merge or restore rewrites records of every kind);
- ``NODEDESK_NOW``: moving the clock moves every time rule (locks, backdating, finalizing), so it
  is honoured only when the real user is an admin.
"""

from __future__ import annotations

ROLES = ("admin", "rental_manager", "billing_manager", "rate_manager", "viewer", "unregistered")

# Demo users holding each role (data/demo); "ghost" is not registered at all.
LOGIN_OF = {
    "rental_manager": "rmgr",
    "billing_manager": "bmgr",
    "rate_manager": "ratemgr",
    "viewer": "viewer",
    "unregistered": "ghost",
}

_ADMIN = {"admin"}
AREAS: dict[str, set[str]] = {
    "read": {"admin", "rental_manager", "billing_manager", "rate_manager", "viewer"},
    "inventory": {"admin", "rental_manager"},
    "windows": {"admin", "rental_manager"},
    "outages": {"admin", "rental_manager"},
    "reservations": {"admin", "rental_manager"},
    "correction": _ADMIN,
    "projects": {"admin", "rental_manager", "billing_manager"},
    "propose_split": {"admin", "rental_manager", "billing_manager"},
    "approve_split": {"admin", "billing_manager"},
    "rates": {"admin", "rate_manager"},
    "subscriptions": {"admin", "rental_manager", "billing_manager"},
    "billing": {"admin", "billing_manager"},
    "users": _ADMIN,
    "settings": _ADMIN,
    "backup": _ADMIN,
}


SITE_ACTIONS: dict[str, set[str]] = {
    "init": _ADMIN,
    "db_upgrade": _ADMIN,
    "import": _ADMIN,
    "clock": _ADMIN,
}


def allowed(area: str, role: str) -> bool:
    return role in (AREAS[area] if area in AREAS else SITE_ACTIONS[area])
