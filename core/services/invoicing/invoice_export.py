"""Invoice exports shared by the CLI (``invoice show --csv|--json``) and the TUI (export to a file).

CSV: one row per line **and cost object**, so a 60/40 line gives two rows and the
``cost_object_amount`` column sums to the invoice total. Every cell is inert and guarded against
spreadsheet formula injection. JSON: the documented invoice document (``help/invoices.md``),
written exactly as the CLI prints it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from pathlib import Path
from typing import TextIO

from ...audit import to_jsonable
from ...context import ServiceContext
from ...errors import ConflictError, ValidationError
from ...safetext import csv_cell
from .invoices import Invoice, ensure_unchanged

FORMATS = ("csv", "json")

CSV_COLUMNS = [
    "period",
    "status",
    "project",
    "owner",
    "type",
    "reservation_id",
    "node",
    "user",
    "sku",
    "start",
    "end",
    "gross_hours",
    "downtime_hours",
    "net_hours",
    "billed_hours",
    "rate",
    "line_amount",
    "excluded",
    "override_kind",
    "override_reason",
    "charged_from",
    "cost_object",
    "cost_object_hours",
    "cost_object_amount",
]


def csv_rows(inv: Invoice) -> list[list[str]]:
    """The CSV rows (without the header), one per line and cost object."""
    doc = inv.doc
    rows: list[list[str]] = []
    for p in doc["projects"]:
        for line in p["lines"]:
            is_res = line["type"] == "reservation"
            o = line.get("override") or {}
            base = [
                doc["period"],
                doc["status"],
                p["project"],
                p["owner"],
                line["type"],
                str(line["reservation_id"]) if is_res else "",
                line["node"] if is_res else "",
                line.get("requested_for", "") if is_res else line["user"],
                line["sku"] or "",
                line["billed_from"] if is_res else line["from"],
                line["billed_to"] if is_res else line["to"],
                line["gross_hours"] if is_res else "",
                line["downtime_hours"] if is_res else "",
                line["net_hours"] if is_res else "",
                line["billed_hours"] if is_res else "",
                line["rate"] or "",
                line["amount"],
                ("yes" if line["excluded"] else "no") if is_res else "no",
                o.get("kind", ""),
                o.get("reason", ""),
                (line.get("charged_from") or "") if is_res else "",
            ]
            if not line["split"]:
                rows.append([*base, "", "", ""])
            for share in line["split"]:
                rows.append([*base, share["cost_object"], share.get("hours", ""), share["amount"]])
    return rows


def write_csv(inv: Invoice, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(inv):
        writer.writerow([csv_cell(str(c)) for c in row])


def write_json(inv: Invoice, out: TextIO) -> None:
    """The invoice document, as ``nodedesk invoice show --json`` prints it."""
    json.dump(to_jsonable(inv.to_json()), out, indent=2, ensure_ascii=False)
    out.write("\n")


def render(inv: Invoice, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError(f"must be one of {', '.join(FORMATS)} (got {fmt!r})", field="format")
    buf = io.StringIO()
    (write_csv if fmt == "csv" else write_json)(inv, buf)
    return buf.getvalue()


def default_path(period: str, fmt: str) -> str:
    """``~/nodedesk-invoice-2026-02.csv`` (as typed; :func:`export_to_file` expands ``~``)."""
    return f"~/nodedesk-invoice-{period}.{fmt}"


def resolve_path(raw: str) -> Path:
    """The file a typed path names (``~`` expanded, relative to the working directory)."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("is required (where to write the file)", field="path")
    if "\x00" in text:
        raise ValidationError("must not contain NUL characters", field="path")
    return Path(os.path.expanduser(text)).resolve()


def export_to_file(inv: Invoice, raw_path: str, fmt: str, *, overwrite: bool = False) -> Path:
    """Write the invoice as CSV or JSON to ``raw_path``; returns the absolute path written.

    Refuses a missing folder, a folder as target and (unless ``overwrite``) an existing file,
    each as a one-line error naming field ``path``. The file is written to a temporary name
    and renamed, so a failed export never leaves half a file behind.
    """
    path = resolve_path(raw_path)
    text = render(inv, fmt)
    if path.is_dir():
        raise ValidationError(f"{path} is a folder; type a file name", field="path")
    if not path.parent.is_dir():
        raise ValidationError(f"folder {path.parent} does not exist", field="path")
    if path.exists() and not overwrite:
        raise ConflictError(f"{path} already exists", field="path")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as fh:  # the usual umask applies
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ValidationError(f"could not write {path}: {exc.strerror or exc}", field="path") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def export_checked(
    ctx: ServiceContext, shown: Invoice, raw_path: str, fmt: str, *, overwrite: bool = False
) -> Path:
    """Write the invoice that was shown, once the month is checked to still be exactly that one.

    Refuses with :class:`~nodedesk.core.services.invoicing.invoices.MonthChanged` (nothing written) when
    the month changed since it was read: the file then never holds figures nobody saw, nor
    figures that are no longer true.
    """
    ensure_unchanged(ctx, shown)
    return export_to_file(shown, raw_path, fmt, overwrite=overwrite)
