"""The shared invoice export (CLI ``--csv``/``--json`` and the TUI's export to a file), and the
per-month summary the TUI's month picker fills in one month at a time."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from nodedesk.core.errors import ConflictError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoice_export, invoices


def test_csv_has_one_row_per_line_and_cost_object_summing_to_the_total(
    runtime: Runtime, reference: dict
) -> None:
    with runtime.read() as ctx:
        inv = invoices.compute_invoice(ctx, "2026-02")
    rows = list(csv.DictReader(io.StringIO(invoice_export.render(inv, "csv"))))
    assert list(rows[0]) == invoice_export.CSV_COLUMNS
    by_line = {}
    for r in rows:
        by_line.setdefault(r["reservation_id"], []).append(r)
    r2 = by_line[str(reference["reservation_ids"][2])]
    assert [(r["cost_object"], r["cost_object_hours"], r["cost_object_amount"]) for r in r2] == [
        ("GRANT-A", "17.40", "139.20"),
        ("GRANT-B", "11.60", "92.80"),
    ]
    assert r2[0]["downtime_hours"] == "12.00" and r2[0]["line_amount"] == "232.00"
    assert sum(Decimal(r["cost_object_amount"] or 0) for r in rows) == Decimal(inv.totals["amount"])


def test_export_to_file_writes_csv_and_json_and_refuses_bad_paths(
    runtime: Runtime, reference: dict, tmp_path: Path
) -> None:
    with runtime.read() as ctx:
        inv = invoices.compute_invoice(ctx, "2026-02")
    tmp_path = tmp_path / "out"  # (the SQLite database lives in tmp_path itself)
    tmp_path.mkdir()
    target = tmp_path / "feb.csv"
    written = invoice_export.export_to_file(inv, str(target), "csv")
    assert written == target.resolve()
    assert target.read_text(encoding="utf-8") == invoice_export.render(inv, "csv")

    as_json = invoice_export.export_to_file(inv, str(tmp_path / "feb.json"), "json")
    assert json.loads(as_json.read_text(encoding="utf-8")) == json.loads(json.dumps(inv.to_json()))

    with pytest.raises(ConflictError) as exists:
        invoice_export.export_to_file(inv, str(target), "csv")
    assert exists.value.field == "path"
    target.write_text("old", encoding="utf-8")
    invoice_export.export_to_file(inv, str(target), "csv", overwrite=True)
    assert target.read_text(encoding="utf-8").startswith("period,status,project")

    for bad in ("", "  ", str(tmp_path), str(tmp_path / "missing" / "x.csv")):
        with pytest.raises(ValidationError) as refused:
            invoice_export.export_to_file(inv, bad, "csv")
        assert refused.value.field == "path"
    with pytest.raises(ValidationError):
        invoice_export.export_to_file(inv, str(tmp_path / "x.xml"), "xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feb.csv", "feb.json"]  # no temp files left


def test_default_path_and_home_expansion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert invoice_export.default_path("2026-02", "csv") == "~/nodedesk-invoice-2026-02.csv"
    assert (
        invoice_export.resolve_path("~/nodedesk-invoice-2026-02.json")
        == (tmp_path / "nodedesk-invoice-2026-02.json").resolve()
    )


def test_month_summary_matches_the_month_list(runtime: Runtime, reference: dict) -> None:
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    with runtime.read() as ctx:
        months = invoices.list_months(ctx)
        assert [m.period for m in months] == ["2026-01", "2026-02"]
        assert [invoices.month_summary(ctx, m.period) for m in months] == months
    assert months[0].status == "finalized" and months[1].status == "draft"
