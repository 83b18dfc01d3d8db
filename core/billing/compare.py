"""Drift: how a live invoice differs from a finalized snapshot, line by line.

Both sides are invoice documents (see :mod:`.document`), so a snapshot written by any earlier
run compares with today's computation. Only what is billed counts as drift (lines, their
hours, amounts, splits, downtime and overrides, and the totals); warnings and the time the
document was generated do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]

_RES_FIELDS = (
    "project",
    "node",
    "sku",
    "start",
    "end",
    "gross_hours",
    "downtime_hours",
    "net_hours",
    "billed_hours",
    "amount",
    "excluded",
    "override",
    "downtime",
    "split",
)
_FEE_FIELDS = ("project", "user", "sku", "from", "to", "days", "fraction", "rate", "amount", "split")
_TOTAL_FIELDS = ("gross_hours", "downtime_hours", "net_hours", "amount")


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any

    def to_json(self) -> Doc:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class DriftItem:
    kind: str  # line_changed | line_added | line_removed | project_total | invoice_total | integrity
    key: str  # "reservation:12", "fee:3", "project:Title", "invoice"
    project: str | None
    text: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def to_json(self) -> Doc:
        return {
            "kind": self.kind,
            "key": self.key,
            "project": self.project,
            "text": self.text,
            "changes": [c.to_json() for c in self.changes],
        }


def _lines(doc: Doc) -> dict[str, Doc]:
    out: dict[str, Doc] = {}
    for p in doc.get("projects", []):
        for line in p.get("lines", []):
            key = (
                f"reservation:{line['reservation_id']}"
                if line["type"] == "reservation"
                else f"fee:{line['period_id']}"
            )
            out[key] = {**line, "project": p["project"]}
    return out


def _label(key: str, line: Doc) -> str:
    if line["type"] == "reservation":
        return f"reservation #{line['reservation_id']} ({line['node']}, {line['project']})"
    return f"fee {line['sku']} of {line['user']} ({line['project']})"


def _norm(name: str, value: Any) -> Any:
    """Compare lists as sets keyed by identity, so reordering alone is never drift."""
    if name == "downtime":
        return sorted((d["source"], d["id"], d["hours"]) for d in value or [])
    if name == "split":
        return sorted((s["cost_object"], s.get("hours"), s["amount"]) for s in value or [])
    return value


def _show(name: str, value: Any) -> str:
    if name == "downtime":
        return "; ".join(f"{d['source']} #{d['id']} {d['hours']} h" for d in value or []) or "none"
    if name == "split":
        return "; ".join(f"{s['cost_object']} {s['amount']}" for s in value or []) or "none"
    if name == "override":
        return "none" if value is None else f"{value['kind']} {value['value']}"
    return str(value)


def compare_documents(snapshot: Doc, live: Doc) -> list[DriftItem]:
    items: list[DriftItem] = []
    old, new = _lines(snapshot), _lines(live)
    for key in sorted(set(old) | set(new), key=lambda k: (k.split(":")[0], int(k.split(":")[1]))):
        a, b = old.get(key), new.get(key)
        if a is None and b is not None:
            items.append(
                DriftItem(
                    "line_added",
                    key,
                    b["project"],
                    f"{_label(key, b)}: now billed {b['amount']} (not in the snapshot)",
                )
            )
            continue
        if b is None and a is not None:
            items.append(
                DriftItem(
                    "line_removed",
                    key,
                    a["project"],
                    f"{_label(key, a)}: no longer billed (snapshot had {a['amount']})",
                )
            )
            continue
        assert a is not None and b is not None
        names = _RES_FIELDS if a["type"] == "reservation" else _FEE_FIELDS
        changes = tuple(
            Change(n, a.get(n), b.get(n)) for n in names if _norm(n, a.get(n)) != _norm(n, b.get(n))
        )
        if changes:
            text = ", ".join(
                f"{c.field} {_show(c.field, c.before)} → {_show(c.field, c.after)}" for c in changes
            )
            items.append(DriftItem("line_changed", key, b["project"], f"{_label(key, a)}: {text}", changes))
    old_p = {p["project"]: p["totals"] for p in snapshot.get("projects", [])}
    new_p = {p["project"]: p["totals"] for p in live.get("projects", [])}
    zero = dict.fromkeys(_TOTAL_FIELDS, "0.00")
    for title in sorted(set(old_p) | set(new_p)):
        a, b = old_p.get(title, zero), new_p.get(title, zero)
        changes = tuple(Change(n, a.get(n), b.get(n)) for n in _TOTAL_FIELDS if a.get(n) != b.get(n))
        if changes:
            text = ", ".join(f"{c.field} {c.before} → {c.after}" for c in changes)
            items.append(
                DriftItem("project_total", f"project:{title}", title, f"project {title!r}: {text}", changes)
            )
    a, b = snapshot.get("totals", {}), live.get("totals", {})
    changes = tuple(Change(n, a.get(n), b.get(n)) for n in _TOTAL_FIELDS if a.get(n) != b.get(n))
    if changes:
        text = ", ".join(f"{c.field} {c.before} → {c.after}" for c in changes)
        items.append(DriftItem("invoice_total", "invoice", None, f"invoice total: {text}", changes))
    return items
