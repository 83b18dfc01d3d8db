"""What a list screen asks for, declared as data: sorts, filter cycles, the query, a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol


class Page(Protocol):
    """One page of a list, as every core ``list_*`` service returns it."""

    @property
    def items(self) -> Sequence[Any]: ...

    @property
    def total(self) -> int: ...

    @property
    def offset(self) -> int: ...


@dataclass(frozen=True)
class SimplePage:
    """A page built by the screen (e.g. a service that returns the whole short list)."""

    items: Sequence[Any]
    total: int
    offset: int = 0


@dataclass(frozen=True)
class Sort:
    """One sort the ``s`` key cycles through (and a header click picks)."""

    key: str  # the service's sort key
    label: str  # shown in the status line
    descending: bool = False  # the direction it starts in
    words: tuple[str, str] | None = None  # (descending, ascending) words instead of ↓/↑

    def arrow(self, descending: bool) -> str:
        if self.words is not None:
            return self.words[0 if descending else 1]
        return "↓" if descending else "↑"


@dataclass(frozen=True)
class Cycle:
    """A filter a key cycles through (status, kind...): its values in order, the first is "all"."""

    name: str  # the query's filter name; the action is ``cycle_<name>``
    key: str
    values: tuple[Any, ...]
    description: str  # the footer word
    tooltip: str = ""
    show: bool = False
    labels: Mapping[Any, str] = field(default_factory=dict)  # value -> word (default: the value)

    def label(self, value: Any) -> str:
        if value in self.labels:
            return self.labels[value]
        return "all" if value is None else str(value)

    def after(self, value: Any) -> Any:
        index = self.values.index(value) if value in self.values else -1
        return self.values[(index + 1) % len(self.values)]


@dataclass(frozen=True)
class ListQuery:
    """The list's state the service is asked with: text, sort, cycle values and the page."""

    text: str = ""
    sort: str | None = None
    descending: bool = False
    filters: tuple[tuple[str, Any], ...] = ()
    offset: int = 0
    limit: int = 100

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.filters).get(name, default)

    def at(self, offset: int) -> ListQuery:
        return replace(self, offset=max(offset, 0))
