"""The notices outbox: one message per recipient per event, delivered later by SMTP."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db.base import Base, IdMixin
from ..db.types import UTCDateTime

NOTICE_STATUSES = ("pending", "sent", "failed")


class Notice(IdMixin, Base):
    """An outbox entry. ``event_key`` names the event; (event_key, recipient) deduplicates."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("event_key", "recipient"),)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    event_key: Mapped[str] = mapped_column(String(200), nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)  # e.g. window.created
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)  # window | outage
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)  # no FK: windows may be deleted
    recipient: Mapped[str] = mapped_column(String(64), nullable=False)  # username
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    ics: Mapped[str] = mapped_column(Text, nullable=False, default="")  # attachment, "" if none
    status: Mapped[str] = mapped_column(String(8), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
