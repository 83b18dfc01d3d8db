"""The Slurm sync against a real slurmctld, on both back ends (help/slurm.md).

nodedesk's clock is frozen at the real now before each sync (:func:`sync`), since Slurm's is
the real one. Every expectation about Slurm is read back with ``scontrol`` as an admin would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from nodedesk.core.errors import ConflictError, PermissionDenied, ValidationError
from nodedesk.core.models import ActivityEntry, Outage, SlurmReservation, SlurmSyncRun
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, windows
from nodedesk.core.services.site import settings, users
from nodedesk.core.services.views import dashboard
from nodedesk.core.slurm import status
from nodedesk.core.slurm.client import SlurmUnreachable
from nodedesk.core.slurm.lock import SyncLock
from nodedesk.core.slurm.sync import SyncReport, run_sync
from sqlalchemy import func, select

from tests.helpers import SITE_TZ, runtime_as
from tests.slurm.conftest import SlurmCluster, real_now


def sync(rt: Runtime, **kwargs: object) -> SyncReport:
    rt.clock_for(SITE_TZ).set(real_now())  # type: ignore[attr-defined]
    return run_sync(rt, **kwargs)  # type: ignore[arg-type]


def add_window(rt: Runtime, title: str, start: datetime, end: datetime, *nodes: str, reason: str = "") -> int:
    scope = windows.Scope(nodes=tuple(nodes)) if nodes else windows.Scope()
    with rt.write() as ctx:
        draft = windows.WindowDraft(title=title, start=start, end=end, scope=scope)
        return windows.create_window(ctx, draft, reason=reason).window.id


def uuid_of(rt: Runtime, window_id: int) -> str:
    with rt.read() as ctx:
        return windows.get_window(ctx, window_id).uuid


def slurm_time(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def activity(rt: Runtime, prefix: str = "") -> list[ActivityEntry]:
    with rt.read() as ctx:
        rows = ctx.session.scalars(select(ActivityEntry).order_by(ActivityEntry.seq)).all()
        ctx.session.expunge_all()  # plain records, readable after the unit of work
        return [r for r in rows if r.action.startswith(prefix)]


def digest(rt: Runtime) -> tuple[object, ...]:
    """What 'nodedesk did not change' compares: activity log, outages, the sync's own tables."""
    with rt.read() as ctx:
        s = ctx.session
        return (
            s.scalar(select(func.count(ActivityEntry.id))),
            s.execute(select(Outage.id, Outage.status, Outage.version).order_by(Outage.id)).all(),
            s.scalar(select(func.count(SlurmSyncRun.id))),
            s.execute(
                select(SlurmReservation.name, SlurmReservation.nodes).order_by(SlurmReservation.name)
            ).all(),
        )


def hours_ahead(hours: float) -> datetime:
    return (real_now() + timedelta(hours=hours)).replace(minute=0, second=0)


# ---------------------------------------------------------------- push


def test_push_creates_a_maint_reservation_per_window_and_a_second_run_does_nothing(
    slurm_site: Runtime, slurm: SlurmCluster
) -> None:
    rt = slurm_site
    slurm.scontrol(
        "create", "reservation", "ReservationName=hand", "StartTime=now", "Duration=120",
        "Nodes=node2436", "Users=root", "Flags=MAINT",
    )  # fmt: skip
    hand_before = slurm.reservations()["hand"]
    a = add_window(rt, "Firmware", hours_ahead(30), hours_ahead(36), "node2433", "node2434")
    b = add_window(rt, "Cooling", hours_ahead(50), hours_ahead(52))  # all nodes

    report = sync(rt, scope="push")
    assert [(o.action.kind, o.done, o.error) for o in report.push] == [
        ("create", True, ""),
        ("create", True, ""),
    ]

    found = slurm.reservations()
    ra, rb = found[f"nodedesk-{uuid_of(rt, a)}"], found[f"nodedesk-{uuid_of(rt, b)}"]
    assert ra["Nodes"] == "node[2433-2434]" and rb["Nodes"] == "node[2433-2436]"
    assert {"MAINT", "IGNORE_JOBS"} <= set(ra["Flags"].split(","))
    assert (ra["StartTime"], ra["EndTime"]) == (slurm_time(hours_ahead(30)), slurm_time(hours_ahead(36)))
    assert found["hand"] == hand_before  # a reservation nodedesk did not make is never touched

    created = activity(rt, "slurm.")
    assert [e.action for e in created] == ["slurm.reservation_created"] * 2
    assert created[0].target_id == str(a) and created[0].reason.startswith(
        "slurm sync ran: scontrol create reservation"
    )
    assert f"ReservationName=nodedesk-{uuid_of(rt, a)}" in created[0].reason

    with rt.read() as ctx:
        assert status.window_presence(ctx, [a, b]) == {
            a: status.Presence("yes", f"nodedesk-{uuid_of(rt, a)}"),
            b: status.Presence("yes", f"nodedesk-{uuid_of(rt, b)}"),
        }

    before, entries = slurm.reservations(), len(activity(rt))
    again = sync(rt)
    assert again.push == () and again.pull == () and again.changes == 0
    assert slurm.reservations() == before and len(activity(rt)) == entries

    sync(rt, scope="pull")  # reads no reservation: what Slurm has stays known
    with rt.read() as ctx:
        assert {p.state for p in status.window_presence(ctx, [a, b]).values()} == {"yes"}


