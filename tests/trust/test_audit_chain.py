"""The activity log proves itself: keyed chain, anchor outside the database, real time, uuids.

Every attack runs on SQLite and PostgreSQL. The attacker here can write the database at will
(raw SQL) but cannot read or write the site's private dir (key and anchor), unless a test says
so to show where the guarantee ends (help/audit.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nodedesk.core import audit
from nodedesk.core.auditseal import AuditSeal, key_id
from nodedesk.core.backup.exporter import export_backup
from nodedesk.core.backup.importer import import_backup
from nodedesk.core.backup.manifest import read_manifest, root_sha256
from nodedesk.core.clock import FrozenClock
from nodedesk.core.errors import ValidationError
from nodedesk.core.models import ActivityEntry
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, schedules
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.invoicing import invoices, rates
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, reservations
from nodedesk.core.services.site import users
from nodedesk.core.services.views import activity
from sqlalchemy import select, text

from tests.backup.conftest import (  # noqa: F401 - fixtures: an empty restore target
    make_runtime,
    pg_empty_url,
    pg_target_schema_url,
    sqlite_empty_url,
    target_url,
)
from tests.helpers import DEFAULT_NOW, local

# ---------------------------------------------------------------- helpers


def verify(runtime: Runtime) -> audit.VerifyResult:
    with runtime.read() as ctx:
        return activity.verify(ctx)


def raw(runtime: Runtime, sql: str, **params: object) -> None:
    with runtime.database.engine.begin() as conn:
        conn.execute(text(sql), params)


def add_users(runtime: Runtime, n: int, prefix: str = "u") -> None:
    with runtime.write() as ctx:
        for i in range(n):
            users.add_user(ctx, f"{prefix}{i}", "viewer")


def last_seq(runtime: Runtime) -> int:
    with runtime.read() as ctx:
        return ctx.session.scalar(select(ActivityEntry.seq).order_by(ActivityEntry.seq.desc()).limit(1)) or 0


def log_size(runtime: Runtime) -> int:
    with runtime.database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM activity_log")).scalar_one()


def rewrite_chain(runtime: Runtime, seal_entry: Any) -> None:
    """Recompute every entry's link and hash with ``seal_entry(entry) -> (scheme, hash)``."""
    with runtime.write() as ctx:
        rows = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq)).all()
        prev = audit.GENESIS_HASH
        for e in rows:
            e.prev_hash = prev
            e.hash_scheme, e.hash = seal_entry(e)
            prev = e.hash


def plain_sha256(e: ActivityEntry) -> tuple[str, str]:
    return audit.LEGACY_SCHEME, audit.entry_hash(e)


# ---------------------------------------------------------------- findings: truncation and re-hashing


def test_deleting_the_last_entry_is_detected(runtime: Runtime) -> None:
    add_users(runtime, 3)
    n = last_seq(runtime)
    raw(runtime, "DELETE FROM activity_log WHERE seq = :s", s=n)
    result = verify(runtime)
    assert not result.ok
    assert result.first_bad == n
    assert any("truncated" in p and f"#{n}" in p for p in result.problems), result.problems


def test_deleting_the_last_50_entries_is_detected(runtime: Runtime) -> None:
    add_users(runtime, 60)
    n = last_seq(runtime)
    raw(runtime, "DELETE FROM activity_log WHERE seq > :s", s=n - 50)
    result = verify(runtime)
    assert not result.ok and result.first_bad == n - 49
    assert any("the last 50 entries" in p and f"#{n - 49}..#{n}" in p for p in result.problems)


def test_deleting_every_entry_is_detected(runtime: Runtime) -> None:
    add_users(runtime, 2)
    raw(runtime, "DELETE FROM activity_log")
    result = verify(runtime)
    assert not result.ok and result.checked == 0 and result.first_bad == 1
    assert any("all were deleted" in p for p in result.problems)


def test_editing_one_entry_names_it(runtime: Runtime) -> None:
    add_users(runtime, 5)
    raw(runtime, "UPDATE activity_log SET target_label = 'nobody' WHERE seq = 4")
    result = verify(runtime)
    assert not result.ok and result.first_bad == 4
    assert "entry #4" in result.problems[0] and "keyed check" in result.problems[0]


