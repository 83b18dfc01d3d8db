"""The permissions matrix, core half: every service action × every role.

Each action runs in a dry-run transaction (the whole unit of work, then rolled back) as a demo
user holding one role; it must be refused with PermissionDenied exactly when the table in
:mod:`tests.hardening.permissions_table` (written from help/security.md) says so. Admin runs must succeed
outright, which proves the inputs are valid and a refusal is about the role, not the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from nodedesk.core.backup import exporter
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import PermissionDenied
from nodedesk.core.identity import PERMISSIONS
from nodedesk.core.models import MaintenanceWindow, Outage, Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import notices, outages, schedules
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.invoicing import invoices, overrides, rates
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects, reservations, splits, subscriptions
from nodedesk.core.services.site import settings, users
from nodedesk.core.services.site.demo import load_demo
from nodedesk.core.services.views import activity
from sqlalchemy import select

from tests.hardening.permissions_table import AREAS, LOGIN_OF, ROLES, allowed
from tests.helpers import local, runtime_as


@dataclass(frozen=True)
class Ids:
    upcoming: int
    completed: int
    open_outage: int
    pending: int
    january: int  # an approved reservation billed in January 2026
    january_other: int
    schedule: int


def seed(runtime: Runtime) -> Ids:
    with runtime.write() as ctx:
        load_demo(ctx)
    with runtime.write() as ctx:
        s = ctx.session
        now = ctx.now()
        upcoming = s.scalar(select(MaintenanceWindow.id).where(MaintenanceWindow.start > now).limit(1))
        completed = s.scalar(select(MaintenanceWindow.id).where(MaintenanceWindow.end < now).limit(1))
        open_outage = s.scalar(select(Outage.id).where(Outage.end.is_(None)).limit(1))
        pending = s.scalar(select(Reservation.id).where(Reservation.status == "pending").limit(1))
        jan = list(
            s.scalars(
                select(Reservation.id)
                .where(Reservation.status == "approved")
                .where(
                    Reservation.start < local("2026-02-01 00:00"), Reservation.end > local("2026-01-01 00:00")
                )
                .order_by(Reservation.id)
            )
        )
        sched = schedules.create_schedule(
            ctx, schedules.ScheduleDraft("Weekly patch", "FREQ=WEEKLY;BYDAY=TU", "06:00", duration="2h")
        )
        projects.add_project(ctx, "Matrix Archive", "viewer")
        projects.add_member(ctx, "Matrix Archive", "apatel", "member")
        # A finalized December for unfinalize, and an override in January for clear.
        invoices.finalize(ctx, "2025-12")
        overrides.set_override(ctx, "2026-01", jan[0], kind="exclude", reason="seeded")
    assert all([upcoming, completed, open_outage, pending]) and len(jan) >= 2
    return Ids(upcoming, completed, open_outage, pending, jan[0], jan[1], sched.schedule.id)


Action = Callable[[ServiceContext, Ids], Any]
FUTURE = "2026-03-20"

# (name, area, action). Every write service, plus representative reads.
ACTIONS: list[tuple[str, str, Action]] = [
    ("node_type.add", "inventory", lambda c, i: inventory.add_node_type(c, "B200", "GPU")),
    ("node_type.rename", "inventory", lambda c, i: inventory.rename_node_type(c, "L40S", "L40S-2")),
    ("node.add", "inventory", lambda c, i: inventory.add_node(c, "node9000", "A100")),
    ("node.update", "inventory", lambda c, i: inventory.update_node(c, "node2433", description="x")),
    (
        "window.create",
        "windows",
        lambda c, i: win.create_window(
            c, win.WindowDraft("Matrix", local(f"{FUTURE} 08:00"), local(f"{FUTURE} 10:00"))
        ),
    ),
    (
        "window.update",
        "windows",
        lambda c, i: win.update_window(c, i.upcoming, win.WindowChanges(title="Renamed")),
    ),
    ("window.delete", "windows", lambda c, i: win.delete_window(c, i.upcoming)),
    (
        "window.correct",
        "correction",
        lambda c, i: win.update_window(
            c, i.completed, win.WindowChanges(title="Fixed"), correction=True, reason="typo"
        ),
    ),
    (
        "window.correct_delete",
        "correction",
        lambda c, i: win.delete_window(c, i.completed, correction=True, reason="x"),
    ),
    (
        "schedule.create",
        "windows",
        lambda c, i: schedules.create_schedule(
            c, schedules.ScheduleDraft("Monthly", "FREQ=MONTHLY;BYMONTHDAY=1", "07:00", duration="1h")
        ),
    ),
    (
        "schedule.skip",
        "windows",
        lambda c, i: schedules.skip_occurrence(c, i.schedule, date(2026, 2, 17), reason="holiday"),
    ),
    (
        "schedule.edit",
        "windows",
        lambda c, i: schedules.edit_schedule(
            c,
            i.schedule,
            schedules.ScheduleDraft("Weekly patch", "FREQ=WEEKLY;BYDAY=WE", "06:00", duration="2h"),
        ),
    ),
    (
        "schedule.move",
        "windows",
        lambda c, i: schedules.move_occurrence(
            c, i.schedule, date(2026, 2, 24), local("2026-02-24 10:00"), reason="vendor late"
        ),
    ),
    ("schedule.delete", "windows", lambda c, i: schedules.delete_schedule(c, i.schedule)),
    ("schedule.extend", "windows", lambda c, i: schedules.extend_schedules(c)),
    ("notice.reminders", "windows", lambda c, i: notices.queue_reminders(c)),
    (
        "outage.create",
        "outages",
        lambda c, i: outages.create_outage(
            c, outages.OutageDraft("Matrix outage", ("node2433",), local("2026-02-15 09:00"))
        ),
    ),
    (
        "outage.update",
        "outages",
        lambda c, i: outages.update_outage(c, i.open_outage, outages.OutageChanges(description="more")),
    ),
    (
        "outage.correct",
        "correction",
        lambda c, i: outages.create_outage(
            c,
            outages.OutageDraft(
                "Old", ("node2433",), local("2025-11-02 09:00"), end=local("2025-11-02 10:00")
            ),
            correction=True,
            reason="late report",
        ),
    ),
    (
        "reservation.record",
        "reservations",
        lambda c, i: reservations.record_reservation(
            c,
            reservations.ReservationDraft(
                "node2433", "Climate Ensemble Modelling", date(2026, 4, 20), 2, "lnguyen"
            ),
            waive_policy=True,
        ),
    ),
    ("reservation.approve", "reservations", lambda c, i: reservations.approve_reservation(c, i.pending)),
    (
        "reservation.decline",
        "reservations",
        lambda c, i: reservations.decline_reservation(c, i.pending, "full"),
    ),
    ("project.add", "projects", lambda c, i: projects.add_project(c, "Matrix Project", "viewer")),
    (
        "project.update",
        "projects",
        lambda c, i: projects.update_project(c, "Climate Ensemble Modelling", description="d"),
    ),
    (
        "project.archive",
        "projects",
        lambda c, i: projects.set_project_status(c, "Matrix Archive", "archived", reason="done"),
    ),
    (
        "member.add",
        "projects",
        lambda c, i: projects.add_member(c, "Matrix Archive", "okim", "member"),
    ),
    (
        "member.remove",
        "projects",
        lambda c, i: projects.remove_member(c, "Matrix Archive", "apatel", "member"),
    ),
    (
        "split.propose",
        "propose_split",
        lambda c, i: splits.propose_split(c, "Astrophysics N-body", [("NSF-1", "100")], date(2026, 3, 1)),
    ),
    ("split.approve", "approve_split", lambda c, i: splits.approve_split(c, "Genomics Variant Calling")),
    ("split.reject", "approve_split", lambda c, i: splits.reject_split(c, "Genomics Variant Calling", "no")),
    ("rate.set", "rates", lambda c, i: rates.set_rate(c, "NODE_A100", "5.00", date(2026, 3, 1))),
    ("sku.create", "rates", lambda c, i: rates.create_fee_sku(c, "QOS_MATRIX", "Matrix QoS", "qos")),
    (
        "subscription.add",
        "subscriptions",
        lambda c, i: subscriptions.add_subscription(
            c, "lnguyen", "QOS_LONGJOB", "Climate Ensemble Modelling", date(2026, 3, 1)
        ),
    ),
    (
        "subscription.end",
        "subscriptions",
        lambda c, i: subscriptions.end_subscription(c, 1, date(2026, 3, 31)),
    ),
    (
        "subscription.change",
        "subscriptions",
        lambda c, i: subscriptions.change_subscription(c, 1, date(2026, 3, 1), sku_code="MAINT_STANDARD"),
    ),
    ("invoice.finalize", "billing", lambda c, i: invoices.finalize(c, "2026-01")),
    ("invoice.unfinalize", "billing", lambda c, i: invoices.unfinalize(c, "2025-12", "recheck")),
    (
        "override.set",
        "billing",
        lambda c, i: overrides.set_override(
            c, "2026-01", i.january_other, kind="hours", hours="1", reason="r"
        ),
    ),
    ("override.clear", "billing", lambda c, i: overrides.clear_override(c, "2026-01", i.january, "undo")),
    ("user.add", "users", lambda c, i: users.add_user(c, "newbie", ["viewer"])),
    ("user.roles", "users", lambda c, i: users.set_roles(c, "viewer", ["viewer", "rate_manager"])),
    ("user.update", "users", lambda c, i: users.update_user(c, "viewer", full_name="V")),
    ("setting.set", "settings", lambda c, i: settings.set_setting(c, "reminder_hours", "12")),
    ("window.list", "read", lambda c, i: win.list_windows(c, win.WindowQuery())),
    ("invoice.show", "read", lambda c, i: invoices.live_invoice(c, "2026-01")),
    ("activity.list", "read", lambda c, i: activity.list_activity(c)),
]


def _run(runtime: Runtime, role: str, action: Action, ids: Ids) -> Exception | None:
    rt = runtime if role == "admin" else runtime_as(runtime, LOGIN_OF[role])
    try:
        with rt.write(dry_run=True) as ctx:
            action(ctx, ids)
    except Exception as exc:  # collected and judged by the caller
        return exc
    return None


def test_table_covers_every_capability() -> None:
    """A capability added to core without a row in the permissions table makes this fail."""
    area_of = {
        "read": "read",
        "manage_users": "users",
        "manage_settings": "settings",
        "manage_inventory": "inventory",
        "manage_windows": "windows",
        "correct": "correction",
        "manage_outages": "outages",
        "manage_reservations": "reservations",
        "manage_projects": "projects",
        "request_splits": "propose_split",
        "approve_splits": "approve_split",
        "manage_rates": "rates",
        "manage_subscriptions": "subscriptions",
        "manage_billing": "billing",
        "backup": "backup",
    }
    assert set(PERMISSIONS) == set(area_of), set(PERMISSIONS) ^ set(area_of)
    assert set(area_of.values()) == set(AREAS)
    assert {area for _, area, _ in ACTIONS} | {"backup"} == set(AREAS)


def test_every_action_by_every_role(runtime: Runtime) -> None:
    ids = seed(runtime)
    wrong: list[str] = []
    for role in ROLES:
        for name, area, action in ACTIONS:
            error = _run(runtime, role, action, ids)
            expect = allowed(area, role)
            if role == "admin" and error is not None:
                wrong.append(f"admin {name}: setup problem, admin failed with {error!r}")
            elif expect and isinstance(error, PermissionDenied):
                wrong.append(f"{role} {name}: refused but the role rules allow it ({error})")
            elif not expect and not isinstance(error, PermissionDenied):
                wrong.append(f"{role} {name}: allowed but the role rules refuse it (got {error!r})")
            elif isinstance(error, PermissionDenied):
                assert "\n" not in str(error) and ("may not" in str(error) or "not registered" in str(error))
    assert not wrong, "\n".join(wrong)


def test_backup_export_is_admin_only(runtime: Runtime, tmp_path: Path) -> None:
    with runtime.write() as ctx:
        for role, login in LOGIN_OF.items():
            if role != "unregistered":
                users.add_user(ctx, login, [role])
    for role in ROLES:
        rt = runtime if role == "admin" else runtime_as(runtime, LOGIN_OF[role])
        try:
            exporter.export_backup(rt, tmp_path / role, timestamp=False, dry_run=True)
            error = None
        except PermissionDenied as exc:
            error = exc
        assert (error is None) == allowed("backup", role), (role, error)


def test_site_actions_are_admin_only(runtime: Runtime) -> None:
    """Wiping the site (init --force), upgrading its schema and moving the clock with
    NODEDESK_NOW: admins only, judged by the real user (an admin acting as a viewer may still
    set the clock, but may not wipe the site as that viewer)."""
    from nodedesk.core.clock import ENV_NOW
    from nodedesk.core.config import Config
    from nodedesk.core.services.site import setup

    with runtime.write() as ctx:
        for role, login in LOGIN_OF.items():
            if role != "unregistered":
                users.add_user(ctx, login, [role])
    for role in ROLES:
        login = "admin" if role == "admin" else LOGIN_OF[role]
        for area in ("init", "db_upgrade"):
            try:
                setup.require_site_admin(runtime.database, login)
                error = None
            except PermissionDenied as exc:
                error = exc
            assert (error is None) == allowed(area, role), (role, area, error)
        config = Config(runtime.config.database_url, environ={ENV_NOW: "2026-01-01 08:00"})
        rt = Runtime(config, login=login, database=runtime.database)
        try:
            with rt.read() as ctx:
                assert ctx.now() == local("2026-01-01 08:00")
            error = None
        except PermissionDenied as exc:
            error = exc
            if role != "unregistered":
                assert str(error).startswith(f"{ENV_NOW}: only an admin may set the clock")
        assert (error is None) == allowed("clock", role), (role, error)
    as_viewer = Runtime(
        Config(runtime.config.database_url, user_override="viewer", environ={ENV_NOW: "2026-01-01"}),
        login="admin",
        database=runtime.database,
    )
    with as_viewer.read() as ctx:
        assert ctx.actor.audit_name == "admin as viewer" and ctx.clock.frozen
    with pytest.raises(PermissionDenied, match="viewer may not wipe this site"):
        setup.require_site_admin(runtime.database, "admin", "viewer")