def _next_dst_change(tz: str) -> pendulum.DateTime:
    day = pendulum.now(tz).start_of("day").add(days=3)
    offset = day.utcoffset()
    while day.add(days=1).utcoffset() == offset:
        day = day.add(days=1)
    return day.add(days=1)  # the first local midnight after the change


def test_moving_a_window_across_a_dst_change_moves_its_reservation_to_the_same_local_hours(
    slurm_site: Runtime, slurm: SlurmCluster
) -> None:
    rt = slurm_site
    after_change = _next_dst_change(SITE_TZ)
    before_day, after_day = after_change.subtract(days=3), after_change.add(days=2)
    start = before_day.at(9).in_timezone("UTC")
    wid = add_window(rt, "Firmware", start, before_day.at(17).in_timezone("UTC"), "node2433")
    sync(rt)
    name = f"nodedesk-{uuid_of(rt, wid)}"
    local_before = slurm.reservations(tz=SITE_TZ)[name]
    utc_before = slurm.reservations()[name]

    with rt.write() as ctx:
        windows.update_window(
            ctx,
            wid,
            windows.WindowChanges(
                start=after_day.at(9).in_timezone("UTC"), end=after_day.at(17).in_timezone("UTC")
            ),
        )
    with rt.read() as ctx:
        assert status.window_presence(ctx, [wid])[wid].state == "drift"
    report = sync(rt)
    assert [(o.action.kind, o.done) for o in report.push] == [("update", True)]
    assert not report.drift  # a window moved in nodedesk is not drift in Slurm
    local_after, utc_after = slurm.reservations(tz=SITE_TZ)[name], slurm.reservations()[name]
    assert local_before["StartTime"].endswith("T09:00:00") and local_after["StartTime"].endswith("T09:00:00")
    assert local_after["EndTime"] == after_day.format("YYYY-MM-DD") + "T17:00:00"
    hour = lambda r: int(r["StartTime"][11:13])  # noqa: E731
    assert abs(hour(utc_before) - hour(utc_after)) == 1  # the same local hour is another UTC hour
    assert activity(rt, "slurm.")[-1].action == "slurm.reservation_updated"


def test_rescoping_and_deleting_a_window_follow_in_slurm(slurm_site: Runtime, slurm: SlurmCluster) -> None:
    rt = slurm_site
    wid = add_window(rt, "Disks", hours_ahead(20), hours_ahead(22), "node2433")
    keep = add_window(rt, "Other", hours_ahead(40), hours_ahead(42), "node2436")
    sync(rt)
    name = f"nodedesk-{uuid_of(rt, wid)}"
    with rt.write() as ctx:
        windows.update_window(
            ctx, wid, windows.WindowChanges(scope=windows.Scope(nodes=("node2434", "node2435")))
        )
    sync(rt)
    assert slurm.reservations()[name]["Nodes"] == "node[2434-2435]"

    with rt.write() as ctx:
        windows.delete_window(ctx, wid)
    report = sync(rt)
    assert [(o.action.kind, o.action.window_id) for o in report.push] == [("delete", None)]
    assert name not in slurm.reservations()
    assert f"nodedesk-{uuid_of(rt, keep)}" in slurm.reservations()
    deleted = activity(rt, "slurm.reservation_deleted")
    assert len(deleted) == 1 and deleted[0].target_uuid == uuid_of_deleted(name)
    assert deleted[0].reason == f"slurm sync ran: scontrol delete ReservationName={name}"


