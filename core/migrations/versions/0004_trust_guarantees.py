"""guarantees held by the database itself: no overlapping reservations, ids never reused,
activity entries with their real time, target uuid and hash scheme

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 18:20:00

- Reservations: pending and approved reservations on one node never overlap (half-open spans;
  touching is fine). PostgreSQL: an exclusion constraint (btree_gist over the node and the
  time range). SQLite: triggers that abort an overlapping insert or update. The upgrade refuses
  to run, naming the clashing reservations, on a database that already holds an overlap.
- SQLite: every table with an integer ``id`` is rebuilt with AUTOINCREMENT, so a deleted newest
  row's id is never handed to the next row (PostgreSQL sequences never go back).
- activity_log: ``recorded_at``, ``target_uuid``, ``hash_scheme`` (existing entries: 'sha256').
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ACTIVE = "('pending', 'approved')"

# Tables whose integer ``id`` users see or the activity log names (every table with one).
ID_TABLES = (
    "activity_log",
    "invoice_periods",
    "maintenance_schedules",
    "node_types",
    "notices",
    "outages",
    "users",
    "fee_subscriptions",
    "invoice_snapshots",
    "maintenance_windows",
    "nodes",
    "projects",
    "schedule_exceptions",
    "skus",
    "user_roles",
    "cost_split_versions",
    "fee_subscription_periods",
    "project_members",
    "rates",
    "reservations",
    "billing_overrides",
    "cost_split_parts",
)

OVERLAPS = f"""
SELECT a.id, b.id FROM reservations a JOIN reservations b
  ON a.node_id = b.node_id AND a.id < b.id
 AND a.start_at < b.end_at AND b.start_at < a.end_at
WHERE a.status IN {ACTIVE} AND b.status IN {ACTIVE}
ORDER BY a.id, b.id
"""

SQLITE_TRIGGER = """
CREATE TRIGGER reservations_no_overlap_{event}
BEFORE {event_sql} ON reservations
WHEN NEW.status IN {active}
BEGIN
  SELECT RAISE(ABORT, 'reservations_no_overlap: reservations on a node may touch but never overlap')
  WHERE EXISTS (
    SELECT 1 FROM reservations r
    WHERE r.node_id = NEW.node_id{not_self} AND r.status IN {active}
      AND r.start_at < NEW.end_at AND NEW.start_at < r.end_at
  );
END
"""


def _refuse_existing_overlaps() -> None:
    pairs = op.get_bind().execute(sa.text(OVERLAPS)).all()
    if pairs:
        shown = ", ".join(f"#{a} and #{b}" for a, b in pairs[:20])
        more = f" (and {len(pairs) - 20} more pairs)" if len(pairs) > 20 else ""
        from nodedesk.core.errors import ConflictError

        raise ConflictError(
            f"reservations {shown}{more} overlap on their node; cancel or move one of each pair, "
            "then run 'nodedesk db upgrade' again",
            field="reservations",
        )


def _autoincrement_sql(table: str, create_sql: str) -> str:
    """The table's CREATE statement with ``id INTEGER ... PRIMARY KEY AUTOINCREMENT``."""
    sql, found = re.subn(
        r'(\n\s*)"?id"? INTEGER NOT NULL,',
        r"\1id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,",
        create_sql,
        count=1,
    )
    if not found:
        raise RuntimeError(f"{table}: cannot find its id column in {create_sql!r}")
    sql, found = re.subn(r'\s*CONSTRAINT "?pk_\w+"? PRIMARY KEY \("?id"?\),?', "", sql, count=1)
    if not found:
        raise RuntimeError(f"{table}: cannot find its primary key in {create_sql!r}")
    sql = re.sub(r",\s*\)\s*$", "\n)", sql)
    return re.sub(r'^CREATE TABLE "?\w+"?', f'CREATE TABLE "{table}__new"', sql, count=1)


def _sqlite_autoincrement() -> None:
    """SQLite's own table rebuild (foreign keys are off during migrations, see env.py)."""
    bind = op.get_bind()
    for table in ID_TABLES:
        create_sql = bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": table}
        ).scalar_one()
        if "AUTOINCREMENT" in create_sql:
            continue
        extras = (
            bind.execute(
                sa.text(
                    "SELECT sql FROM sqlite_master WHERE tbl_name = :n AND type IN ('index', 'trigger') "
                    "AND sql IS NOT NULL"
                ),
                {"n": table},
            )
            .scalars()
            .all()
        )
        bind.exec_driver_sql(_autoincrement_sql(table, create_sql))
        bind.exec_driver_sql(f'INSERT INTO "{table}__new" SELECT * FROM "{table}"')
        bind.exec_driver_sql(f'DROP TABLE "{table}"')
        bind.exec_driver_sql(f'ALTER TABLE "{table}__new" RENAME TO "{table}"')
        for statement in extras:
            bind.exec_driver_sql(statement)


def upgrade() -> None:
    _refuse_existing_overlaps()
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("target_uuid", sa.String(length=36), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("hash_scheme", sa.String(length=16), server_default="sha256", nullable=False)
        )
    if dialect == "sqlite":
        _sqlite_autoincrement()
        for event, event_sql, not_self in (
            ("insert", "INSERT", ""),
            ("update", "UPDATE OF node_id, start_at, end_at, status", " AND r.id <> NEW.id"),
        ):
            op.execute(
                SQLITE_TRIGGER.format(event=event, event_sql=event_sql, not_self=not_self, active=ACTIVE)
            )
    else:
        # btree_gist gives GiST the equality on node_id; it is a trusted extension (the
        # database owner may create it). Created in public so that it outlives any one schema.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        op.execute(
            "ALTER TABLE reservations ADD CONSTRAINT ex_reservations_no_overlap "
            "EXCLUDE USING gist (node_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
            f"WHERE (status IN {ACTIVE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS reservations_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS reservations_no_overlap_update")
    else:
        op.execute("ALTER TABLE reservations DROP CONSTRAINT IF EXISTS ex_reservations_no_overlap")
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.drop_column("hash_scheme")
        batch_op.drop_column("target_uuid")
        batch_op.drop_column("recorded_at")
