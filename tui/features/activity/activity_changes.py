"""What an activity entry changed, as the entry's detail shows it (help/activity.md, "What changed").

The fields and their before/after values come from core/services/views/activity_diff.py, the
same list ``audit show`` prints; this module only lays them out: one line per field,
``field: before → after``, each value shortened to fit the width (the raw JSON view has them
whole). An entry with no before (a creation) lists the values it set; one whose before has
nothing left in its after (a deletion) lists the values it had, then what was recorded with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodedesk.core.safetext import one_line
from nodedesk.core.services.views.activity_diff import MISSING, FieldChange, diff, flatten, value_text

ARROW = " → "
INDENT = "  "
MIN_VALUE = 16  # a shortened value keeps at least this many characters


@dataclass(frozen=True)
class ChangeGroup:
    heading: str
    lines: tuple[str, ...]


def _fields(document: Any) -> set[str]:
    return set(flatten(document)) if document is not None else set()


def _fit(text: str, room: int) -> str:
    return one_line(text, max_len=max(room, MIN_VALUE))


def change_line(change: FieldChange, width: int) -> str:
    """``  field: before → after``; when too long for ``width``, the longer values are shortened
    (each keeps at least ``MIN_VALUE`` characters, so a narrow line wraps rather than says nothing)."""
    path = one_line(change.path)
    before, after = value_text(change.before), value_text(change.after)
    line = f"{INDENT}{path}: {one_line(before)}{ARROW}{one_line(after)}"
    if len(line) <= width:
        return line
    room = width - len(INDENT) - len(path) - 2 - len(ARROW)
    half = room // 2
    # a short value stays whole and leaves its room to the other one
    if len(before) <= half:
        before_room, after_room = len(before), room - len(before)
    elif len(after) <= half:
        before_room, after_room = room - len(after), len(after)
    else:
        before_room, after_room = half, room - half
    return f"{INDENT}{path}: {_fit(before, before_room)}{ARROW}{_fit(after, after_room)}"


def value_line(path: str, value: Any, width: int) -> str:
    """``  field: value`` (a value set by a creation, or held by a deleted record)."""
    name = one_line(path)
    return f"{INDENT}{name}: {_fit(value_text(value), width - len(INDENT) - len(name) - 2)}"


def _count(n: int) -> str:
    return f"{n} field{'s' if n != 1 else ''}"


def groups(before: Any, after: Any, width: int) -> list[ChangeGroup]:
    """The detail's "what changed" part, in groups with a heading; empty when nothing differs."""
    changes = diff(before, after)
    if not changes:
        return []
    had, has = _fields(before), _fields(after)
    if not had:
        lines = tuple(value_line(c.path, c.after, width) for c in changes)
        return [ChangeGroup(f"Created with ({_count(len(lines))})", lines)]
    if not had & has:  # nothing of the record is left: a deletion (maybe with a note about it)
        gone = tuple(value_line(c.path, c.before, width) for c in changes if c.after is MISSING)
        noted = tuple(value_line(c.path, c.after, width) for c in changes if c.before is MISSING)
        found = [ChangeGroup(f"Deleted; it had ({_count(len(gone))})", gone)]
        if noted:
            found.append(ChangeGroup("Recorded with the deletion", noted))
        return found
    lines = tuple(change_line(c, width) for c in changes)
    return [ChangeGroup(f"Changed ({_count(len(lines))})", lines)]
