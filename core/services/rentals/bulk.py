"""Several reservations approved, declined or cancelled, or several windows deleted, at once
(help/reservations.md and help/windows.md, "Several at once").

All or nothing: every item goes through the same service call as one at a time (its checks,
its audit entry), in the caller's one unit of work; the first refusal stops everything and
names the item (``reservation #12: status: ...; nothing was changed``), and the unit of work
then rolls back what the items before it did.

The confirmation lists what would happen: :func:`reservations` and :func:`delete_windows`
with ``preview=True`` inside a dry-run unit of work (``Runtime.write(dry_run=True)``) go
through every item, note each one's refusal instead of stopping, and are rolled back. A
preview anywhere else is refused (it would keep what it did). Each item carries the version it
had, so the saving run can refuse an item someone changed after the confirmation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ... import timeutil, validate
from ...context import ServiceContext
from ...db.engine import DRY_RUN_INFO
from ...errors import NodedeskError, ValidationError
from ..downtime import windows as win
from ..downtime.impact import ImpactLine
from . import reservations as res

RESERVATION_ACTIONS = ("approve", "decline", "cancel")
MAX_ITEMS = 500


@dataclass(frozen=True)
class BulkItem:
    """One item of a bulk action: what it was, what it became, or why it is refused."""

    id: int
    label: str  # "reservation #12 node01 Genomics" / "window #3 'Firmware'"
    start: datetime | None
    end: datetime | None
    before: str  # status before ("" when the item does not exist)
    after: str  # status after: approved, declined, cancelled, deleted ("" when refused)
    version: int | None = None  # the version it had before (None when it does not exist)
    problem: str = ""  # the refusal, one line ("" when it goes through)
    problem_field: str = ""
    error: NodedeskError | None = field(default=None, compare=False, repr=False)
    impact: tuple[ImpactLine, ...] = ()  # a deleted window: the reservations billed again

    @property
    def ok(self) -> bool:
        return not self.problem

    def describe(self, tz: str) -> str:
        span = ""
        if self.start is not None and self.end is not None:
            span = f" {timeutil.format_short(self.start, tz)} → {timeutil.format_short(self.end, tz)}"
        outcome = f"refused: {self.problem_field + ': ' if self.problem_field else ''}{self.problem}"
        return f"{self.label}{span}: " + (f"{self.before} → {self.after}" if self.ok else outcome)

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "start": timeutil.iso_local(self.start, tz) if self.start else None,
            "end": timeutil.iso_local(self.end, tz) if self.end else None,
            "before": self.before,
            "after": self.after,
            "version": self.version,
            "problem": self.problem or None,
            "field": self.problem_field or None,
            "impact": [i.to_json(tz) for i in self.impact],
        }


@dataclass(frozen=True)
class BulkResult:
    kind: str  # reservation | window
    action: str  # approve | decline | cancel | delete
    items: tuple[BulkItem, ...]
    preview: bool

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items)

    @property
    def refused(self) -> tuple[BulkItem, ...]:
        return tuple(i for i in self.items if not i.ok)

    def versions(self) -> dict[int, int]:
        """Item id -> the version it had: pass to the saving run as ``expected_versions``."""
        return {i.id: i.version for i in self.items if i.version is not None}

    def raise_first(self) -> None:
        """Raise the first item's refusal, naming the item (nothing is changed)."""
        for item in self.items:
            if item.error is not None:
                raise _named(self.kind, item.id, item.error)

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "kind": self.kind,
            "action": self.action,
            "preview": self.preview,
            "ok": self.ok,
            "items": [i.to_json(tz) for i in self.items],
        }


def _named(kind: str, ident: int, exc: NodedeskError) -> NodedeskError:
    named = type(exc)(f"{kind} #{ident}: {exc.message}; nothing was changed", field=exc.field)
    named.__cause__ = exc
    return named


