"""The services' ``check_*`` entry points agree with their saves, on SQLite and PostgreSQL.

For each bad draft the check lists every problem, and the save refuses with the first of them
(same error class, field and message) and writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from nodedesk.core.errors import NodedeskError
from nodedesk.core.models import ActivityEntry, Setting
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import outages
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.downtime.windows import Scope, WindowChanges, WindowDraft
from nodedesk.core.services.rentals import projects, reservations
from sqlalchemy import func, select

from tests.core.test_windows import add_inventory, create, finalize
from tests.helpers import local, runtime_as
from tests.rentals import support as rentals
from tests.rentals.support import seed

OK = {"title": "BIOS", "start": "2026-02-20 08:00", "end": "2026-02-20 12:00"}

# name -> (draft fields, reason, expected (field, message start) of every problem, in order)
NEW_WINDOWS: dict[str, tuple[dict[str, Any], str, list[tuple[str, str]]]] = {
    "empty title": ({"title": "  "}, "", [("title", "is required")]),
    "long title": ({"title": "x" * 201}, "", [("title", "must be at most 200 characters")]),
    "control chars": ({"description": "a\x07b"}, "", [("description", "must not contain control")]),
    "end before start": ({"end": "2026-02-20 07:00"}, "", [("end", "must be after the start")]),
    "empty window": ({"end": "2026-02-20 08:00"}, "", [("end", "must be after the start")]),
    "unknown node": ({"scope": Scope(("zz",))}, "", [("node", "no node named 'zz'")]),
    "unknown type": ({"scope": Scope((), ("H9",))}, "", [("node_type", "no node type named 'H9'")]),
    "backdated without reason": (
        {"start": "2026-02-14 08:00", "end": "2026-02-14 09:00"},
        "",
        [("start", "starts in the past")],
    ),
    "several at once": (
        {"title": "", "end": "2026-02-20 07:00", "scope": Scope(("zz",))},
        "",
        [("title", "is required"), ("end", "must be after the start"), ("node", "no node named")],
    ),
}


def draft(**fields: Any) -> WindowDraft:
    values = {**OK, **fields}
    return WindowDraft(
        values["title"],
        local(values["start"]),
        local(values["end"]),
        values.get("description", ""),
        values.get("scope", Scope()),
    )


def entries(runtime: Runtime) -> int:
    with runtime.read() as ctx:
        return ctx.session.scalar(select(func.count()).select_from(ActivityEntry)) or 0


def agree(runtime: Runtime, check: Any, save: Any) -> list[tuple[str, str]]:
    """The check's problems; the save must raise the first one and write nothing."""
    with runtime.read() as ctx:
        problems = check(ctx)
    before = entries(runtime)
    if not problems:
        return []
    with pytest.raises(NodedeskError) as err, runtime.write() as ctx:
        save(ctx)
    first = problems[0]
    assert type(err.value) is type(first.error)
    assert (err.value.field or "", err.value.message) == (first.field, first.message)
    assert entries(runtime) == before
    return [(p.field, p.message) for p in problems]


@pytest.mark.parametrize("case", sorted(NEW_WINDOWS))
def test_check_window_agrees_with_create(runtime: Runtime, case: str) -> None:
    add_inventory(runtime)
    fields, reason, expected = NEW_WINDOWS[case]
    d = draft(**fields)
    found = agree(
        runtime,
        lambda ctx: svc.check_window(ctx, d, reason=reason),
        lambda ctx: svc.create_window(ctx, d, reason=reason),
    )
    assert [f for f, _ in found] == [f for f, _ in expected]
    for (_, message), (_, start) in zip(found, expected, strict=True):
        assert message.startswith(start), message


def test_a_good_draft_has_no_problem_and_check_writes_nothing(runtime: Runtime) -> None:
    add_inventory(runtime)
    before = entries(runtime)
    with runtime.read() as ctx:
        assert svc.check_window(ctx, draft(scope=Scope(("a1",), ("EPYC",)))) == []
    assert entries(runtime) == before


