"""Cost splits: versioned per project, dated, approved by a billing manager.

Rules (help/projects.md):
- A version lists cost objects (account codes) with Decimal percentages, each > 0 with at most
  4 decimal places, summing to exactly 100; no code twice; ``UNALLOCATED`` is reserved.
- A version is proposed ``pending`` and then ``approved`` or ``rejected`` (with a reason) by a
  billing manager or admin. A project has at most one pending version: proposing a new one
  rejects the older pending one as superseded.
- The split in force on a day is the latest *approved* version whose effective date is on or
  before that day. When two approved versions share an effective date, the one approved later
  wins (it *supersedes* the other, which stays in the history). Approval happens in id order
  (only the single pending version can be approved), so "approved later" is "higher id".
- A day without a split in force is billed to ``UNALLOCATED``.
- Approving a version that would change the split in force on any day of a finalized invoice
  month is refused (checked when proposing too, so nobody waits for a doomed approval).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import NotFoundError, ValidationError
from ...models import UNALLOCATED, CostSplitPart, CostSplitVersion, Project
from ..invoicing.finalized_days import ensure_days_open
from .projects import find_project

HUNDRED = Decimal(100)
MAX_PERCENT_PLACES = 4
_ASSIGN_RE = re.compile(r"^\s*([^=\s]+)\s*=\s*([^=\s]+?)\s*%?\s*$")


def format_percent(value: Decimal) -> str:
    """``60.00``, ``33.33``, ``12.3456``: two places at least, never a float artefact."""
    two = value.quantize(Decimal("0.01"))
    if two == value:
        return format(two, "f")
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class SplitPart:
    cost_object: str
    percent: Decimal

    def to_json(self) -> dict[str, object]:
        return {"cost_object": self.cost_object, "percent": format_percent(self.percent)}


UNALLOCATED_PARTS = (SplitPart(UNALLOCATED, HUNDRED),)


@dataclass(frozen=True)
class SplitView:
    id: int
    uuid: str
    project: str
    project_id: int
    effective_date: date
    status: str
    parts: tuple[SplitPart, ...]
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    superseded_by: int | None = None

    def label(self) -> str:
        return ", ".join(f"{p.cost_object} {format_percent(p.percent)}%" for p in self.parts)

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "project": self.project,
            "effective_date": self.effective_date.isoformat(),
            "status": self.status,
            "superseded_by": self.superseded_by,
            "parts": [p.to_json() for p in self.parts],
            "created_by": self.created_by,
            "created_at": timeutil.iso_local(self.created_at, tz),
            "decided_by": self.decided_by,
            "decided_at": timeutil.iso_local(self.decided_at, tz) if self.decided_at else None,
            "decision_reason": self.decision_reason,
        }


def view(version: CostSplitVersion, superseded_by: int | None = None) -> SplitView:
    return SplitView(
        id=version.id,
        uuid=version.uuid,
        project=version.project.title,
        project_id=version.project_id,
        effective_date=version.effective_date,
        status=version.status,
        parts=tuple(SplitPart(p.cost_object, p.percent) for p in version.parts),
        created_by=version.created_by,
        created_at=version.created_at,
        decided_by=version.decided_by,
        decided_at=version.decided_at,
        decision_reason=version.decision_reason,
        superseded_by=superseded_by,
    )


def _audit_doc(v: SplitView) -> dict[str, object]:
    return {
        "id": v.id,
        "project": v.project,
        "effective_date": v.effective_date.isoformat(),
        "status": v.status,
        "parts": {p.cost_object: format_percent(p.percent) for p in v.parts},
    }


# ---------------------------------------------------------------- validation


def parse_percent(raw: str | Decimal | int, field: str = "percent") -> Decimal:
    """A percentage as an exact Decimal: > 0, at most 100, at most 4 decimal places."""
    if isinstance(raw, float):
        raise ValidationError("must be given as text or Decimal, never a float", field=field)
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip().rstrip("%").strip())
    except InvalidOperation as exc:
        raise ValidationError(f"{raw!r} is not a number", field=field) from exc
    if not value.is_finite():
        raise ValidationError(f"{raw!r} is not a number", field=field)
    if value <= 0:
        raise ValidationError(f"must be more than 0 (got {value})", field=field)
    if value > HUNDRED:
        raise ValidationError(f"must be at most 100 (got {value})", field=field)
    if value != value.quantize(Decimal(1).scaleb(-MAX_PERCENT_PLACES)):
        raise ValidationError(f"{raw} has more than {MAX_PERCENT_PLACES} decimal places", field=field)
    return value


def parse_assignment(text: str) -> tuple[str, str]:
    """``CODE=PCT`` (as typed on the command line) → (code, percent text)."""
    m = _ASSIGN_RE.match(text or "")
    if not m:
        raise ValidationError(f"{text!r} is not CODE=PERCENT (e.g. NIH-R01-123=60)", field="split")
    return m.group(1), m.group(2)


def validate_parts(parts: Iterable[tuple[str, str | Decimal | int]]) -> list[SplitPart]:
    """Check a whole split; returns its parts sorted by cost object."""
    items = list(parts)
    if not items:
        raise ValidationError("needs at least one CODE=PERCENT", field="split")
    seen: dict[str, str] = {}
    result: list[SplitPart] = []
    for code_raw, pct_raw in items:
        code = validate.name(code_raw, "cost_object")
        if code.upper() == UNALLOCATED:
            raise ValidationError(f"{UNALLOCATED} is reserved for days without a split", field="cost_object")
        key = code.upper()
        if key in seen:
            raise ValidationError(f"{code!r} appears more than once", field="cost_object")
        seen[key] = code
        result.append(SplitPart(code, parse_percent(pct_raw, field=f"percent for {code}")))
    total = sum((p.percent for p in result), Decimal(0))
    if total != HUNDRED:
        raise ValidationError(
            f"percentages must sum to exactly 100 (they sum to {format(total.normalize(), 'f')})",
            field="split",
        )
    return sorted(result, key=lambda p: p.cost_object)


# ---------------------------------------------------------------- timeline helpers


def _approved(ctx: ServiceContext, project_id: int) -> list[CostSplitVersion]:
    """Approved versions, oldest effective date first; same date: approval (id) order."""
    return list(
        ctx.session.scalars(
            select(CostSplitVersion)
            .where(CostSplitVersion.project_id == project_id, CostSplitVersion.status == "approved")
            .order_by(CostSplitVersion.effective_date, CostSplitVersion.id)
        )
    )


def pick_in_force(timeline: Sequence[SplitView], day: date) -> SplitView | None:
    """The version in force on ``day`` from a chronological list of approved versions."""
    found = None
    for v in timeline:
        if v.effective_date <= day and (
            found is None or (v.effective_date, v.id) > (found.effective_date, found.id)
        ):
            found = v
    return found


def _same_parts(a: Sequence[SplitPart] | None, b: Sequence[SplitPart]) -> bool:
    return a is not None and {(p.cost_object, p.percent) for p in a} == {
        (p.cost_object, p.percent) for p in b
    }


def _ensure_finalized_untouched(
    ctx: ServiceContext, project: Project, effective: date, parts: Sequence[SplitPart], what: str
) -> None:
    """Refuse when the version would change the split in force on a finalized day.

    It takes over from ``effective`` until the next approved version's effective date; over that
    stretch the split before it was the one in force on ``effective``.
    """
    timeline = [view(v) for v in _approved(ctx, project.id)]
    current = pick_in_force(timeline, effective)
    if _same_parts(current.parts if current else None, parts):
        return
    later = [v.effective_date for v in timeline if v.effective_date > effective]
    ensure_days_open(ctx, effective, min(later) if later else None, what, "effective_date")


# ---------------------------------------------------------------- propose, approve, reject


def _pending(ctx: ServiceContext, project_id: int) -> list[CostSplitVersion]:
    return list(
        ctx.session.scalars(
            select(CostSplitVersion)
            .where(CostSplitVersion.project_id == project_id, CostSplitVersion.status == "pending")
            .order_by(CostSplitVersion.id.desc())
        )
    )


def propose_split(
    ctx: ServiceContext,
    project_ref: str | int,
    parts: Iterable[tuple[str, str | Decimal | int]],
    effective_date: date,
    *,
    approve: bool = False,
) -> SplitView:
    """Propose a version (pending); with ``approve`` the same user approves it at once."""
    ctx.require("request_splits")
    if approve:
        ctx.require("approve_splits")
    project = find_project(ctx, project_ref)
    checked = validate_parts(parts)
    if not isinstance(effective_date, date) or isinstance(effective_date, datetime):
        raise ValidationError("must be a calendar date (YYYY-MM-DD)", field="effective_date")
    _ensure_finalized_untouched(
        ctx, project, effective_date, checked, f"a split effective {effective_date.isoformat()}"
    )
    now, by = ctx.now(), ctx.actor.username
    version = CostSplitVersion(
        project=project,
        effective_date=effective_date,
        status="pending",
        created_at=now,
        created_by=by,
        modified_at=now,
        modified_by=by,
    )
    version.parts = [CostSplitPart(cost_object=p.cost_object, percent=p.percent) for p in checked]
    ctx.session.add(version)
    ctx.session.flush()
    superseded = []
    for old in _pending(ctx, project.id):
        if old.id == version.id:
            continue
        old.status = "rejected"
        old.decided_by, old.decided_at = by, now
        old.decision_reason = f"superseded by version #{version.id}"
        old.modified_at, old.modified_by = now, by
        superseded.append(old.id)
    ctx.session.flush()
    result = view(version)
    ctx.record(
        "split.proposed",
        "cost_split",
        version.id,
        project.title,
        after=_audit_doc(result) | {"superseded_pending": superseded},
    )
    if approve:
        return _approve(ctx, project, version)
    return result


def _select_pending(ctx: ServiceContext, project: Project, version_id: int | None) -> CostSplitVersion:
    if version_id is not None:
        version = ctx.session.get(CostSplitVersion, version_id)
        if version is None or version.project_id != project.id:
            raise NotFoundError(f"project {project.title!r} has no split version #{version_id}", field="id")
        if version.status != "pending":
            raise ValidationError(f"split version #{version.id} is {version.status}, not pending", field="id")
        return version
    pending = _pending(ctx, project.id)
    if not pending:
        raise NotFoundError(f"{project.title!r} has no pending split", field="project")
    return pending[0]


def _approve(ctx: ServiceContext, project: Project, version: CostSplitVersion) -> SplitView:
    before_v = view(version)
    _ensure_finalized_untouched(
        ctx,
        project,
        version.effective_date,
        before_v.parts,
        f"approving split #{version.id} effective {version.effective_date.isoformat()}",
    )
    timeline = [view(v) for v in _approved(ctx, project.id)]
    replaced = pick_in_force(timeline, version.effective_date)
    now, by = ctx.now(), ctx.actor.username
    version.status = "approved"
    version.decided_by, version.decided_at = by, now
    version.modified_at, version.modified_by = now, by
    ctx.session.flush()
    result = view(version)
    ctx.record(
        "split.approved",
        "cost_split",
        version.id,
        project.title,
        before={"in_force_on_effective_date": _audit_doc(replaced) if replaced else UNALLOCATED},
        after=_audit_doc(result)
        | {
            "supersedes": replaced.id
            if replaced and replaced.effective_date == version.effective_date
            else None
        },
    )
    return result


def approve_split(ctx: ServiceContext, project_ref: str | int, *, version_id: int | None = None) -> SplitView:
    """Approve the project's pending version (or the given pending version id)."""
    ctx.require("approve_splits")
    project = find_project(ctx, project_ref)
    return _approve(ctx, project, _select_pending(ctx, project, version_id))


