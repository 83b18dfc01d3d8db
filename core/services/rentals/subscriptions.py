"""Fee subscriptions: account maintenance fees and QoS add-ons, one concept (help/projects.md).

A subscription belongs to a user and is kept as *period rows*, each with a fixed monthly SKU,
billing project, start date and optional inclusive end date. History is never rewritten:

- ``end`` sets the current (last) period's end date (the last day billed) and records who closed
  it and when;
- ``change`` (another SKU or billing project from a date) closes the current period on the day
  before and opens a new period from that date, carrying over any planned end date.

Rules: the SKU is a monthly one; the user must be owner, technical_admin or member of the
billing project (financial_admin alone is not enough); end >= start; a user never has two
overlapping periods of the same SKU, nor of two account maintenance SKUs; nothing may change a
day of a finalized invoice month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from ... import timeutil
from ...context import ServiceContext
from ...errors import ConflictError, LockedError, NotFoundError, ValidationError
from ...models import FeeSubscription, FeeSubscriptionPeriod, Project, Sku, User
from ..invoicing.finalized_days import ensure_days_open
from ..invoicing.rates import find_sku
from ..site.users import get_by_username
from .projects import SUBSCRIBER_ROLES, find_project, project_roles

STATUSES = ("upcoming", "active", "ended")
EXCLUSIVE_CATEGORIES = ("maintenance",)  # one account maintenance fee at a time


@dataclass(frozen=True)
class PeriodView:
    id: int
    sku: str
    project: str
    start_date: date
    end_date: date | None
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "sku": self.sku,
            "project": self.project,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "closed_by": self.closed_by,
            "closed_at": timeutil.iso_local(self.closed_at, tz) if self.closed_at else None,
        }


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    uuid: str
    user: str
    user_name: str
    status: str
    periods: tuple[PeriodView, ...]
    created_by: str
    created_at: datetime
    modified_by: str
    modified_at: datetime
    version: int

    @property
    def current(self) -> PeriodView:
        """The last period: the one ``end`` and ``change`` act on."""
        return self.periods[-1]

    @property
    def start_date(self) -> date:
        return self.periods[0].start_date

    @property
    def end_date(self) -> date | None:
        return self.periods[-1].end_date

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "user": self.user,
            "user_name": self.user_name,
            "status": self.status,
            "sku": self.current.sku,
            "project": self.current.project,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "periods": [p.to_json(tz) for p in self.periods],
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "modified_by": self.modified_by,
            "modified_at": timeutil.iso_local(self.modified_at, tz),
            "version": self.version,
        }


def _sorted_periods(sub: FeeSubscription) -> list[FeeSubscriptionPeriod]:
    return sorted(sub.periods, key=lambda p: (p.start_date, p.id or 0))


def period_view(p: FeeSubscriptionPeriod) -> PeriodView:
    return PeriodView(
        p.id,
        p.sku.code,
        p.project.title,
        p.start_date,
        p.end_date,
        p.created_by,
        p.created_at,
        p.closed_by,
        p.closed_at,
    )


def status_on(periods: tuple[PeriodView, ...], today: date) -> str:
    if today < periods[0].start_date:
        return "upcoming"
    last_end = periods[-1].end_date
    if last_end is not None and last_end < today:
        return "ended"
    return "active"


def view(sub: FeeSubscription, today: date) -> SubscriptionView:
    periods = tuple(period_view(p) for p in _sorted_periods(sub))
    return SubscriptionView(
        id=sub.id,
        uuid=sub.uuid,
        user=sub.user.username,
        user_name=sub.user.full_name,
        status=status_on(periods, today),
        periods=periods,
        created_by=sub.created_by,
        created_at=sub.created_at,
        modified_by=sub.modified_by,
        modified_at=sub.modified_at,
        version=sub.version,
    )


def _today(ctx: ServiceContext) -> date:
    return timeutil.local_day(ctx.now(), ctx.tz)


def _audit_doc(v: SubscriptionView, tz: str) -> dict[str, object]:
    return {
        "user": v.user,
        "periods": [
            {
                "id": p.id,
                "sku": p.sku,
                "project": p.project,
                "start_date": p.start_date.isoformat(),
                "end_date": p.end_date.isoformat() if p.end_date else None,
            }
            for p in v.periods
        ],
    }


# ---------------------------------------------------------------- checks


def _check_dates(start: date, end: date | None, start_field: str = "start") -> None:
    for name, value in ((start_field, start), ("end", end)):
        if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
            raise ValidationError("must be a calendar date (YYYY-MM-DD)", field=name)
    if end is not None and end < start:
        raise ValidationError(
            f"must be on or after the start ({start.isoformat()}); it is the last day billed", field="end"
        )


def _check_sku(sku: Sku) -> None:
    if sku.kind != "monthly":
        raise ValidationError(
            f"{sku.code} is an {sku.kind} SKU; subscriptions need a monthly fee SKU (MAINT_*, QOS_*)",
            field="sku",
        )
    if not sku.active:
        raise ValidationError(f"{sku.code} is no longer offered (inactive)", field="sku")


def check_billing_project(project: Project, user: User) -> None:
    """The user must be owner, technical_admin or member of an active billing project."""
    if project.status != "active":
        raise ValidationError(f"{project.title!r} is archived; bill an active project", field="project")
    roles = project_roles(project, user)
    if not any(r in SUBSCRIBER_ROLES for r in roles):
        held = f"only {', '.join(roles)}" if roles else "not a member"
        raise ValidationError(
            f"{user.username} is {held} on {project.title!r}; a fee is billed only to a project where "
            "the user is owner, technical_admin or member",
            field="project",
        )


def _overlaps(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    return (b_end is None or a_start <= b_end) and (a_end is None or b_start <= a_end)


def _check_no_clash(
    ctx: ServiceContext,
    user: User,
    sku: Sku,
    start: date,
    end: date | None,
    ignore_period_id: int | None = None,
) -> None:
    rows = ctx.session.scalars(
        select(FeeSubscriptionPeriod)
        .join(FeeSubscription, FeeSubscription.id == FeeSubscriptionPeriod.subscription_id)
        .where(
            FeeSubscription.user_id == user.id,
            or_(FeeSubscriptionPeriod.end_date.is_(None), FeeSubscriptionPeriod.end_date >= start),
        )
        .order_by(FeeSubscriptionPeriod.start_date)
    )
    for p in rows:
        if p.id == ignore_period_id or not _overlaps(start, end, p.start_date, p.end_date):
            continue
        same = p.sku_id == sku.id
        exclusive = sku.category in EXCLUSIVE_CATEGORIES and p.sku.category == sku.category
        if same or exclusive:
            until = p.end_date.isoformat() if p.end_date else "open-ended"
            raise ConflictError(
                f"{user.username} already has {p.sku.code} from {p.start_date.isoformat()} to {until} "
                f"(subscription #{p.subscription_id})"
                + ("; one account maintenance fee at a time" if exclusive and not same else ""),
                field="sku",
            )


def _after(day: date | None) -> date | None:
    return None if day is None else day + timedelta(days=1)


def _load(ctx: ServiceContext, sub_id: int) -> FeeSubscription:
    sub = ctx.session.get(FeeSubscription, sub_id)
    if sub is None:
        raise NotFoundError(f"no fee subscription #{sub_id}", field="id")
    return sub


def _check_version(ctx: ServiceContext, sub: FeeSubscription, expected: int | None) -> None:
    if expected is not None and sub.version != expected:
        raise ConflictError(
            f"subscription #{sub.id} was changed by {sub.modified_by} at "
            f"{timeutil.format_local(sub.modified_at, ctx.tz)} since you opened it; reload and try again"
        )


# ---------------------------------------------------------------- changes


def add_subscription(
    ctx: ServiceContext,
    username: str,
    sku_code: str,
    project_ref: str | int,
    start: date,
    end: date | None = None,
) -> SubscriptionView:
    ctx.require("manage_subscriptions")
    user = get_by_username(ctx, (username or "").strip())
    if not user.active:
        raise ValidationError(f"user {user.username!r} is deactivated", field="user")
    sku = find_sku(ctx, sku_code)
    _check_sku(sku)
    project = find_project(ctx, project_ref)
    _check_dates(start, end)
    check_billing_project(project, user)
    _check_no_clash(ctx, user, sku, start, end)
    ensure_days_open(ctx, start, _after(end), f"a {sku.code} subscription from {start.isoformat()}", "start")
    now, by = ctx.now(), ctx.actor.username
    sub = FeeSubscription(user=user, created_at=now, created_by=by, modified_at=now, modified_by=by)
    period = FeeSubscriptionPeriod(
        subscription=sub,
        sku=sku,
        project=project,
        start_date=start,
        end_date=end,
        created_at=now,
        created_by=by,
    )
    ctx.session.add_all([sub, period])
    ctx.session.flush()
    result = view(sub, _today(ctx))
    ctx.record(
        "subscription.created",
        "subscription",
        sub.id,
        f"{user.username} {sku.code}",
        after=_audit_doc(result, ctx.tz),
    )
    return result


def _current_open(ctx: ServiceContext, sub: FeeSubscription) -> FeeSubscriptionPeriod:
    last = _sorted_periods(sub)[-1]
    if last.closed_at is not None and last.end_date is not None:
        raise LockedError(
            f"subscription #{sub.id} ended on {last.end_date.isoformat()} "
            f"(closed by {last.closed_by}); add a new subscription instead",
            field="id",
        )
    return last


def end_subscription(
    ctx: ServiceContext, sub_id: int, on: date, *, expected_version: int | None = None
) -> SubscriptionView:
    """End the subscription: ``on`` is the last day billed."""
    ctx.require("manage_subscriptions")
    sub = _load(ctx, sub_id)
    _check_version(ctx, sub, expected_version)
    last = _current_open(ctx, sub)
    _check_dates(on, None, "on")
    if on < last.start_date:
        raise ValidationError(
            f"is before the current period's start ({last.start_date.isoformat()}); "
            "history is never rewritten, so end it on or after that day",
            field="on",
        )
    if last.end_date is not None and on > last.end_date:
        raise ValidationError(
            f"subscription #{sub.id} already ends on {last.end_date.isoformat()}; "
            "ending later would extend it (add a new subscription for more time)",
            field="on",
        )
    if last.end_date is None or on < last.end_date:
        ensure_days_open(
            ctx, on + timedelta(days=1), _after(last.end_date), f"ending subscription #{sub.id} on {on}", "on"
        )
    today = _today(ctx)
    before = view(sub, today)
    now, by = ctx.now(), ctx.actor.username
    last.end_date = on
    last.closed_at, last.closed_by = now, by
    sub.modified_at, sub.modified_by = now, by
    flag_modified(sub, "modified_at")  # the periods changed: bump the version
    ctx.session.flush()
    result = view(sub, today)
    ctx.record(
        "subscription.ended",
        "subscription",
        sub.id,
        f"{result.user} {result.current.sku}",
        before=_audit_doc(before, ctx.tz),
        after=_audit_doc(result, ctx.tz),
    )
    return result


def change_subscription(
    ctx: ServiceContext,
    sub_id: int,
    from_day: date,
    *,
    sku_code: str | None = None,
    project_ref: str | int | None = None,
    expected_version: int | None = None,
) -> SubscriptionView:
    """Bill another SKU and/or project from ``from_day``: close the current period, open a new one."""
    ctx.require("manage_subscriptions")
    if sku_code is None and project_ref is None:
        raise ValidationError("nothing to change (give --sku and/or --project)", field="changes")
    sub = _load(ctx, sub_id)
    _check_version(ctx, sub, expected_version)
    last = _current_open(ctx, sub)
    _check_dates(from_day, None, "from")
    if from_day <= last.start_date:
        raise ValidationError(
            f"must be after the current period's start ({last.start_date.isoformat()}); "
            "history is never rewritten",
            field="from",
        )
    if last.end_date is not None and from_day > last.end_date:
        raise ValidationError(
            f"subscription #{sub.id} ends on {last.end_date.isoformat()}, before that day", field="from"
        )
    sku = find_sku(ctx, sku_code) if sku_code is not None else last.sku
    project = find_project(ctx, project_ref) if project_ref is not None else last.project
    if sku.id == last.sku_id and project.id == last.project_id:
        raise ValidationError(
            f"subscription #{sub.id} already bills {sku.code} to {project.title!r}", field="changes"
        )
    _check_sku(sku)
    check_billing_project(project, sub.user)
    _check_no_clash(ctx, sub.user, sku, from_day, last.end_date, ignore_period_id=last.id)
    ensure_days_open(
        ctx, from_day, _after(last.end_date), f"changing subscription #{sub.id} from {from_day}", "from"
    )
    today = _today(ctx)
    before = view(sub, today)
    now, by = ctx.now(), ctx.actor.username
    new = FeeSubscriptionPeriod(
        subscription=sub,
        sku=sku,
        project=project,
        start_date=from_day,
        end_date=last.end_date,
        created_at=now,
        created_by=by,
    )
    last.end_date = from_day - timedelta(days=1)
    last.closed_at, last.closed_by = now, by
    sub.modified_at, sub.modified_by = now, by
    flag_modified(sub, "modified_at")  # the periods changed: bump the version
    ctx.session.add(new)
    ctx.session.flush()
    result = view(sub, today)
    ctx.record(
        "subscription.changed",
        "subscription",
        sub.id,
        f"{result.user} {result.current.sku}",
        before=_audit_doc(before, ctx.tz),
        after=_audit_doc(result, ctx.tz),
    )
    return result


# ---------------------------------------------------------------- read


def get_subscription(ctx: ServiceContext, sub_id: int) -> SubscriptionView:
    ctx.require("read")
    return view(_load(ctx, sub_id), _today(ctx))


def list_subscriptions(
    ctx: ServiceContext,
    *,
    user: str | None = None,
    project: str | None = None,
    sku: str | None = None,
    status: str | None = None,
) -> list[SubscriptionView]:
    """Subscriptions with their periods, by id; filters match any period (project, SKU)."""
    ctx.require("read")
    stmt = select(FeeSubscription).options(selectinload(FeeSubscription.periods)).order_by(FeeSubscription.id)
    if user:
        stmt = stmt.where(FeeSubscription.user_id == get_by_username(ctx, user).id)
    period_filters = []
    if project:
        period_filters.append(FeeSubscriptionPeriod.project_id == find_project(ctx, project).id)
    if sku:
        period_filters.append(FeeSubscriptionPeriod.sku_id == find_sku(ctx, sku).id)
    if period_filters:
        stmt = stmt.where(
            FeeSubscription.id.in_(select(FeeSubscriptionPeriod.subscription_id).where(*period_filters))
        )
    if status is not None and status not in STATUSES:
        raise ValidationError(f"must be one of {', '.join(STATUSES)} (got {status!r})", field="status")
    today = _today(ctx)
    views = [view(s, today) for s in ctx.session.scalars(stmt).unique()]
    return [v for v in views if status is None or v.status == status]


@dataclass(frozen=True)
class FeePeriod:
    """A period row as billing needs it."""

    subscription_id: int
    period_id: int
    user: str
    sku: str
    project: str
    project_id: int
    start_date: date
    end_date: date | None


def periods_overlapping(ctx: ServiceContext, first: date, last: date) -> list[FeePeriod]:
    """Every period row with at least one day in ``[first, last]`` (inclusive), for billing."""
    ctx.require("read")
    rows = ctx.session.scalars(
        select(FeeSubscriptionPeriod)
        .options(selectinload(FeeSubscriptionPeriod.subscription))
        .where(
            FeeSubscriptionPeriod.start_date <= last,
            or_(FeeSubscriptionPeriod.end_date.is_(None), FeeSubscriptionPeriod.end_date >= first),
        )
        .order_by(FeeSubscriptionPeriod.subscription_id, FeeSubscriptionPeriod.start_date)
    )
    return [
        FeePeriod(
            p.subscription_id,
            p.id,
            p.subscription.user.username,
            p.sku.code,
            p.project.title,
            p.project_id,
            p.start_date,
            p.end_date,
        )
        for p in rows
    ]
