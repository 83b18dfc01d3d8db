"""The unit-of-work context of a migration: every activity entry names where its record came from.

The migration creates records through the core services (and, where a service cannot carry
history, with the same validators directly; core/orcd/migrator.py). Each service records its
own activity entry as usual; this context adds to that entry's reason the export it came from
and the record's natural key there ("migrated from ORCD export 2026-12-07T17:19:28+00:00
(sha256 657201b83d74): reservations [2]"), so the log tells every record's origin
(help/migrate.md, "History").

Entries are held back and appended in batches (:meth:`flush`): thousands of records, one chain
read and one insert per batch instead of one each. Their order is the order of the changes;
:meth:`mark` / :meth:`drop_since` forget the entries of a record that was refused and rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from .. import audit
from ..context import ServiceContext
from ..models import ActivityEntry

BATCH = 1000


@dataclass
class MigratingContext(ServiceContext):
    origin: str = ""  # "ORCD export <created_at> (sha256 <first 12>)"
    current: str = ""  # "<model> <natural key>" of the record being migrated
    held: list[audit.Pending] = field(default_factory=list)
    flushes: int = 0

    @contextmanager
    def source(self, model: str, key: str) -> Iterator[None]:
        before = self.current
        self.current = f"{model} {key}".strip()
        try:
            yield
        finally:
            self.current = before

    def provenance(self, current: str | None = None) -> str:
        where = self.current if current is None else current
        return f"migrated from {self.origin}" + (f": {where}" if where else "")

    def with_provenance(self, item: audit.Pending, current: str | None = None) -> audit.Pending:
        told = self.provenance(current)
        return replace(item, reason=f"{item.reason} ({told})" if item.reason else told)

    def record(
        self, action: str, target_type: str, target_id: str | int = "", label: str = "", **kw: Any
    ) -> ActivityEntry:
        """Hold the entry back until :meth:`flush` (what a service records, with its source)."""
        item = self.with_provenance(self.pending(action, target_type, target_id, label, **kw))
        self.held.append(item)
        if len(self.held) >= BATCH:
            self.flush()
        return ActivityEntry(action=action, target_type=target_type, target_id=str(target_id))

    def hold(self, items: list[tuple[str, audit.Pending]]) -> None:
        """Entries for many records at once, each naming its own source record."""
        for current, item in items:
            self.held.append(self.with_provenance(item, current))
            if len(self.held) >= BATCH:
                self.flush()

    def mark(self) -> tuple[int, int]:
        return self.flushes, len(self.held)

    def drop_since(self, mark: tuple[int, int]) -> None:
        """Forget what was held since ``mark`` (entries flushed meanwhile went with the rollback)."""
        flushes, held = mark
        del self.held[held if flushes == self.flushes else 0 :]

    def flush(self) -> list[ActivityEntry]:
        """Append the held entries to the log now."""
        items, self.held = self.held, []
        self.flushes += 1
        return self.append(items) if items else []
