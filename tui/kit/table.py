"""A table over a paged source that holds one page and keeps its neighbours in memory.

The table shows one page of the source (the DataTable draws only the rows in view). It keeps
the pages it has seen and asks its screen to read the neighbouring ones ahead
(:class:`VirtualTable.Prefetch`), so ``j``/``k`` past the edge, ``]``, ``[``, ``G`` and ``g``
usually turn the page from memory; a page not in memory is asked for with
:class:`PagedTable.PageRequest` as before. Keys: j/k, g/G, home/end, ]/[ and enter.

With ``marking`` the table also holds the user's marks: row keys (not positions), so a mark
stays on its record across pages, reloads and the live refresh. While anything is marked, marked
rows show :data:`MARK_GLYPH` in a narrow first column (the glyph, not a colour, is the signal;
without marks the column is not there, so it costs an 80-column list nothing); the screen
decides what marks mean and when they go (tui/kit/list_screen.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.message import Message

from ..widgets.paged_table import MARK_COLUMN, Col, CursorHint, PagedTable, Row
from .cache import PageCache, last_offset
from .query import Page

MARK_GLYPH = "●"
MARK_COL = Col(MARK_COLUMN, "", 1)


class VirtualTable(PagedTable):
    class PageShown(Message):
        """A page is on screen (read from the database or from memory)."""

        def __init__(self, table: VirtualTable, page: Page) -> None:
            super().__init__()
            self.table = table
            self.page = page

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Prefetch(Message):
        """Read these pages ahead (for cache generation ``generation``)."""

        def __init__(self, table: VirtualTable, offsets: list[int], generation: int) -> None:
            super().__init__()
            self.table = table
            self.offsets = offsets
            self.generation = generation

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        render_rows: Callable[[Sequence[Any]], list[Row]],
        key_of: Callable[[Any], str],
        *,
        page_size: int = 100,
        read_ahead: bool = True,
        opens: bool = True,
        local: bool = False,
        marking: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(page_size=page_size, id=id)
        self.marking = marking  # True: a narrow first column shows the marks
        self.marks: dict[str, None] = {}  # marked row keys, in the order they were marked
        self.data_cols: list[Col] = []  # the screen's columns (without the marks column)
        self.opens = opens  # False: rows have nothing to open, enter is not offered
        self.local = local  # True: pages come from memory, nothing to read ahead or keep
        self.render_rows = render_rows
        self.key_of = key_of
        self.read_ahead = read_ahead
        self.cache = PageCache()
        self.page: Page | None = None
        self.items: dict[str, Any] = {}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.opens or action != "select_cursor"

    # ------------------------------------------------------------------ marks

    @property
    def shows_marks(self) -> bool:
        return self.marking and bool(self.marks)

    def set_columns(self, cols: list[Col]) -> None:
        self.data_cols = cols
        super().set_columns([MARK_COL, *cols] if self.shows_marks else cols)

    def _with_marks(self, rows: list[Row]) -> list[Row]:
        if not self.shows_marks:
            return rows
        return [Row(r.key, [self._mark_cell(r.key), *r.cells]) for r in rows]

    def _mark_cell(self, key: str) -> Text:
        return Text(MARK_GLYPH if key in self.marks else " ", style="bold")

    def set_marks(self, keys: Sequence[str], marked: bool = True) -> None:
        """Mark (or unmark) the rows ``keys``; those on this page change in place (the first mark
        brings the marks column, the last one takes it away)."""
        showed = self.shows_marks
        for key in keys:
            if marked:
                self.marks.setdefault(key, None)
            else:
                self.marks.pop(key, None)
        if self.shows_marks != showed:
            if self.page is not None:
                self.rows_data = self._with_marks(self.render_rows(list(self.page.items)))
            self.set_columns(self.data_cols)  # lays the columns out again, the cursor kept
            return
        shown = {r.key for r in self.rows_data}
        for key in keys:
            if key in shown:
                self.update_cell(key, MARK_COLUMN, self._mark_cell(key))

    def clear_marks(self) -> None:
        self.set_marks(list(self.marks), marked=False)

    def position(self, key: str) -> int | None:
        """The row's place in the whole list, when it is on this page."""
        keys = [r.key for r in self.rows_data]
        return self.page_offset + keys.index(key) if key in keys else None

    # ------------------------------------------------------------------ showing pages

    def show(self, page: Page, cursor: CursorHint = "keep", *, keep_scroll: bool = False) -> None:
        """Show ``page`` (and remember it); ``keep_scroll`` leaves the view where it was."""
        self.cache.put(page)
        self.page = page
        self.items = {self.key_of(item): item for item in page.items}
        x, y = self.scroll_x, self.scroll_y
        self.show_page(self._with_marks(self.render_rows(list(page.items))), page.total, page.offset, cursor)
        if keep_scroll:  # after the refresh, when the table has scrolled to its cursor
            self.call_after_refresh(self.scroll_to, x, y, animate=False, immediate=True)
        self.post_message(self.PageShown(self, page))
        self._read_ahead()

    def rerender(self) -> None:
        """Draw the current page again (the width or the clock changed how rows look)."""
        if self.page is not None:
            x, y = self.scroll_x, self.scroll_y
            rows = self._with_marks(self.render_rows(list(self.page.items)))
            self.show_page(rows, self.page_total, self.page_offset)
            self.call_after_refresh(self.scroll_to, x, y, animate=False, immediate=True)

    def forget(self) -> int:
        """Drop the pages in memory (the query changed or the data may have); the new generation."""
        return self.cache.clear()

    def store(self, pages: Sequence[Page], generation: int) -> None:
        for page in pages:
            self.cache.put(page, generation)

    def current_item(self) -> Any | None:
        key = self.current_key()
        return self.items.get(key) if key is not None else None

    @property
    def last_offset(self) -> int:
        return last_offset(self.page_total, self.page_size)

    # ------------------------------------------------------------------ paging from memory

    def _request(self, offset: int, cursor: CursorHint) -> None:
        cached = None if self.local else self.cache.get(offset)
        if cached is not None and not self._pending:
            self.show(cached, cursor)
            return
        super()._request(offset, cursor)

    def _read_ahead(self) -> None:
        if not self.read_ahead or self.page is None or self.local:
            return
        wanted = self.cache.wanted(self.page_offset, self.page_total, self.page_size)
        if wanted:
            self.post_message(self.Prefetch(self, wanted, self.cache.generation))
