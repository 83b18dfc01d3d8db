"""Any list as CSV: the rows a list shows, formula-guarded, to a stream or to a file.

Every cell passes through :func:`nodedesk.core.safetext.csv_cell`: control characters become
visible escapes, and a cell starting with ``=`` ``+`` ``-`` ``@`` (plain numbers aside), a tab
or a carriage return gets a leading ``'`` so a spreadsheet shows it as text instead of running
it. Files are written as invoice exports are (core/services/invoice_export.py): through a
temporary file renamed into place, refusing a missing folder, a folder, or (unless asked) an
existing file. See help/keys.md and the topic of each list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from ..errors import ValidationError
from ..safetext import csv_cell
from .invoicing.invoice_export import resolve_path, write_text


def _cell(value: object) -> str:
    return csv_cell("" if value is None else str(value))


def write_rows(out: TextIO, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a header line and the rows as guarded CSV; returns how many rows were written.
    Every row must have as many cells as there are headers."""
    if not headers:
        raise ValidationError("a list export needs at least one column", field="columns")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_cell(h) for h in headers])
    count = 0
    for row in rows:
        cells = list(row)
        if len(cells) != len(headers):
            raise ValidationError(
                f"row {count + 1} has {len(cells)} cells for {len(headers)} columns", field="rows"
            )
        writer.writerow([_cell(c) for c in cells])
        count += 1
    return count


def csv_text(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    write_rows(buf, headers, rows)
    return buf.getvalue()


def export_csv(
    raw_path: str, headers: Sequence[str], rows: Iterable[Sequence[object]], *, overwrite: bool = False
) -> Path:
    """Write the list to the file ``raw_path`` names (``~`` expanded); returns the path written.
    Nothing is written when a row is malformed or the path is refused."""
    path = resolve_path(raw_path)
    return write_text(path, csv_text(headers, rows), overwrite=overwrite)
