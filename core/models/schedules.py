"""Recurring maintenance schedules (an RRULE in the site timezone) and their exceptions.

A schedule materialises concrete ``MaintenanceWindow`` rows ahead of time; each such window keeps
``schedule_id`` and ``occurrence_start`` (the UTC start the rule gave it, before any move), which
together identify the occurrence so that extending twice creates nothing new.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db.base import Base, IdMixin, TrackedMixin
from ..db.types import UTCDateTime
from .inventory import Node, NodeType

SCHEDULE_EXCEPTION_KINDS = ("skip", "move")

schedule_scope_nodes = Table(
    "schedule_scope_nodes",
    Base.metadata,
    Column("schedule_id", ForeignKey("maintenance_schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("node_id", ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True, index=True),
)

schedule_scope_node_types = Table(
    "schedule_scope_node_types",
    Base.metadata,
    Column("schedule_id", ForeignKey("maintenance_schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("node_type_id", ForeignKey("node_types.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class MaintenanceSchedule(IdMixin, TrackedMixin, Base):
    """A recurring window: local start time + duration on the dates an RRULE gives."""

    __tablename__ = "maintenance_schedules"
    __table_args__ = (CheckConstraint("duration_minutes > 0", name="positive_duration"),)

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    rrule: Mapped[str] = mapped_column(String(500), nullable=False)  # RFC 5545 RRULE, no DTSTART
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)  # IANA, = site timezone
    first_date: Mapped[date] = mapped_column(Date, nullable=False)  # DTSTART's local date
    start_time: Mapped[str] = mapped_column(String(5), nullable=False)  # local "HH:MM"
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    until_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # last local date, inclusive
    all_nodes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    nodes: Mapped[list[Node]] = relationship(
        secondary=schedule_scope_nodes, order_by="Node.name", lazy="selectin"
    )
    node_types: Mapped[list[NodeType]] = relationship(
        secondary=schedule_scope_node_types, order_by="NodeType.name", lazy="selectin"
    )


class ScheduleException(IdMixin, Base):
    """Skip or move one occurrence (named by the UTC start the rule gave it)."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (UniqueConstraint("schedule_id", "occurrence_start"),)

    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("maintenance_schedules.id", ondelete="CASCADE"), nullable=False, index=True
    )
    occurrence_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # skip | move
    new_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    new_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