def uuid_of_deleted(name: str) -> str:
    return name.removeprefix("nodedesk-")


def test_a_reservation_changed_by_hand_is_drift_and_the_window_wins(
    slurm_site: Runtime, slurm: SlurmCluster
) -> None:
    rt = slurm_site
    wid = add_window(rt, "Firmware", hours_ahead(20), hours_ahead(22), "node2433")
    sync(rt)
    name = f"nodedesk-{uuid_of(rt, wid)}"
    slurm.scontrol(
        "update", f"ReservationName={name}", "Nodes=node2436", f"EndTime={slurm_time(hours_ahead(30))}"
    )
    report = sync(rt)
    assert len(report.drift) == 1 and "changed in Slurm by hand" in report.drift[0].text
    assert "nodes node2436 → node2433" in report.drift[0].text
    assert report.push[0].action.hand_changed
    back = slurm.reservations()[name]
    assert back["Nodes"] == "node2433" and back["EndTime"] == slurm_time(hours_ahead(22))
    with rt.read() as ctx:
        summary = status.sync_summary(ctx)
    assert summary.drift_total == 0 and any(
        "changed in Slurm by hand" in t for t in summary.found_by_last_run
    )

    slurm.scontrol("delete", f"ReservationName={name}")
    report = sync(rt)
    assert [n.text for n in report.drift] == [f"{name} was deleted in Slurm by hand"]
    assert name in slurm.reservations()


def test_a_window_with_nodes_slurm_does_not_know_and_the_node_map(
    slurm_site: Runtime, slurm: SlurmCluster
) -> None:
    rt = slurm_site
    with rt.write() as ctx:
        from nodedesk.core.services.nodes import inventory

        inventory.add_node(ctx, "gpu01", "CPU")
        inventory.add_node(ctx, "login1", "CPU")
        settings.set_setting(ctx, "slurm_node_map", "gpu01=node2436")
    with pytest.raises(ValidationError) as err:  # nodedesk's own node2436 is named so too
        sync(rt)
    assert str(err.value) == "slurm_node_map: nodes 'gpu01' and 'node2436' both map to Slurm node 'node2436'"
    with rt.write() as ctx:
        settings.set_setting(ctx, "slurm_node_map", "gpu01=node2436 node2436=retired2436")
    wid = add_window(rt, "Mixed", hours_ahead(20), hours_ahead(22), "gpu01", "login1", "node2433")
    only_unknown = add_window(rt, "Login", hours_ahead(30), hours_ahead(31), "login1")
    report = sync(rt)
    assert slurm.reservations()[f"nodedesk-{uuid_of(rt, wid)}"]["Nodes"] == "node[2433,2436]"
    assert f"nodedesk-{uuid_of(rt, only_unknown)}" not in slurm.reservations()
    texts = {(n.kind, n.subject): n.text for n in report.notes}
    assert texts[("unknown_node", f"window #{wid}")] == "login1 not in Slurm: left out of its reservation"
    assert (
        texts[("no_nodes", f"window #{only_unknown}")]
        == "no Slurm node in its scope (login1 not in Slurm): not pushed"
    )
    with rt.read() as ctx:
        presence = status.window_presence(ctx, [wid, only_unknown])
    assert presence[wid].state == "yes" and presence[only_unknown].state == "n/a"

    slurm.drain("node2436", "GPU fell off the bus")
    sync(rt)
    with rt.read() as ctx:
        opened = outages.list_outages(ctx, outages.OutageQuery(open_only=True)).items
    assert [o.nodes for o in opened] == [("gpu01",)]

    with rt.write() as ctx:  # a map the inventory contradicts stops the sync, not the views
        settings.set_setting(ctx, "slurm_node_map", "gpu01=node2436")
    with rt.read() as ctx:
        presence = status.window_presence(ctx, [wid])[wid]
        summary = dashboard.dashboard(ctx, slow=False).slurm
    assert presence.state == "n/a"
    assert presence.detail.startswith("cannot tell: slurm_node_map: nodes 'gpu01'")
    assert summary is not None and summary.drift_total == 2


