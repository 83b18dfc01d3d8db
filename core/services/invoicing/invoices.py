"""Monthly invoices: live drafts, finalized snapshots, unfinalize, verify (drift), month list.

A month (``YYYY-MM`` in the site timezone) is a *draft* until a billing manager finalizes it;
a draft is always recomputed from live data. Finalizing stores the whole invoice document as
an immutable snapshot with its SHA-256 (and a history row); from then on the month is shown
from that snapshot, whatever happens to the live data. ``verify`` recomputes the month and
reports, line by line, how the live figures differ from the snapshot. ``unfinalize`` (reason
required) returns the month to draft; the snapshot stays in the history.
"""

from __future__ import annotations

import copy
import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import pendulum
from sqlalchemy import select

from ... import testpoints, timeutil, validate
from ...billing import compare, document, engine, loader
from ...billing.inputs import from_us, month_spec, parse_period
from ...context import ServiceContext
from ...errors import ConflictError, LockedError, ValidationError
from ...intervals import Interval
from ...models import FeeSubscriptionPeriod, InvoicePeriod, InvoiceSnapshot, Reservation
from . import drift

Doc = dict[str, Any]


def parse_month(text: str, field: str = "period") -> str:
    """``YYYY-MM`` (a site-local month) or a one-line ValidationError."""
    try:
        year, month = parse_period(text)
    except ValueError as exc:
        raise ValidationError(str(exc), field=field) from exc
    return f"{year:04d}-{month:02d}"


def month_interval(ctx: ServiceContext, period: str) -> Interval[datetime]:
    spec = month_spec(period, ctx.tz)
    return Interval(from_us(spec.start), from_us(spec.end))


# ---------------------------------------------------------------- the invoice object


@dataclass(frozen=True)
class Invoice:
    """One month's invoice as front ends see it: the JSON document plus its state.

    ``live`` is True when it was just computed from the database (a draft, or ``verify``'s
    recomputation) and False when it is a finalized month shown from its snapshot. ``result``
    holds the engine's exact figures for a live invoice (None for a snapshot).
    """

    period: str
    status: str
    doc: Doc
    live: bool
    result: engine.InvoiceResult | None = None
    finalized_by: str | None = None
    finalized_at: datetime | None = None
    sha256: str | None = None
    drifted: bool = False
    drift_note: str = ""
    digest: str = ""  # a draft: the SHA-256 finalizing it now would store; finalized: the stored one
    integrity_ok: bool = True  # False when a snapshot's text no longer matches its SHA-256

    def to_json(self) -> Doc:
        return copy.deepcopy(self.doc)

    @property
    def projects(self) -> list[Doc]:
        return self.doc["projects"]

    @property
    def totals(self) -> Doc:
        return self.doc["totals"]

    @property
    def warnings(self) -> list[str]:
        return self.doc["warnings"]

    @property
    def timezone(self) -> str:
        return self.doc["timezone"]

    @property
    def currency(self) -> str:
        return self.doc["currency"]

    def lines(self) -> Iterable[tuple[Doc, Doc]]:
        """(project, line) pairs in display order."""
        for p in self.projects:
            for line in p["lines"]:
                yield p, line


def _period_row(ctx: ServiceContext, period: str, *, for_update: bool = False) -> InvoicePeriod | None:
    stmt = select(InvoicePeriod).where(InvoicePeriod.period == period)
    if for_update:
        stmt = stmt.with_for_update()
    return ctx.session.scalar(stmt)


def _state_doc(row: InvoicePeriod | None) -> Doc | None:
    if row is None or row.status != "finalized":
        return None
    return {
        "sha256": row.snapshot_sha256,
        "drifted": row.drifted,
        "drift_note": row.drift_note,
        "integrity_ok": _integrity_ok(row),
    }


def _integrity_ok(row: InvoicePeriod) -> bool:
    """Whether a finalized month's stored text still hashes to its stored SHA-256."""
    return document.sha256_text(row.snapshot_json or "") == row.snapshot_sha256


