"""The unit-of-work context of a migration: every activity entry names where its record came from.

The migration creates records through the core services (and, where a service cannot carry
history, with the same validators directly; core/orcd/migrator.py). Each service records its
own activity entry as usual; this context adds to that entry's reason the export it came from
and the record's natural key there ("migrated from ORCD export 2026-12-07T17:19:28+00:00
(sha256 657201b83d74): reservations [2]"), so the log tells every record's origin
(help/migrate.md, "History").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..context import ServiceContext
from ..models import ActivityEntry


@dataclass
class MigratingContext(ServiceContext):
    origin: str = ""  # "ORCD export <created_at> (sha256 <first 12>)"
    current: str = ""  # "<model> <natural key>" of the record being migrated

    @contextmanager
    def source(self, model: str, key: str) -> Iterator[None]:
        before = self.current
        self.current = f"{model} {key}"
        try:
            yield
        finally:
            self.current = before

    def provenance(self) -> str:
        where = f": {self.current}" if self.current else ""
        return f"migrated from {self.origin}{where}"

    def record(
        self, action: str, target_type: str, target_id: str | int = "", label: str = "", **kw: Any
    ) -> ActivityEntry:
        reason = kw.pop("reason", "") or ""
        told = self.provenance()
        kw["reason"] = f"{reason} ({told})" if reason else told
        return super().record(action, target_type, target_id, label, **kw)