def test_backdating_problem_is_fixed_by_the_reason(runtime: Runtime) -> None:
    d = draft(start="2026-02-14 08:00", end="2026-02-14 09:00")
    with runtime.read() as ctx:
        (problem,) = svc.check_window(ctx, d)
        assert (problem.field, problem.fix) == ("start", "reason")
        assert svc.check_window(ctx, d, reason="forgot to log it") == []


def test_finalized_month_is_a_problem_of_a_backdated_window(runtime: Runtime) -> None:
    finalize(runtime, "2026-01")
    d = draft(start="2026-01-14 08:00", end="2026-01-14 09:00")
    found = agree(
        runtime,
        lambda ctx: svc.check_window(ctx, d, reason="late entry"),
        lambda ctx: svc.create_window(ctx, d, reason="late entry"),
    )
    assert len(found) == 1 and "finalized invoice for 2026-01" in found[0][1]


UPDATES: dict[str, tuple[str, WindowChanges, bool, str, list[str]]] = {
    # name -> (which window, changes, correction, reason, fields of every problem)
    "nothing": ("upcoming", WindowChanges(), False, "", ["changes"]),
    "empty title": ("upcoming", WindowChanges(title=""), False, "", ["title"]),
    "end before start": ("upcoming", WindowChanges(end=local("2026-02-20 07:00")), False, "", ["end"]),
    "backdating without reason": (
        "upcoming",
        WindowChanges(start=local("2026-02-14 08:00")),
        False,
        "",
        ["start"],
    ),
    "completed is locked": ("completed", WindowChanges(title="x"), False, "", ["window"]),
    "in progress: title and end": (
        "in_progress",
        WindowChanges(title="x", end=local("2026-02-15 09:30")),
        False,
        "",
        ["title", "end"],
    ),
    "correction needs a reason": ("completed", WindowChanges(title="x"), True, "", ["reason"]),
    "unknown node": ("upcoming", WindowChanges(scope=Scope(("zz",))), False, "", ["node"]),
}


@pytest.mark.parametrize("case", sorted(UPDATES))
def test_check_window_agrees_with_update(runtime: Runtime, case: str) -> None:
    add_inventory(runtime)
    windows = {
        "upcoming": create(runtime, "Up", "2026-02-20 08:00", "2026-02-20 12:00"),
        "in_progress": create(runtime, "Now", "2026-02-15 09:00", "2026-02-15 12:00", reason="late"),
        "completed": create(runtime, "Done", "2026-02-10 09:00", "2026-02-10 12:00", reason="late"),
    }
    which, changes, correction, reason, fields = UPDATES[case]
    w = windows[which]
    found = agree(
        runtime,
        lambda ctx: svc.check_window(
            ctx, changes, window_id=w.id, expected_version=w.version, reason=reason, correction=correction
        ),
        lambda ctx: svc.update_window(
            ctx, w.id, changes, expected_version=w.version, reason=reason, correction=correction
        ),
    )
    assert [f for f, _ in found] == fields


def test_a_stale_version_is_a_problem(runtime: Runtime) -> None:
    w = create(runtime, "Up", "2026-02-20 08:00", "2026-02-20 12:00")
    with runtime.write() as ctx:
        svc.update_window(ctx, w.id, WindowChanges(title="Up 2"))
    with runtime.read() as ctx:
        problems = svc.check_window(
            ctx, WindowChanges(title="Up 3"), window_id=w.id, expected_version=w.version
        )
    assert problems and "since you opened it" in problems[0].message


def test_a_missing_window_is_a_problem(runtime: Runtime) -> None:
    with runtime.read() as ctx:
        (problem,) = svc.check_window(ctx, WindowChanges(title="x"), window_id=999)
    assert problem.field == "id"


# ---------------------------------------------------------------- outages

