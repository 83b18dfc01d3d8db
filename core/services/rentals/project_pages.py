"""Paged project lists and the project overview the full-screen app shows.

The list is filtered, counted and paged in SQL (never the whole table); for the projects on the
page it adds the cost split in force on a day (today by default) and the pending version, with
one query each. The overview bundles what a project's detail screen shows in one unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import selectinload

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import ValidationError
from ...models import PROJECT_STATUSES, CostSplitPart, CostSplitVersion, Project, ProjectMember, User
from . import splits, subscriptions
from .projects import ProjectView, find_project
from .projects import view as project_view

SHOW = (None, "active", "archived", "pending_split")  # list filters, in the order a UI cycles them


@dataclass(frozen=True)
class ProjectQuery:
    """``status``: active | archived | pending_split (projects with a split awaiting approval)."""

    status: str | None = None
    text: str = ""  # title, description, owner, member username or a cost object code
    offset: int = 0
    limit: int = 50
    on: date | None = None  # the day whose split in force is shown (today when None)


@dataclass(frozen=True)
class ProjectRow:
    project: ProjectView
    split: splits.SplitView | None  # in force on the query's day; None: UNALLOCATED
    pending: splits.SplitView | None

    @property
    def member_count(self) -> int:
        return len(self.project.members)


@dataclass(frozen=True)
class ProjectPage:
    items: list[ProjectRow]
    total: int
    offset: int
    limit: int
    on: date


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(query: ProjectQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if query.status == "pending_split":
        conds.append(
            exists().where(CostSplitVersion.project_id == Project.id, CostSplitVersion.status == "pending")
        )
    elif query.status:
        conds.append(Project.status == validate.choice(query.status, "status", PROJECT_STATUSES))
    needle = query.text.strip()
    if needle:
        pattern = _like(needle)
        owner = select(User.id).where(
            User.id == Project.owner_id,
            or_(User.username.ilike(pattern, escape="\\"), User.full_name.ilike(pattern, escape="\\")),
        )
        member = (
            select(ProjectMember.id)
            .join(User, User.id == ProjectMember.user_id)
            .where(ProjectMember.project_id == Project.id, User.username.ilike(pattern, escape="\\"))
        )
        cost_object = (
            select(CostSplitPart.id)
            .join(CostSplitVersion, CostSplitVersion.id == CostSplitPart.split_id)
            .where(
                CostSplitVersion.project_id == Project.id,
                CostSplitPart.cost_object.ilike(pattern, escape="\\"),
            )
        )
        conds.append(
            or_(
                Project.title.ilike(pattern, escape="\\"),
                Project.description.ilike(pattern, escape="\\"),
                owner.exists(),
                member.exists(),
                cost_object.exists(),
            )
        )
    return conds


def _splits_for(ctx: ServiceContext, ids: list[int], day: date) -> dict[int, splits.SplitView]:
    """The approved version in force on ``day`` for each project id (absent: UNALLOCATED)."""
    rows = ctx.session.scalars(
        select(CostSplitVersion)
        .options(selectinload(CostSplitVersion.parts))
        .where(
            CostSplitVersion.project_id.in_(ids),
            CostSplitVersion.status == "approved",
            CostSplitVersion.effective_date <= day,
        )
        .order_by(CostSplitVersion.effective_date, CostSplitVersion.id)
    )
    found: dict[int, CostSplitVersion] = {}
    for v in rows:
        found[v.project_id] = v  # ordered: the last one seen is in force
    return {pid: splits.view(v) for pid, v in found.items()}


def _pending_for(ctx: ServiceContext, ids: list[int]) -> dict[int, splits.SplitView]:
    rows = ctx.session.scalars(
        select(CostSplitVersion)
        .options(selectinload(CostSplitVersion.parts))
        .where(CostSplitVersion.project_id.in_(ids), CostSplitVersion.status == "pending")
        .order_by(CostSplitVersion.id)
    )
    found: dict[int, CostSplitVersion] = {}
    for v in rows:
        found[v.project_id] = v  # the newest pending version (there is at most one)
    return {pid: splits.view(v) for pid, v in found.items()}


def list_project_page(ctx: ServiceContext, query: ProjectQuery = ProjectQuery()) -> ProjectPage:
    """One page of projects by title, with the split in force and any pending version."""
    ctx.require("read")
    if query.limit < 1 or query.limit > 1000:
        raise ValidationError("must be between 1 and 1000", field="limit")
    if query.status is not None and query.status not in SHOW:
        raise ValidationError(
            f"must be one of {', '.join(s for s in SHOW if s)} (got {query.status!r})", field="status"
        )
    day = query.on or timeutil.local_day(ctx.now(), ctx.tz)
    conds = _filters(query)
    total = ctx.session.scalar(select(func.count(Project.id)).where(*conds)) or 0
    rows = ctx.session.scalars(
        select(Project)
        .options(selectinload(Project.members))
        .where(*conds)
        .order_by(func.lower(Project.title), Project.id)
        .offset(max(query.offset, 0))
        .limit(query.limit)
    ).all()
    ids = [p.id for p in rows]
    in_force = _splits_for(ctx, ids, day) if ids else {}
    pending = _pending_for(ctx, ids) if ids else {}
    items = [ProjectRow(project_view(p), in_force.get(p.id), pending.get(p.id)) for p in rows]
    return ProjectPage(items, total, query.offset, query.limit, day)


@dataclass(frozen=True)
class ProjectOverview:
    """Everything a project's detail screen shows, read in one unit of work."""

    project: ProjectView
    today: date
    split: splits.SplitView | None  # in force today; None: UNALLOCATED
    pending: splits.SplitView | None
    history: list[splits.SplitView]  # every version, newest effective date first
    subscriptions: list[subscriptions.SubscriptionView]  # any period billed to the project


def project_overview(ctx: ServiceContext, project_ref: int | str) -> ProjectOverview:
    ctx.require("read")
    project = find_project(ctx, project_ref)
    today = timeutil.local_day(ctx.now(), ctx.tz)
    return ProjectOverview(
        project=project_view(project),
        today=today,
        split=splits.split_in_force(ctx, project, today),
        pending=splits.pending_split(ctx, project.id),
        history=splits.split_history(ctx, project.id),
        subscriptions=subscriptions.list_subscriptions(ctx, project=project.title),
    )
