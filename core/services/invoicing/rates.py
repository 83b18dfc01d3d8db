"""SKUs (billable items) and their append-only rate history.

- Every node type has an hourly SKU ``NODE_<TYPE>``, created with the node type and linked to it
  by id, so renaming the node type keeps its SKU (code, rates and invoice history unchanged).
- Monthly fee SKUs (account maintenance ``MAINT_*``, QoS add-ons ``QOS_*``) ship in
  ``data/skus.json`` and are loaded by ``nodedesk init``.
- A rate row is (SKU, amount with up to 6 decimals, effective date, set by, notes). Rows are never
  edited or deleted. The rate in force on a day is the row with the latest effective date on or
  before that day; several rows for one date: the newest row (highest id) wins, so a correction
  is simply a new row for the same date (it needs notes saying why).
- A row that would change the rate in force on any day of a finalized invoice month is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from sqlalchemy import select

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import NotFoundError, ValidationError
from ...fieldcheck import FieldProblem, Problems
from ...models import SKU_KINDS, NodeType, Rate, Sku
from .finalized_days import ensure_days_open

RATE_PLACES = 6
MAX_RATE = Decimal("99999999999999.999999")  # ExactDecimal(20, 6)
FEE_CATEGORIES = ("maintenance", "qos", "other")
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def validate_description(value: str | None) -> str:
    """A SKU's description (shared with the backup import)."""
    return validate.text(value, "description", max_len=2000)


def validate_notes(value: str | None) -> str:
    """A rate row's notes (shared with the backup import)."""
    return validate.text(value, "notes", max_len=2000)


def format_amount(value: Decimal) -> str:
    """``8.00``, ``2.125``, ``0.123456``: two places at least, trailing zeros beyond dropped."""
    two = value.quantize(Decimal("0.01"))
    if two == value:
        return format(two, "f")
    return format(value.normalize(), "f")


def node_sku_code(node_type_name: str) -> str:
    """``NODE_<TYPE>``: the type name upper-cased, other characters folded to ``_``."""
    return "NODE_" + re.sub(r"[^A-Z0-9]+", "_", node_type_name.upper()).strip("_")


@dataclass(frozen=True)
class RateView:
    id: int
    uuid: str
    sku: str
    amount: Decimal
    effective_date: date
    set_by: str
    set_at: datetime
    notes: str
    superseded_by: int | None = None

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "sku": self.sku,
            "amount": format_amount(self.amount),
            "effective_date": self.effective_date.isoformat(),
            "set_by": self.set_by,
            "set_at": timeutil.iso_local(self.set_at, tz),
            "notes": self.notes,
            "superseded_by": self.superseded_by,
        }


@dataclass(frozen=True)
class SkuView:
    id: int
    code: str
    name: str
    kind: str
    category: str
    node_type: str | None
    description: str
    active: bool
    rate: RateView | None = None  # in force on the day asked about (today by default)

    @property
    def unit(self) -> str:
        return "hour" if self.kind == "hourly" else "month"

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "category": self.category,
            "node_type": self.node_type,
            "description": self.description,
            "active": self.active,
            "rate": format_amount(self.rate.amount) if self.rate else None,
            "rate_effective_date": self.rate.effective_date.isoformat() if self.rate else None,
        }


def rate_view(rate: Rate, superseded_by: int | None = None) -> RateView:
    return RateView(
        rate.id,
        rate.uuid,
        rate.sku.code,
        rate.amount,
        rate.effective_date,
        rate.set_by,
        rate.set_at,
        rate.notes,
        superseded_by,
    )


def sku_view(sku: Sku, rate: RateView | None = None) -> SkuView:
    return SkuView(
        sku.id,
        sku.code,
        sku.name,
        sku.kind,
        sku.category,
        sku.node_type.name if sku.node_type else None,
        sku.description,
        sku.active,
        rate,
    )