# ---------------------------------------------------------------- pull


def _reason_time(slurm: SlurmCluster, node: str) -> datetime:
    reason = slurm.node(node)["Reason"]  # "PSU failure [root@2026-12-07T22:16:07]"
    return datetime.strptime(reason.rsplit("@", 1)[1].rstrip("]"), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def test_a_drained_node_becomes_an_outage_and_back_in_service_it_moves_to_monitoring(
    slurm_site: Runtime, slurm: SlurmCluster
) -> None:
    rt = slurm_site
    slurm.drain("node2433", "PSU failure")
    slurm.down("node2434", "fan")
    since = _reason_time(slurm, "node2433")
    report = sync(rt, scope="pull")
    assert [(o.action.kind, o.action.node, o.done) for o in report.pull] == [
        ("open", "node2433", True),
        ("open", "node2434", True),
    ]
    with rt.read() as ctx:
        opened = {o.nodes[0]: o for o in outages.list_outages(ctx, outages.OutageQuery(open_only=True)).items}
    o = opened["node2433"]
    assert (o.status, o.source, o.start, o.end, o.credit) == ("reported", "slurm", since, None, True)
    assert o.title == "node2433 drain in Slurm: PSU failure"
    assert "sinfo --json" in o.description and "'PSU failure'" in o.description
    entry = activity(rt, "outage.created")[0]
    assert (
        entry.reason.startswith("slurm sync: 'sinfo --json' showed node2433")
        and "PSU failure" in entry.reason
    )
    assert json.loads(entry.after_json)["source"] == "slurm"

    entries = len(activity(rt))
    assert sync(rt).pull == ()  # already open: nothing new
    assert len(activity(rt)) == entries

    slurm.resume("node2433")
    report = sync(rt)
    assert [(o.action.kind, o.action.outage_id) for o in report.pull] == [("monitor", o.id)]
    with rt.read() as ctx:
        moved = outages.get_outage(ctx, o.id)
    assert (moved.status, moved.end) == ("monitoring", None)  # an admin resolves it
    assert activity(rt, "outage.")[-1].reason.startswith(
        "slurm sync: 'sinfo --json' showed node2433 back in service"
    )

    slurm.drain("node2433", "PSU failure again")
    sync(rt)
    with rt.read() as ctx:
        assert outages.get_outage(ctx, o.id).status == "investigating"  # the fix did not hold
        assert outages.list_outages(ctx, outages.OutageQuery(open_only=True)).total == 2


def test_a_manual_outage_is_neither_duplicated_nor_moved(slurm_site: Runtime, slurm: SlurmCluster) -> None:
    rt = slurm_site
    with rt.write() as ctx:
        manual = outages.create_outage(
            ctx, outages.OutageDraft(title="PSU", nodes=("node2435",), start=real_now() - timedelta(hours=1))
        ).outage
    slurm.drain("node2435", "PSU")
    report = sync(rt)
    assert report.pull == ()
    assert [n.text for n in report.notes if n.kind == "already_open"] == [
        f"DRAIN in Slurm; outage #{manual.id} already open"
    ]
    slurm.resume("node2435")
    assert sync(rt).pull == ()
    with rt.read() as ctx:
        assert outages.get_outage(ctx, manual.id).status == "reported"


def test_a_node_in_a_maintenance_window_is_not_an_outage(slurm_site: Runtime, slurm: SlurmCluster) -> None:
    rt = slurm_site
    wid = add_window(
        rt, "Rack move", real_now() - timedelta(hours=1), real_now() + timedelta(hours=3), "node2434",
        reason="entered after it began",
    )  # fmt: skip
    slurm.drain("node2434", "rack move")
    report = sync(rt)
    assert [o.action.kind for o in report.push] == ["create"]  # its reservation starts now
    assert report.pull == ()
    assert [(n.kind, n.subject) for n in report.notes] == [("maintenance", "node2434")]
    assert f"window #{wid}" in report.notes[0].text
    r = slurm.reservations()[f"nodedesk-{uuid_of(rt, wid)}"]
    assert r["State"] == "ACTIVE"
    assert sync(rt).push == ()  # started later than the window, as Slurm allows: not a change


# ---------------------------------------------------------------- safety


def test_dry_run_changes_nothing(slurm_site: Runtime, slurm: SlurmCluster) -> None:
    rt = slurm_site
    wid = add_window(rt, "Firmware", hours_ahead(20), hours_ahead(22), "node2433")
    slurm.drain("node2435", "disk")
    before_db, before_slurm = digest(rt), slurm.reservations()
    report = sync(rt, dry_run=True)
    assert report.dry_run and not any(o.done for o in (*report.push, *report.pull))
    name = f"nodedesk-{uuid_of(rt, wid)}"
    assert report.push[0].to_json(SITE_TZ)["command"] == (
        f"scontrol create reservation ReservationName={name} StartTime={slurm_time(hours_ahead(20))} "
        f"EndTime={slurm_time(hours_ahead(22))} Nodes=node2433 Flags=MAINT,IGNORE_JOBS Users=root"
    )
    assert [(o.action.kind, o.action.node) for o in report.pull] == [("open", "node2435")]
    assert digest(rt) == before_db and slurm.reservations() == before_slurm


def test_slurmctld_down_is_one_line_and_nothing_changes(
    slurm_site: Runtime, slurm: SlurmCluster, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    rt = slurm_site
    add_window(rt, "Firmware", hours_ahead(20), hours_ahead(22), "node2433")
    slurm.drain("node2433", "PSU")
    dead = tmp_path / "dead.conf"
    from tests.slurm.conftest import _free_port

    slurm.write_conf(dead, _free_port())  # the same cluster, on a port where no controller listens
    with rt.write() as ctx:
        settings.set_setting(ctx, "slurm_conf", str(dead))
    before = digest(rt)
    for dry_run in (True, False):
        with pytest.raises(SlurmUnreachable) as err:
            sync(rt, dry_run=dry_run)
        assert str(err.value).startswith("slurmctld not reachable: ") and "\n" not in str(err.value)
    assert digest(rt) == before and slurm.reservations() == {}


def test_two_syncs_never_run_at_once(slurm_site: Runtime, slurm: SlurmCluster) -> None:
    rt = slurm_site
    add_window(rt, "Firmware", hours_ahead(20), hours_ahead(22), "node2433")
    with SyncLock(rt.config.site_dir), pytest.raises(ConflictError) as err:
        sync(rt)
    assert "another Slurm sync is running" in str(err.value) and slurm.reservations() == {}
    with SyncLock(rt.config.site_dir):
        assert sync(rt, dry_run=True).push  # a dry run only reads
    assert sync(rt).changes == 1  # the lock went with its holder


def test_who_may_sync(slurm_site: Runtime, slurm: SlurmCluster) -> None:
    rt = slurm_site
    with rt.write() as ctx:
        users.add_user(ctx, "vic", "viewer")
        users.add_user(ctx, "rita", "rental_manager")
    add_window(rt, "Firmware", hours_ahead(20), hours_ahead(22), "node2433")
    viewer = runtime_as(rt, "vic")
    with pytest.raises(PermissionDenied):
        sync(viewer)
    assert slurm.reservations() == {}
    assert len(sync(viewer, dry_run=True).push) == 1
    assert sync(runtime_as(rt, "rita")).changes == 1
    with rt.read() as ctx:
        assert status.last_run(ctx).by == "rita"  # type: ignore[union-attr]


def test_a_change_slurm_refuses_is_reported_and_the_rest_goes_on(
    slurm_site: Runtime, slurm: SlurmCluster
) -> None:
    rt = slurm_site
    with rt.write() as ctx:
        settings.set_setting(ctx, "slurm_reservation_user", "nosuchuser7")
    add_window(rt, "Firmware", hours_ahead(20), hours_ahead(22), "node2433")
    slurm.drain("node2434", "fan")
    report = sync(rt)
    (refused,) = report.push
    assert not refused.done
    assert refused.error.startswith("'scontrol create reservation ReservationName=nodedesk-")
    assert "' failed: " in refused.error and "\n" not in refused.error
    assert [(o.action.kind, o.done) for o in report.pull] == [("open", True)]
    assert (report.changes, report.failures) == (1, 1) and slurm.reservations() == {}
    assert activity(rt, "slurm.") == []  # nothing happened in Slurm, nothing is recorded as if it had
    with rt.read() as ctx:
        last = status.last_run(ctx)
    assert last is not None and (last.outcome, last.changes, last.problems) == ("partial", 1, 1)
