"""Projects (unique title, owner/PI, active or archived) and their members with project roles.

The owner is a registered user and always holds the ``owner`` project role; changing the owner
moves that role. A user may hold several project roles. A fee subscription may only be billed
to a project where its user is owner, technical_admin or member (see subscriptions), so removing
the role that allows an open subscription is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import ConflictError, LockedError, NotFoundError, ValidationError
from ...fieldcheck import FieldProblem, Problems
from ...models import (
    ACTIVE_RESERVATION_STATUSES,
    PROJECT_ROLES,
    PROJECT_STATUSES,
    FeeSubscription,
    FeeSubscriptionPeriod,
    Project,
    ProjectMember,
    Reservation,
    User,
)
from ..site.users import get_by_username

# Project roles that let a user's fee subscription be billed to the project.
SUBSCRIBER_ROLES = ("owner", "technical_admin", "member")


def validate_description(value: str | None) -> str:
    """A project's description (shared with the backup import)."""
    return validate.text(value, "description", max_len=4000)


@dataclass(frozen=True)
class MemberView:
    """One user on a project with all the project roles they hold."""

    username: str
    full_name: str
    roles: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"user": self.username, "full_name": self.full_name, "roles": list(self.roles)}


@dataclass(frozen=True)
class ProjectView:
    id: int
    uuid: str
    title: str
    description: str
    owner: str
    owner_name: str
    status: str
    members: tuple[MemberView, ...]
    created_by: str
    created_at: datetime
    modified_by: str
    modified_at: datetime
    version: int

    def roles_of(self, username: str) -> tuple[str, ...]:
        for m in self.members:
            if m.username == username:
                return m.roles
        return ()

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "title": self.title,
            "description": self.description,
            "owner": self.owner,
            "owner_name": self.owner_name,
            "status": self.status,
            "members": [m.to_json() for m in self.members],
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "modified_by": self.modified_by,
            "modified_at": timeutil.iso_local(self.modified_at, tz),
            "version": self.version,
        }


def _role_order(role: str) -> int:
    return PROJECT_ROLES.index(role)


def view(project: Project) -> ProjectView:
    by_user: dict[str, tuple[User, list[str]]] = {}
    for m in project.members:
        by_user.setdefault(m.user.username, (m.user, []))[1].append(m.role)
    members = sorted(
        (
            MemberView(u.username, u.full_name, tuple(sorted(roles, key=_role_order)))
            for u, roles in by_user.values()
        ),
        key=lambda mv: (_role_order(mv.roles[0]), mv.username),
    )
    return ProjectView(
        id=project.id,
        uuid=project.uuid,
        title=project.title,
        description=project.description,
        owner=project.owner.username,
        owner_name=project.owner.full_name,
        status=project.status,
        members=tuple(members),
        created_by=project.created_by,
        created_at=project.created_at,
        modified_by=project.modified_by,
        modified_at=project.modified_at,
        version=project.version,
    )


def _audit_doc(v: ProjectView, tz: str) -> dict[str, object]:
    doc = v.to_json(tz)
    for volatile in ("modified_at", "modified_by", "version", "created_at", "created_by", "owner_name"):
        doc.pop(volatile, None)
    return doc


# ---------------------------------------------------------------- lookups


def find_project(ctx: ServiceContext, ref: str | int, field: str = "project") -> Project:
    """A project by exact title, else by case-insensitive title, else by numeric id."""
    if isinstance(ref, int):
        project = ctx.session.get(Project, ref)
        if project is None:
            raise NotFoundError(f"no project #{ref}", field=field)
        return project
    text = (ref or "").strip()
    if not text:
        raise ValidationError("is required (a project title)", field=field)
    project = ctx.session.scalar(select(Project).where(Project.title == text))
    if project is None:
        matches = ctx.session.scalars(select(Project).where(func.lower(Project.title) == text.lower())).all()
        if len(matches) == 1:
            project = matches[0]
    number = text.lstrip("#")
    # ASCII digits only ("²".isdigit() is true), and no more than an INTEGER column holds.
    if project is None and number.isascii() and number.isdigit() and len(number) <= 9:
        project = ctx.session.get(Project, int(number))
    if project is None:
        raise NotFoundError(f"no project titled {text!r}", field=field)
    return project


