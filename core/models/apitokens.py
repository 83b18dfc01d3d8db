"""API tokens: credentials of the HTTP API (help/api.md), stored only as a hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db.base import Base, IdMixin
from ..db.types import UTCDateTime
from .identity import User

# read: GET requests; write: everything the user's roles allow; feed: the calendar feed only,
# presented in its URL (calendar clients cannot send headers).
TOKEN_SCOPES = ("read", "write", "feed")


class ApiToken(IdMixin, Base):
    """One named token acting as ``user``. ``token_hash`` is the SHA-256 of the secret; the
    secret itself is shown once, when the token is created, and never stored."""

    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    scope: Mapped[str] = mapped_column(String(8), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")
