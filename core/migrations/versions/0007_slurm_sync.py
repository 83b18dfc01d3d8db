"""Slurm sync: an outage's source, the sync's runs, and nodedesk's reservations as Slurm had them

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-07 22:30:00

- outages.source: 'manual' (every existing outage) or 'slurm' (opened by the sync).
- slurm_sync_runs: one row per sync that reached Slurm (help/slurm.md).
- slurm_reservations: the ``nodedesk-<window uuid>`` reservations seen at the end of the last
  sync.
New tables get AUTOINCREMENT ids on SQLite, as every other table (see 0004).
"""

from __future__ import annotations

import nodedesk.core.db.types
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="manual", nullable=False)
        )

    op.create_table(
        "slurm_sync_runs",
        sa.Column("started_at", nodedesk.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("finished_at", nodedesk.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slurm_sync_runs")),
        sa.UniqueConstraint("uuid", name=op.f("uq_slurm_sync_runs_uuid")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("slurm_sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slurm_sync_runs_finished_at"), ["finished_at"], unique=False)

    op.create_table(
        "slurm_reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("window_uuid", sa.String(length=36), nullable=False),
        sa.Column("start_at", nodedesk.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("end_at", nodedesk.core.db.types.UTCDateTime(), nullable=False),
        sa.Column("nodes", sa.Text(), nullable=False),
        sa.Column("flags", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("seen_at", nodedesk.core.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slurm_reservations")),
        sa.UniqueConstraint("name", name=op.f("uq_slurm_reservations_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("slurm_reservations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slurm_reservations_window_uuid"), ["window_uuid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slurm_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slurm_reservations_window_uuid"))
    op.drop_table("slurm_reservations")
    with op.batch_alter_table("slurm_sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slurm_sync_runs_finished_at"))
    op.drop_table("slurm_sync_runs")
    with op.batch_alter_table("outages", schema=None) as batch_op:
        batch_op.drop_column("source")