@pytest.mark.parametrize("field", ["recorded_at", "target_uuid", "hash_scheme"])
def test_the_new_fields_are_covered_by_the_mac(runtime: Runtime, field: str) -> None:
    add_users(runtime, 2)
    value = {"recorded_at": datetime(2020, 1, 1, tzinfo=UTC), "target_uuid": "x", "hash_scheme": "sha256"}
    with runtime.write() as ctx:
        entry = ctx.session.scalar(select(ActivityEntry).where(ActivityEntry.seq == 3))
        assert entry is not None
        setattr(entry, field, value[field])
    result = verify(runtime)
    assert not result.ok and result.first_bad == 3, result.problems


def test_rehashing_the_whole_chain_with_plain_sha256_is_detected(runtime: Runtime) -> None:
    add_users(runtime, 4)
    raw(runtime, "UPDATE activity_log SET reason = 'rewritten history' WHERE seq = 3")
    rewrite_chain(runtime, plain_sha256)
    result = verify(runtime)
    assert not result.ok
    assert any("rewritten" in p or "re-hashed" in p for p in result.problems), result.problems


def test_rehashing_with_plain_sha256_but_claiming_the_keyed_scheme_is_detected(runtime: Runtime) -> None:
    add_users(runtime, 3)
    rewrite_chain(runtime, lambda e: (audit.KEYED_SCHEME, audit.entry_hash(e)))
    result = verify(runtime)
    assert not result.ok and result.first_bad == 1


def test_re_macing_with_a_wrong_key_is_detected(runtime: Runtime) -> None:
    add_users(runtime, 3)
    wrong = os.urandom(32)
    rewrite_chain(runtime, lambda e: (audit.KEYED_SCHEME, audit.entry_mac(wrong, e)))
    result = verify(runtime)
    assert not result.ok and result.first_bad == 1
    assert "entry #1" in result.problems[0] and "another key" in result.problems[0]


def test_a_forger_with_the_key_and_the_anchor_is_not_caught(runtime: Runtime) -> None:
    """Where the guarantee ends: the key and the anchor are what the log's proof rests on."""
    add_users(runtime, 3)
    key = runtime.seal.require_key()
    raw(runtime, "UPDATE activity_log SET reason = 'forged' WHERE seq = 3")
    rewrite_chain(runtime, lambda e: (audit.KEYED_SCHEME, audit.entry_mac(key, e)))
    with runtime.read() as ctx:
        head = audit.head(ctx.session)
    assert head is not None
    runtime.seal.reset(head.seq, head.hash)
    assert verify(runtime).ok


def test_truncation_with_only_database_access_cannot_move_the_anchor(runtime: Runtime) -> None:
    add_users(runtime, 5)
    before = runtime.seal.read_anchor()
    raw(runtime, "DELETE FROM activity_log WHERE seq > 4")
    # whatever the attacker writes into the database, the anchor file is outside it
    assert runtime.seal.read_anchor() == before
    add_users(runtime, 4, prefix="late")  # later writes continue past the anchor's number...
    result = verify(runtime)
    assert not result.ok  # ...but the anchor still names the deleted entries' head
    assert any("does not match the anchor" in p for p in result.problems), result.problems


# ---------------------------------------------------------------- the anchor


def test_anchor_follows_each_committed_write(runtime: Runtime) -> None:
    add_users(runtime, 2)
    anchor = runtime.seal.read_anchor()
    with runtime.read() as ctx:
        head = audit.head(ctx.session)
    assert anchor is not None and head is not None
    assert (anchor.seq, anchor.hash) == (head.seq, head.hash)
    assert anchor.key_id == key_id(runtime.seal.require_key())


def test_dry_run_and_refused_writes_leave_the_anchor(runtime: Runtime) -> None:
    before = runtime.seal.read_anchor()
    with runtime.write(dry_run=True) as ctx:
        users.add_user(ctx, "dry", "viewer")
    with pytest.raises(ValidationError), runtime.write() as ctx:
        users.add_user(ctx, "ok1", "viewer")
        users.add_user(ctx, "ok1", "viewer")  # duplicate: the whole unit of work rolls back
    assert runtime.seal.read_anchor() == before
    assert verify(runtime).ok


def test_anchor_only_moves_forward(runtime: Runtime) -> None:
    add_users(runtime, 3)
    anchor = runtime.seal.read_anchor()
    assert anchor is not None
    assert runtime.seal.advance(anchor.seq - 1, "0" * 64) is False
    assert runtime.seal.read_anchor() == anchor


