"""The model of the plugin's invoice API gives exactly what the plugin itself returned for every
month of its reference scenario (tests/fixtures/orcd-reference/invoices)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from nodedesk.core.orcd.export import read_export
from nodedesk.core.orcd.invoice import OrcdInvoice, read_invoice_file
from nodedesk.core.orcd.migrator import first_midnight_from
from nodedesk.core.orcd.plugin_model import effective_billing_end, plugin_invoice, reservation_wall_span
from nodedesk.core.orcd.source import read_source

from tests.orcd.conftest import MONTHS, REFERENCE_EXPORT, invoice_file


def _sorted(inv: OrcdInvoice) -> tuple[list[object], list[object]]:
    return (
        sorted(inv.reservations, key=lambda r: r.reservation_id),
        sorted(inv.fees, key=lambda f: (f.user, f.sku, f.project)),
    )


@pytest.mark.parametrize("period", MONTHS)
def test_the_model_reproduces_the_plugins_own_invoice(period: str) -> None:
    src = read_source(read_export(REFERENCE_EXPORT))
    real = read_invoice_file(invoice_file(period))
    model = plugin_invoice(src, "America/New_York", period)
    assert (real.period, real.source) == (model.period, model.source) == (period, "api")
    assert _sorted(model) == _sorted(real)


def test_the_plugins_reservation_span() -> None:
    assert reservation_wall_span(date(2026, 12, 14), 2) == (
        datetime(2026, 12, 14, 16),
        datetime(2026, 12, 15, 9),
    )
    assert reservation_wall_span(date(2026, 12, 14), 1) == (
        datetime(2026, 12, 14, 16),
        datetime(2026, 12, 15, 4),
    )
    assert reservation_wall_span(date(2026, 12, 14), 14) == (
        datetime(2026, 12, 14, 16),
        datetime(2026, 12, 21, 9),
    )


def test_the_plugins_whole_subscription_months() -> None:
    assert effective_billing_end(date(2026, 1, 15), date(2026, 1, 15)) == date(2026, 2, 14)
    assert effective_billing_end(date(2026, 1, 15), date(2026, 2, 15)) == date(2026, 3, 14)
    assert effective_billing_end(date(2026, 1, 31), date(2026, 2, 1)) == date(2026, 2, 27)


def test_a_split_applies_from_the_next_local_midnight() -> None:
    tz = "America/New_York"
    # approved 12:17 EST on 12-07: the plugin uses it for 12-08 on
    assert first_midnight_from(datetime(2026, 12, 7, 17, 17, tzinfo=UTC), tz) == date(2026, 12, 8)
    # approved exactly at local midnight: that day already
    assert first_midnight_from(datetime(2026, 12, 7, 5, 0, tzinfo=UTC), tz) == date(2026, 12, 7)
    # 23:30 EST on 12-07 is 04:30 UTC on 12-08: still the 12-08 midnight, local
    assert first_midnight_from(datetime(2026, 12, 8, 4, 30, tzinfo=UTC), tz) == date(2026, 12, 8)
