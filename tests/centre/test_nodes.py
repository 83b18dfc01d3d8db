"""The Nodes section's core (core/services/nodes.py, help/nodes.md) on both back ends.

Clock: 2026-02-15 10:00 New York.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NotFoundError, PermissionDenied, ValidationError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages, windows
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.nodes import node_lifecycle as nodes
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import reservations as res
from nodedesk.core.services.site import users
from nodedesk.core.services.views import activity

from tests.helpers import SITE_TZ, local, runtime_as


def _book(ctx, node: str, day: str, blocks: int = 2, *, approve: bool = True) -> int:  # type: ignore[no-untyped-def]
    draft = res.ReservationDraft(node, "Genomics", date.fromisoformat(day), blocks)
    return res.record_reservation(ctx, draft, approve=approve, waive_policy=True).reservation.id


def _centre(runtime: Runtime) -> dict[str, int]:
    with runtime.write() as ctx:
        users.add_user(ctx, "vic", "viewer")
        users.add_user(ctx, "pi", "viewer")
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node_type(ctx, "EPYC", "CPU")
        inventory.add_node(ctx, "gpu1", "A100", description="rack 4")
        inventory.add_node(ctx, "gpu2", "A100")
        inventory.add_node(ctx, "gpu3", "A100", rentable=False)
        inventory.add_node(ctx, "cpu1", "EPYC")
        projects.add_project(ctx, "Genomics", "pi")
        ids = {
            "running": _book(ctx, "gpu1", "2026-02-14", 4),  # 02-14 16:00 → 02-16 09:00
            "future": _book(ctx, "gpu2", "2026-02-20"),
            "pending": _book(ctx, "gpu2", "2026-02-25", approve=False),
            "past": _book(ctx, "cpu1", "2026-02-01"),
        }
        outages.create_outage(
            ctx,
            outages.OutageDraft("Fan", ("cpu1",), local("2026-02-15 06:00"), etr=local("2026-02-16 12:00")),
        )
        windows.create_window(
            ctx,
            windows.WindowDraft(
                "Firmware",
                local("2026-02-15 08:00"),
                local("2026-02-15 12:00"),
                scope=windows.Scope(("gpu3",)),
            ),
            reason="started before it was recorded",
        )
    return ids


def test_list_with_state_since_next_change_renter_and_filters(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.read() as ctx:
        rows = {r.name: r for r in nodes.list_nodes(ctx)}
        assert [(n, r.state) for n, r in rows.items()] == [
            ("cpu1", "outage"),
            ("gpu1", "rented"),
            ("gpu2", "free"),
            ("gpu3", "maintenance"),
        ]
        gpu1 = rows["gpu1"]
        assert (gpu1.renter, gpu1.status.now.renter, gpu1.status.since) == (
            "Genomics",
            "admin",
            local("2026-02-14 16:00"),
        )
        assert gpu1.next_text(SITE_TZ) == "2026-02-16 09:00 → free"
        assert rows["cpu1"].expected_back == local("2026-02-16 12:00")  # its ETR
        assert rows["cpu1"].next_text(SITE_TZ) == "expected back 2026-02-16 12:00"
        doc = gpu1.to_json(SITE_TZ)
        assert doc["renter"] == {"project": "Genomics", "user": "admin", "reservation": ids["running"]}
        assert doc["status"] == "rented" and doc["retired"] is False and doc["version"] == 1
        by = nodes.NodeQuery
        assert [r.name for r in nodes.list_nodes(ctx, by(node_type="A100"))] == ["gpu1", "gpu2", "gpu3"]
        assert [r.name for r in nodes.list_nodes(ctx, by(state="free"))] == ["gpu2"]
        assert [r.name for r in nodes.list_nodes(ctx, by(rentable=False))] == ["gpu3"]
        assert [r.name for r in nodes.list_nodes(ctx, by(text="RACK"))] == ["gpu1"]
        assert nodes.list_nodes(ctx, by(node_type="EPYC", state="free")) == []
        with pytest.raises(NotFoundError, match="type: no node type named 'H200'"):
            nodes.list_nodes(ctx, by(node_type="H200"))
        with pytest.raises(
            ValidationError, match="state: must be one of outage, maintenance, rented, free, retired"
        ):
            nodes.list_nodes(ctx, by(state="busy"))


def test_rentable_toggle_is_audited_and_checked(runtime: Runtime) -> None:
    _centre(runtime)
    with runtime.write() as ctx:
        assert nodes.toggle_rentable(ctx, "gpu3").rentable is True
        assert nodes.set_rentable(ctx, "gpu3", False, expected_version=2).rentable is False
    with runtime.write() as ctx, pytest.raises(Exception, match="version: node #3 was changed by admin"):
        nodes.set_rentable(ctx, "gpu3", True, expected_version=1)
    with runtime_as(runtime, "vic").write() as ctx, pytest.raises(PermissionDenied):
        nodes.toggle_rentable(ctx, "gpu3")
    with runtime.read() as ctx:
        entries = activity.list_activity(
            ctx, activity.ActivityQuery(target="node:3", action="node.updated")
        ).items
    assert [(e.before["rentable"], e.after["rentable"]) for e in reversed(entries)] == [
        (False, True),
        (True, False),
    ]


def test_retiring_asks_what_happens_to_reservations(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.read() as ctx:
        problems = nodes.check_retire(ctx, "gpu2")
        assert [p.field for p in problems] == ["reservations"]
        assert problems[0].message == (
            f"gpu2 has 2 pending or approved reservation(s) not ended yet (#{ids['future']}, "
            f"#{ids['pending']}); say what happens to them: cancel them (--reservations cancel) "
            "or keep them (--reservations keep)"
        )
        plan = nodes.preview_retire(ctx, "gpu2")
        assert [r.id for r in plan.reservations] == [ids["future"], ids["pending"]] and plan.running == ()
    with runtime.write() as ctx, pytest.raises(ValidationError, match=r"^reservations: gpu2 has 2"):
        nodes.retire_node(ctx, "gpu2")
    with runtime.write() as ctx:
        result = nodes.retire_node(ctx, "gpu2", reservations_choice="cancel", reason="end of warranty")
    assert [r.id for r in result.cancelled] == [ids["future"], ids["pending"]]
    assert all(r.status == "cancelled" for r in result.cancelled)
    assert result.node.retired_at == local("2026-02-15 10:00") and result.node.rentable is False
    with runtime.read() as ctx:
        cancelled = res.get_reservation(ctx, ids["future"])
        assert cancelled.decision_reason == "node gpu2 retired: end of warranty"
        log = activity.list_activity(ctx, activity.ActivityQuery(limit=3)).items
        assert [e.action for e in log] == ["node.retired", "reservation.cancelled", "reservation.cancelled"]
        assert (
            log[0].after["cancelled"] == [ids["future"], ids["pending"]]
            and log[0].reason == "end of warranty"
        )
        # retired nodes leave the list unless asked for; history stays
        assert "gpu2" not in [r.name for r in nodes.list_nodes(ctx)]
        assert [r.name for r in nodes.list_nodes(ctx, nodes.NodeQuery(state="retired"))] == ["gpu2"]
        assert res.list_reservations(ctx, res.ReservationQuery(node="gpu2")).total == 2
        assert [p.message for p in nodes.check_retire(ctx, "gpu2")] == [
            "gpu2 was already retired on 2026-02-15 10:00 -05:00"
        ]
    with runtime.write() as ctx, pytest.raises(ValidationError, match="node: gpu2 is retired"):
        _book(ctx, "gpu2", "2026-03-01")
    with runtime.write() as ctx, pytest.raises(ValidationError, match="rentable: gpu2 is retired; reinstate"):
        nodes.set_rentable(ctx, "gpu2", True)


def test_a_started_reservation_cannot_be_cancelled_by_retiring(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx, pytest.raises(ValidationError) as refused:
        nodes.retire_node(ctx, "gpu1", reservations_choice="cancel")
    assert refused.value.field == "reservations"
    assert str(refused.value).startswith(f"reservations: reservation #{ids['running']} has started")
    with runtime.write() as ctx:
        kept = nodes.retire_node(ctx, "gpu1", reservations_choice="keep")
    assert [r.id for r in kept.kept] == [ids["running"]] and kept.cancelled == ()
    with runtime.read() as ctx:
        assert res.get_reservation(ctx, ids["running"]).status == "approved"  # still billed as booked
        row = nodes.get_node_row(ctx, "gpu1")
        assert row.node.retired and row.state == "rented"  # running to its end
        assert row.state_text() == "● rented (retired)"


def test_reinstate_and_permissions(runtime: Runtime) -> None:
    _centre(runtime)
    with runtime.write() as ctx:
        nodes.retire_node(ctx, "gpu3")  # no reservations: no decision needed
    with runtime_as(runtime, "vic").write() as ctx, pytest.raises(PermissionDenied):
        nodes.reinstate_node(ctx, "gpu3")
    with runtime_as(runtime, "vic").write() as ctx, pytest.raises(PermissionDenied):
        nodes.retire_node(ctx, "gpu1", reservations_choice="keep")
    with runtime.write() as ctx:
        back = nodes.reinstate_node(ctx, "gpu3", reason="repaired")
        assert back.retired_at is None and back.rentable is False
        with pytest.raises(ValidationError, match="node: gpu3 is not retired"):
            nodes.reinstate_node(ctx, "gpu3")
        assert nodes.set_rentable(ctx, "gpu3", True).rentable


def test_detail_lists_reservations_ahead_and_the_nodes_own_activity(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.write() as ctx:
        inventory.update_node(ctx, "gpu2", description="spare PSU")
    with runtime.read() as ctx:
        d = nodes.node_detail(ctx, "gpu2")
    assert [r.id for r in d.reservations] == [ids["future"], ids["pending"]] and d.reservations_total == 2
    assert [e.action for e in d.activity] == ["node.updated", "node.created"]
    doc = d.to_json(SITE_TZ)
    assert doc["name"] == "gpu2" and doc["reservations"]["total"] == 2  # type: ignore[index]


def test_a_page_reads_only_its_nodes_and_equals_the_whole_list(runtime: Runtime) -> None:
    _centre(runtime)
    with runtime.read() as ctx:
        whole = [r.to_json(SITE_TZ) for r in nodes.list_nodes(ctx)]
        paged = [
            r.to_json(SITE_TZ)
            for off in (0, 2)
            for r in nodes.node_page(ctx, nodes.NodeQuery(offset=off, limit=2)).items
        ]
        assert paged == whole
        page = nodes.node_page(ctx, nodes.NodeQuery(state="free", limit=1))
        assert ([r.name for r in page.items], page.total) == (["gpu2"], 1)
        with pytest.raises(ValidationError, match="limit: must be between 1 and 1000"):
            nodes.node_page(ctx, nodes.NodeQuery(limit=0))


def test_the_node_check_names_every_problem_and_the_saves_raise_the_first(runtime: Runtime) -> None:
    _centre(runtime)
    with runtime.read() as ctx:
        problems = nodes_check(ctx, name="gpu1", node_type="B200", description="x" * 2001)
        assert [p.field for p in problems] == ["type", "description", "name"]
        assert problems[0].message == "no node type named 'B200'"
        assert problems[2].message == "node 'gpu1' already exists"
        assert nodes_check(ctx, name="gpu9", node_type="A100") == []
        assert [p.field for p in nodes_check(ctx, name="", node_type="A100")] == ["name"]
        # an edit: the node must exist, be the version the form opened, and a retired one stays not rentable
        assert [p.field for p in nodes_check(ctx, node="nope", node_type="A100")] == ["node"]
        assert nodes_check(ctx, node="gpu1", node_type="EPYC", description="moved", expected_version=1) == []
        stale = nodes_check(ctx, node="gpu1", description="moved", expected_version=0)
        assert [p.field for p in stale] == ["version"]
    with runtime_as(runtime, "vic").read() as ctx:
        refused = nodes_check(ctx, name="gpu9", node_type="A100")
        assert [type(p.error) for p in refused] == [PermissionDenied]
    with runtime.write() as ctx, pytest.raises(NotFoundError, match=r"^type: no node type named 'B200'"):
        inventory.add_node(ctx, "gpu1", "B200")
    with runtime.write() as ctx, pytest.raises(ValidationError, match=r"^name: node 'gpu1' already exists"):
        inventory.add_node(ctx, "gpu1", "A100")
    with runtime.write() as ctx, pytest.raises(Exception, match=r"^version: node #1 was changed"):
        inventory.update_node(ctx, "gpu1", description="moved", expected_version=0)
    with runtime.write() as ctx:
        moved = inventory.update_node(ctx, "gpu1", node_type="EPYC", description="moved", expected_version=1)
    assert (moved.node_type, moved.description) == ("EPYC", "moved")


def nodes_check(ctx: ServiceContext, **kw: Any) -> list[FieldProblem]:
    return inventory.check_node(ctx, **kw)


def test_the_rentable_preview_says_when_a_toggle_matters(runtime: Runtime) -> None:
    ids = _centre(runtime)
    with runtime.read() as ctx:
        off = nodes.preview_rentable(ctx, "gpu2")  # rentable, two reservations ahead
        on = nodes.preview_rentable(ctx, "gpu3")  # not rentable: making it rentable asks nothing
        idle = nodes.preview_rentable(ctx, "cpu1")  # rentable, its only reservation is over
    assert (off.rentable, [r.id for r in off.reservations], off.matters) == (
        False,
        [ids["future"], ids["pending"]],
        True,
    )
    assert off.question(SITE_TZ) == (
        f"Stop renting gpu2? It keeps its 2 pending or approved reservation(s) not ended yet "
        f"(#{ids['future']}, #{ids['pending']}; the first from 2026-02-20 16:00): they run and are "
        "billed as booked. New bookings are refused."
    )
    assert (on.rentable, on.matters, on.problems) == (True, False, ())
    assert (idle.rentable, idle.reservations, idle.matters) == (False, (), False)
    with runtime.write() as ctx:
        nodes.retire_node(ctx, "gpu3")
    with runtime.read() as ctx:
        retired = nodes.preview_rentable(ctx, "gpu3")
    refusal = "gpu3 is retired; reinstate it before making it rentable"
    assert [p.message for p in retired.problems] == [refusal]
    assert not retired.matters
    with runtime.write() as ctx:  # what the preview said is what the toggle does
        assert nodes.toggle_rentable(ctx, "gpu2", expected_version=off.version).rentable is False
    with runtime.read() as ctx:
        assert res.get_reservation(ctx, ids["future"]).status == "approved"


def _synced(runtime: Runtime, report: str) -> None:
    from nodedesk.core.models import SlurmSyncRun

    with runtime.write() as ctx:
        ctx.session.add(
            SlurmSyncRun(
                started_at=local("2026-02-15 09:00"),
                finished_at=local("2026-02-15 09:01"),
                actor="admin",
                scope="both",
                outcome="ok",
                changes=1,
                problems=0,
                summary_json=report,
            )
        )


def test_a_nodes_slurm_state_is_what_the_last_sync_saw(runtime: Runtime) -> None:
    from nodedesk.core.services.nodes import node_sync

    _centre(runtime)
    with runtime.read() as ctx:
        assert node_sync.node_sync(ctx, "gpu3") is None  # no sync has run: nothing to say
    _synced(
        runtime,
        '{"slurm_nodes": "gpu[1-3],cpu1", "pull": [{"node": "cpu1", "action": "open", "outage": 1, '
        '"status": "opened", "slurm": {"state": "DRAIN"}}]}',
    )
    with runtime.read() as ctx:
        gpu3 = node_sync.node_sync(ctx, "gpu3")
        cpu1 = node_sync.node_sync(ctx, "cpu1")
        gpu1 = node_sync.node_sync(ctx, "gpu1")
    assert gpu3 is not None and cpu1 is not None and gpu1 is not None
    assert gpu3.last.at == local("2026-02-15 09:01") and gpu3.out_of_service is None
    # the Firmware window on gpu3 is in progress and Slurm did not have it at the last sync
    assert [(d.window_id, d.presence.state) for d in gpu3.drift] == [(1, "no")]
    assert gpu3.drift[0].text().startswith("window #1 'Firmware' missing in Slurm: not in Slurm")
    assert cpu1.out_of_service == "DRAIN: outage #1 opened" and cpu1.drift == ()
    assert gpu1.drift == () and gpu1.out_of_service is None
    assert gpu3.to_json(SITE_TZ)["drift"] == [  # type: ignore[comparison-overlap]
        {"window": 1, "title": "Firmware", "in_slurm": "no", "detail": gpu3.drift[0].presence.detail}
    ]
