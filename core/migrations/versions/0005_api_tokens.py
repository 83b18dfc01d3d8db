"""HTTP API: tokens, and the channel a change came through in the activity log

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00

- api_tokens: named credentials of the HTTP API (help/api.md), stored as the SHA-256 of the
  secret; never deleted (a revoked token keeps its name, which the activity log cites).
- activity_log.via: "API token NAME" on entries written by an API request ('' otherwise);
  covered by the entry's keyed hash when set (core/audit.py).
"""

from __future__ import annotations

import nodedesk.core.db.types
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", nodedesk.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", nodedesk.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", nodedesk.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", nodedesk.core.db.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.UniqueConstraint("uuid", name=op.f("uq_api_tokens_uuid")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.add_column(
        "activity_log", sa.Column("via", sa.String(length=100), nullable=False, server_default="")
    )


def downgrade() -> None:
    with op.batch_alter_table("activity_log") as batch:
        batch.drop_column("via")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
