"""Display helpers for the Invoices screens: month state, hours, money, downtime, overrides.

Everything here reads the invoice *document* (the JSON contract of ``help/invoices.md``), so a
finalized month shown from its snapshot and a live draft look the same. A month's state is
always a glyph and a word as well as a colour: ``◌ draft``, ``✓ finalized``, ``⚠ drifted``.
User text (project titles, window titles, reasons) is made inert with ``one_line``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.safetext import one_line
from rich.text import Text

Doc = dict[str, Any]

MINUS = "−"  # U+2212, as invoices print it: "−12.00 h maintenance"
STATE_GLYPH = {"draft": "◌", "finalized": "✓", "drifted": "⚠", "altered": "⚠"}
STATE_STYLE = {"draft": "cyan", "finalized": "green", "drifted": "bold yellow", "altered": "bold red"}
OVERRIDE_MARK = "✎"
WARNING_MARK = "⚠"


def state_word(status: str, drifted: bool = False, altered: bool = False) -> str:
    """``draft`` | ``finalized`` | ``drifted`` (a finalized month whose live data differs) |
    ``altered`` (a finalized month whose stored snapshot no longer matches its SHA-256)."""
    if status == "finalized" and altered:
        return "altered"
    return "drifted" if status == "finalized" and drifted else status


def state_text(status: str, drifted: bool = False, *, note: str = "", altered: bool = False) -> Text:
    """``✓ finalized`` / ``⚠ drifted`` / ``◌ draft`` in the state colour (the word carries it)."""
    word = state_word(status, drifted, altered)
    label = f"{STATE_GLYPH.get(word, '?')} {word}{note}"
    return Text(label, style=STATE_STYLE.get(word, ""), no_wrap=True, overflow="ellipsis")


def money(value: str | Decimal | None) -> str:
    """``1,452.25`` (the document's exact cents, with thousands separators)."""
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(value):,.2f}"
    except InvalidOperation:
        return one_line(str(value))


def is_zero(value: str | None) -> bool:
    try:
        return Decimal(value or "0") == 0
    except InvalidOperation:
        return False


def minus(value: str | None) -> str:
    """``−12.00`` (``0.00`` stays unsigned)."""
    return "0.00" if is_zero(value) else f"{MINUS}{value}"


def downtime_kind(line: Doc) -> str:
    """``maintenance``, ``outage`` or ``maintenance + outage`` (what caused a line's downtime)."""
    sources = {d["source"] for d in line.get("downtime", [])}
    if sources == {"maintenance"}:
        return "maintenance"
    if sources == {"outage"}:
        return "outage"
    return "maintenance + outage" if sources else ""


def downtime_label(line: Doc) -> str:
    """``−12.00 h maintenance`` (empty when the line lost nothing)."""
    if is_zero(line.get("downtime_hours")):
        return ""
    return f"{minus(line['downtime_hours'])} h {downtime_kind(line)}".rstrip()


def downtime_cell(line: Doc) -> Text:
    """Muted ``−12.00 maint.`` for a table cell (``−`` alone for fee lines)."""
    if line["type"] != "reservation":
        return Text("")
    if is_zero(line.get("downtime_hours")):
        return Text("0.00", style="dim", justify="right")
    short = {"maintenance": "maint.", "outage": "outage", "maintenance + outage": "both"}
    return Text(
        f"{minus(line['downtime_hours'])} {short.get(downtime_kind(line), '')}",
        style="dim",
        no_wrap=True,
    )


def overlaps(line: Doc) -> bool:
    """True when the listed sources overlap (their hours add up to more than the union)."""
    listed = sum((Decimal(d["hours"]) for d in line.get("downtime", [])), Decimal(0))
    return len(line.get("downtime", [])) > 1 and listed != Decimal(line["downtime_hours"])


