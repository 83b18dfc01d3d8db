"""Rows for billing tests, written straight through the ORM (no permission or policy checks).

The billing engine reads rows; how they were made (services, import, demo) does not matter to
it, so tests build exactly the state they need, including past windows and outages.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from nodedesk.core.models import (
    BillingOverride,
    CostSplitPart,
    CostSplitVersion,
    FeeSubscription,
    FeeSubscriptionPeriod,
    MaintenanceWindow,
    Node,
    NodeType,
    Outage,
    Project,
    ProjectMember,
    Rate,
    Reservation,
    Sku,
    User,
)
from nodedesk.core.services.site.users import create_user_row
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers import local

BY = "admin"


class Builder:
    def __init__(self, session: Session, now: datetime) -> None:
        self.s = session
        self.now = now

    def _tracked(self) -> dict[str, object]:
        return {"created_at": self.now, "created_by": BY, "modified_at": self.now, "modified_by": BY}

    def _add(self, obj):  # type: ignore[no-untyped-def]
        self.s.add(obj)
        self.s.flush()
        return obj

    # -- people and inventory
    def user(self, name: str, roles: tuple[str, ...] = ("viewer",)) -> User:
        found = self.s.scalar(select(User).where(User.username == name))
        return found or create_user_row(self.s, name, list(roles), at=self.now, by=BY)

    def node_type(self, name: str, *, sku: bool = True) -> NodeType:
        nt = self.s.scalar(select(NodeType).where(NodeType.name == name))
        if nt is None:
            nt = self._add(NodeType(name=name, category="GPU", **self._tracked()))
            if sku:
                self._add(
                    Sku(code=f"NODE_{name.upper()}", kind="hourly", node_type_id=nt.id, **self._tracked())
                )
        return nt

    def node(self, name: str, node_type: str = "A100") -> Node:
        nt = self.node_type(node_type)
        return self._add(Node(name=name, node_type_id=nt.id, **self._tracked()))

    def sku(self, code: str, kind: str = "monthly") -> Sku:
        found = self.s.scalar(select(Sku).where(Sku.code == code))
        return found or self._add(Sku(code=code, kind=kind, category="maintenance", **self._tracked()))

    def rate(self, code: str, amount: str, effective: date) -> Rate:
        if code.startswith("NODE_"):
            self.node_type(code[5:])  # creates the linked hourly SKU
        sku = self.sku(code, "hourly" if code.startswith("NODE_") else "monthly")
        return self._add(
            Rate(sku_id=sku.id, amount=Decimal(amount), effective_date=effective, set_by=BY, set_at=self.now)
        )

    # -- projects and splits
    def project(self, title: str, owner: str = "alice") -> Project:
        u = self.user(owner)
        p = self._add(Project(title=title, owner_id=u.id, **self._tracked()))
        self._add(ProjectMember(project_id=p.id, user_id=u.id, role="owner", added_at=self.now, added_by=BY))
        return p

    def split(
        self, project: Project, effective: date, parts: dict[str, str], status: str = "approved"
    ) -> CostSplitVersion:
        v = CostSplitVersion(
            project_id=project.id, effective_date=effective, status=status, **self._tracked()
        )
        v.parts = [CostSplitPart(cost_object=c, percent=Decimal(p)) for c, p in parts.items()]
        return self._add(v)

    # -- rentals and downtime
    def reservation(
        self, node: Node, project: Project, start: str, end: str, status: str = "approved", blocks: int = 2
    ) -> Reservation:
        return self._add(
            Reservation(
                node_id=node.id,
                project_id=project.id,
                requested_for=project.owner.username if project.owner else "alice",
                start=local(start),
                end=local(end),
                blocks=blocks,
                status=status,
                **self._tracked(),
            )
        )

    def window(
        self, title: str, start: str, end: str, nodes: tuple[Node, ...] = (), types: tuple[NodeType, ...] = ()
    ) -> MaintenanceWindow:
        return self._add(
            MaintenanceWindow(
                title=title,
                start=local(start),
                end=local(end),
                all_nodes=not nodes and not types,
                nodes=list(nodes),
                node_types=list(types),
                **self._tracked(),
            )
        )

    def outage(
        self, title: str, start: str, end: str | None, nodes: tuple[Node, ...], credit: bool = True
    ) -> Outage:
        return self._add(
            Outage(
                title=title,
                start=local(start),
                end=local(end) if end else None,
                status="resolved" if end else "investigating",
                credit=credit,
                nodes=list(nodes),
                **self._tracked(),
            )
        )

    def fee(
        self, user: str, code: str, project: Project, start: date, end: date | None = None
    ) -> FeeSubscriptionPeriod:
        u = self.user(user)
        sub = self._add(FeeSubscription(user_id=u.id, **self._tracked()))
        return self._add(
            FeeSubscriptionPeriod(
                subscription_id=sub.id,
                sku_id=self.sku(code).id,
                project_id=project.id,
                start_date=start,
                end_date=end,
                created_at=self.now,
                created_by=BY,
            )
        )

    def override(self, period: str, reservation: Reservation, kind: str, reason: str = "test", **kw) -> None:  # type: ignore[no-untyped-def]
        split = kw.get("split")
        target = kw.get("charge_to")
        self._add(
            BillingOverride(
                period=period,
                reservation_id=reservation.id,
                kind=kind,
                hours=Decimal(kw["hours"]) if "hours" in kw else None,
                split_json=json.dumps(split) if split else None,
                charge_to_project_id=target.id if target is not None else None,
                reason=reason,
                **self._tracked(),
            )
        )


def reference_centre(b: Builder) -> dict[str, object]:
    """The worked examples of help/billing-rules.md: one node per table row, $8.00/h, split 60/40."""
    b.user("alice")
    b.node_type("A100")
    b.rate("NODE_A100", "8.00", date(2026, 1, 1))
    genomics = b.project("Genomics", "alice")
    b.split(genomics, date(2026, 1, 1), {"GRANT-A": "60", "GRANT-B": "40"})
    n = {i: b.node(f"node24{30 + i}") for i in range(1, 7)}
    r = {}
    r[1] = b.reservation(n[1], genomics, "2026-02-14 16:00", "2026-02-16 09:00", blocks=4)
    r[2] = b.reservation(n[2], genomics, "2026-02-14 16:00", "2026-02-16 09:00", blocks=4)
    b.window("Firmware", "2026-02-15 08:00", "2026-02-15 20:00", nodes=(n[2],))
    r[3] = b.reservation(n[3], genomics, "2026-02-14 16:00", "2026-02-16 09:00", blocks=4)
    b.window("Night 1", "2026-02-14 20:00", "2026-02-15 08:00", nodes=(n[3],))
    b.window("Night 2", "2026-02-15 20:00", "2026-02-16 08:00", nodes=(n[3],))
    r[4] = b.reservation(n[4], genomics, "2026-02-15 16:00", "2026-02-16 09:00", blocks=2)
    b.window("Long", "2026-02-14 00:00", "2026-02-17 00:00", nodes=(n[4],))
    r[5] = b.reservation(n[5], genomics, "2026-02-14 16:00", "2026-02-20 09:00", blocks=12)
    b.window("Day", "2026-02-15 08:00", "2026-02-15 20:00", nodes=(n[5],))
    b.window("Whole day", "2026-02-18 00:00", "2026-02-19 00:00", nodes=(n[5],))
    r[6] = b.reservation(n[6], genomics, "2026-01-30 16:00", "2026-02-02 09:00", blocks=6)
    b.window("Jan 31", "2026-01-31 00:00", "2026-02-01 00:00", nodes=(n[6],))
    return {"project": genomics, "nodes": n, "reservations": r}


# (reservation number in reference_centre, period) -> (gross, downtime, net, amount)
REFERENCE_TABLE = {
    (1, "2026-02"): ("41.00", "0.00", "41.00", "328.00"),
    (2, "2026-02"): ("41.00", "12.00", "29.00", "232.00"),
    (3, "2026-02"): ("41.00", "24.00", "17.00", "136.00"),
    (4, "2026-02"): ("17.00", "17.00", "0.00", "0.00"),
    (5, "2026-02"): ("137.00", "36.00", "101.00", "808.00"),
    (6, "2026-01"): ("32.00", "24.00", "8.00", "64.00"),
    (6, "2026-02"): ("33.00", "0.00", "33.00", "264.00"),
}