def _snapshot_doc(row: InvoicePeriod) -> Doc:
    """The stored snapshot as a document, or a one-line refusal when it is not a document at all."""
    try:
        doc = json.loads(row.snapshot_json or "")
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("totals"), dict):
        raise ConflictError(
            f"the stored snapshot of {row.period} is not an invoice document and does not match its "
            "SHA-256: it was altered after finalizing; unfinalize the month (with a reason) and "
            "finalize it again",
            field="period",
        )
    return doc


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a month is built.

    A large month creates a few hundred thousand small objects and no reference cycles; the
    collector would otherwise rescan them over and over (about 40 % of the time). Reference
    counting still frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _live(ctx: ServiceContext, period: str) -> tuple[engine.InvoiceResult, Doc]:
    with _gc_paused():
        data = loader.load_month(ctx.session, period, ctx.tz, ctx.now(), ctx.site.currency)
        result = engine.compute(data)
        return result, document.invoice_document(result, status="draft")


def _from_snapshot(row: InvoicePeriod) -> Invoice:
    doc = _snapshot_doc(row)
    tz = doc.get("timezone") or "UTC"
    at = timeutil.iso_local(row.finalized_at, tz) if row.finalized_at else None
    # A snapshot stores the figures only (core.billing.document.snapshot_document); who finalized
    # it and when are kept beside it. (Older snapshots carry both in their text already.)
    if doc.get("generated_at") is None:
        doc["generated_at"] = at
    if doc.get("finalized") is None:
        doc["finalized"] = {"by": row.finalized_by, "at": at}
    doc["snapshot"] = _state_doc(row)
    doc["digest"] = row.snapshot_sha256
    return Invoice(
        period=row.period,
        status="finalized",
        doc=doc,
        live=False,
        finalized_by=row.finalized_by,
        finalized_at=row.finalized_at,
        sha256=row.snapshot_sha256,
        drifted=row.drifted,
        drift_note=row.drift_note,
        digest=row.snapshot_sha256 or "",
        integrity_ok=_integrity_ok(row),
    )


def _project_title(ctx: ServiceContext, project: str | None) -> str | None:
    if project is None:
        return None
    from ..rentals.projects import find_project

    return find_project(ctx, project).title


def _filtered(inv: Invoice, project: str | None) -> Invoice:
    if project is None:
        return inv
    doc = document.filter_document(inv.doc, project)
    return replace(inv, doc=doc)


def compute_invoice(ctx: ServiceContext, period: str, project: str | None = None) -> Invoice:
    """The month's invoice: a finalized month from its snapshot, a draft computed live."""
    ctx.require("read")
    period = parse_month(period)
    project = _project_title(ctx, project)
    row = _period_row(ctx, period)
    if row is not None and row.status == "finalized":
        return _filtered(_from_snapshot(row), project)
    return _filtered(live_invoice(ctx, period), project)


def live_invoice(ctx: ServiceContext, period: str) -> Invoice:
    """The month recomputed from live data now, whatever its status."""
    ctx.require("read")
    period = parse_month(period)
    result, doc = _live(ctx, period)
    digest = document.digest(doc)
    row = _period_row(ctx, period)
    doc["snapshot"] = _state_doc(row)
    doc["digest"] = digest
    return Invoice(period=period, status="draft", doc=doc, live=True, result=result, digest=digest)


# ---------------------------------------------------------------- digests: act on what was shown


class MonthChanged(ConflictError):
    """The month is no longer what the user reviewed (its digest differs)."""

    def __init__(self) -> None:
        super().__init__("the month changed since it was shown: review again", field="period")


def parse_digest(text: str, field: str = "expected_digest") -> str:
    """A SHA-256 digest as 64 hexadecimal characters (any case) → lower case, or a refusal."""
    value = (text or "").strip().lower()
    if len(value) != 64 or not value.isascii() or any(c not in "0123456789abcdef" for c in value):
        raise ValidationError(
            'must be a SHA-256 digest: 64 hexadecimal characters (the "digest" of '
            "'nodedesk invoice show --json')",
            field=field,
        )
    return value


def current_state(ctx: ServiceContext, period: str) -> tuple[str, str]:
    """(status, digest) of the month right now: a finalized month's stored SHA-256, or the
    digest its draft would be finalized with."""
    ctx.require("read")
    period = parse_month(period)
    row = _period_row(ctx, period)
    if row is not None and row.status == "finalized":
        return "finalized", row.snapshot_sha256 or ""
    _result, doc = _live(ctx, period)
    return "draft", document.digest(doc)


