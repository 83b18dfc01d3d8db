"""Any list as formula-guarded CSV (core/services/list_export.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core.errors import ConflictError, ValidationError
from nodedesk.core.services import list_export

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def test_cells_are_guarded_and_numbers_kept() -> None:
    rows = [
        ['=HYPERLINK("x")', "+1-1", "-2.50", "@SUM(1)", "\tlead", "\rcr", "plain", None, 7],
    ]
    text = list_export.csv_text(["A", "B", "C", "D", "E", "F", "G", "H", "I"], rows)
    (header, row) = list(csv.reader(io.StringIO(text)))
    assert header == list("ABCDEFGHI")
    assert row == ['\'=HYPERLINK("x")', "'+1-1", "-2.50", "'@SUM(1)", "' lead", "'\\x0dcr", "plain", "", "7"]


@given(st.lists(st.lists(st.text(max_size=6), min_size=2, max_size=2), max_size=5))
def test_no_cell_can_start_a_formula(rows: list[list[str]]) -> None:
    text = list_export.csv_text(["a", "b"], rows)
    cells = [c for row in list(csv.reader(io.StringIO(text)))[1:] for c in row]
    for cell in cells:
        if cell[:1] in DANGEROUS:
            float(cell)  # only a plain number may start with - or +
    assert len(cells) == 2 * len(rows)


def test_export_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "nodes.csv"
    written = list_export.export_csv(str(target), ["NODE"], [["n1"], ["=cmd"]])
    assert written == target and target.read_text() == "NODE\nn1\n'=cmd\n"
    with pytest.raises(ConflictError, match="already exists"):
        list_export.export_csv(str(target), ["NODE"], [["n2"]])
    assert list_export.export_csv(str(target), ["NODE"], [["n2"]], overwrite=True).read_text() == "NODE\nn2\n"
    with pytest.raises(ValidationError, match=r"^rows: row 2 has 1 cells for 2 columns"):
        list_export.export_csv(str(tmp_path / "bad.csv"), ["A", "B"], [["1", "2"], ["3"]])
    assert not (tmp_path / "bad.csv").exists()  # nothing half-written
    with pytest.raises(ValidationError, match=r"^path: folder .* does not exist"):
        list_export.export_csv(str(tmp_path / "nope" / "x.csv"), ["A"], [])
