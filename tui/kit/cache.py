"""The pages of one query kept in memory, so moving between them does not wait on SQL."""

from __future__ import annotations

from collections import OrderedDict

from .query import Page


def last_offset(total: int, page_size: int) -> int:
    return ((total - 1) // page_size) * page_size if total > 0 else 0


class PageCache:
    """Pages by offset for the current query, least recently used dropped beyond ``capacity``.

    ``generation`` changes whenever the cache is cleared (a new filter, sort, reload): a page read
    for an older generation is not stored.
    """

    def __init__(self, capacity: int = 6) -> None:
        self.capacity = capacity
        self.generation = 0
        self._pages: OrderedDict[int, Page] = OrderedDict()

    def clear(self) -> int:
        self._pages.clear()
        self.generation += 1
        return self.generation

    def get(self, offset: int) -> Page | None:
        page = self._pages.get(offset)
        if page is not None:
            self._pages.move_to_end(offset)
        return page

    def put(self, page: Page, generation: int | None = None) -> None:
        if generation is not None and generation != self.generation:
            return
        self._pages[page.offset] = page
        self._pages.move_to_end(page.offset)
        while len(self._pages) > self.capacity:
            self._pages.popitem(last=False)

    def __contains__(self, offset: int) -> bool:
        return offset in self._pages

    def wanted(self, offset: int, total: int, page_size: int) -> list[int]:
        """The pages worth reading ahead from ``offset``: the next, the previous, the first and
        the last (``]``, ``[``, ``g``, ``G``), those not already here."""
        candidates = [offset + page_size, offset - page_size, 0, last_offset(total, page_size)]
        out: list[int] = []
        for o in candidates:
            if 0 <= o < max(total, 1) and o != offset and o not in self._pages and o not in out:
                out.append(o)
        return out