def ensure_unchanged(ctx: ServiceContext, shown: Invoice) -> None:
    """Refuse (:class:`MonthChanged`) when the month is no longer the invoice that was shown."""
    if current_state(ctx, shown.period) != (shown.status, shown.digest):
        raise MonthChanged()


# ---------------------------------------------------------------- months


@dataclass(frozen=True)
class MonthSummary:
    period: str
    status: str
    projects: int
    lines: int
    gross_hours: str
    downtime_hours: str
    net_hours: str
    amount: str
    warnings: int
    drifted: bool = False
    finalized_by: str | None = None
    finalized_at: datetime | None = None
    integrity_ok: bool = True

    def to_json(self, tz: str) -> Doc:
        return {
            "period": self.period,
            "status": self.status,
            "projects": self.projects,
            "lines": self.lines,
            "gross_hours": self.gross_hours,
            "downtime_hours": self.downtime_hours,
            "net_hours": self.net_hours,
            "amount": self.amount,
            "warnings": self.warnings,
            "drifted": self.drifted,
            "integrity_ok": self.integrity_ok,
            "finalized_by": self.finalized_by,
            "finalized_at": timeutil.iso_local(self.finalized_at, tz) if self.finalized_at else None,
        }


def _months_between(first: date, last: date) -> list[str]:
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def billable_months(ctx: ServiceContext) -> list[str]:
    """Months with approved reservations or fee subscriptions, plus every finalized month."""
    ctx.require("read")
    months: set[str] = set()
    spans = [
        Interval(s, e)
        for s, e in ctx.session.execute(
            select(Reservation.start, Reservation.end).where(Reservation.status == "approved")
        )
    ]
    months.update(drift.months_touched(spans, ctx.tz))
    today = timeutil.local_day(ctx.now(), ctx.tz)
    for start, end in ctx.session.execute(
        select(FeeSubscriptionPeriod.start_date, FeeSubscriptionPeriod.end_date)
    ):
        last = end if end is not None else max(today, start)
        if last >= start:
            months.update(_months_between(start, last))
    months.update(ctx.session.scalars(select(InvoicePeriod.period)))
    return sorted(months)


def _summary(inv: Invoice) -> MonthSummary:
    t = inv.totals
    return MonthSummary(
        period=inv.period,
        status=inv.status,
        projects=len(inv.projects),
        lines=sum(len(p["lines"]) for p in inv.projects),
        gross_hours=t["gross_hours"],
        downtime_hours=t["downtime_hours"],
        net_hours=t["net_hours"],
        amount=t["amount"],
        warnings=len(inv.warnings),
        drifted=inv.drifted,
        finalized_by=inv.finalized_by,
        finalized_at=inv.finalized_at,
        integrity_ok=inv.integrity_ok,
    )


def list_months(ctx: ServiceContext) -> list[MonthSummary]:
    """Every month with billable activity, its status and totals (snapshots for finalized ones)."""
    ctx.require("read")
    rows = {r.period: r for r in ctx.session.scalars(select(InvoicePeriod))}
    out = []
    for period in billable_months(ctx):
        row = rows.get(period)
        inv = (
            _from_snapshot(row)
            if row is not None and row.status == "finalized"
            else live_invoice(ctx, period)
        )
        out.append(_summary(inv))
    return out


def month_summary(ctx: ServiceContext, period: str) -> MonthSummary:
    """One month's line of :func:`list_months` (the TUI lists the months first, then fills in
    each month's totals one at a time, so a large centre's picker appears at once)."""
    return _summary(compute_invoice(ctx, period))


# ---------------------------------------------------------------- finalize / unfinalize


def ensure_month_open(ctx: ServiceContext, period: str, what: str) -> None:
    """Refuse a change to ``period`` while it is finalized."""
    drift.lock_months(ctx, [period])
    row = _period_row(ctx, period)
    if row is not None and row.status == "finalized":
        raise LockedError(
            f"{period} is finalized (by {row.finalized_by}); {what} would change its invoice — "
            "unfinalize it first (billing manager, with a reason)",
            field="period",
        )