def reject_split(
    ctx: ServiceContext, project_ref: str | int, reason: str, *, version_id: int | None = None
) -> SplitView:
    ctx.require("approve_splits")
    reason = validate.reason(reason)
    project = find_project(ctx, project_ref)
    version = _select_pending(ctx, project, version_id)
    now, by = ctx.now(), ctx.actor.username
    version.status = "rejected"
    version.decided_by, version.decided_at = by, now
    version.decision_reason = reason
    version.modified_at, version.modified_by = now, by
    ctx.session.flush()
    result = view(version)
    ctx.record(
        "split.rejected", "cost_split", version.id, project.title, after=_audit_doc(result), reason=reason
    )
    return result


# ---------------------------------------------------------------- read


def split_timeline(ctx: ServiceContext, project_ref: str | int | Project) -> list[SplitView]:
    """Approved versions that can be in force (superseded ones left out), oldest first.

    Billing loads this once per project and calls :func:`pick_in_force` per day.
    """
    ctx.require("read")
    project = project_ref if isinstance(project_ref, Project) else find_project(ctx, project_ref)
    by_date: dict[date, CostSplitVersion] = {}
    for v in _approved(ctx, project.id):
        by_date[v.effective_date] = v  # later approval of the same date wins
    return [view(v) for v in by_date.values()]