def _check_ids(ids: Iterable[int], noun: str) -> list[int]:
    unique = list(dict.fromkeys(int(i) for i in ids))
    if not unique:
        raise ValidationError(f"give at least one {noun} id", field="ids")
    if len(unique) > MAX_ITEMS:
        raise ValidationError(f"at most {MAX_ITEMS} {noun}s at once (got {len(unique)})", field="ids")
    return unique


def _check_preview(ctx: ServiceContext, preview: bool) -> None:
    if preview and not ctx.session.info.get(DRY_RUN_INFO):
        raise RuntimeError("a bulk preview must run in a dry-run unit of work (Runtime.write(dry_run=True))")


def _each(
    ctx: ServiceContext,
    kind: str,
    ids: list[int],
    preview: bool,
    load: Callable[[int], tuple[str, datetime, datetime, str, int]],
    act: Callable[[int], tuple[str, tuple[ImpactLine, ...]]],
) -> list[BulkItem]:
    items: list[BulkItem] = []
    for ident in ids:
        label, start, end, before, version = f"{kind} #{ident}", None, None, "", None
        try:
            label, start, end, before, version = load(ident)
            after, impact = act(ident)
        except NodedeskError as exc:
            if not preview:
                raise _named(kind, ident, exc) from exc
            items.append(
                BulkItem(ident, label, start, end, before, "", version, exc.message, exc.field or "", exc)
            )
            continue
        items.append(BulkItem(ident, label, start, end, before, after, version, impact=impact))
    return items


def reservations(
    ctx: ServiceContext,
    action: str,
    ids: Iterable[int],
    *,
    reason: str = "",
    correction: bool = False,
    expected_versions: Mapping[int, int] | None = None,
    preview: bool = False,
) -> BulkResult:
    """Approve, decline or cancel several reservations (module docstring). ``reason`` is the
    one for every item (declining needs one; a correction needs one)."""
    validate.choice(action, "action", RESERVATION_ACTIONS)
    if action != "cancel":
        ctx.require("manage_reservations")
    ids = _check_ids(ids, "reservation")
    _check_preview(ctx, preview)
    versions = expected_versions or {}

    def load(ident: int) -> tuple[str, datetime, datetime, str, int]:
        v = res.get_reservation(ctx, ident)
        return f"reservation #{v.id} {v.node} {v.project}", v.start, v.end, v.status, v.version

    def act(ident: int) -> tuple[str, tuple[ImpactLine, ...]]:
        expected = versions.get(ident)
        if action == "approve":
            done = res.approve_reservation(
                ctx, ident, expected_version=expected, correction=correction, reason=reason
            )
        elif action == "decline":
            done = res.decline_reservation(ctx, ident, reason, expected_version=expected)
        else:
            done = res.cancel_reservation(
                ctx, ident, reason=reason, expected_version=expected, correction=correction
            )
        return done.reservation.status, ()

    return BulkResult(
        "reservation", action, tuple(_each(ctx, "reservation", ids, preview, load, act)), preview
    )


def delete_windows(
    ctx: ServiceContext,
    ids: Iterable[int],
    *,
    correction: bool = False,
    reason: str = "",
    expected_versions: Mapping[int, int] | None = None,
    preview: bool = False,
) -> BulkResult:
    """Delete several maintenance windows (upcoming ones; an admin correction may delete any,
    with a reason), each with the reservations it gives billable hours back to."""
    ctx.require("correct" if correction else "manage_windows")
    ids = _check_ids(ids, "window")
    _check_preview(ctx, preview)
    versions = expected_versions or {}

    def load(ident: int) -> tuple[str, datetime, datetime, str, int]:
        w = win.get_window(ctx, ident)
        return f"window #{w.id} {w.title!r}", w.start, w.end, w.status, w.version

    def act(ident: int) -> tuple[str, tuple[ImpactLine, ...]]:
        done = win.delete_window(
            ctx, ident, expected_version=versions.get(ident), correction=correction, reason=reason
        )
        return "deleted", tuple(done.impact)

    return BulkResult("window", "delete", tuple(_each(ctx, "window", ids, preview, load, act)), preview)