def override_value(o: Doc) -> str:
    value = o.get("value")
    kind = o.get("kind")
    if kind == "exclude":
        return "excluded (amount 0)"
    if kind == "hours":
        return f"billed for {value} h"
    if kind == "split":
        return "split " + ", ".join(f"{c} {p}%" for c, p in (value or {}).items())
    return f"charged to {value!r}"


def override_text(o: Doc | None) -> str:
    """``✎ billed for 20.00 h: "short job" (by bob)`` or ''."""
    if not o:
        return ""
    reason = one_line(o.get("reason"), max_len=120)
    by = f" (by {one_line(o.get('by'))})" if o.get("by") else ""
    return f"{OVERRIDE_MARK} {one_line(override_value(o))}: {reason}{by}"


def rate_text(line: Doc) -> str:
    """The hourly (or monthly) rate, ``mixed`` when it changed during the line, ``none``."""
    if line.get("rate") is not None:
        return str(line["rate"])
    if line["type"] == "reservation" and line.get("rates"):
        return "mixed"
    return "none"


def short_iso(iso: str | None) -> str:
    """``2026-02-14T16:00:00-05:00`` → ``2026-02-14 16:00``."""
    return "" if not iso else f"{iso[:10]} {iso[11:16]}"


def span_text(start: str | None, end: str | None) -> str:
    """``2026-02-14 16:00 → 02-16 09:00`` (the year is dropped when it repeats)."""
    a, b = short_iso(start), short_iso(end)
    if a[:4] == b[:4] and b:
        b = b[5:]
    return f"{a} → {b}"


def cost_objects(totals: Doc, currency: str, *, hours_too: bool = True) -> str:
    """``GRANT-A 17.40 h 139.20 · GRANT-B 11.60 h 92.80`` (plain text, inert)."""
    parts = []
    for code, v in totals.get("cost_objects", {}).items():
        h = f" {v['hours']} h" if hours_too and v.get("hours") not in (None, "") else ""
        parts.append(f"{one_line(code)}{h} {money(v['amount'])}")
    return " · ".join(parts) if parts else "none"


def totals_text(t: Doc, currency: str) -> str:
    """``gross 41.00 h − downtime 12.00 h = net 29.00 h · 232.00 USD``."""
    return (
        f"gross {t['gross_hours']} h {MINUS} downtime {t['downtime_hours']} h = "
        f"net {t['net_hours']} h · {money(t['amount'])} {currency}"
    )


def line_key(line: Doc) -> str:
    return f"r{line['reservation_id']}" if line["type"] == "reservation" else f"f{line['period_id']}"


def line_label(line: Doc) -> str:
    """``#12 node2431`` or ``fee MAINT_STANDARD of alice``."""
    if line["type"] == "reservation":
        return f"#{line['reservation_id']} {one_line(line['node'])}"
    return f"fee {one_line(line['sku'])} of {one_line(line['user'])}"


def searchable(project: Doc, line: Doc) -> str:
    """Lower-case text a line filter matches: ids, node, SKU, users, override and downtime."""
    parts = [
        str(line.get("reservation_id") or ""),
        f"#{line.get('reservation_id')}" if line["type"] == "reservation" else "fee",
        line.get("node") or "",
        line.get("sku") or "",
        line.get("user") or "",
        line.get("requested_for") or "",
        line.get("charged_from") or "",
    ]
    o = line.get("override")
    if o:
        parts += [OVERRIDE_MARK, "override", o.get("kind") or "", o.get("reason") or ""]
    for d in line.get("downtime", []):
        parts += [d["source"], f"#{d['id']}", d.get("title") or ""]
    for s in line.get("split", []):
        parts.append(s["cost_object"])
    return " ".join(parts).lower()


def local_hm(instant: datetime | None, tz: str) -> str:
    """``2026-02-15 10:00`` in site time (``?`` when unknown)."""
    return timeutil.format_short(instant, tz) if instant is not None else "?"


def text_cell(value: str | None, *, style: str = "") -> Text:
    """One line of user text as an inert table cell."""
    return Text(one_line(value), style=style, no_wrap=True, overflow="ellipsis")