def test_anchor_behind_the_log_is_caught_up(runtime: Runtime) -> None:
    """A crash between commit and anchor write leaves the anchor behind: not an attack."""
    add_users(runtime, 2)
    old = runtime.seal.read_anchor()
    add_users(runtime, 2, prefix="b")
    assert old is not None
    runtime.seal.reset(old.seq, old.hash)
    result = verify(runtime)
    assert result.ok, result.problems
    assert any("anchor updated" in n for n in result.notes)
    anchor = runtime.seal.read_anchor()
    assert anchor is not None and anchor.seq == last_seq(runtime)


def test_deleted_anchor_is_reported_then_recreated(runtime: Runtime) -> None:
    add_users(runtime, 2)
    runtime.seal.remove_anchor()
    result = verify(runtime)
    assert not result.ok and any("anchor" in p and "missing" in p for p in result.problems)
    assert verify(runtime).ok  # recreated at the head the first run found


# ---------------------------------------------------------------- the key


def test_key_is_private(runtime: Runtime) -> None:
    seal = runtime.seal
    assert stat.S_IMODE(seal.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(seal.directory.stat().st_mode) == 0o700


def test_missing_key_refuses_writes_and_verify_says_so(runtime: Runtime) -> None:
    add_users(runtime, 1)
    runtime.seal.key_path.unlink()
    with pytest.raises(ValidationError) as err, runtime.write() as ctx:
        users.add_user(ctx, "nokey", "viewer")
    message = str(err.value)
    assert "\n" not in message and str(runtime.seal.key_path) in message and "restore" in message
    assert err.value.field == "audit_key"
    result = verify(runtime)
    assert not result.ok and any("audit key" in p and "missing" in p for p in result.problems)


def test_legacy_entries_may_precede_keyed_ones(runtime: Runtime) -> None:
    """An upgraded site: its old unkeyed entries stay, the first keyed entry seals them."""
    add_users(runtime, 3)
    key = runtime.seal.require_key()
    legacy_upto = 3

    def upgraded(e: ActivityEntry) -> tuple[str, str]:
        if e.seq <= legacy_upto:
            e.recorded_at = None
            return plain_sha256(e)
        return audit.KEYED_SCHEME, audit.entry_mac(key, e)

    rewrite_chain(runtime, upgraded)
    with runtime.read() as ctx:
        head = audit.head(ctx.session)
    assert head is not None
    runtime.seal.reset(head.seq, head.hash)
    assert verify(runtime).ok
    # Rewriting a legacy entry (with its plain hash recomputed) breaks the first keyed entry.
    with runtime.write() as ctx:
        rows = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq)).all()
        rows[1].reason = "forged"
        rows[1].hash = audit.entry_hash(rows[1])
        rows[2].prev_hash = rows[1].hash
        rows[2].hash = audit.entry_hash(rows[2])
    result = verify(runtime)
    assert not result.ok and result.first_bad == 4, result.problems


def test_legacy_entry_after_keyed_ones_is_refused(runtime: Runtime) -> None:
    add_users(runtime, 3)
    key = runtime.seal.require_key()
    rewrite_chain(
        runtime,
        lambda e: plain_sha256(e) if e.seq == 4 else (audit.KEYED_SCHEME, audit.entry_mac(key, e)),
    )
    result = verify(runtime)
    assert not result.ok and result.first_bad == 4
    assert "unkeyed" in result.problems[0]


def test_a_site_without_keyed_entries_gets_a_key_on_its_next_write(runtime: Runtime, tmp_path: Path) -> None:
    """A site upgraded from an unkeyed log has no key yet: its first write creates one."""
    rewrite_chain(runtime, plain_sha256)
    from dataclasses import replace

    fresh = Runtime(
        replace(runtime.config, private_dir=tmp_path / "upgraded"),
        clock=runtime.clock_for("America/New_York"),
        login="admin",
        database=runtime.database,
    )
    assert fresh.seal.key() is None
    add_users(fresh, 1)
    assert fresh.seal.key() is not None
    result = verify(fresh)
    assert result.ok, result.problems


# ---------------------------------------------------------------- real time and target uuids


