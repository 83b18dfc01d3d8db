"""A DataTable that shows one page of an SQL query at a time.

The table never holds more than one page. Moving past its last (first) row, ``]``/``[``, and
``G``/``g`` post :class:`PagedTable.PageRequest`; the screen loads that page in a worker and
calls :meth:`PagedTable.show_page`. Columns are declared with :class:`Col`; a column with
``width=None`` takes the space left over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

CursorHint = Literal["keep", "first", "last"]
MARK_COLUMN = "mark"  # the key of a list's narrow marks column (tui/kit/table.py), never data


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    width: int | None = None  # None: flexible (takes the remaining width)
    min_width: int = 10
    sort_key: str | None = None  # the service's sort key when the header is clicked
    essential: bool = True  # False: may scroll off to the right on narrow terminals


@dataclass(frozen=True)
class Row:
    key: str
    cells: Sequence[Any]


class PagedTable(DataTable[Any]):
    BINDINGS = [
        Binding("enter", "select_cursor", "Open"),
        Binding("j", "cursor_down", "Cursor down", show=False),
        Binding("k", "cursor_up", "Cursor up", show=False),
        Binding("g", "first", "First row", show=False),
        Binding("G", "last", "Last row", show=False),
        Binding("home", "first", "First row", show=False),
        Binding("end", "last", "Last row", show=False),
        Binding("right_square_bracket", "next_page", "Next page", show=False, key_display="]"),
        Binding("left_square_bracket", "prev_page", "Previous page", show=False, key_display="["),
    ]

    class PageRequest(Message):
        """The user moved beyond this page: load rows from ``offset``."""

        def __init__(self, table: PagedTable, offset: int, cursor: CursorHint) -> None:
            super().__init__()
            self.table = table
            self.page_offset = offset
            self.cursor = cursor

        @property
        def control(self) -> PagedTable:
            return self.table

    def __init__(self, *, page_size: int = 100, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.page_size = page_size
        self.page_offset = 0
        self.page_total = 0
        self.cols: list[Col] = []
        self.rows_data: list[Row] = []
        self._pending = False

    # ------------------------------------------------------------------ columns and data

    def set_columns(self, cols: list[Col]) -> None:
        """Lay out the columns for the current width (call again on resize)."""
        self.cols = cols
        self._layout()

    def _widths(self) -> list[int | None]:
        # the width beside the vertical scrollbar's gutter, which is always kept (app.tcss)
        available = (self.size.width or 80) - self.scrollbar_gutter.right
        flex = [c for c in self.cols if c.width is None]
        pad = 2 * self.cell_padding

        def share_of(cols: list[Col], growing: list[Col]) -> int:
            """The width each growing column gets beside the fixed columns of ``cols``."""
            fixed = sum((c.width or 0) + pad for c in cols if c.width is not None)
            return (available - fixed - pad * len(growing)) // len(growing)

        share = share_of(self.cols, flex) if flex else 0
        narrow = bool(flex) and share < min(c.min_width for c in flex)
        growing = flex
        if narrow:
            # Too narrow for everything: the essential flexible columns fill the screen next to
            # the other essential columns; the rest keep their least width and scroll into view
            # with left/right.
            growing = [c for c in flex if c.essential] or flex
            share = share_of([c for c in self.cols if c.essential or c in growing], growing)
        widths: list[int | None] = [
            c.width if c.width is not None else max(share if c in growing else 0, c.min_width)
            for c in self.cols
        ]
        if narrow:
            # The last essential column also covers the gutter, so that the next column starts
            # past the right edge whether or not the scrollbar shows: no cut-off header letters.
            last = max(i for i, c in enumerate(self.cols) if c.essential)
            after = self.cols[last + 1 :]
            if after and all(c not in growing for c in after):  # else a growing one fills the row
                widths[last] = (widths[last] or 0) + self.scrollbar_gutter.right
        return widths

    def _layout(self) -> None:
        cursor_key = self.current_key()
        self.clear(columns=True)
        for col, width in zip(self.cols, self._widths(), strict=True):
            self.add_column(Text(col.label, style="bold"), width=width, key=col.key)
        self._fill(cursor_key)

    def _fill(self, cursor_key: str | None, hint: CursorHint = "keep", old_row: int = 0) -> None:
        self.clear()
        for row in self.rows_data:
            self.add_row(*row.cells, key=row.key)
        if not self.rows_data:
            return
        keys = [r.key for r in self.rows_data]
        if hint == "first":
            index = 0
        elif hint == "last":
            index = len(keys) - 1
        elif cursor_key in keys:
            index = keys.index(cursor_key)
        else:
            index = min(old_row, len(keys) - 1)
        self.move_cursor(row=index, animate=False)

    def show_page(self, rows: list[Row], total: int, offset: int, cursor: CursorHint = "keep") -> None:
        old_key, old_row = self.current_key(), self.cursor_row
        self.rows_data, self.page_total, self.page_offset = rows, total, offset
        self._pending = False
        self._fill(old_key, cursor, old_row)

    def current_key(self) -> str | None:
        if not self.rows_data or self.row_count == 0:
            return None
        row = min(max(self.cursor_row, 0), len(self.rows_data) - 1)
        return self.rows_data[row].key

    def on_resize(self) -> None:
        if self.cols:
            self._layout()

    # ------------------------------------------------------------------ paging

    @property
    def last_offset(self) -> int:
        if self.page_total <= 0:
            return 0
        return ((self.page_total - 1) // self.page_size) * self.page_size

    def range_label(self) -> str:
        if self.page_total == 0:
            return "0 of 0"
        return f"{self.page_offset + 1}–{self.page_offset + len(self.rows_data)} of {self.page_total}"

    def _request(self, offset: int, cursor: CursorHint) -> None:
        if self._pending:
            return
        self._pending = True
        self.post_message(self.PageRequest(self, offset, cursor))

    def action_cursor_down(self) -> None:
        at_end = self.row_count and self.cursor_row >= self.row_count - 1
        if at_end and self.page_offset + len(self.rows_data) < self.page_total:
            self._request(self.page_offset + self.page_size, "first")
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0 and self.page_offset > 0:
            self._request(max(self.page_offset - self.page_size, 0), "last")
        else:
            super().action_cursor_up()

    def action_next_page(self) -> None:
        if self.page_offset + self.page_size < self.page_total:
            self._request(self.page_offset + self.page_size, "first")
        elif self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def action_prev_page(self) -> None:
        if self.page_offset > 0:
            self._request(max(self.page_offset - self.page_size, 0), "first")
        elif self.row_count:
            self.move_cursor(row=0)

    def action_first(self) -> None:
        if self.page_offset > 0:
            self._request(0, "first")
        elif self.row_count:
            self.move_cursor(row=0)

    def action_last(self) -> None:
        if self.page_offset != self.last_offset:
            self._request(self.last_offset, "last")
        elif self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def request_failed(self) -> None:
        self._pending = False
