"""Node types and nodes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db.base import Base, IdMixin, TrackedMixin
from ..db.types import UTCDateTime

NODE_CATEGORIES = ("GPU", "CPU")


class NodeType(IdMixin, TrackedMixin, Base):
    __tablename__ = "node_types"

    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    category: Mapped[str] = mapped_column(String(8), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    nodes: Mapped[list[Node]] = relationship(back_populates="node_type")


class Node(IdMixin, TrackedMixin, Base):
    __tablename__ = "nodes"

    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    node_type_id: Mapped[int] = mapped_column(ForeignKey("node_types.id"), nullable=False, index=True)
    rentable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # When the node was retired (None: in service); its history stays (help/nodes.md).
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    node_type: Mapped[NodeType] = relationship(back_populates="nodes", lazy="joined")
