"""Settings, users and roles, and the append-only activity log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db.base import Base, IdMixin, TrackedMixin
from ..db.types import UTCDateTime

SYSTEM_ROLES = ("admin", "rental_manager", "billing_manager", "rate_manager", "viewer")


class Setting(Base):
    """One site setting (site timezone, currency, reservation policy values...)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    modified_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __mapper_args__ = {"version_id_col": version}


class User(IdMixin, TrackedMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    @property
    def role_names(self) -> list[str]:
        return sorted(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)

    user: Mapped[User] = relationship(back_populates="roles")


class ActivityEntry(Base):
    """One audited change. Append-only; ``hash`` chains it to its predecessor (``seq - 1``)."""

    __tablename__ = "activity_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    real_user: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    target_type: Mapped[str] = mapped_column(String(64), nullable=False)
    target_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    target_label: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    before_json: Mapped[str] = mapped_column(Text, nullable=False, default="null")
    after_json: Mapped[str] = mapped_column(Text, nullable=False, default="null")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    clock_frozen: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # The real time the entry was written (the database server's clock on PostgreSQL), beside
    # ``occurred_at``, which is the service clock and may be frozen. None on entries written
    # before it was recorded.
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The target's stable uuid beside its short id (see core/audit.py).
    target_uuid: Mapped[str] = mapped_column(String(36), nullable=False, default="", server_default="")
    # How ``hash`` was computed: 'sha256' (keyless, entries written before the log was keyed)
    # or 'hmac-sha256' (keyed with the site's audit key; see core/audit.py).
    hash_scheme: Mapped[str] = mapped_column(
        String(16), nullable=False, default="hmac-sha256", server_default="sha256"
    )
    # How the change reached nodedesk when not from the console: "API token NAME" for a request
    # to the HTTP API (help/api.md); covered by the keyed hash when set (core/audit.py).
    via: Mapped[str] = mapped_column(String(100), nullable=False, default="", server_default="")