def _active_user(ctx: ServiceContext, username: str, field: str) -> User:
    user = get_by_username(ctx, (username or "").strip())
    if not user.active:
        raise ValidationError(f"user {user.username!r} is deactivated", field=field)
    return user


def project_roles(project: Project, user: User) -> list[str]:
    return sorted(
        (m.role for m in project.members if m.user is user or m.user_id == user.id), key=_role_order
    )


def _check_title_free(ctx: ServiceContext, title: str, except_id: int | None = None) -> None:
    stmt = select(Project.id, Project.title).where(func.lower(Project.title) == title.lower())
    for pid, existing in ctx.session.execute(stmt):
        if pid != except_id:
            raise ValidationError(f"a project titled {existing!r} already exists", field="title")


def _today(ctx: ServiceContext) -> date:
    return timeutil.local_day(ctx.now(), ctx.tz)


def _open_subscription_ids(ctx: ServiceContext, project: Project, user: User | None = None) -> list[int]:
    """Subscriptions with a period billed to the project that has not ended before today."""
    stmt = (
        select(FeeSubscriptionPeriod.subscription_id)
        .join(FeeSubscription, FeeSubscription.id == FeeSubscriptionPeriod.subscription_id)
        .where(
            FeeSubscriptionPeriod.project_id == project.id,
            or_(FeeSubscriptionPeriod.end_date.is_(None), FeeSubscriptionPeriod.end_date >= _today(ctx)),
        )
        .order_by(FeeSubscriptionPeriod.subscription_id)
        .distinct()
    )
    if user is not None:
        stmt = stmt.where(FeeSubscription.user_id == user.id)
    return list(ctx.session.scalars(stmt))


def _ensure_subscriptions_still_allowed(
    ctx: ServiceContext, project: Project, user: User, remaining: list[str], field: str
) -> None:
    if any(r in SUBSCRIBER_ROLES for r in remaining):
        return
    open_ids = _open_subscription_ids(ctx, project, user)
    if open_ids:
        ids = ", ".join(f"#{i}" for i in open_ids)
        raise ConflictError(
            f"{user.username} has fee subscription(s) {ids} billed to {project.title!r}, which need "
            "them to be owner, technical_admin or member there; end or move them first",
            field=field,
        )


# ---------------------------------------------------------------- create and edit


def _check_fields(
    ctx: ServiceContext,
    project: Project | None,
    title: str | None,
    owner: str | None,
    description: str | None,
) -> tuple[Problems, str | None, User | None, str | None]:
    """The rules of a new project (``project`` None) or of a change (None: unchanged)."""
    p = Problems()
    if project is not None and title is None and owner is None and description is None:
        p.add(ValidationError("nothing to change (give --title, --owner or --description)", field="changes"))
    new_title = p.attempt(validate.title, title) if title is not None or project is None else None
    new_desc = p.attempt(validate_description, description) if description is not None else None
    new_owner = None
    if owner is not None or project is None:
        if not (owner or "").strip():
            p.add(ValidationError("is required (the PI, a registered nodedesk user)", field="owner"))
        else:
            new_owner = p.attempt(_active_user, ctx, owner, "owner")
    if new_title is not None:
        p.attempt(_check_title_free, ctx, new_title, None if project is None else project.id)
    if project is not None and new_owner is not None and new_owner.id != project.owner.id:
        remaining = [r for r in project_roles(project, project.owner) if r != "owner"]
        p.attempt(_ensure_subscriptions_still_allowed, ctx, project, project.owner, remaining, "owner")
    return p, new_title, new_owner, new_desc


def check_project(
    ctx: ServiceContext,
    *,
    title: str | None = None,
    owner: str | None = None,
    description: str | None = None,
    project_id: int | None = None,
    expected_version: int | None = None,
) -> list[FieldProblem]:
    """Every refusal :func:`add_project` (``project_id`` None) or :func:`update_project` would
    meet now, without writing anything; both run the same check and raise its first."""
    p = Problems()
    project = None
    if project_id is not None:
        project = p.attempt(find_project, ctx, project_id)
        if project is None:
            return p.items
        p.attempt(_check_version, ctx, project, expected_version)
    problems, *_ = _check_fields(
        ctx, project, title, owner, "" if project is None and description is None else description
    )
    return p.items + problems.items


