"""Every problem with a draft at once, for forms that mark several fields.

A service's ``check_*`` collects the refusals its save would raise, in the order the save
would raise them; the save raises the first one (:meth:`Problems.raise_first`), so a rule lives
once and the command line still gets one line naming the field and the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import NodedeskError

T = TypeVar("T")


@dataclass(frozen=True)
class FieldProblem:
    """One refusal: the field it names ('' for the record as a whole), its message, the error
    the save raises, and ``fix`` — the input that resolves it when that is another field (a
    backdated start is fixed by giving a reason)."""

    field: str
    message: str
    error: NodedeskError
    fix: str = ""

    @classmethod
    def of(cls, exc: NodedeskError, *, fix: str = "") -> FieldProblem:
        return cls(exc.field or "", exc.message, exc, fix)


class Problems:
    """Collects refusals instead of stopping at the first."""

    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    def attempt(self, fn: Callable[..., T], *args: object, fix: str = "", **kwargs: object) -> T | None:
        """``fn(*args, **kwargs)``, or None after recording the refusal it raised."""
        try:
            return fn(*args, **kwargs)
        except NodedeskError as exc:
            self.items.append(FieldProblem.of(exc, fix=fix))
            return None

    def passes(self, fn: Callable[..., object], *args: object, fix: str = "") -> bool:
        """Whether ``fn(*args)`` raised nothing (a refusal is recorded)."""
        before = len(self.items)
        self.attempt(fn, *args, fix=fix)
        return len(self.items) == before

    def add(self, exc: NodedeskError, *, fix: str = "") -> None:
        self.items.append(FieldProblem.of(exc, fix=fix))

    def raise_first(self) -> None:
        if self.items:
            raise self.items[0].error