def finalize(ctx: ServiceContext, period: str, expected_digest: str | None = None) -> Invoice:
    """Freeze the month: store the full invoice and its SHA-256 (plus a history row).

    With ``expected_digest`` (the ``digest`` of the draft the user reviewed) the month is
    finalized only if it still is exactly that invoice; otherwise :class:`MonthChanged` and
    nothing is written. The stored SHA-256 is then that digest.
    """
    ctx.require("manage_billing")
    period = parse_month(period)
    expected = parse_digest(expected_digest) if expected_digest is not None else None
    now = ctx.now()
    span = month_interval(ctx, period)
    if now < span.end:
        raise ValidationError(
            f"{period} is not over yet (it ends {timeutil.format_local(span.end, ctx.tz)}); "
            "a month can be finalized once it has ended",
            field="period",
        )
    drift.lock_month_for_finalize(ctx, period)  # changes in flight commit first; new ones wait
    row = _period_row(ctx, period, for_update=True)
    if row is not None and row.status == "finalized":
        raise ConflictError(
            f"{period} is already finalized (by {row.finalized_by} at "
            f"{timeutil.format_local(row.finalized_at, ctx.tz) if row.finalized_at else '?'})",
            field="period",
        )
    _result, doc = _live(ctx, period)
    by = ctx.actor.username
    text = document.snapshot_text(doc)
    sha = document.sha256_text(text)
    if expected is not None and sha != expected:
        raise MonthChanged()
    if row is None:
        row = InvoicePeriod(period=period, created_at=now, created_by=by)
        ctx.session.add(row)
    row.status = "finalized"
    row.snapshot_json = text
    row.snapshot_sha256 = sha
    row.finalized_by = by
    row.finalized_at = now
    row.drifted = False
    row.drift_note = ""
    row.modified_at, row.modified_by = now, by
    ctx.session.flush()
    ctx.session.add(
        InvoiceSnapshot(
            invoice_period_id=row.id,
            snapshot_json=text,
            snapshot_sha256=sha,
            finalized_by=by,
            finalized_at=now,
        )
    )
    ctx.session.flush()
    ctx.record(
        "invoice.finalized",
        "invoice_period",
        row.id,
        period,
        after={
            "period": period,
            "sha256": sha,
            "amount": doc["totals"]["amount"],
            "net_hours": doc["totals"]["net_hours"],
            "projects": len(doc["projects"]),
            "lines": sum(len(p["lines"]) for p in doc["projects"]),
            "warnings": len(doc["warnings"]),
        },
    )
    testpoints.reached("invoice.finalize")  # crash tests kill the finalize here (all written, no commit)
    return _from_snapshot(row)


@dataclass(frozen=True)
class UnfinalizeResult:
    period: str
    sha256: str
    finalized_by: str
    finalized_at: datetime
    reason: str

    def to_json(self, tz: str) -> Doc:
        return {
            "period": self.period,
            "status": "draft",
            "previous_sha256": self.sha256,
            "previous_finalized_by": self.finalized_by,
            "previous_finalized_at": timeutil.iso_local(self.finalized_at, tz),
            "reason": self.reason,
        }


def unfinalize(ctx: ServiceContext, period: str, reason: str) -> UnfinalizeResult:
    """Back to draft (live figures). The snapshot stays in the history with the reason."""
    ctx.require("manage_billing")
    period = parse_month(period)
    reason = validate.reason(reason)
    row = _period_row(ctx, period, for_update=True)
    if row is None or row.status != "finalized":
        raise ValidationError(f"{period} is not finalized (it is a live draft)", field="period")
    now, by = ctx.now(), ctx.actor.username
    latest = ctx.session.scalar(
        select(InvoiceSnapshot)
        .where(InvoiceSnapshot.invoice_period_id == row.id, InvoiceSnapshot.unfinalized_at.is_(None))
        .order_by(InvoiceSnapshot.id.desc())
        .limit(1)
    )
    if latest is not None:
        latest.unfinalized_by, latest.unfinalized_at, latest.unfinalize_reason = by, now, reason
    result = UnfinalizeResult(
        period,
        row.snapshot_sha256 or "",
        row.finalized_by or "",
        row.finalized_at or now,
        reason,
    )
    before = {
        "status": "finalized",
        "sha256": row.snapshot_sha256,
        "finalized_by": row.finalized_by,
        "finalized_at": row.finalized_at,
        "drifted": row.drifted,
    }
    row.status = "draft"
    row.snapshot_json = None
    row.snapshot_sha256 = None
    row.finalized_by = None
    row.finalized_at = None
    row.drifted = False
    row.drift_note = ""
    row.modified_at, row.modified_by = now, by
    ctx.session.flush()
    ctx.record(
        "invoice.unfinalized",
        "invoice_period",
        row.id,
        period,
        before=before,
        after={"status": "draft"},
        reason=reason,
    )
    return result


