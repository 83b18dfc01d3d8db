"""Projects and members (help/projects.md) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from nodedesk.core import audit
from nodedesk.core.errors import (
    ConflictError,
    LockedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import projects, subscriptions

from tests.helpers import runtime_as
from tests.rentals.projects_helpers import last_entry


def test_owner_gets_owner_role_and_audit(centre: Runtime) -> None:
    with centre.read() as ctx:
        p = projects.get_project(ctx, "Genomics")
    assert p.owner == "pi"
    assert p.status == "active"
    assert p.roles_of("pi") == ("owner",)
    assert p.roles_of("ann") == ("member",)
    assert p.roles_of("fin") == ("financial_admin",)
    doc = p.to_json("America/New_York")
    assert doc["members"][0] == {"user": "pi", "full_name": "", "roles": ["owner"]}
    with centre.write() as ctx:
        projects.add_project(ctx, "Climate", "ann", "Ensemble runs")
    entry = last_entry(centre)
    assert entry["action"] == "project.created"
    assert entry["after"]["owner"] == "ann"
    assert entry["after"]["members"] == [{"user": "ann", "full_name": "", "roles": ["owner"]}]


def test_user_may_hold_several_roles(centre: Runtime) -> None:
    with centre.write() as ctx:
        projects.add_member(ctx, "Genomics", "ann", "technical_admin")
        v = projects.add_member(ctx, "Genomics", "pi", "financial_admin")
    assert v.roles_of("ann") == ("technical_admin", "member")
    assert v.version == 5  # created, ann, fin (fixture), then these two: every member change bumps it
    assert v.roles_of("pi") == ("owner", "financial_admin")
    with pytest.raises(ValidationError, match="already has role member"), centre.write() as ctx:
        projects.add_member(ctx, "Genomics", "ann", "member")


@pytest.mark.parametrize(
    ("title", "owner", "error", "match"),
    [
        ("genomics", "pi", ValidationError, "already exists"),  # unique, case-insensitively
        ("", "pi", ValidationError, "title: is required"),
        ("X" * 201, "pi", ValidationError, "at most 200"),
        ("New", "nobody", NotFoundError, "no user named 'nobody'"),
    ],
)
def test_add_project_refusals(centre: Runtime, title: str, owner: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match), centre.write() as ctx:
        projects.add_project(ctx, title, owner)


def test_permissions(centre: Runtime) -> None:
    for login in ("bmgr", "rmgr"):
        with runtime_as(centre, login).write() as ctx:
            projects.add_project(ctx, f"By {login}", "pi")
    for login in ("ratemgr", "vic"):
        with (
            pytest.raises(PermissionDenied, match="may not manage projects"),
            runtime_as(centre, login).write() as ctx,
        ):
            projects.add_member(ctx, "Genomics", "vic", "member")
    with runtime_as(centre, "vic").read() as ctx:
        assert [p.title for p in projects.list_projects(ctx)] == ["By bmgr", "By rmgr", "Genomics"]


def test_owner_role_cannot_be_added_or_removed_directly(centre: Runtime) -> None:
    with pytest.raises(ValidationError, match="one owner"), centre.write() as ctx:
        projects.add_member(ctx, "Genomics", "ann", "owner")
    with pytest.raises(ValidationError, match="owner role cannot be removed"), centre.write() as ctx:
        projects.remove_member(ctx, "Genomics", "pi", "owner")


def test_change_owner_moves_owner_role(centre: Runtime) -> None:
    with centre.write() as ctx:
        v = projects.update_project(ctx, "Genomics", owner="ann", title="Genomics Lab")
    assert v.owner == "ann"
    assert v.title == "Genomics Lab"
    assert v.roles_of("ann") == ("owner", "member")
    assert v.roles_of("pi") == ()
    entry = last_entry(centre)
    assert entry["action"] == "project.updated"
    assert entry["before"]["owner"] == "pi"
    assert entry["after"]["owner"] == "ann"


def test_stale_edit_is_refused(centre: Runtime) -> None:
    with centre.read() as ctx:
        version = projects.get_project(ctx, "Genomics").version
    with centre.write() as ctx:
        projects.update_project(ctx, "Genomics", description="changed")
    with pytest.raises(ConflictError, match="since you opened it"), centre.write() as ctx:
        projects.update_project(ctx, "Genomics", description="mine", expected_version=version)


def test_remove_member_and_audit(centre: Runtime) -> None:
    with centre.write() as ctx:
        v = projects.remove_member(ctx, "Genomics", "ann", "member")
    assert v.roles_of("ann") == ()
    entry = last_entry(centre)
    assert entry["action"] == "project.member_removed"
    assert entry["before"] == {"user": "ann", "roles": ["member"]}
    assert entry["after"] == {"user": "ann", "roles": []}
    with pytest.raises(NotFoundError, match="not a member"), centre.write() as ctx:
        projects.remove_member(ctx, "Genomics", "ann", "member")


def test_removing_role_behind_open_subscription_is_refused(centre: Runtime) -> None:
    with centre.write() as ctx:
        sub = subscriptions.add_subscription(ctx, "ann", "MAINT_STANDARD", "Genomics", date(2026, 2, 1))
    with pytest.raises(ConflictError, match=f"#{sub.id}"), centre.write() as ctx:
        projects.remove_member(ctx, "Genomics", "ann", "member")
    with centre.write() as ctx:  # another qualifying role keeps it allowed
        projects.add_member(ctx, "Genomics", "ann", "technical_admin")
        projects.remove_member(ctx, "Genomics", "ann", "member")


def test_archive_and_reactivate(centre: Runtime) -> None:
    with centre.write() as ctx:
        sub = subscriptions.add_subscription(ctx, "ann", "MAINT_STANDARD", "Genomics", date(2026, 1, 1))
    with pytest.raises(LockedError, match="end them before archiving"), centre.write() as ctx:
        projects.archive_project(ctx, "Genomics")
    with centre.write() as ctx:
        subscriptions.end_subscription(ctx, sub.id, date(2026, 1, 31))
        v = projects.archive_project(ctx, "Genomics", reason="grant over")
    assert v.status == "archived"
    assert last_entry(centre)["action"] == "project.archived"
    with pytest.raises(LockedError, match="archived"), centre.write() as ctx:
        projects.add_member(ctx, "Genomics", "vic", "member")
    with centre.read() as ctx:
        assert [p.title for p in projects.list_projects(ctx, status="active")] == []
        assert [p.title for p in projects.list_projects(ctx, status="archived")] == ["Genomics"]
    with centre.write() as ctx:
        assert projects.set_project_status(ctx, "Genomics", "active").status == "active"
    with centre.read() as ctx:
        assert audit.verify(ctx.session).ok


def test_find_project_by_case_and_id(centre: Runtime) -> None:
    with centre.read() as ctx:
        p = projects.get_project(ctx, "GENOMICS")
        assert projects.get_project(ctx, str(p.id)).title == "Genomics"
        assert projects.get_project(ctx, p.id).title == "Genomics"
        with pytest.raises(NotFoundError, match="no project titled 'Nope'"):
            projects.get_project(ctx, "Nope")


def test_list_projects_by_member(centre: Runtime) -> None:
    with centre.write() as ctx:
        projects.add_project(ctx, "Climate", "ann")
    with centre.read() as ctx:
        assert [p.title for p in projects.list_projects(ctx, member="ann")] == ["Climate", "Genomics"]
        assert [p.title for p in projects.list_projects(ctx, member="pi")] == ["Genomics"]