NEW_OUTAGES: dict[str, tuple[dict[str, Any], list[str]]] = {
    # name -> (draft fields over a good one, fields of every problem in order)
    "empty title": ({"title": ""}, ["title"]),
    "in the future": ({"start": "2026-02-15 12:00"}, ["start"]),
    "estimate before start": ({"etr": "2026-02-15 05:00"}, ["etr"]),
    "end before start": ({"end": "2026-02-15 05:00", "status": "resolved"}, ["end"]),
    "end in the future": ({"end": "2026-02-15 11:00", "status": "resolved"}, ["end"]),
    "resolved without end": ({"status": "resolved"}, ["end"]),
    "end while open": ({"end": "2026-02-15 09:00", "status": "investigating"}, ["end"]),
    "no node": ({"nodes": ()}, ["node"]),
    "unknown node": ({"nodes": ("zz",)}, ["node"]),
    "bad status": ({"status": "gone"}, ["status"]),
    "several at once": ({"title": "", "etr": "2026-02-15 05:00", "nodes": ("zz",)}, ["title", "etr", "node"]),
}


def outage_draft(**fields: Any) -> outages.OutageDraft:
    values: dict[str, Any] = {"title": "PSU", "nodes": ("n1",), "start": "2026-02-15 06:00", **fields}
    for name in ("start", "end", "etr"):
        if isinstance(values.get(name), str):
            values[name] = local(values[name])
    return outages.OutageDraft(**values)


@pytest.mark.parametrize("case", sorted(NEW_OUTAGES))
def test_check_outage_agrees_with_create(runtime: Runtime, case: str) -> None:
    seed(runtime)
    fields, expected = NEW_OUTAGES[case]
    d = outage_draft(**fields)
    found = agree(
        runtime, lambda ctx: outages.check_outage(ctx, d), lambda ctx: outages.create_outage(ctx, d)
    )
    assert [f for f, _ in found] == expected


UPDATED_OUTAGES: dict[str, tuple[outages.OutageChanges, list[str]]] = {
    "nothing": (outages.OutageChanges(), ["changes"]),
    "unknown status": (outages.OutageChanges(status="gone"), ["status"]),
    "resolve without end": (outages.OutageChanges(status="resolved"), ["end"]),
    # the form shows the first problem of a field; the save refuses with it
    "end without resolving": (outages.OutageChanges(end=local("2026-02-15 09:00")), ["end", "end"]),
    "estimate before start": (outages.OutageChanges(etr=local("2026-02-15 05:00")), ["etr"]),
    "unknown node": (outages.OutageChanges(nodes=("zz",)), ["node"]),
}


@pytest.mark.parametrize("case", sorted(UPDATED_OUTAGES))
def test_check_outage_agrees_with_update(runtime: Runtime, case: str) -> None:
    seed(runtime)
    with runtime.write() as ctx:
        o = outages.create_outage(ctx, outage_draft()).outage
    changes, expected = UPDATED_OUTAGES[case]
    found = agree(
        runtime,
        lambda ctx: outages.check_outage(ctx, changes, outage_id=o.id, expected_version=o.version),
        lambda ctx: outages.update_outage(ctx, o.id, changes, expected_version=o.version),
    )
    assert [f for f, _ in found] == expected


def test_a_good_outage_draft_has_no_problem(runtime: Runtime) -> None:
    seed(runtime)
    with runtime.read() as ctx:
        assert outages.check_outage(ctx, outage_draft(etr="2026-02-16 09:00")) == []


# ---------------------------------------------------------------- reservations

# name -> (draft args, record options, fields of every problem in order); today is 2026-02-15,
# the policy needs 7 days' notice and at most 14 blocks.
NEW_RESERVATIONS: dict[str, tuple[dict[str, Any], dict[str, bool], list[str]]] = {
    "too many blocks": ({"blocks": 15}, {}, ["blocks"]),
    "long notes": ({"notes": "x" * 2001}, {}, ["notes"]),
    "unknown project": ({"project": "Nope"}, {}, ["project"]),
    "unknown user": ({"requested_for": "nobody"}, {}, ["requested_for"]),
    "short notice": ({"start_date": "2026-02-18"}, {}, ["start_date"]),
    "short notice waived": ({"start_date": "2026-02-18"}, {"waive_policy": True}, []),
    "unknown node": ({"node": "zz"}, {}, ["node"]),
    "not rentable": ({"node": "n3"}, {}, ["node"]),
    "clash": ({"start_date": "2026-03-02"}, {}, ["node"]),
    "several at once": ({"blocks": 15, "project": "Nope", "node": "n3"}, {}, ["blocks", "project", "node"]),
}