# ---------------------------------------------------------------- history and verify


@dataclass(frozen=True)
class SnapshotView:
    id: int
    sha256: str
    finalized_by: str
    finalized_at: datetime
    unfinalized_by: str | None
    unfinalized_at: datetime | None
    unfinalize_reason: str
    amount: str

    def to_json(self, tz: str) -> Doc:
        return {
            "id": self.id,
            "sha256": self.sha256,
            "finalized_by": self.finalized_by,
            "finalized_at": timeutil.iso_local(self.finalized_at, tz),
            "unfinalized_by": self.unfinalized_by,
            "unfinalized_at": timeutil.iso_local(self.unfinalized_at, tz) if self.unfinalized_at else None,
            "unfinalize_reason": self.unfinalize_reason,
            "amount": self.amount,
        }


def snapshot_history(ctx: ServiceContext, period: str) -> list[SnapshotView]:
    """Every snapshot the month ever had, oldest first."""
    ctx.require("read")
    period = parse_month(period)
    row = _period_row(ctx, period)
    if row is None:
        return []
    snaps = ctx.session.scalars(
        select(InvoiceSnapshot)
        .where(InvoiceSnapshot.invoice_period_id == row.id)
        .order_by(InvoiceSnapshot.id)
    )
    return [
        SnapshotView(
            s.id,
            s.snapshot_sha256,
            s.finalized_by,
            s.finalized_at,
            s.unfinalized_by,
            s.unfinalized_at,
            s.unfinalize_reason,
            json.loads(s.snapshot_json)["totals"]["amount"],
        )
        for s in snaps
    ]


@dataclass(frozen=True)
class VerifyResult:
    period: str
    sha256: str
    integrity_ok: bool
    flagged: bool  # marked drifted by an admin correction since finalizing
    drift_note: str
    items: tuple[compare.DriftItem, ...] = field(default_factory=tuple)
    snapshot_totals: Doc = field(default_factory=dict)
    live_totals: Doc = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        """True when the live figures differ from the snapshot (or the snapshot was tampered with)."""
        return bool(self.items) or not self.integrity_ok

    def to_json(self) -> Doc:
        return {
            "period": self.period,
            "status": "finalized",
            "sha256": self.sha256,
            "integrity_ok": self.integrity_ok,
            "drifted": self.drifted,
            "flagged": self.flagged,
            "drift_note": self.drift_note,
            "snapshot_totals": self.snapshot_totals,
            "live_totals": self.live_totals,
            "differences": [i.to_json() for i in self.items],
        }


def verify(ctx: ServiceContext, period: str) -> VerifyResult:
    """Recompute a finalized month from live data and report any drift from its snapshot."""
    ctx.require("read")
    period = parse_month(period)
    row = _period_row(ctx, period)
    if row is None or row.status != "finalized":
        raise ValidationError(
            f"{period} is not finalized: a draft is always live, there is no snapshot to verify",
            field="period",
        )
    integrity_ok = _integrity_ok(row)
    snapshot = _snapshot_doc(row)
    _result, live = _live(ctx, period)
    items = compare.compare_documents(snapshot, live)
    if not integrity_ok:
        items.insert(
            0,
            compare.DriftItem(
                "integrity",
                "snapshot",
                None,
                "the stored snapshot does not match its SHA-256: it was altered after finalizing",
            ),
        )
    return VerifyResult(
        period=period,
        sha256=row.snapshot_sha256 or "",
        integrity_ok=integrity_ok,
        flagged=row.drifted,
        drift_note=row.drift_note,
        items=tuple(items),
        snapshot_totals=snapshot.get("totals", {}),
        live_totals=live["totals"],
    )


def current_period(ctx: ServiceContext) -> str:
    return pendulum.instance(ctx.now()).in_timezone(ctx.tz).format("YYYY-MM")
