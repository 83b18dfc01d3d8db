"""Projects, members, cost splits, SKUs and rates, reservations, fee subscriptions, outages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db.base import Base, IdMixin, TrackedMixin
from ..db.types import ExactDecimal, UTCDateTime
from .identity import User
from .inventory import Node, NodeType

PROJECT_ROLES = ("owner", "financial_admin", "technical_admin", "member")
PROJECT_STATUSES = ("active", "archived")
SPLIT_STATUSES = ("pending", "approved", "rejected")
RESERVATION_STATUSES = ("pending", "approved", "declined", "cancelled")
ACTIVE_RESERVATION_STATUSES = ("pending", "approved")
OUTAGE_STATUSES = ("reported", "investigating", "identified", "monitoring", "resolved")
# Who opened an outage: a person, or the Slurm sync from a drained or down node (help/slurm.md).
OUTAGE_SOURCES = ("manual", "slurm")
SKU_KINDS = ("hourly", "monthly")
UNALLOCATED = "UNALLOCATED"


class Project(IdMixin, TrackedMixin, Base):
    __tablename__ = "projects"

    title: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")

    owner: Mapped[User] = relationship(lazy="joined")
    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )


class ProjectMember(IdMixin, Base):
    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "role"),)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    added_by: Mapped[str] = mapped_column(String(64), nullable=False)

    project: Mapped[Project] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


class CostSplitVersion(IdMixin, TrackedMixin, Base):
    """One version of a project's split, in force from ``effective_date`` once approved."""

    __tablename__ = "cost_split_versions"
    __table_args__ = (Index("ix_cost_split_versions_lookup", "project_id", "effective_date"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False)
    effective_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    project: Mapped[Project] = relationship()
    parts: Mapped[list[CostSplitPart]] = relationship(
        back_populates="split", cascade="all, delete-orphan", order_by="CostSplitPart.cost_object"
    )


class CostSplitPart(Base):
    __tablename__ = "cost_split_parts"
    __table_args__ = (
        UniqueConstraint("split_id", "cost_object"),
        CheckConstraint("CAST(percent AS REAL) > 0", name="percent_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    split_id: Mapped[int] = mapped_column(
        ForeignKey("cost_split_versions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    cost_object: Mapped[str] = mapped_column(String(64), nullable=False)
    percent: Mapped[Decimal] = mapped_column(ExactDecimal(9, 4), nullable=False)

    split: Mapped[CostSplitVersion] = relationship(back_populates="parts")


class Sku(IdMixin, TrackedMixin, Base):
    """A billable item: ``NODE_<TYPE>`` hourly SKUs, or monthly fee SKUs."""

    __tablename__ = "skus"

    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # hourly | monthly
    category: Mapped[str] = mapped_column(String(32), nullable=False, default="node")
    node_type_id: Mapped[int | None] = mapped_column(ForeignKey("node_types.id"), unique=True, nullable=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    node_type: Mapped[NodeType | None] = relationship()


class Rate(IdMixin, Base):
    """Append-only rate history: the rate in force on a day has the latest effective date."""

    __tablename__ = "rates"
    __table_args__ = (
        Index("ix_rates_lookup", "sku_id", "effective_date"),
        CheckConstraint("CAST(amount AS REAL) >= 0", name="amount_not_negative"),
    )

    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), nullable=False)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(20, 6), nullable=False)
    effective_date: Mapped[date] = mapped_column(Date, nullable=False)
    set_by: Mapped[str] = mapped_column(String(64), nullable=False)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")

    sku: Mapped[Sku] = relationship()


class Reservation(IdMixin, TrackedMixin, Base):
    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_reservations_node_span", "node_id", "start_at", "end_at"),
        Index("ix_reservations_span", "start_at", "end_at"),
        # "current and upcoming" (end_at > now) without scanning all of history
        Index("ix_reservations_end_start", "end_at", "start_at"),
    )

    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"), nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False, index=True)
    requested_for: Mapped[str] = mapped_column(String(64), nullable=False)
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime, nullable=False)
    blocks: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    policy_waived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    node: Mapped[Node] = relationship(lazy="joined")
    project: Mapped[Project] = relationship(lazy="joined")


class FeeSubscription(IdMixin, TrackedMixin, Base):
    """A user's monthly-fee subscription; its history lives in period rows."""

    __tablename__ = "fee_subscriptions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    user: Mapped[User] = relationship(lazy="joined")
    periods: Mapped[list[FeeSubscriptionPeriod]] = relationship(
        back_populates="subscription", order_by="FeeSubscriptionPeriod.start_date"
    )


class FeeSubscriptionPeriod(IdMixin, Base):
    """One stretch of a subscription with fixed SKU and billing project. Never edited in place:
    ending or changing a subscription closes the current row (``end_date``) and opens a new one."""

    __tablename__ = "fee_subscription_periods"
    __table_args__ = (Index("ix_fee_periods_span", "start_date", "end_date"),)

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("fee_subscriptions.id"), nullable=False, index=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)  # inclusive last day; None = open
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))

    subscription: Mapped[FeeSubscription] = relationship(back_populates="periods")
    sku: Mapped[Sku] = relationship(lazy="joined")
    project: Mapped[Project] = relationship(lazy="joined")


outage_nodes = Table(
    "outage_nodes",
    Base.metadata,
    Column("outage_id", ForeignKey("outages.id", ondelete="CASCADE"), primary_key=True),
    Column("node_id", ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Outage(IdMixin, TrackedMixin, Base):
    __tablename__ = "outages"
    __table_args__ = (
        CheckConstraint("end_at IS NULL OR end_at > start_at", name="end_after_start"),
        Index("ix_outages_span", "start_at", "end_at"),
    )

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime, nullable=False)
    end: Mapped[datetime | None] = mapped_column("end_at", UTCDateTime)
    etr: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="reported")
    credit: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="manual", server_default="manual")

    nodes: Mapped[list[Node]] = relationship(secondary=outage_nodes, order_by="Node.name", lazy="selectin")
