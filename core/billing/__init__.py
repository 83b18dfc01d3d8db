"""The billing engine (help/billing-rules.md).

- :mod:`.inputs` — plain data a month's invoice depends on (no database).
- :mod:`.engine` — the pure calculation: inputs in, lines, totals and warnings out.
- :mod:`.money` — exact quantities and the one place where rounding happens.
- :mod:`.document` — the invoice as the documented JSON document (also the snapshot format).
- :mod:`.compare` — drift between a finalized snapshot and the live invoice.
- :mod:`.loader` — fetches a month's inputs with a fixed number of queries.

Services (``core/services/invoicing/invoices.py``) put these together; front ends use the services.
"""

from .engine import compute
from .inputs import MonthData, month_spec

__all__ = ["MonthData", "compute", "month_spec"]
