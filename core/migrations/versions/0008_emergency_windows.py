"""Emergency windows: a flag on maintenance windows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 02:30:00

- maintenance_windows.emergency: true for a window declared at once for a failure
  (help/windows.md "Emergency windows"); every existing window is a planned one (false).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# A plain ALTER TABLE on both back ends: a batch (copy-and-move) rebuild on SQLite would
# recreate the table without AUTOINCREMENT, and a deleted newest window's id could be given
# again (0004 made ids never reused).


def upgrade() -> None:
    op.add_column(
        "maintenance_windows",
        sa.Column("emergency", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("maintenance_windows", "emergency")
