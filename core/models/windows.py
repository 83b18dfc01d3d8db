"""Maintenance windows and their scope (all nodes, or chosen nodes and/or node types)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db.base import Base, IdMixin, TrackedMixin
from ..db.types import UTCDateTime
from .inventory import Node, NodeType

window_scope_nodes = Table(
    "window_scope_nodes",
    Base.metadata,
    Column("window_id", ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True),
    Column("node_id", ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True, index=True),
)

window_scope_node_types = Table(
    "window_scope_node_types",
    Base.metadata,
    Column("window_id", ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True),
    Column("node_type_id", ForeignKey("node_types.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class MaintenanceWindow(IdMixin, TrackedMixin, Base):
    __tablename__ = "maintenance_windows"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_maintenance_windows_span", "start_at", "end_at"),
        UniqueConstraint("schedule_id", "occurrence_start"),
    )

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime, nullable=False)
    all_nodes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    backdated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Declared at once for a failure (help/windows.md "Emergency windows"): starts when it is
    # saved, carries its reason, and its notices go out immediately.
    emergency: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # Set on windows a recurring schedule materialised: the schedule and the UTC start its rule
    # gave this occurrence (kept when the occurrence is moved, so it is still recognised).
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_schedules.id", ondelete="SET NULL"), nullable=True, index=True
    )
    occurrence_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    nodes: Mapped[list[Node]] = relationship(
        secondary=window_scope_nodes, order_by="Node.name", lazy="selectin"
    )
    node_types: Mapped[list[NodeType]] = relationship(
        secondary=window_scope_node_types, order_by="NodeType.name", lazy="selectin"
    )
