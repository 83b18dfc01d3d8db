"""A :class:`PagedTable` for short lists shown whole (a project's members, a SKU's rates).

Such a list is one page; its rows have nothing further to open, so ``enter`` is not offered.
"""

from __future__ import annotations

from .paged_table import PagedTable


class ListTable(PagedTable):
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "select_cursor"
