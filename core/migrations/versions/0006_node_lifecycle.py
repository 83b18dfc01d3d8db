"""node lifecycle: a node can be retired (its history stays)

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-14 09:00:00

- nodes.retired_at: when the node was retired (NULL: in service). A retired node keeps its
  reservations, windows, outages and activity; it cannot be booked (help/nodes.md).
"""

from __future__ import annotations

import nodedesk.core.db.types
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", nodedesk.core.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
