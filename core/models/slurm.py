"""What the Slurm sync keeps (help/slurm.md): its runs, and nodedesk's reservations as Slurm
had them after the last sync (to tell a window changed in nodedesk from a reservation changed
by hand in Slurm, and to show each window's presence in Slurm without asking Slurm)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db.base import Base, IdMixin
from ..db.types import UTCDateTime

SYNC_SCOPES = ("both", "push", "pull")
SYNC_OUTCOMES = ("ok", "partial")


class SlurmSyncRun(IdMixin, Base):
    """One sync that reached Slurm (a dry run or a refused one leaves no row)."""

    __tablename__ = "slurm_sync_runs"

    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    scope: Mapped[str] = mapped_column(String(8), nullable=False, default="both")
    outcome: Mapped[str] = mapped_column(String(16), nullable=False, default="ok")
    changes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    problems: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The run's report (core/slurm/sync.py SyncReport.to_json): actions, notes, drift found.
    summary_json: Mapped[str] = mapped_column(Text, nullable=False, default="{}")


class SlurmReservation(Base):
    """A ``nodedesk-<window uuid>`` reservation as Slurm showed it at the end of the last sync."""

    __tablename__ = "slurm_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    window_uuid: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime, nullable=False)
    nodes: Mapped[str] = mapped_column(Text, nullable=False, default="")  # a Slurm host list
    flags: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