def add_project(ctx: ServiceContext, title: str, owner: str, description: str = "") -> ProjectView:
    ctx.require("manage_projects")
    problems, new_title, owner_user, new_desc = _check_fields(ctx, None, title, owner, description)
    problems.raise_first()
    assert new_title is not None and owner_user is not None
    title, description = new_title, new_desc or ""
    now, by = ctx.now(), ctx.actor.username
    project = Project(
        title=title,
        owner=owner_user,
        description=description,
        status="active",
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    project.members = [ProjectMember(user=owner_user, role="owner", added_at=now, added_by=by)]
    ctx.session.add(project)
    ctx.session.flush()
    result = view(project)
    ctx.record("project.created", "project", project.id, project.title, after=_audit_doc(result, ctx.tz))
    return result


def _check_version(ctx: ServiceContext, project: Project, expected: int | None) -> None:
    if expected is not None and project.version != expected:
        raise ConflictError(
            f"project {project.title!r} was changed by {project.modified_by} at "
            f"{timeutil.format_local(project.modified_at, ctx.tz)} since you opened it; reload and try again"
        )


def update_project(
    ctx: ServiceContext,
    ref: str | int,
    *,
    title: str | None = None,
    owner: str | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> ProjectView:
    """Rename, change the owner (the ``owner`` role moves with it) or the description."""
    ctx.require("manage_projects")
    project = find_project(ctx, ref)
    _check_version(ctx, project, expected_version)
    problems, new_title, new_owner, new_desc = _check_fields(ctx, project, title, owner, description)
    problems.raise_first()
    before = view(project)
    now, by = ctx.now(), ctx.actor.username
    if new_title is not None:
        project.title = new_title
    if new_desc is not None:
        project.description = new_desc
    if new_owner is not None:
        old_owner = project.owner
        if new_owner.id != old_owner.id:
            old_row = next(
                (m for m in project.members if m.user_id == old_owner.id and m.role == "owner"), None
            )
            if old_row is not None:
                project.members.remove(old_row)
            if "owner" not in project_roles(project, new_owner):
                project.members.append(ProjectMember(user=new_owner, role="owner", added_at=now, added_by=by))
            project.owner = new_owner
    _touch(project, now, by)
    ctx.session.flush()
    after = view(project)
    ctx.record(
        "project.updated",
        "project",
        project.id,
        project.title,
        before=_audit_doc(before, ctx.tz),
        after=_audit_doc(after, ctx.tz),
    )
    return after


def set_project_status(ctx: ServiceContext, ref: str | int, status: str, *, reason: str = "") -> ProjectView:
    """Archive (no open fee subscriptions or active reservations left) or reactivate a project."""
    ctx.require("manage_projects")
    status = validate.choice(status, "status", PROJECT_STATUSES)
    project = find_project(ctx, ref)
    if project.status == status:
        raise ValidationError(f"project {project.title!r} is already {status}", field="status")
    if status == "archived":
        # Lock the project row first: a booking in flight share-locks it (PostgreSQL), so it
        # either commits before our count or waits until the archive is decided.
        ctx.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
        open_ids = _open_subscription_ids(ctx, project)
        if open_ids:
            raise LockedError(
                f"project {project.title!r} still bills fee subscription(s) "
                f"{', '.join(f'#{i}' for i in open_ids)}; end them before archiving",
                field="status",
            )
        busy = ctx.session.scalar(
            select(func.count(Reservation.id)).where(
                Reservation.project_id == project.id,
                Reservation.status.in_(ACTIVE_RESERVATION_STATUSES),
                Reservation.end > ctx.now(),
            )
        )
        if busy:
            raise LockedError(
                f"project {project.title!r} has {busy} pending or approved reservation(s) not yet over; "
                "cancel them or wait before archiving",
                field="status",
            )
    before = view(project)
    project.status = status
    project.modified_at, project.modified_by = ctx.now(), ctx.actor.username
    ctx.session.flush()
    after = view(project)
    ctx.record(
        "project.archived" if status == "archived" else "project.reactivated",
        "project",
        project.id,
        project.title,
        before={"status": before.status},
        after={"status": after.status},
        reason=(reason or "").strip(),
    )
    return after


def archive_project(ctx: ServiceContext, ref: str | int, *, reason: str = "") -> ProjectView:
    return set_project_status(ctx, ref, "archived", reason=reason)


# ---------------------------------------------------------------- members


def _touch(project: Project, now: datetime, by: str) -> None:
    """Record who changed the project; always bumps its version (members live in other rows)."""
    project.modified_at, project.modified_by = now, by
    flag_modified(project, "modified_at")


def _ensure_active(project: Project, what: str) -> None:
    if project.status != "active":
        raise LockedError(f"{project.title!r} is archived; {what} needs it active", field="project")


def add_member(ctx: ServiceContext, ref: str | int, username: str, role: str) -> ProjectView:
    ctx.require("manage_projects")
    project = find_project(ctx, ref)
    role = validate.choice(role, "role", PROJECT_ROLES)
    if role == "owner":
        raise ValidationError(
            "a project has one owner (the PI); change it with 'project edit --owner'", field="role"
        )
    _ensure_active(project, "adding members")
    user = _active_user(ctx, username, "user")
    if role in project_roles(project, user):
        raise ValidationError(f"{user.username} already has role {role} on {project.title!r}", field="role")
    now, by = ctx.now(), ctx.actor.username
    before_roles = project_roles(project, user)
    project.members.append(ProjectMember(user=user, role=role, added_at=now, added_by=by))
    _touch(project, now, by)
    ctx.session.flush()
    result = view(project)
    ctx.record(
        "project.member_added",
        "project",
        project.id,
        project.title,
        before={"user": user.username, "roles": before_roles},
        after={"user": user.username, "roles": list(result.roles_of(user.username))},
    )
    return result


def remove_member(ctx: ServiceContext, ref: str | int, username: str, role: str | None = None) -> ProjectView:
    """Remove one project role of a user, or (``role=None``) all their roles except owner."""
    ctx.require("manage_projects")
    project = find_project(ctx, ref)
    user = get_by_username(ctx, (username or "").strip())
    held = project_roles(project, user)
    if not held:
        raise NotFoundError(f"{user.username} is not a member of {project.title!r}", field="user")
    if role is not None:
        role = validate.choice(role, "role", PROJECT_ROLES)
        if role not in held:
            raise NotFoundError(
                f"{user.username} does not hold role {role} on {project.title!r} (holds {', '.join(held)})",
                field="role",
            )
        dropping = [role]
    else:
        dropping = [r for r in held if r != "owner"]
        if not dropping:
            raise ValidationError(
                f"{user.username} is the owner of {project.title!r}; change the owner first", field="user"
            )
    if "owner" in dropping:
        raise ValidationError(
            "the owner role cannot be removed; give the project another owner with 'project edit --owner'",
            field="role",
        )
    remaining = [r for r in held if r not in dropping]
    _ensure_subscriptions_still_allowed(ctx, project, user, remaining, "user")
    for row in [m for m in project.members if m.user_id == user.id and m.role in dropping]:
        project.members.remove(row)
    _touch(project, ctx.now(), ctx.actor.username)
    ctx.session.flush()
    result = view(project)
    ctx.record(
        "project.member_removed",
        "project",
        project.id,
        project.title,
        before={"user": user.username, "roles": held},
        after={"user": user.username, "roles": remaining},
    )
    return result


# ---------------------------------------------------------------- read


def get_project(ctx: ServiceContext, ref: str | int) -> ProjectView:
    ctx.require("read")
    return view(find_project(ctx, ref))


def list_projects(
    ctx: ServiceContext, *, status: str | None = None, member: str | None = None
) -> list[ProjectView]:
    """Projects by title; optionally only one status, or only those a user belongs to."""
    ctx.require("read")
    stmt = (
        select(Project).options(selectinload(Project.members)).order_by(func.lower(Project.title), Project.id)
    )
    if status:
        stmt = stmt.where(Project.status == validate.choice(status, "status", PROJECT_STATUSES))
    if member:
        user = get_by_username(ctx, member)
        stmt = stmt.where(
            Project.id.in_(select(ProjectMember.project_id).where(ProjectMember.user_id == user.id))
        )
    return [view(p) for p in ctx.session.scalars(stmt).unique()]
