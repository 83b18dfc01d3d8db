"""The invoice as a JSON document: the automation interface (contract in help/invoices.md).

Decimal quantities are strings (hours and money with 2 places, fractions with 6), instants are
ISO 8601 in the site timezone with their offset. The same document is what a finalized month
stores as its snapshot, so a finalized invoice is shown exactly as it was finalized.
"""

from __future__ import annotations

import copy
import hashlib
import json
from decimal import Decimal
from typing import Any

from .engine import FeeLine, InvoiceResult, ProjectInvoice, ReservationLine, Share, Totals
from .inputs import OverrideIn, local_iso
from .money import FRACTION_PLACES, decimal_text, round_decimal

Doc = dict[str, Any]


def _dec(value: Decimal) -> str:
    text = str(value)  # values are quantized (2 or 6 places): str never uses an exponent then
    return text if "E" not in text else format(value, "f")


def override_value(o: OverrideIn) -> object:
    if o.kind == "exclude":
        return True
    if o.kind == "hours":
        return decimal_text(o.hours or Decimal(0))
    if o.kind == "split":
        return {code: decimal_text(Decimal(pct)) for code, pct in sorted(o.split)}
    return o.charge_to


def override_doc(o: OverrideIn | None) -> Doc | None:
    if o is None:
        return None
    return {"kind": o.kind, "value": override_value(o), "reason": o.reason, "by": o.by}


def _shares(shares: tuple[Share, ...], with_hours: bool) -> list[Doc]:
    out = []
    for s in shares:
        item: Doc = {"cost_object": s.cost_object}
        if with_hours:
            item["hours"] = _dec(s.hours if s.hours is not None else Decimal("0.00"))
        item["amount"] = _dec(s.amount)
        out.append(item)
    return out


def reservation_doc(line: ReservationLine, tz: str) -> Doc:
    rate = line.rate
    doc: Doc = {
        "type": "reservation",
        "reservation_id": line.reservation_id,
        "node": line.node,
        "node_type": line.node_type,
        "sku": line.sku,
        "requested_for": line.requested_for,
        "start": local_iso(line.start, tz),
        "end": local_iso(line.end, tz),
        "billed_from": local_iso(line.billed_start, tz),
        "billed_to": local_iso(line.billed_end, tz),
        "gross_hours": _dec(line.gross_hours),
        "downtime_hours": _dec(line.downtime_hours),
        "net_hours": _dec(line.net_hours),
        "computed_net_hours": _dec(line.computed_net_hours),
        "billed_hours": _dec(line.billed_hours),
        "rate": decimal_text(rate) if rate is not None else None,
        "amount": _dec(line.amount),
        "excluded": line.excluded,
        "override": override_doc(line.override),
        "charged_from": line.origin_project if line.origin_project != line.project else None,
        "downtime": [
            {
                "source": d.source,
                "id": d.id,
                "title": d.title,
                "hours": _dec(d.hours),
                "open": d.open,
            }
            for d in line.downtime
        ],
        "split": _shares(line.split, with_hours=True),
        "rates": [
            {
                "from": seg.first.isoformat(),
                "to": seg.last.isoformat(),
                "rate": decimal_text(seg.rate) if seg.rate is not None else None,
                "hours": _dec(seg.hours),
            }
            for seg in line.rates
        ],
    }
    return doc


def fee_doc(line: FeeLine) -> Doc:
    return {
        "type": "fee",
        "user": line.user,
        "sku": line.sku,
        "subscription_id": line.subscription_id,
        "period_id": line.period_id,
        "from": line.first.isoformat(),
        "to": line.last.isoformat(),
        "days": line.days,
        "days_in_month": line.days_in_month,
        "fraction": _dec(round_decimal(line.fraction, FRACTION_PLACES)),
        "rate": decimal_text(line.rate) if line.rate is not None else None,
        "amount": _dec(line.amount),
        "split": _shares(line.split, with_hours=False),
    }


def totals_doc(t: Totals, *, cost_objects: bool = True) -> Doc:
    doc: Doc = {
        "gross_hours": _dec(t.gross_hours),
        "downtime_hours": _dec(t.downtime_hours),
        "net_hours": _dec(t.net_hours),
        "amount": _dec(t.amount),
        "billed_hours": _dec(t.billed_hours),
    }
    if cost_objects:
        doc["cost_objects"] = {code: {"hours": _dec(h), "amount": _dec(a)} for code, h, a in t.cost_objects}
    return doc


def project_doc(p: ProjectInvoice, tz: str) -> Doc:
    return {
        "project": p.project,
        "owner": p.owner,
        "lines": [
            reservation_doc(line, tz) if isinstance(line, ReservationLine) else fee_doc(line)
            for line in p.lines
        ],
        "totals": totals_doc(p.totals),
    }


def invoice_document(result: InvoiceResult, *, status: str = "draft") -> Doc:
    tz = result.month.tz
    return {
        "period": result.month.period,
        "timezone": tz,
        "currency": result.currency,
        "status": status,
        "generated_at": local_iso(result.now, tz),
        "projects": [project_doc(p, tz) for p in result.projects],
        "totals": totals_doc(result.totals),
        "warnings": [w.text for w in result.warnings],
        "warning_details": [{"code": w.code, "project": w.project, "text": w.text} for w in result.warnings],
        "finalized": None,
    }


def canonical_text(doc: Doc) -> str:
    """The exact text a snapshot is stored as (and hashed over): compact, key order kept."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Keys a front end adds to a shown document; never part of what a snapshot stores.
_SHOWN_ONLY = ("snapshot", "digest", "project_filter")


def snapshot_document(doc: Doc) -> Doc:
    """The document a snapshot stores (and hashes): the month's figures and warnings only.

    When it was computed and who finalized it are left out (``generated_at`` and ``finalized``
    are ``null``; the month keeps them beside the snapshot and fills them in when shown), so the
    same data always gives the same text, and the digest a user reviewed is the hash finalize
    stores (help/invoices.md, "Finalize what you saw").
    """
    out = {k: v for k, v in doc.items() if k not in _SHOWN_ONLY}
    out["status"] = "finalized"
    out["generated_at"] = None
    out["finalized"] = None
    return out


def snapshot_text(doc: Doc) -> str:
    """The exact text finalizing ``doc`` now would store."""
    return canonical_text(snapshot_document(doc))


def digest(doc: Doc) -> str:
    """The SHA-256 finalizing this (whole-month) document now would store."""
    return sha256_text(snapshot_text(doc))


def filter_document(doc: Doc, project: str) -> Doc:
    """The invoice of one project: its lines, its totals, and the warnings that concern it."""
    out = copy.deepcopy(doc)
    kept = [p for p in out["projects"] if p["project"] == project]
    out["projects"] = kept
    if kept:
        out["totals"] = copy.deepcopy(kept[0]["totals"])
    else:
        zero = "0.00"
        out["totals"] = {
            "gross_hours": zero,
            "downtime_hours": zero,
            "net_hours": zero,
            "amount": zero,
            "billed_hours": zero,
            "cost_objects": {},
        }
    details = [d for d in out.get("warning_details", []) if d.get("project") in (None, project)]
    out["warning_details"] = details
    out["warnings"] = [d["text"] for d in details]
    out["project_filter"] = project
    return out