def split_in_force(ctx: ServiceContext, project_ref: str | int | Project, day: date) -> SplitView | None:
    """The latest approved version effective on or before ``day``; None means UNALLOCATED."""
    ctx.require("read")
    project = project_ref if isinstance(project_ref, Project) else find_project(ctx, project_ref)
    version = ctx.session.scalar(
        select(CostSplitVersion)
        .where(
            CostSplitVersion.project_id == project.id,
            CostSplitVersion.status == "approved",
            CostSplitVersion.effective_date <= day,
        )
        .order_by(CostSplitVersion.effective_date.desc(), CostSplitVersion.id.desc())
        .limit(1)
    )
    return view(version) if version is not None else None


def allocation_on(ctx: ServiceContext, project_ref: str | int | Project, day: date) -> tuple[SplitPart, ...]:
    """The parts billed on ``day``: the split in force, or 100 % ``UNALLOCATED``."""
    current = split_in_force(ctx, project_ref, day)
    return current.parts if current else UNALLOCATED_PARTS


def pending_split(ctx: ServiceContext, project_ref: str | int) -> SplitView | None:
    ctx.require("read")
    project = find_project(ctx, project_ref)
    pending = _pending(ctx, project.id)
    return view(pending[0]) if pending else None


def split_history(ctx: ServiceContext, project_ref: str | int) -> list[SplitView]:
    """Every version of the project's split (any status), newest effective date first."""
    ctx.require("read")
    project = find_project(ctx, project_ref)
    versions = list(
        ctx.session.scalars(
            select(CostSplitVersion)
            .where(CostSplitVersion.project_id == project.id)
            .order_by(CostSplitVersion.effective_date.desc(), CostSplitVersion.id.desc())
        )
    )
    winner: dict[date, int] = {}
    for v in versions:
        if v.status == "approved":
            winner[v.effective_date] = max(winner.get(v.effective_date, 0), v.id)
    result = []
    for v in versions:
        sup = None
        if v.status == "approved" and winner[v.effective_date] != v.id:
            sup = winner[v.effective_date]
        result.append(view(v, superseded_by=sup))
    return result
