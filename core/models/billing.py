"""Invoice periods with their finalized snapshots, and per-line billing overrides."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db.base import Base, IdMixin, TrackedMixin
from ..db.types import ExactDecimal, UTCDateTime
from .rentals import Project, Reservation

INVOICE_STATUSES = ("draft", "finalized")
OVERRIDE_KINDS = ("exclude", "hours", "split", "charge_to")


class InvoicePeriod(IdMixin, TrackedMixin, Base):
    """A billing month (``YYYY-MM`` in the site timezone). Draft until finalized."""

    __tablename__ = "invoice_periods"

    period: Mapped[str] = mapped_column(String(7), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    snapshot_json: Mapped[str | None] = mapped_column(Text)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    finalized_by: Mapped[str | None] = mapped_column(String(64))
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drifted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    drift_note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    history: Mapped[list[InvoiceSnapshot]] = relationship(
        back_populates="invoice_period", order_by="InvoiceSnapshot.id"
    )


class InvoiceSnapshot(IdMixin, Base):
    """Every snapshot ever finalized, kept after an unfinalize (with its reason)."""

    __tablename__ = "invoice_snapshots"

    invoice_period_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_periods.id"), nullable=False, index=True
    )
    snapshot_json: Mapped[str] = mapped_column(Text, nullable=False)
    snapshot_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    finalized_by: Mapped[str] = mapped_column(String(64), nullable=False)
    finalized_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    unfinalized_by: Mapped[str | None] = mapped_column(String(64))
    unfinalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unfinalize_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    invoice_period: Mapped[InvoicePeriod] = relationship(back_populates="history")


class BillingOverride(IdMixin, TrackedMixin, Base):
    """One override per reservation line and month. ``exclude`` wins over the others."""

    __tablename__ = "billing_overrides"
    __table_args__ = (UniqueConstraint("period", "reservation_id"),)

    period: Mapped[str] = mapped_column(String(7), nullable=False, index=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    hours: Mapped[Decimal | None] = mapped_column(ExactDecimal(20, 6))
    split_json: Mapped[str | None] = mapped_column(Text)  # {"CODE": "60.00", ...}
    charge_to_project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    reason: Mapped[str] = mapped_column(Text, nullable=False)

    reservation: Mapped[Reservation] = relationship()
    charge_to_project: Mapped[Project | None] = relationship()
