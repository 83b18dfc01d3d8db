"""Billing overrides: a billing manager's deliberate change to one reservation line of a month.

Kinds (help/invoices.md): ``exclude`` (line shown, amount 0), ``hours`` (replaces the net hours; each
day's share scales in proportion), ``split`` (explicit percentages summing to 100 for the whole
line), ``charge_to`` (billed to another project, with that project's split). One override per
line and month: setting a new one replaces the old one. A reason is always required; every
change is audited. A finalized month's overrides cannot change (unfinalize it first).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ... import timeutil, validate
from ...billing.money import decimal_text
from ...context import ServiceContext
from ...errors import ConflictError, NotFoundError, ValidationError
from ...intervals import Interval
from ...models import OVERRIDE_KINDS, BillingOverride, Project, Reservation
from .invoices import ensure_month_open, month_interval, parse_month

HOURS_PLACES = 6


@dataclass(frozen=True)
class OverrideView:
    id: int
    period: str
    reservation_id: int
    node: str
    project: str
    kind: str
    value: Any  # True | "20.00" | {"CODE": "60.00"} | "Other project"
    reason: str
    by: str
    at: datetime
    version: int

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "period": self.period,
            "reservation_id": self.reservation_id,
            "node": self.node,
            "project": self.project,
            "kind": self.kind,
            "value": self.value,
            "reason": self.reason,
            "by": self.by,
            "at": timeutil.iso_local(self.at, tz),
            "version": self.version,
        }

    def describe(self) -> str:
        if self.kind == "exclude":
            return "excluded (amount 0)"
        if self.kind == "hours":
            return f"billed for {self.value} h"
        if self.kind == "split":
            return "split " + ", ".join(f"{c}={p}%" for c, p in self.value.items())
        return f"charged to {self.value!r}"


def _value(o: BillingOverride) -> Any:
    if o.kind == "exclude":
        return True
    if o.kind == "hours":
        return decimal_text(o.hours or Decimal(0))
    if o.kind == "split":
        return {
            code: decimal_text(Decimal(pct)) for code, pct in sorted(json.loads(o.split_json or "{}").items())
        }
    return o.charge_to_project.title if o.charge_to_project else None


def view(o: BillingOverride) -> OverrideView:
    res = o.reservation
    return OverrideView(
        o.id,
        o.period,
        o.reservation_id,
        res.node.name,
        res.project.title,
        o.kind,
        _value(o),
        o.reason,
        o.modified_by,
        o.modified_at,
        o.version,
    )


def _audit_doc(v: OverrideView) -> dict[str, object]:
    return {"period": v.period, "reservation_id": v.reservation_id, "kind": v.kind, "value": v.value}


def _billed_reservation(ctx: ServiceContext, period: str, reservation_id: int) -> tuple[Reservation, Decimal]:
    """The reservation, checked to be billed in ``period``; also its gross hours there."""
    res = ctx.session.get(Reservation, reservation_id)
    if res is None:
        raise NotFoundError(f"no reservation #{reservation_id}", field="reservation")
    if res.status != "approved":
        raise ValidationError(
            f"reservation #{reservation_id} is {res.status}; only approved reservations are billed",
            field="reservation",
        )
    part = Interval(res.start, res.end).intersection(month_interval(ctx, period))
    if part is None:
        raise ValidationError(
            f"reservation #{reservation_id} ({timeutil.format_short(res.start, ctx.tz)} → "
            f"{timeutil.format_short(res.end, ctx.tz)}) is not billed in {period}",
            field="reservation",
        )
    gross = Decimal(int((part.end - part.start).total_seconds() * 1_000_000)) / Decimal(3_600_000_000)
    return res, gross


def parse_hours(raw: str | Decimal | int, gross: Decimal) -> Decimal:
    value = validate.decimal(raw, "hours", places=HOURS_PLACES, digits=20, minimum=0)
    if value > gross:
        raise ValidationError(
            f"{value} h is more than the reservation's {gross.quantize(Decimal('0.01'))} h in this month",
            field="hours",
        )
    return value


def set_override(
    ctx: ServiceContext,
    period: str,
    reservation_id: int,
    *,
    kind: str,
    reason: str,
    hours: str | Decimal | None = None,
    split: Sequence[tuple[str, str | Decimal]] | None = None,
    charge_to: str | None = None,
    expected_version: int | None = None,
) -> OverrideView:
    """Create or replace the override of one line in one month.

    ``expected_version``: the version of the override the caller showed (0: it showed none);
    anything else stored now refuses the save (someone changed it in between).
    """
    ctx.require("manage_billing")
    period = parse_month(period)
    kind = validate.choice(kind, "kind", OVERRIDE_KINDS)
    reason = validate.reason(reason)
    ensure_month_open(ctx, period, "an override")
    res, gross = _billed_reservation(ctx, period, reservation_id)

    given = {"hours": hours is not None, "split": bool(split), "charge_to": charge_to is not None}
    extra = [k for k, present in given.items() if present and k != kind]
    if extra:
        raise ValidationError(f"a {kind} override takes no {extra[0]} value", field=extra[0])
    new_hours: Decimal | None = None
    new_split: str | None = None
    target: Project | None = None
    if kind == "hours":
        if hours is None:
            raise ValidationError("an hours override needs the hours to bill (--hours H)", field="hours")
        new_hours = parse_hours(hours, gross)
    elif kind == "split":
        from ..rentals.splits import validate_parts

        parts = validate_parts(split or [])
        new_split = json.dumps({p.cost_object: format(p.percent, "f") for p in parts}, sort_keys=True)
    elif kind == "charge_to":
        from ..rentals.projects import find_project

        if charge_to is None:
            raise ValidationError(
                "a charge_to override needs a project (--charge-to PROJECT)", field="charge_to"
            )
        target = find_project(ctx, charge_to, field="charge_to")
        if target.id == res.project_id:
            raise ValidationError(
                f"reservation #{reservation_id} is already billed to {target.title!r}", field="charge_to"
            )

    now, by = ctx.now(), ctx.actor.username
    row = ctx.session.scalar(
        select(BillingOverride)
        .where(BillingOverride.period == period, BillingOverride.reservation_id == reservation_id)
        .with_for_update()
    )
    _check_expected(ctx, row, expected_version, period, reservation_id)
    before = _audit_doc(view(row)) if row is not None else None
    if row is None:
        row = BillingOverride(
            period=period, reservation_id=reservation_id, created_at=now, created_by=by, reason=reason
        )
        ctx.session.add(row)
    row.kind = kind
    row.hours = new_hours
    row.split_json = new_split
    row.charge_to_project_id = target.id if target is not None else None
    row.charge_to_project = target
    row.reason = reason
    row.modified_at, row.modified_by = now, by
    try:
        ctx.session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            f"someone else set an override on reservation #{reservation_id} for {period} at the same time; "
            "list the overrides and try again",
            field="reservation",
        ) from exc
    ctx.session.refresh(row)
    result = view(row)
    ctx.record(
        "override.set",
        "billing_override",
        row.id,
        f"{period} reservation #{reservation_id}",
        before=before,
        after=_audit_doc(result),
        reason=reason,
    )
    return result


def clear_override(
    ctx: ServiceContext, period: str, reservation_id: int, reason: str, *, expected_version: int | None = None
) -> OverrideView:
    """Remove a line's override: the line is billed by the ordinary rules again.

    ``expected_version``: the version of the override the caller showed; a newer one is kept.
    """
    ctx.require("manage_billing")
    period = parse_month(period)
    reason = validate.reason(reason)
    ensure_month_open(ctx, period, "clearing an override")
    row = ctx.session.scalar(
        select(BillingOverride)
        .where(BillingOverride.period == period, BillingOverride.reservation_id == reservation_id)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError(f"reservation #{reservation_id} has no override in {period}", field="reservation")
    _check_expected(ctx, row, expected_version, period, reservation_id)
    before = view(row)
    ctx.session.delete(row)
    ctx.session.flush()
    ctx.record(
        "override.cleared",
        "billing_override",
        before.id,
        f"{period} reservation #{reservation_id}",
        before=_audit_doc(before),
        reason=reason,
    )
    return before


def _check_expected(
    ctx: ServiceContext, row: BillingOverride | None, expected: int | None, period: str, reservation_id: int
) -> None:
    """Refuse to act on an override other than the one the caller showed (``expected``: its
    version, 0 for none)."""
    if expected is None or (row.version if row is not None else 0) == expected:
        return
    what = f"the override of reservation #{reservation_id} in {period}"
    if row is None:
        raise ConflictError(
            f"{what} was cleared by someone else since you opened it; reload it and try again",
            field="version",
        )
    raise ConflictError(
        f"{what} was set by {row.modified_by} at {timeutil.format_local(row.modified_at, ctx.tz)} "
        "since you opened it; reload it and try again",
        field="version",
    )


def list_overrides(ctx: ServiceContext, period: str) -> list[OverrideView]:
    ctx.require("read")
    period = parse_month(period)
    rows = ctx.session.scalars(
        select(BillingOverride)
        .where(BillingOverride.period == period)
        .order_by(BillingOverride.reservation_id)
    )
    return [view(o) for o in rows]
