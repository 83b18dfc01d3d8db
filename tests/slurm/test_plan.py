"""The sync planner's rules, one by one, as pure functions (core/slurm/plan.py); and the readers
of what scontrol and sinfo print (core/slurm/parse.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from nodedesk.core.slurm import parse
from nodedesk.core.slurm.plan import (
    OpenOutage,
    WantedReservation,
    plan_pull,
    plan_push,
)

NOW = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
KNOWN = frozenset({"node2433", "node2434", "node2435", "node2436"})


def wanted(
    wid: int = 1, start: datetime = NOW + 24 * HOUR, hours: int = 4, nodes: tuple[str, ...] = ("node2433",)
):  # type: ignore[no-untyped-def]
    return WantedReservation(
        wid, f"uuid-{wid}", f"Window {wid}", start, start + hours * HOUR, nodes, start <= NOW
    )


def in_slurm(w: WantedReservation, **changes: object) -> parse.SlurmReservation:
    values: dict[str, object] = {
        "name": w.name,
        "start": w.start,
        "end": w.end,
        "nodes": w.nodes,
        "flags": frozenset({"MAINT", "IGNORE_JOBS", "SPEC_NODES"}),
        "state": "INACTIVE",
    }
    values.update(changes)
    return parse.SlurmReservation(**values)  # type: ignore[arg-type]


def push(want: list[WantedReservation], actual: list[parse.SlurmReservation], seen=None):  # type: ignore[no-untyped-def]
    return plan_push(want, actual, seen or {}, known_nodes=KNOWN, user="root", now=NOW)


def test_a_missing_reservation_is_created_with_the_windows_times_in_utc() -> None:
    w = wanted(nodes=("node2434", "node2433"))
    plan = push([w], [])
    assert [a.args for a in plan.actions] == [
        (
            "create",
            "reservation",
            "ReservationName=nodedesk-uuid-1",
            "StartTime=2026-12-08T22:00:00",
            "EndTime=2026-12-09T02:00:00",
            "Nodes=node[2433-2434]",
            "Flags=MAINT,IGNORE_JOBS",
            "Users=root",
        )
    ]


def test_an_in_progress_window_starts_now_and_a_later_start_is_no_change() -> None:
    w = wanted(start=NOW - HOUR)
    assert "StartTime=now" in push([w], []).actions[0].args
    made_now = in_slurm(w, start=NOW + timedelta(seconds=30), state="ACTIVE")
    assert push([w], [made_now]).actions == ()
    late = in_slurm(w, start=NOW + 2 * HOUR)
    assert push([w], [late]).actions[0].args == ("update", f"ReservationName={w.name}", "StartTime=now")


def test_the_same_reservation_is_no_change_and_others_are_never_touched() -> None:
    w = wanted()
    hand = parse.SlurmReservation("hand", NOW, NOW + HOUR, ("node2433",), frozenset({"MAINT"}), "ACTIVE")
    assert push([w], [in_slurm(w), hand]).actions == ()
    assert push([], [hand]).actions == ()


def test_moved_rescoped_and_unflagged_reservations_are_updated_field_by_field() -> None:
    w = wanted(nodes=("node2433", "node2435"))
    moved = in_slurm(w, start=w.start - HOUR, nodes=("node2433",), flags=frozenset({"SPEC_NODES"}))
    (action,) = push([w], [moved]).actions
    assert action.kind == "update" and not action.hand_changed
    assert action.args == (
        "update",
        f"ReservationName={w.name}",
        "StartTime=2026-12-08T22:00:00",
        "Nodes=node[2433,2435]",
        "Flags=MAINT",
    )
    assert action.changes[0].startswith("start ")


def test_a_started_reservation_whose_window_moved_later_is_made_again() -> None:
    w = wanted()
    started = in_slurm(w, start=NOW - HOUR, state="ACTIVE")
    assert [a.kind for a in push([w], [started]).actions] == ["delete", "create"]


def test_a_reservation_no_window_wants_is_deleted() -> None:
    w = wanted()
    plan = push([], [in_slurm(w)])
    assert [(a.kind, a.args) for a in plan.actions] == [("delete", ("delete", f"ReservationName={w.name}"))]


def test_a_change_made_in_slurm_is_drift_a_change_made_in_nodedesk_is_not() -> None:
    w = wanted()
    left = in_slurm(w)
    by_hand = in_slurm(w, nodes=("node2436",))
    plan = push([w], [by_hand], {w.name: left})
    assert plan.actions[0].hand_changed and [n.kind for n in plan.notes] == ["drift"]
    moved_here = wanted(start=w.start + HOUR)
    plan = push([moved_here], [left], {w.name: left})
    assert not plan.actions[0].hand_changed and plan.notes == ()
    deleted = push([w], [], {w.name: left})
    assert [a.kind for a in deleted.actions] == ["create"]
    assert [n.text for n in deleted.notes] == [f"{w.name} was deleted in Slurm by hand"]


def test_nodes_slurm_does_not_know_are_left_out() -> None:
    some = wanted(1, nodes=("node2433", "ghost1"))
    none = wanted(2, nodes=("ghost1",))
    plan = push([some, none], [])
    assert [a.window_id for a in plan.actions] == [1]
    assert "Nodes=node2433" in plan.actions[0].args
    assert [(n.kind, n.text) for n in plan.notes] == [
        ("unknown_node", "ghost1 not in Slurm: left out of its reservation"),
        ("no_nodes", "no Slurm node in its scope (ghost1 not in Slurm): not pushed"),
    ]


# ---------------------------------------------------------------- pull


def node(name: str, *states: str, reason: str = "", at: datetime | None = None) -> parse.SlurmNode:
    return parse.SlurmNode(name, frozenset(states), reason, at, "root")


MAP = {"node2433": "node2433", "node2434": "node2434", "node2435": "node2435"}


def test_a_drained_down_or_failed_node_with_a_reason_opens_an_outage_from_slurms_time() -> None:
    at = NOW - 2 * HOUR
    nodes = [
        node("node2433", "IDLE", "DRAIN", reason="PSU", at=at),
        node("node2434", "DOWN", reason="fan", at=NOW + HOUR),  # a clock ahead: never later than now
        node("node2435", "UNKNOWN", "FAIL", reason="disk"),
        node("node2436", "DOWN", reason="not ours"),
    ]
    plan = plan_pull(nodes, MAP, [], {}, now=NOW)
    assert [(a.kind, a.node, a.start) for a in plan.actions] == [
        ("open", "node2433", at),
        ("open", "node2434", NOW),
        ("open", "node2435", NOW),
    ]
    assert plan.actions[0].title() == "node2433 drain in Slurm: PSU"
    assert [(n.kind, n.subject) for n in plan.notes] == [("not_in_nodedesk", "node2436")]


def test_no_outage_without_a_reason_in_maintenance_or_when_one_is_open() -> None:
    nodes = [
        node("node2433", "DOWN"),
        node("node2434", "DRAIN", reason="rack"),
        node("node2435", "DRAIN", reason="PSU"),
    ]
    open_ = [OpenOutage(7, "identified", "manual", ("node2435",))]
    plan = plan_pull(nodes, MAP, open_, {"node2434": 3}, now=NOW)
    assert plan.actions == ()
    assert [(n.kind, n.subject) for n in plan.notes] == [
        ("no_reason", "node2433"),
        ("maintenance", "node2434"),
        ("already_open", "node2435"),
    ]


def test_back_in_service_moves_slurm_outages_to_monitoring_and_down_again_to_investigating() -> None:
    open_ = [
        OpenOutage(1, "reported", "slurm", ("node2433",)),
        OpenOutage(2, "identified", "manual", ("node2433",)),
        OpenOutage(3, "monitoring", "slurm", ("node2434",)),
    ]
    back = plan_pull([node("node2433", "IDLE"), node("node2434", "IDLE")], MAP, open_, {}, now=NOW)
    assert [(a.kind, a.outage_id, a.status) for a in back.actions] == [("monitor", 1, "monitoring")]
    again = plan_pull([node("node2434", "DRAIN", reason="PSU again")], MAP, open_, {}, now=NOW)
    assert [(a.kind, a.outage_id, a.status) for a in again.actions] == [("investigate", 3, "investigating")]


# ---------------------------------------------------------------- what Slurm prints (22.05)

RESERVATIONS = """ReservationName=nodedesk-abc StartTime=2027-03-13T14:00:00 EndTime=2027-03-15T13:00:00 Duration=1-23:00:00 Nodes=node[2433-2434] NodeCnt=2 CoreCnt=2 Features=(null) PartitionName=(null) Flags=MAINT,IGNORE_JOBS,SPEC_NODES TRES=cpu=2 Users=root Groups=(null) Accounts=(null) Licenses=(null) State=INACTIVE BurstBuffer=(null) Watts=n/a MaxStartDelay=(null)
ReservationName=hand StartTime=2026-12-07T22:15:49 EndTime=2026-12-07T23:15:49 Duration=01:00:00 Nodes=(null) NodeCnt=0 CoreCnt=0 Features=(null) PartitionName=(null) Flags=MAINT TRES=(null) Users=root Groups=(null) Accounts=(null) Licenses=lic:1 State=ACTIVE BurstBuffer=(null) Watts=n/a MaxStartDelay=(null)
"""  # noqa: E501

NODE_LINE = "NodeName=node2433 CoresPerSocket=1  CPUAlloc=0 NodeAddr=127.0.0.1 State=UNKNOWN+DRAIN+NOT_RESPONDING ThreadsPerCore=1 Partitions=main  BootTime=None Reason=PSU failure, see ticket 42 [root@2026-12-07T22:16:07]"  # noqa: E501


def test_reservations_are_read_from_scontrol_oneliner() -> None:
    first, second = parse.reservations(RESERVATIONS)
    assert (first.name, first.start, first.nodes) == (
        "nodedesk-abc",
        datetime(2027, 3, 13, 14, tzinfo=UTC),
        ("node2433", "node2434"),
    )
    assert first.flags == {"MAINT", "IGNORE_JOBS", "SPEC_NODES"} and first.state == "INACTIVE"
    assert second.nodes == () and second.state == "ACTIVE"
    assert parse.reservations("No reservations in the system\n") == []


def test_nodes_are_read_from_sinfo_json_of_22_05_and_of_later_releases() -> None:
    common = {"name": "node2433", "reason": "PSU", "reason_set_by_user": "root"}
    old = {
        **common,
        "state": "unknown",
        "state_flags": ["DRAIN", "NOT_RESPONDING"],
        "reason_changed_at": 1796681767,
    }
    new = {
        **common,
        "state": ["IDLE", "DRAIN"],
        "reason_changed_at": {"set": True, "infinite": False, "number": 1796681767},
    }
    for item in (old, new):
        (n,) = parse.nodes_from_json(json.dumps({"errors": [], "nodes": [item]}))
        assert (
            n.out_of_service and n.reason == "PSU" and n.reason_at == datetime.fromtimestamp(1796681767, UTC)
        )
    with pytest.raises(parse.ParseError, match="Unspecified error"):
        parse.nodes_from_json('{"errors": [{"error": "Unspecified error", "errno": -1}], "nodes": []}')


def test_nodes_are_read_from_scontrol_show_node_where_sinfo_has_no_json() -> None:
    (n,) = parse.nodes_from_scontrol(NODE_LINE)
    assert n.states == {"UNKNOWN", "DRAIN", "NOT_RESPONDING"}
    assert (n.reason, n.reason_by, n.reason_at) == (
        "PSU failure, see ticket 42",
        "root",
        datetime(2026, 12, 7, 22, 16, 7, tzinfo=UTC),
    )
