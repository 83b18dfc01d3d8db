"""The migration report: per kind of the export, what became of every record, and why.

Every record the export holds is counted exactly once per kind: **created** (a new nodedesk
record), **merged** (its data went into another record: a group into user roles, a cost object
into its split, a metadata entry into its reservation's notes), **present** (a second run: the
record is already here) or **skipped** with the reason. ``read`` always equals the sum, so
nothing is dropped without a line saying why (help/migrate.md, "The report").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES = 5  # record keys shown per skip reason


@dataclass
class KindTally:
    model: str
    component: str
    target: str  # what the records become in nodedesk
    read: int = 0
    created: int = 0
    merged: int = 0
    present: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> record keys

    @property
    def skipped_count(self) -> int:
        return sum(len(keys) for keys in self.skipped.values())

    @property
    def accounted(self) -> int:
        return self.created + self.merged + self.present + self.skipped_count

    def skip(self, key: str, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "component": self.component,
            "becomes": self.target,
            "read": self.read,
            "created": self.created,
            "merged": self.merged,
            "present": self.present,
            "skipped": self.skipped_count,
            "skip_reasons": [
                {"reason": reason, "count": len(keys), "records": keys[:EXAMPLES]}
                for reason, keys in sorted(self.skipped.items())
            ],
        }


@dataclass(frozen=True)
class NotMapped:
    model: str
    component: str
    count: int
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "component": self.component, "count": self.count, "why": self.why}


@dataclass(frozen=True)
class SettingChoice:
    name: str
    value: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "why": self.why}


@dataclass(frozen=True)
class FinalizedMonth:
    """A month the plugin had finalized: nodedesk's snapshot beside the plugin's figures."""

    period: str
    finalized_by: str
    finalized_at: str
    sha256: str
    ours: dict[str, str]  # net_hours, amount
    plugin: dict[str, str]  # hours, amount (the plugin's own computation from the export)
    causes: dict[str, dict[str, str]]  # class -> {"lines", "hours", "amount"}

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "finalized_in_orcd_by": self.finalized_by,
            "finalized_in_orcd_at": self.finalized_at,
            "snapshot_sha256": self.sha256,
            "nodedesk": self.ours,
            "orcd": self.plugin,
            "differences": self.causes,
        }


@dataclass
class MigrationReport:
    directory: Path
    source: dict[str, Any]
    dry_run: bool
    outcome: str = ""  # "migrated" | "already migrated"
    login: str = ""
    settings: list[SettingChoice] = field(default_factory=list)
    kinds: dict[str, KindTally] = field(default_factory=dict)
    not_mapped: list[NotMapped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    placeholder_rates: list[dict[str, str]] = field(default_factory=list)
    overlaps: list[dict[str, Any]] = field(default_factory=list)
    finalized: list[FinalizedMonth] = field(default_factory=list)
    audit_seq: int | None = None
    seconds: float = 0.0

    def kind(self, model: str, component: str, target: str) -> KindTally:
        tally = self.kinds.get(model)
        if tally is None:
            tally = self.kinds[model] = KindTally(model, component, target)
        return tally

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    @property
    def created(self) -> int:
        return sum(k.created for k in self.kinds.values())

    @property
    def read(self) -> int:
        return sum(k.read for k in self.kinds.values())

    def unaccounted(self) -> list[str]:
        """Kinds whose records are not all accounted for (always empty; a test checks)."""
        return [k.model for k in self.kinds.values() if k.accounted != k.read]

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "source": self.source,
            "dry_run": self.dry_run,
            "outcome": self.outcome,
            "admin": self.login,
            "settings": [s.to_json() for s in self.settings],
            "kinds": [k.to_json() for k in self.kinds.values()],
            "totals": {
                "read": self.read,
                "created": self.created,
                "merged": sum(k.merged for k in self.kinds.values()),
                "present": sum(k.present for k in self.kinds.values()),
                "skipped": sum(k.skipped_count for k in self.kinds.values()),
            },
            "not_mapped": [n.to_json() for n in self.not_mapped],
            "placeholder_rates": self.placeholder_rates,
            "overlaps": self.overlaps,
            "finalized_months": [m.to_json() for m in self.finalized],
            "warnings": self.warnings,
            "audit_seq": self.audit_seq,
            "seconds": round(self.seconds, 3),
        }


def keys(items: Iterable[str], limit: int = EXAMPLES) -> str:
    shown = list(items)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more