def _sku_doc(sku: Sku) -> dict[str, object]:
    return {
        "code": sku.code,
        "name": sku.name,
        "kind": sku.kind,
        "category": sku.category,
        "node_type": sku.node_type.name if sku.node_type else None,
    }


# ---------------------------------------------------------------- SKUs


def find_sku(ctx: ServiceContext, code: str, field: str = "sku") -> Sku:
    text = (code or "").strip().upper()
    if not text:
        raise ValidationError("is required (a SKU code such as NODE_A100)", field=field)
    sku = ctx.session.scalar(select(Sku).where(Sku.code == text))
    if sku is None:
        raise NotFoundError(f"no SKU {text!r} (see 'nodedesk sku list')", field=field)
    return sku


def sku_for_node_type(ctx: ServiceContext, node_type: NodeType) -> Sku | None:
    return ctx.session.scalar(select(Sku).where(Sku.node_type_id == node_type.id))


def ensure_node_sku(ctx: ServiceContext, node_type: NodeType, *, record: bool = True) -> Sku:
    """The node type's hourly SKU, created on first call (part of creating the node type).

    No extra permission: whoever may add node types gets the SKU with it; rates stay with
    rate managers. ``record=False`` when the caller's own audit entry names the SKU.
    """
    existing = sku_for_node_type(ctx, node_type)
    if existing is not None:
        return existing
    code = node_sku_code(node_type.name)
    clash = ctx.session.scalar(select(Sku).where(Sku.code == code))
    if clash is not None:
        raise ValidationError(
            f"SKU code {code} for node type {node_type.name!r} is already used by another SKU", field="name"
        )
    now, by = ctx.now(), ctx.actor.username
    sku = Sku(
        code=code,
        name=f"{node_type.name} node-hour",
        kind="hourly",
        category="node",
        node_type=node_type,
        description=f"One hour on a node of type {node_type.name} ({node_type.category}).",
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    ctx.session.add(sku)
    ctx.session.flush()
    if record:
        ctx.record("sku.created", "sku", sku.id, sku.code, after=_sku_doc(sku))
    return sku


def create_fee_sku(
    ctx: ServiceContext, code: str, name: str, category: str, description: str = "", *, record: bool = True
) -> SkuView:
    """A monthly fee SKU (account maintenance or QoS add-on).

    ``record=False`` is for ``nodedesk init``, whose own audit entry lists the SKUs it shipped.
    """
    ctx.require("manage_rates")
    code = (code or "").strip().upper()
    if not _CODE_RE.match(code) or len(code) > 64:
        raise ValidationError(
            f"{code!r} must be upper-case letters, digits and '_' (starting with a letter)", field="code"
        )
    if code.startswith("NODE_"):
        raise ValidationError("NODE_ codes belong to node types (created with them)", field="code")
    if ctx.session.scalar(select(Sku.id).where(Sku.code == code)) is not None:
        raise ValidationError(f"SKU {code} already exists", field="code")
    category = validate.choice(category, "category", FEE_CATEGORIES)
    now, by = ctx.now(), ctx.actor.username
    sku = Sku(
        code=code,
        name=validate.title(name, "name"),
        kind="monthly",
        category=category,
        description=validate_description(description),
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    ctx.session.add(sku)
    ctx.session.flush()
    if record:
        ctx.record("sku.created", "sku", sku.id, sku.code, after=_sku_doc(sku))
    return sku_view(sku)


def shipped_skus() -> list[dict[str, Any]]:
    doc = json.loads((resources.files("nodedesk.data") / "skus.json").read_text("utf-8"))
    return list(doc["skus"])


def load_skus(
    ctx: ServiceContext, entries: Sequence[dict[str, Any]] | None = None, *, record: bool = True
) -> list[str]:
    """Create the shipped monthly fee SKUs that do not exist yet; returns their codes."""
    created: list[str] = []
    for entry in shipped_skus() if entries is None else entries:
        if entry.get("kind", "monthly") != "monthly":
            raise ValidationError(f"{entry['code']}: only monthly SKUs are shipped in data", field="kind")
        if ctx.session.scalar(select(Sku.id).where(Sku.code == entry["code"])) is not None:
            continue
        v = create_fee_sku(
            ctx,
            entry["code"],
            entry["name"],
            entry.get("category", "other"),
            entry.get("description", ""),
            record=record,
        )
        created.append(v.code)
    return created


def list_skus(ctx: ServiceContext, *, kind: str | None = None, on: date | None = None) -> list[SkuView]:
    """Every SKU (hourly node SKUs first, then fees), with the rate in force on ``on`` (today)."""
    ctx.require("read")
    day = on or timeutil.local_day(ctx.now(), ctx.tz)
    stmt = select(Sku)
    if kind:
        stmt = stmt.where(Sku.kind == validate.choice(kind, "kind", SKU_KINDS))
    skus = sorted(ctx.session.scalars(stmt), key=lambda s: (s.kind != "hourly", s.category, s.code))
    rows = ctx.session.scalars(
        select(Rate).where(Rate.effective_date <= day).order_by(Rate.effective_date, Rate.id)
    )
    latest: dict[int, Rate] = {}
    for r in rows:
        latest[r.sku_id] = r  # ordered, so the last one seen is in force
    return [sku_view(s, rate_view(latest[s.id]) if s.id in latest else None) for s in skus]


def get_sku(ctx: ServiceContext, code: str, *, on: date | None = None) -> SkuView:
    ctx.require("read")
    sku = find_sku(ctx, code)
    day = on or timeutil.local_day(ctx.now(), ctx.tz)
    return sku_view(sku, rate_in_force(ctx, sku.code, day))


# ---------------------------------------------------------------- rates


def parse_amount(raw: str | Decimal | int, field: str = "amount") -> Decimal:
    """A rate: exact Decimal, not negative, at most 6 decimal places, fits ExactDecimal(20, 6)."""
    text = raw if isinstance(raw, (Decimal, float)) else str(raw).strip().lstrip("$").replace(",", "")
    return validate.decimal(
        text,
        field,
        places=RATE_PLACES,
        digits=20,
        minimum=0,
        maximum=MAX_RATE,
        example="8.00 or 2.125",
        what="an amount",
    )


def _rows(ctx: ServiceContext, sku: Sku) -> list[Rate]:
    return list(
        ctx.session.scalars(select(Rate).where(Rate.sku_id == sku.id).order_by(Rate.effective_date, Rate.id))
    )


def pick_rate(timeline: Sequence[RateView], day: date) -> RateView | None:
    """The rate in force on ``day`` from a list of rate rows (any order)."""
    found = None
    for r in timeline:
        if r.effective_date <= day and (
            found is None or (r.effective_date, r.id) > (found.effective_date, found.id)
        ):
            found = r
    return found


@dataclass(frozen=True)
class _RateDraft:
    """A rate row :func:`set_rate` may add, once :func:`_judge` found nothing against it."""

    sku: Sku
    amount: Decimal
    effective_date: date
    notes: str
    current: RateView | None  # the row in force on that date before
    correcting: bool  # the new row replaces the row of that same date


def _judge(
    ctx: ServiceContext, sku_code: str, amount: str | Decimal | int, effective_date: object, notes: str
) -> tuple[Problems, _RateDraft | None]:
    """Every refusal of a new rate row, in the order :func:`set_rate` raises them (help/rates.md):
    the SKU, the amount, the date, the notes, a correction's reason, a finalized month."""
    p = Problems()
    sku = p.attempt(find_sku, ctx, sku_code)
    value = p.attempt(parse_amount, amount)
    day: date | None = None
    if isinstance(effective_date, date) and not isinstance(effective_date, datetime):
        day = effective_date
    if day is None:
        p.add(ValidationError("must be a calendar date (YYYY-MM-DD)", field="effective_date"))
    clean = p.attempt(validate_notes, notes)
    if sku is None or day is None:
        return p, None
    timeline = [rate_view(r) for r in _rows(ctx, sku)]
    current = pick_rate(timeline, day)
    corrected = current if current is not None and current.effective_date == day else None
    if corrected is not None and not (clean or "").strip():
        p.add(
            ValidationError(
                f"{sku.code} already has a rate from {day.isoformat()} (#{corrected.id}); "
                "a correction needs notes saying why",
                field="notes",
            )
        )
    if value is not None and (current is None or current.amount != value):
        later = [r.effective_date for r in timeline if r.effective_date > day]
        p.attempt(
            ensure_days_open,
            ctx,
            day,
            min(later) if later else None,
            f"a {sku.code} rate from {day.isoformat()}",
            "effective_date",
        )
    if p.items or value is None or clean is None:
        return p, None
    return p, _RateDraft(sku, value, day, clean, current, corrected is not None)


def check_rate(
    ctx: ServiceContext, sku_code: str, amount: str | Decimal | int, effective_date: object, notes: str = ""
) -> list[FieldProblem]:
    """Every refusal :func:`set_rate` would meet now, without writing (the rate form asks this
    as the user types; set_rate runs the same judgement and raises the first)."""
    return _judge(ctx, sku_code, amount, effective_date, notes)[0].items


def set_rate(
    ctx: ServiceContext, sku_code: str, amount: str | Decimal | int, effective_date: date, notes: str = ""
) -> RateView:
    """Append a rate row. A row for a date that already has one is a correction (notes required)."""
    ctx.require("manage_rates")
    problems, draft = _judge(ctx, sku_code, amount, effective_date, notes)
    problems.raise_first()
    assert draft is not None  # no problem means a draft (_judge)
    sku, value, effective_date, notes = draft.sku, draft.amount, draft.effective_date, draft.notes
    current, correcting = draft.current, draft.correcting
    rate = Rate(
        sku=sku,
        amount=value,
        effective_date=effective_date,
        set_by=ctx.actor.username,
        set_at=ctx.now(),
        notes=notes,
    )
    ctx.session.add(rate)
    ctx.session.flush()
    result = rate_view(rate)
    doc = result.to_json(ctx.tz)
    ctx.record(
        "rate.corrected" if correcting else "rate.set",
        "rate",
        rate.id,
        sku.code,
        before=current.to_json(ctx.tz) if current else None,
        after=doc,
        reason=notes if correcting else "",
    )
    return result


def rate_in_force(ctx: ServiceContext, sku_code: str, day: date) -> RateView | None:
    ctx.require("read")
    sku = find_sku(ctx, sku_code)
    rate = ctx.session.scalar(
        select(Rate)
        .where(Rate.sku_id == sku.id, Rate.effective_date <= day)
        .order_by(Rate.effective_date.desc(), Rate.id.desc())
        .limit(1)
    )
    return rate_view(rate) if rate is not None else None


def rate_timeline(ctx: ServiceContext, sku_code: str) -> list[RateView]:
    """Every row of the SKU, oldest first: billing loads it once and calls :func:`pick_rate`."""
    ctx.require("read")
    return [rate_view(r) for r in _rows(ctx, find_sku(ctx, sku_code))]


def rate_history(ctx: ServiceContext, sku_code: str) -> list[RateView]:
    """Every row, newest effective date first; rows replaced by a correction name it."""
    ctx.require("read")
    rows = _rows(ctx, find_sku(ctx, sku_code))
    winner: dict[date, int] = {}
    for r in rows:
        winner[r.effective_date] = r.id
    return [
        rate_view(r, superseded_by=winner[r.effective_date] if winner[r.effective_date] != r.id else None)
        for r in reversed(rows)
    ]