def test_forged_now_is_kept_beside_the_real_time(runtime: Runtime) -> None:
    before = datetime.now(UTC)
    add_users(runtime, 1)
    after = datetime.now(UTC)
    with runtime.read() as ctx:
        page = activity.list_activity(ctx, activity.ActivityQuery(limit=1))
    entry = page.items[0]
    assert entry.occurred_at == DEFAULT_NOW  # the frozen (forged) clock
    assert entry.recorded_at is not None
    # the real write time (PostgreSQL: the server's clock; allow for a little clock skew)
    assert before - timedelta(seconds=5) <= entry.recorded_at <= after + timedelta(seconds=5)
    doc = entry.to_json("America/New_York")
    assert doc["time"] == "2026-02-15T10:00:00-05:00" and doc["recorded_at"] != doc["time"]


def test_entries_name_their_target_uuid(runtime: Runtime) -> None:
    """Windows, outages, reservations, projects, rates, invoices and schedules: every entry
    about a record names the record's uuid (ids are for people; see help/audit.md)."""
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node(ctx, "a1", "A100")
        win = svc.create_window(
            ctx, svc.WindowDraft("Plan", local("2026-02-20 08:00"), local("2026-02-20 12:00"))
        ).window
        proj = projects.add_project(ctx, "P1", "admin")
        rates.set_rate(ctx, "NODE_A100", "2.50", date(2025, 12, 1))
        outages.create_outage(
            ctx, outages.OutageDraft("Fan", ("a1",), local("2026-02-10 06:00"), end=local("2026-02-10 09:00"))
        )
        draft = reservations.ReservationDraft("a1", "P1", date(2026, 2, 23), 1)
        reservations.record_reservation(ctx, draft, approve=True, waive_policy=True)
        schedules.create_schedule(
            ctx,
            schedules.ScheduleDraft(
                title="Patch", rule="3rd Tuesday of every month", start_time="06:00", duration="2h"
            ),
        )
    with runtime.write() as ctx:
        svc.delete_window(ctx, win.id)
        invoices.finalize(ctx, "2026-01")
    with runtime.read() as ctx:
        rows = ctx.session.execute(
            select(ActivityEntry.action, ActivityEntry.target_type, ActivityEntry.target_uuid).where(
                ActivityEntry.seq > 2
            )
        ).all()
    kinds = {t for _a, t, _u in rows}
    assert {"window", "outage", "reservation", "project", "rate", "invoice_period", "schedule"} <= kinds
    missing = [(a, t) for a, t, u in rows if not u]
    assert missing == []
    with runtime.read() as ctx:
        page = activity.list_activity(ctx, activity.ActivityQuery(target=f"window:{win.id}"))
        assert {e.action: e.target_uuid for e in page.items} == {
            "window.created": win.uuid,
            "window.deleted": win.uuid,
        }
        page = activity.list_activity(ctx, activity.ActivityQuery(target=f"project:{proj.id}"))
        assert {e.target_uuid for e in page.items} == {proj.uuid}


