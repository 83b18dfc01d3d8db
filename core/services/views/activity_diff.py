"""What an activity entry changed: its before and after documents as one line per field that
differs, ``field: before → after`` (help/activity.md).

Nested objects are flattened with dotted paths (``scope.nodes``); a list of objects by index
(``parts.0.percent``); any other list is one value. A field only before is *removed*, only
after *added*. Values are shown as JSON (strings quoted), so ``""`` and ``null`` differ visibly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .activity import ActivityView

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
NONE_TEXT = "(none)"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of ``value`` by dotted path (``{}`` gives nothing; a scalar gives its prefix)."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{i}" if prefix else str(i)))
        return out
    out[prefix or "value"] = value
    return out


def value_text(value: Any) -> str:
    return NONE_TEXT if value is MISSING else json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any  # MISSING: the field was not there
    after: Any

    @property
    def change(self) -> str:
        if self.before is MISSING:
            return "added"
        return "removed" if self.after is MISSING else "changed"

    def describe(self) -> str:
        return f"{self.path}: {value_text(self.before)} → {value_text(self.after)}"

    def to_json(self) -> dict[str, object]:
        return {
            "field": self.path,
            "change": self.change,
            "before": None if self.before is MISSING else self.before,
            "after": None if self.after is MISSING else self.after,
        }


def diff(before: Any, after: Any) -> list[FieldChange]:
    """The fields that differ between two documents, in the order they appear (after's fields
    first, then those only before). ``None`` for a whole document means there was none (a
    creation has no before, a deletion may have no after)."""
    old = flatten(before) if before is not None else {}
    new = flatten(after) if after is not None else {}
    changes = [
        FieldChange(path, old.get(path, MISSING), value)
        for path, value in new.items()
        if path not in old or old[path] != value or type(old[path]) is not type(value)
    ]
    changes += [FieldChange(path, value, MISSING) for path, value in old.items() if path not in new]
    return changes


def entry_changes(entry: ActivityView) -> list[FieldChange]:
    return diff(entry.before, entry.after)
