"""Seed data for the rentals tests, written as plain ORM rows (independent of other services).

Users: ``rmgr`` (rental_manager), ``alice`` (billing_manager, owner of Climate), ``carol``
(rate_manager, member of Climate), ``vic`` (viewer, member of Climate), ``dave`` (rate_manager,
member of nothing), ``bob`` (billing_manager, owner of Genomics). Nodes ``n1``, ``n2`` (A100,
rentable) and ``n3`` (A100, not rentable). Projects ``Climate`` and ``Genomics``, both active.
"""

from __future__ import annotations

from datetime import date

from nodedesk.core.models import (
    InvoicePeriod,
    Node,
    NodeType,
    Project,
    ProjectMember,
    Reservation,
    User,
    UserRole,
)
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import reservations as svc
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

USERS = {
    "rmgr": ["rental_manager"],
    "alice": ["billing_manager"],
    "carol": ["rate_manager"],
    "vic": ["viewer"],
    "dave": ["rate_manager"],
    "bob": ["billing_manager"],
}
MEMBERS = {
    "Climate": [("alice", "owner"), ("carol", "member"), ("vic", "member")],
    "Genomics": [("bob", "owner")],
}


def _tracked(now):  # type: ignore[no-untyped-def]
    return {"created_at": now, "created_by": "admin", "modified_at": now, "modified_by": "admin"}


def seed(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        s, now = ctx.session, ctx.now()
        users = {}
        for name, roles in USERS.items():
            user = User(username=name, full_name=name.title(), **_tracked(now))
            user.roles = [UserRole(role=r) for r in roles]
            s.add(user)
            users[name] = user
        nt = NodeType(name="A100", category="GPU", **_tracked(now))
        s.add(nt)
        for name, rentable in (("n1", True), ("n2", True), ("n3", False)):
            s.add(Node(name=name, node_type=nt, rentable=rentable, **_tracked(now)))
        for title, members in MEMBERS.items():
            owner = next(users[u] for u, role in members if role == "owner")
            project = Project(title=title, owner=owner, status="active", **_tracked(now))
            project.members = [
                ProjectMember(user=users[u], role=role, added_at=now, added_by="admin") for u, role in members
            ]
            s.add(project)


def draft(
    start_date: str, blocks: int, *, node: str = "n1", project: str = "Climate", **kw: object
) -> svc.ReservationDraft:
    return svc.ReservationDraft(
        node=node, project=project, start_date=date.fromisoformat(start_date), blocks=blocks, **kw
    )  # type: ignore[arg-type]


def record(  # type: ignore[no-untyped-def]
    runtime: Runtime, start_date: str, blocks: int, *, approve: bool = True, waive: bool = True, **kw: object
):
    """Record as admin (approved and policy waived by default: a quick way to set up state)."""
    with runtime.write() as ctx:
        return svc.record_reservation(
            ctx, draft(start_date, blocks, **kw), approve=approve, waive_policy=waive
        ).reservation


def finalize_month(runtime: Runtime, period: str) -> None:
    with runtime.write() as ctx:
        now = ctx.now()
        ctx.session.add(
            InvoicePeriod(
                period=period, status="finalized", finalized_by="admin", finalized_at=now, **_tracked(now)
            )
        )


def overlapping_pairs(runtime: Runtime) -> int:
    """Pairs of pending/approved reservations on one node that overlap, counted by the database
    itself (a self-join); must always be 0."""
    a, b = aliased(Reservation), aliased(Reservation)
    with runtime.read() as ctx:
        return (
            ctx.session.scalar(
                select(func.count())
                .select_from(a)
                .join(b, and_(a.node_id == b.node_id, a.id < b.id))
                .where(a.status.in_(svc.ACTIVE), b.status.in_(svc.ACTIVE), a.start < b.end, b.start < a.end)
            )
            or 0
        )