def test_audit_list_filters_by_target_uuid(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        win = svc.create_window(
            ctx, svc.WindowDraft("Plan", local("2026-02-20 08:00"), local("2026-02-20 12:00"))
        ).window
    with runtime.read() as ctx:
        by_uuid = activity.list_activity(ctx, activity.ActivityQuery(target=f"window:{win.uuid}"))
        by_id = activity.list_activity(ctx, activity.ActivityQuery(target=f"window:{win.id}"))
    assert [e.action for e in by_uuid.items] == [e.action for e in by_id.items] == ["window.created"]
    assert by_uuid.items[0].target_uuid == win.uuid


# ---------------------------------------------------------------- backups


def _export(runtime: Runtime, directory: Path) -> Path:
    return export_backup(runtime, directory, timestamp=False).directory


def test_export_carries_the_key_and_the_anchor(runtime: Runtime, tmp_path: Path) -> None:
    add_users(runtime, 2)
    out = _export(runtime, tmp_path / "exp")
    manifest = read_manifest(out)
    anchor = runtime.seal.read_anchor()
    assert anchor is not None and manifest.audit is not None
    assert (manifest.audit["seq"], manifest.audit["hash"]) == (anchor.seq, anchor.hash)
    key_file = out / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert manifest.audit["key_id"] == key_id(runtime.seal.require_key())


def test_export_import_round_trip_verifies(runtime: Runtime, tmp_path: Path, target_url: str) -> None:  # noqa: F811
    add_users(runtime, 3)
    out = _export(runtime, tmp_path / "exp")
    target = make_runtime(target_url, FrozenClock(DEFAULT_NOW))
    import_backup(target, out)
    result = verify(target)
    assert result.ok, result.problems
    assert target.seal.require_key() == runtime.seal.require_key()
    anchor = target.seal.read_anchor()
    assert anchor is not None and anchor.seq == last_seq(target) == last_seq(runtime) + 1


def _retouch(out: Path, entries: list[dict[str, Any]], head: dict[str, Any]) -> None:
    """Rewrite the log file of an export and fix every checksum (a careful forger)."""
    path = out / "activity_log.json"
    doc = json.loads(path.read_text("utf-8"))
    doc["records"] = entries
    if "count" in doc:
        doc["count"] = len(entries)
    path.write_text(json.dumps(doc), "utf-8")
    mpath = out / "manifest.json"
    manifest = json.loads(mpath.read_text("utf-8"))
    data = path.read_bytes()
    for f in manifest["files"]:
        if f["kind"] == "activity_log":
            f["size"], f["sha256"], f["count"] = len(data), hashlib.sha256(data).hexdigest(), len(entries)
    manifest["counts"]["activity_log"] = len(entries)
    manifest["root_sha256"] = root_sha256(manifest["files"])
    manifest["audit"].update(head)
    mpath.write_text(json.dumps(manifest), "utf-8")


def _records(out: Path) -> list[dict[str, Any]]:
    return list(json.loads((out / "activity_log.json").read_text("utf-8"))["records"])


def test_truncated_backup_log_is_refused(runtime: Runtime, tmp_path: Path, target_url: str) -> None:  # noqa: F811
    add_users(runtime, 4)
    out = _export(runtime, tmp_path / "exp")
    _retouch(out, _records(out)[:-2], {})  # the manifest's anchor still names the real head
    target = make_runtime(target_url, FrozenClock(DEFAULT_NOW))
    with pytest.raises(ValidationError, match="truncated"):
        import_backup(target, out)
    assert log_size(target) == 0


def test_backup_rewritten_with_plain_sha256_is_refused(
    runtime: Runtime,
    tmp_path: Path,
    target_url: str,  # noqa: F811
) -> None:
    add_users(runtime, 3)
    out = _export(runtime, tmp_path / "exp")
    records = _records(out)
    prev = audit.GENESIS_HASH
    for r in records:
        f = r["fields"]
        f["reason"] = "rewritten"
        f["prev_hash"], f["hash_scheme"] = prev, audit.LEGACY_SCHEME
        entry = SimpleNamespace(**f, seq=r["natural_key"][0])
        entry.occurred_at = datetime.fromisoformat(f["occurred_at"].replace("Z", "+00:00"))
        f["hash"] = prev = audit.entry_hash(entry)
    _retouch(out, records, {"seq": records[-1]["natural_key"][0], "hash": prev})
    target = make_runtime(target_url, FrozenClock(DEFAULT_NOW))
    with pytest.raises(ValidationError, match="activity_log"):
        import_backup(target, out)
    assert log_size(target) == 0


def test_backup_with_a_swapped_key_file_is_refused(
    runtime: Runtime,
    tmp_path: Path,
    target_url: str,  # noqa: F811
) -> None:
    add_users(runtime, 1)
    out = _export(runtime, tmp_path / "exp")
    (out / "audit.key").write_text(os.urandom(32).hex() + "\n")
    target = make_runtime(target_url, FrozenClock(DEFAULT_NOW))
    with pytest.raises(ValidationError, match=r"audit\.key"):
        import_backup(target, out)


def test_hmac_is_what_the_docs_say(runtime: Runtime) -> None:
    """Anyone holding the key can check an entry with a few lines of standard library code."""
    key = runtime.seal.require_key()
    with runtime.read() as ctx:
        e = ctx.session.scalar(select(ActivityEntry).where(ActivityEntry.seq == 1))
        assert e is not None
        doc = {
            "seq": e.seq,
            "occurred_at": e.occurred_at.isoformat(),
            "actor": e.actor,
            "real_user": e.real_user,
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "target_label": e.target_label,
            "before": e.before_json,
            "after": e.after_json,
            "reason": e.reason,
            "clock_frozen": e.clock_frozen,
            "prev_hash": e.prev_hash,
            "recorded_at": e.recorded_at.isoformat() if e.recorded_at else None,
            "target_uuid": e.target_uuid,
            "hash_scheme": e.hash_scheme,
        }
        text_ = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hmac.new(key, text_.encode(), hashlib.sha256).hexdigest() == e.hash


def test_seal_dir_of_a_second_runtime_is_separate(runtime: Runtime, tmp_path: Path) -> None:
    assert runtime.seal.directory == tmp_path / "nodedesk"
    assert AuditSeal(tmp_path / "nodedesk").key() == runtime.seal.key()


# ---------------------------------------------------------------- the app's activity screen


def test_activity_screen_shows_the_real_time_beside_the_frozen_one(runtime: Runtime) -> None:
    import asyncio

    asyncio.run(_activity_screen(runtime))


async def _activity_screen(runtime: Runtime) -> None:
    from nodedesk.tui.app import create_app
    from nodedesk.tui.features.activity.activity import ActivityEntryScreen
    from nodedesk.tui.widgets.paged_table import PagedTable
    from textual.widgets import Static

    from tests.tui.conftest import settle

    add_users(runtime, 1)
    app = create_app(runtime)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        row = app.screen.query_one(PagedTable).get_row_at(0)
        assert str(row[1]) == "2026-02-15 10:00"  # the frozen clock
        written = row[-1].plain
        assert written and written != "2026-02-15 10:00"  # the real time, shown as it differs
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ActivityEntryScreen)
        shown = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "written" in shown and "real time" in shown