def reservation_draft(**fields: Any) -> reservations.ReservationDraft:
    values: dict[str, Any] = {"start_date": "2026-03-01", "blocks": 2, **fields}
    node, project = values.pop("node", "n1"), values.pop("project", "Climate")
    return rentals.draft(values.pop("start_date"), values.pop("blocks"), node=node, project=project, **values)


@pytest.mark.parametrize("case", sorted(NEW_RESERVATIONS))
def test_check_reservation_agrees_with_record(runtime: Runtime, case: str) -> None:
    rentals.seed(runtime)
    rentals.record(runtime, "2026-03-02", 2, node="n1")  # the clash case books over it
    fields, options, expected = NEW_RESERVATIONS[case]
    d = reservation_draft(**fields)
    found = agree(
        runtime,
        lambda ctx: reservations.check_reservation(ctx, d, manager=True, **options),
        lambda ctx: reservations.record_reservation(ctx, d, **options),
    )
    assert [f for f, _ in found] == expected


def test_check_reservation_for_a_requester_enforces_the_policy(runtime: Runtime) -> None:
    rentals.seed(runtime)
    d = reservation_draft(start_date="2026-02-18")
    found = agree(
        runtime_as(runtime, "carol"),  # a member of the project
        lambda ctx: reservations.check_reservation(ctx, d, manager=False),
        lambda ctx: reservations.request_reservation(ctx, d),
    )
    assert [f for f, _ in found] == ["start_date"] and "--waive-policy" not in found[0][1]


@pytest.mark.parametrize(
    ("key", "value"), [("reservation_start_time", "25:99"), ("reservation_max_blocks", "abc")]
)
def test_a_bad_stored_setting_is_a_problem_of_the_check(runtime: Runtime, key: str, value: str) -> None:
    rentals.seed(runtime)
    with runtime.database.write() as session:
        session.add(
            Setting(key=key, value=value, modified_at=runtime.clock_for("UTC").now(), modified_by="x")
        )
    d = reservation_draft()
    found = agree(
        runtime,
        lambda ctx: reservations.check_reservation(ctx, d, manager=True),
        lambda ctx: reservations.record_reservation(ctx, d),
    )
    assert found[0][0] == key and "\n" not in found[0][1]


# ---------------------------------------------------------------- projects

NEW_PROJECTS: dict[str, tuple[dict[str, str], list[str]]] = {
    "empty title": ({"title": ""}, ["title"]),
    "title taken": ({"title": "climate"}, ["title"]),
    "no owner": ({"owner": ""}, ["owner"]),
    "unknown owner": ({"owner": "zed"}, ["user"]),
    "long description": ({"description": "x" * 4001}, ["description"]),
    "several at once": ({"title": "", "owner": ""}, ["title", "owner"]),
}


@pytest.mark.parametrize("case", sorted(NEW_PROJECTS))
def test_check_project_agrees_with_add(runtime: Runtime, case: str) -> None:
    rentals.seed(runtime)
    fields, expected = NEW_PROJECTS[case]
    values = {"title": "Fusion", "owner": "alice", "description": "", **fields}
    found = agree(
        runtime,
        lambda ctx: projects.check_project(ctx, **values),
        lambda ctx: projects.add_project(ctx, values["title"], values["owner"], values["description"]),
    )
    assert [f for f, _ in found] == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [({}, ["changes"]), ({"title": "Genomics"}, ["title"]), ({"owner": "zed"}, ["user"])],
)
def test_check_project_agrees_with_update(
    runtime: Runtime, changes: dict[str, str], expected: list[str]
) -> None:
    rentals.seed(runtime)
    with runtime.read() as ctx:
        climate = projects.find_project(ctx, "Climate")
        project_id, version = climate.id, climate.version
    found = agree(
        runtime,
        lambda ctx: projects.check_project(ctx, **changes, project_id=project_id, expected_version=version),
        lambda ctx: projects.update_project(ctx, project_id, expected_version=version, **changes),
    )
    assert [f for f, _ in found] == expected
