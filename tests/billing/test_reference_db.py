"""The worked examples of help/billing-rules.md, end to end from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoices

from tests.billing.factory import REFERENCE_TABLE


def _line(inv: invoices.Invoice, reservation_id: int) -> dict:
    found = [line for _p, line in inv.lines() if line.get("reservation_id") == reservation_id]
    assert len(found) == 1
    return found[0]


def test_reference_table_from_database(runtime: Runtime, reference: dict) -> None:
    ids = reference["reservation_ids"]
    with runtime.read() as ctx:
        months = {p: invoices.compute_invoice(ctx, p) for p in ("2026-01", "2026-02")}
    for (row, period), (gross, down, net, amount) in REFERENCE_TABLE.items():
        line = _line(months[period], ids[row])
        assert (line["gross_hours"], line["downtime_hours"], line["net_hours"], line["amount"]) == (
            gross,
            down,
            net,
            amount,
        ), (row, period)
    line = _line(months["2026-02"], ids[2])
    assert line["split"] == [
        {"cost_object": "GRANT-A", "hours": "17.40", "amount": "139.20"},
        {"cost_object": "GRANT-B", "hours": "11.60", "amount": "92.80"},
    ]
    assert line["downtime"] == [
        {
            "source": "maintenance",
            "id": line["downtime"][0]["id"],
            "title": "Firmware",
            "hours": "12.00",
            "open": False,
        }
    ]
    feb = months["2026-02"].doc
    assert feb["status"] == "draft" and feb["timezone"] == "America/New_York" and feb["currency"] == "USD"
    assert feb["totals"]["amount"] == "1768.00"  # 328 + 232 + 136 + 0 + 808 + 264
    assert feb["totals"]["net_hours"] == "221.00"
    assert feb["projects"][0]["totals"]["cost_objects"] == {
        "GRANT-A": {"hours": "132.60", "amount": "1060.80"},
        "GRANT-B": {"hours": "88.40", "amount": "707.20"},
    }
    assert any("entirely covered by downtime" in w for w in feb["warnings"])