# ---------------------------------------------------------------- concurrency and restores


def test_concurrent_writers_leave_the_anchor_at_the_head(runtime: Runtime) -> None:
    import threading

    from tests.helpers import runtime_as

    errors: list[BaseException] = []

    def writer(n: int) -> None:
        rt = runtime_as(runtime, "admin")
        try:
            for i in range(6):
                with rt.write() as ctx:
                    users.add_user(ctx, f"w{n}x{i}", "viewer")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    anchor = runtime.seal.read_anchor()
    with runtime.read() as ctx:
        head = audit.head(ctx.session)
    assert anchor is not None and head is not None and (anchor.seq, anchor.hash) == (head.seq, head.hash)
    assert head.seq == 2 + 18
    assert verify(runtime).ok


def test_restore_over_another_key_keeps_it_aside_and_says_so(
    runtime: Runtime,
    tmp_path: Path,
    target_url: str,  # noqa: F811
) -> None:
    add_users(runtime, 2)
    out = _export(runtime, tmp_path / "exp")
    target = make_runtime(target_url, FrozenClock(DEFAULT_NOW))
    old_key = target.seal.create_key() if target.seal.key() is None else target.seal.require_key()
    if old_key == runtime.seal.require_key():  # pragma: no cover - a reused target dir
        pytest.skip("target already holds this key")
    import_backup(target, out)
    assert target.seal.require_key() == runtime.seal.require_key()
    kept = target.seal.directory / f"audit.key.{key_id(old_key)[:16]}"
    assert kept.read_text().strip() == old_key.hex()
    with target.read() as ctx:
        last = activity.list_activity(ctx, activity.ActivityQuery(limit=1)).items[0]
    assert last.action == "backup.imported" and last.after["audit_key_replaced"] == key_id(old_key)
    assert verify(target).ok


def test_dry_run_restore_installs_no_key(runtime: Runtime, tmp_path: Path, target_url: str) -> None:  # noqa: F811
    add_users(runtime, 1)
    out = _export(runtime, tmp_path / "exp")
    target = make_runtime(target_url, FrozenClock(DEFAULT_NOW))
    before = target.seal.key()
    import_backup(target, out, dry_run=True)
    assert target.seal.key() == before
    assert log_size(target) == 0


def test_merge_of_another_sites_log_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    add_users(runtime, 1)
    out = _export(runtime, tmp_path / "exp")
    (out / "audit.key").write_text(os.urandom(32).hex() + "\n")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["audit"]["key_id"] = key_id(bytes.fromhex((out / "audit.key").read_text().strip()))
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValidationError, match="another site's audit key"):
        import_backup(runtime, out)
