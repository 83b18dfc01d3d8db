"""What the database itself guarantees, whoever writes to it: no overlapping reservations on a
node, and ids that are never handed out twice. Both back ends.

The raw-SQL tests bypass every service on purpose: they are what an edited export, a hand-made
``sqlite3``/``psql`` session or a race between two saves would do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from nodedesk.core.db import migrate
from nodedesk.core.db.engine import Database, make_engine
from nodedesk.core.errors import ConflictError
from nodedesk.core.models import MaintenanceWindow, Node, NodeType, Project, Reservation, User
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import PG_URL, pg_schema_url
from tests.helpers import local
from tests.rentals.support import record, seed


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    seed(runtime)
    return runtime


def _raw_insert(rt: Runtime, *, node: str, start: str, end: str, status: str = "approved") -> None:
    """Insert a reservation row directly, as a hand-edited database or export would."""
    with rt.database.engine.begin() as conn:
        node_id = conn.execute(text("SELECT id FROM nodes WHERE name = :n"), {"n": node}).scalar_one()
        project_id = conn.execute(text("SELECT id FROM projects WHERE title = 'Climate'")).scalar_one()
        table = Reservation.__table__
        conn.execute(
            table.insert().values(
                node_id=node_id,
                project_id=project_id,
                requested_for="alice",
                start_at=local(start),
                end_at=local(end),
                blocks=1,
                status=status,
                notes="",
                policy_waived=True,
                decision_reason="",
                uuid=f"00000000-0000-0000-0000-{abs(hash((node, start, end, status))) % 10**12:012d}",
                version=1,
                created_at=local("2026-02-01 09:00"),
                created_by="intruder",
                modified_at=local("2026-02-01 09:00"),
                modified_by="intruder",
            )
        )


def _statuses(rt: Runtime) -> list[tuple[str, str]]:
    with rt.read() as ctx:
        rows = ctx.session.execute(
            select(Reservation.status, Reservation.created_by).order_by(Reservation.id)
        )
        return [(s, by) for s, by in rows]


# ---------------------------------------------------------------- no overlap


def test_overlapping_insert_is_refused_by_the_database(rt: Runtime) -> None:
    _raw_insert(rt, node="n1", start="2026-03-02 16:00", end="2026-03-03 09:00")
    with pytest.raises(IntegrityError, match="reservations_no_overlap"):
        _raw_insert(rt, node="n1", start="2026-03-03 08:00", end="2026-03-03 20:00")
    assert len(_statuses(rt)) == 1


@pytest.mark.parametrize("status", ["pending", "approved"])
def test_every_active_status_is_guarded(rt: Runtime, status: str) -> None:
    _raw_insert(rt, node="n1", start="2026-03-02 16:00", end="2026-03-03 09:00", status="pending")
    with pytest.raises(IntegrityError):
        _raw_insert(rt, node="n1", start="2026-03-02 20:00", end="2026-03-02 22:00", status=status)


def test_touching_other_nodes_and_inactive_rows_are_allowed(rt: Runtime) -> None:
    _raw_insert(rt, node="n1", start="2026-03-02 16:00", end="2026-03-03 09:00")
    _raw_insert(rt, node="n1", start="2026-03-03 09:00", end="2026-03-03 16:00")  # touches
    _raw_insert(rt, node="n2", start="2026-03-02 16:00", end="2026-03-03 09:00")  # other node
    for status in ("cancelled", "declined"):
        _raw_insert(rt, node="n1", start="2026-03-02 18:00", end="2026-03-02 19:00", status=status)
    assert len(_statuses(rt)) == 5


def test_update_into_an_overlap_is_refused(rt: Runtime) -> None:
    _raw_insert(rt, node="n1", start="2026-03-02 16:00", end="2026-03-03 09:00")
    _raw_insert(rt, node="n1", start="2026-03-05 16:00", end="2026-03-06 09:00", status="cancelled")
    with pytest.raises(IntegrityError), rt.database.engine.begin() as conn:  # reviving a cancelled one
        conn.execute(
            text("UPDATE reservations SET start_at = :s WHERE status = 'cancelled'"),
            {"s": local("2026-03-03 08:00")},
        )
        conn.execute(text("UPDATE reservations SET status = 'approved' WHERE status = 'cancelled'"))
    with pytest.raises(IntegrityError), rt.database.engine.begin() as conn:  # moving one onto the other
        conn.execute(
            text("UPDATE reservations SET start_at = :s, end_at = :e WHERE status = 'cancelled'"),
            {"s": local("2026-03-02 12:00"), "e": local("2026-03-02 18:00")},
        )
        conn.execute(text("UPDATE reservations SET status = 'pending' WHERE status = 'cancelled'"))
    # the same row may be edited in place (it never clashes with itself)
    with rt.database.engine.begin() as conn:
        conn.execute(text("UPDATE reservations SET notes = 'edited' WHERE status = 'approved'"))
        conn.execute(
            text("UPDATE reservations SET end_at = :e WHERE status = 'approved'"),
            {"e": local("2026-03-03 10:00")},
        )


def test_a_clash_past_the_service_is_one_conflict_line(rt: Runtime) -> None:
    """A write unit of work that reaches the guard (a race, a bypass) ends as a ConflictError,
    not a database traceback, and nothing of it is saved."""
    record(rt, "2026-03-02", 1)
    before = _statuses(rt)
    with pytest.raises(ConflictError, match="never overlap") as refused, rt.write() as ctx:
        existing = ctx.session.scalars(select(Reservation)).one()
        clash = Reservation(
            node_id=existing.node_id,
            project_id=existing.project_id,
            requested_for="alice",
            start=existing.start + timedelta(hours=1),
            end=existing.end + timedelta(hours=1),
            blocks=1,
            status="approved",
            notes="",
            policy_waived=True,
            decision_reason="",
            created_at=ctx.now(),
            created_by="admin",
            modified_at=ctx.now(),
            modified_by="admin",
        )
        ctx.session.add(clash)
        ctx.session.flush()
    assert refused.value.field == "reservation"
    assert _statuses(rt) == before


# ---------------------------------------------------------------- ids never reused


def _window(ctx, title: str) -> int:  # type: ignore[no-untyped-def]
    draft = windows.WindowDraft(
        title=title,
        start=local("2026-04-01 06:00"),
        end=local("2026-04-01 18:00"),
        scope=windows.Scope(),
    )
    return windows.create_window(ctx, draft).window.id


def test_a_deleted_newest_windows_id_is_not_given_to_the_next(rt: Runtime) -> None:
    with rt.write() as ctx:
        first = _window(ctx, "first")
        doomed = _window(ctx, "doomed")
    with rt.write() as ctx:
        windows.delete_window(ctx, doomed)
    with rt.write() as ctx:
        later = _window(ctx, "later")
    assert first < doomed < later
    with rt.read() as ctx:
        assert ctx.session.scalars(select(MaintenanceWindow.id)).all() == [first, later]


# ---------------------------------------------------------------- the upgrade


@pytest.fixture
def engine_at_0003(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh database migrated to the schema before the guarantees (0003)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        migrate.upgrade(engine, "0003")
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("pg_worker_url")  # skips locally, fails in CI when unreachable
    import uuid

    schema = f"nd_old_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(pg_schema_url(schema))
    try:
        migrate.upgrade(engine, "0003")
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _seed_old(engine: Engine, spans: list[tuple[str, str, str]]) -> None:
    """A user, two nodes, a project and approved reservations (node, start, end) as raw rows."""
    now = local("2026-01-01 09:00")
    t = {"created_at": now, "created_by": "admin", "modified_at": now, "modified_by": "admin", "version": 1}
    with engine.begin() as conn:
        conn.execute(
            User.__table__.insert().values(
                id=1, uuid="u1", username="admin", full_name="", email="", active=True, **t
            )
        )
        conn.execute(
            NodeType.__table__.insert().values(
                id=1, uuid="nt1", name="A100", category="GPU", description="", active=True, **t
            )
        )
        for i in (1, 2):
            conn.execute(
                Node.__table__.insert().values(
                    id=i, uuid=f"n{i}", name=f"n{i}", node_type_id=1, rentable=True, description="", **t
                )
            )
        conn.execute(
            Project.__table__.insert().values(
                id=1, uuid="p1", title="Climate", owner_id=1, status="active", description="", **t
            )
        )
        for i, (node, start, end) in enumerate(spans, 1):
            conn.execute(
                Reservation.__table__.insert().values(
                    id=i,
                    uuid=f"r{i}",
                    node_id=int(node[1:]),
                    project_id=1,
                    requested_for="admin",
                    start_at=local(start),
                    end_at=local(end),
                    blocks=1,
                    status="approved",
                    notes="",
                    policy_waived=True,
                    decision_reason="",
                    **t,
                )
            )
        if engine.dialect.name == "postgresql":  # rows written with explicit ids, as a restore does
            for table in ("users", "node_types", "nodes", "projects", "reservations"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
                )


def _insert_pending(engine: Engine, uuid: str, node_id: int, start: str, end: str) -> int:
    now = local("2026-01-01 09:00")
    with engine.begin() as conn:
        conn.execute(
            Reservation.__table__.insert().values(
                uuid=uuid,
                node_id=node_id,
                project_id=1,
                requested_for="admin",
                start_at=local(start),
                end_at=local(end),
                blocks=1,
                status="pending",
                notes="",
                policy_waived=True,
                decision_reason="",
                version=1,
                created_at=now,
                created_by="admin",
                modified_at=now,
                modified_by="admin",
            )
        )
        return conn.execute(text("SELECT id FROM reservations WHERE uuid = :u"), {"u": uuid}).scalar_one()


def test_upgrade_refuses_a_database_that_already_holds_overlaps(engine_at_0003: Engine) -> None:
    _seed_old(
        engine_at_0003,
        [
            ("n1", "2026-03-02 16:00", "2026-03-03 09:00"),
            ("n1", "2026-03-03 08:00", "2026-03-03 12:00"),  # clashes with 1
            ("n2", "2026-03-02 16:00", "2026-03-03 09:00"),
            ("n1", "2026-03-03 11:00", "2026-03-03 20:00"),  # clashes with 2
        ],
    )
    with pytest.raises(ConflictError) as refused:
        migrate.upgrade(engine_at_0003)
    message = str(refused.value)
    assert "#1 and #2" in message and "#2 and #4" in message and "#3" not in message
    assert "\n" not in message
    assert migrate.current_revision(engine_at_0003) == "0003"


def test_upgrade_keeps_every_row_and_then_guards(engine_at_0003: Engine) -> None:
    _seed_old(
        engine_at_0003,
        [
            ("n1", "2026-03-02 16:00", "2026-03-03 09:00"),
            ("n1", "2026-03-03 09:00", "2026-03-03 12:00"),
            ("n2", "2026-03-02 16:00", "2026-03-03 09:00"),
        ],
    )
    with engine_at_0003.begin() as conn:  # the newest reservation deleted before the upgrade
        conn.execute(text("DELETE FROM reservations WHERE id = 3"))
    migrate.upgrade(engine_at_0003)
    assert migrate.current_revision(engine_at_0003) == migrate.head_revision()
    db = Database(engine_at_0003)
    with db.read() as session:
        rows = session.execute(select(Reservation.id, Reservation.node_id).order_by(Reservation.id)).all()
        assert [tuple(r) for r in rows] == [(1, 1), (2, 1)]
        assert session.execute(text("SELECT count(*) FROM projects")).scalar_one() == 1
    with pytest.raises(IntegrityError):
        _insert_pending(engine_at_0003, "r9", 1, "2026-03-03 10:00", "2026-03-03 11:00")
    newest = _insert_pending(engine_at_0003, "r10", 2, "2026-03-04 10:00", "2026-03-04 11:00")
    with engine_at_0003.begin() as conn:
        conn.execute(text("DELETE FROM reservations WHERE uuid = 'r10'"))
    assert _insert_pending(engine_at_0003, "r11", 2, "2026-03-04 10:00", "2026-03-04 11:00") > newest
