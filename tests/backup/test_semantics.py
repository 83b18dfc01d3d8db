"""Import semantics: modes, atomicity, errors naming record and field, the activity log, permissions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from nodedesk.core import audit
from nodedesk.core.backup import RecordError, export_backup, import_backup, registry
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import PermissionDenied, ValidationError
from nodedesk.core.models import Node, Reservation, User, UserRole
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows
from sqlalchemy import func, insert, select

from tests.backup.conftest import make_runtime
from tests.backup.dataset import edit_kind
from tests.billing.factory import Builder
from tests.helpers import local, runtime_as


def _total_rows(rt: Runtime) -> int:
    with rt.database.read() as session:
        return sum(session.scalar(select(func.count()).select_from(s.table)) or 0 for s in registry())


def _log(rt: Runtime) -> tuple[int, bool]:
    with rt.database.read() as session:
        return audit.count(session), audit.verify(session).ok


# ---------------------------------------------------------------- atomicity and errors


def _large_centre(runtime: Runtime, n: int) -> None:
    """``n`` approved reservations on 10 nodes (bulk insert), back to back in time."""
    with runtime.write() as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("bk-alice")
        proj = b.project("bk Big", "bk-alice")
        nodes = [b.node(f"bkbig{i:02d}", "BKGPU") for i in range(10)]
        t0, rows = local("2024-01-01 16:00"), []
        for i in range(n):
            start = t0 + timedelta(days=i // 10)
            rows.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "node_id": nodes[i % 10].id,
                    "project_id": proj.id,
                    "requested_for": "bk-alice",
                    "start": start,
                    "end": start + timedelta(hours=17),
                    "blocks": 2,
                    "status": "approved",
                    "created_at": ctx.now(),
                    "created_by": "admin",
                    "modified_at": ctx.now(),
                    "modified_by": "admin",
                }
            )
        ctx.session.execute(insert(Reservation), rows)


def test_broken_reference_in_the_middle_of_a_large_import_writes_nothing(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    _large_centre(runtime, 3000)
    exported = export_backup(runtime, tmp_path / "big", timestamp=False)
    bad_uuid = None

    def break_one(records: list[dict]) -> None:
        nonlocal bad_uuid
        records[2200]["fields"]["node"] = "no-such-node"
        bad_uuid = records[2200]["natural_key"][0]

    edit_kind(exported.directory, "reservations", break_one)
    seen: list[tuple[str, int]] = []
    with pytest.raises(RecordError) as info:
        import_backup(target, exported.directory, batch=500, progress=lambda k, d, t: seen.append((k, d)))
    msg = str(info.value)
    assert f"reservations record \"{bad_uuid}\", field 'node'" in msg
    assert "no-such-node" in msg and "nothing was imported" in msg
    assert ("reservations", 2000) in seen  # earlier batches were flushed before the failure...
    assert _total_rows(target) == 0  # ...and rolled back with everything else


def test_bad_value_names_record_and_field(target: Runtime, export_dir: Path) -> None:
    def bad(records: list[dict]) -> None:
        records[1]["fields"]["end_at"] = "tomorrow"

    edit_kind(export_dir, "maintenance_windows", bad)
    with pytest.raises(
        RecordError, match=r"maintenance_windows record \"[0-9a-f-]{36}\", field 'end_at': 'tomorrow'"
    ):
        import_backup(target, export_dir)
    assert _total_rows(target) == 0


def test_database_constraint_names_the_record_even_in_a_dry_run(target: Runtime, export_dir: Path) -> None:
    def backwards(records: list[dict]) -> None:
        f = records[len(records) // 2]["fields"]
        f["end_at"] = f["start_at"]  # end_after_start is a database CHECK constraint

    edit_kind(export_dir, "reservations", backwards)
    for dry_run in (True, False):
        with pytest.raises(
            RecordError, match=r"reservations record \"[0-9a-f-]{36}\": refused by the database"
        ) as info:
            import_backup(target, export_dir, dry_run=dry_run)
        assert "end_after_start" in str(info.value)  # the database's own reason, not a follow-on error
    assert _total_rows(target) == 0


def test_unknown_field_duplicate_and_order_are_refused(target: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "node_types", lambda rs: rs[0]["fields"].update(colour="red"))
    with pytest.raises(RecordError, match=r"node_types record \"\w+\", field 'colour': unknown field"):
        import_backup(target, export_dir)
    edit_kind(export_dir, "node_types", lambda rs: rs[0]["fields"].pop("colour") and None)
    edit_kind(export_dir, "node_types", lambda rs: [rs[0], *rs])
    with pytest.raises(RecordError, match="out of natural-key order"):
        import_backup(target, export_dir)
    assert _total_rows(target) == 0


def test_altered_log_entry_is_refused_even_with_resealed_checksums(target: Runtime, export_dir: Path) -> None:
    edit_kind(export_dir, "activity_log", lambda rs: rs[4]["fields"].update(reason="nothing to see"))
    with pytest.raises(RecordError, match=r"activity_log record 5, field 'hash': .* keyed check"):
        import_backup(target, export_dir)
    assert _total_rows(target) == 0


# ---------------------------------------------------------------- modes


def _restored(target: Runtime, export_dir: Path) -> None:
    import_backup(target, export_dir)


def _drift_target(target: Runtime) -> None:
    """Change one node and one user's roles in the target, behind the export's back."""
    with target.write() as ctx:
        node = ctx.session.scalar(select(Node).where(Node.name == "bknode01"))
        node.description = "changed here"
        bob = ctx.session.scalar(select(User).where(User.username == "bk-bob"))
        bob.roles = [UserRole(role="viewer")]


def _add_node_to_export(export_dir: Path) -> None:
    def add(records: list[dict]) -> None:
        new = {**records[-1]["fields"], "uuid": str(uuid.uuid4()), "id": 9999, "description": "new"}
        records.append({"natural_key": ["zz-new-node"], "fields": new})

    edit_kind(export_dir, "nodes", add, recount=True)


def _node(target: Runtime, name: str) -> SimpleNamespace | None:
    with target.read() as ctx:
        node = ctx.session.scalar(select(Node).where(Node.name == name))
        return node and SimpleNamespace(id=node.id, description=node.description, version=node.version)


def _roles(target: Runtime, username: str) -> list[str]:
    with target.read() as ctx:
        return ctx.session.scalar(select(User).where(User.username == username)).role_names


@pytest.mark.parametrize("mode", ["create-only", "update-only", "create-or-update"])
def test_modes(target: Runtime, export_dir: Path, mode: str) -> None:
    _restored(target, export_dir)
    _drift_target(target)
    before = _node(target, "bknode01")
    _add_node_to_export(export_dir)
    result = import_backup(target, export_dir, mode=mode)
    counts = {c.kind: c for c in result.counts}
    node = _node(target, "bknode01")
    new = _node(target, "zz-new-node")
    if mode == "create-only":
        assert (counts["nodes"].created, counts["nodes"].skipped, counts["nodes"].updated) == (1, 1, 0)
        assert node.description == "changed here" and _roles(target, "bk-bob") == ["viewer"]
        assert new is not None and new.id != 9999  # ids are kept only on a restore into an empty database
    elif mode == "update-only":
        assert (counts["nodes"].created, counts["nodes"].skipped, counts["nodes"].updated) == (0, 1, 1)
        assert node.description == "" and new is None
        assert node.version == before.version + 1  # an update moves the lock counter on
        assert _roles(target, "bk-bob") == ["billing_manager", "rental_manager"]  # embedded list replaced
    else:
        assert (counts["nodes"].created, counts["nodes"].skipped, counts["nodes"].updated) == (1, 0, 1)
        assert node.description == "" and new is not None
    assert counts["nodes"].unchanged == counts["nodes"].total - 2
    assert counts["activity_log"].unchanged == counts["activity_log"].total
    # One summary entry for the import, and the chain still verifies.
    with target.read() as ctx:
        last = audit.verify(ctx.session)
        assert last.ok
        entry = ctx.session.scalar(
            select(audit.ActivityEntry).order_by(audit.ActivityEntry.seq.desc()).limit(1)
        )
        assert entry.action == "backup.imported" and entry.seq == result.audit_seq
    assert import_backup(target, export_dir, mode=mode).changed == 0  # and again: nothing


def test_update_only_into_an_empty_database_is_refused(target: Runtime, export_dir: Path) -> None:
    with pytest.raises(
        ValidationError, match="mode: this database is empty, so update-only would change nothing"
    ):
        import_backup(target, export_dir, mode="update-only")
    assert _total_rows(target) == 0


# ---------------------------------------------------------------- the activity log and merging


def test_diverged_log_is_refused_and_exclude_merges(runtime: Runtime, export_dir: Path) -> None:
    with runtime.write() as ctx:  # this site's own history: now it differs from the export's
        windows.create_window(
            ctx, windows.WindowDraft("local", local("2026-03-01 08:00"), local("2026-03-01 09:00"))
        )
    own, _ = _log(runtime)
    with pytest.raises(ValidationError, match=r"activity log: entry #\d+ here differs"):
        import_backup(runtime, export_dir)
    assert _log(runtime) == (own, True)
    result = import_backup(runtime, export_dir, exclude=["activity_log"])
    assert result.changed > 0 and not result.restore
    assert _log(runtime) == (own + 1, True)
    assert _node(runtime, "bknode01") is not None


def test_models_filter(runtime: Runtime, export_dir: Path) -> None:
    result = import_backup(runtime, export_dir, models=["node_types", "nodes"])
    assert [c.kind for c in result.counts] == ["node_types", "nodes"]
    assert _node(runtime, "bknode01") is not None
    with pytest.raises(ValidationError, match="unknown kind 'gadgets'"):
        import_backup(runtime, export_dir, models=["gadgets"])


def test_restore_needs_settings_and_users(target: Runtime, export_dir: Path) -> None:
    with pytest.raises(ValidationError, match="needs the export's settings and users"):
        import_backup(target, export_dir, exclude=["settings"])
    assert _total_rows(target) == 0


# ---------------------------------------------------------------- permissions


def test_only_admins_export_and_import(runtime: Runtime, export_dir: Path, tmp_path: Path) -> None:
    with runtime.write() as ctx:
        Builder(ctx.session, ctx.now()).user("vic", ("viewer",))
        Builder(ctx.session, ctx.now()).user("bill", ("billing_manager",))
    for who in ("vic", "bill"):
        other = runtime_as(runtime, who)
        with pytest.raises(PermissionDenied, match="export or import backups"):
            export_backup(other, tmp_path / who)
        with pytest.raises(PermissionDenied, match="export or import backups"):
            import_backup(other, export_dir, exclude=["activity_log"])
    assert not list(tmp_path.glob("vic*"))


def test_restore_as_someone_who_is_not_an_admin_in_the_export(
    target_url: str, clock: FrozenClock, export_dir: Path
) -> None:
    stranger = make_runtime(target_url, clock, login="mallory")
    try:
        with pytest.raises(PermissionDenied, match="mallory is not an active admin in the imported data"):
            import_backup(stranger, export_dir)
        assert _total_rows(stranger) == 0
    finally:
        stranger.close()


def test_fields_left_out_get_their_defaults(target: Runtime, export_dir: Path) -> None:
    """An export from before a column existed: the column's default fills in (both back ends)."""

    def older(records: list[dict]) -> None:
        for r in records:
            del r["fields"]["uuid"], r["fields"]["description"]

    edit_kind(export_dir, "nodes", older)
    import_backup(target, export_dir)
    with target.read() as ctx:
        nodes = ctx.session.execute(select(Node.uuid, Node.description)).all()
    assert nodes and all(len(uuid_) == 36 and description == "" for uuid_, description in nodes)
    assert len({uuid_ for uuid_, _ in nodes}) == len(nodes)  # a fresh default per row, not one shared value
