"""Slurm host lists: ``node[2433-2436,2440],gpu01`` <-> the node names they stand for.

:func:`expand` reads what ``scontrol`` prints and what admins type (brackets with ranges and
single numbers, zero-padded ranges such as ``n[01-10]``, several bracket groups in one name
meaning every combination). :func:`compress` writes the shortest form by trailing numbers:
names are grouped by the text before their trailing digits and by zero-padding (``n09`` and
``n10`` stay apart from ``n9``), consecutive numbers become ranges. ``expand(compress(names))``
gives back ``names`` (sorted, without duplicates); tests/slurm/test_hostlist.py checks it.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from ..errors import ValidationError

# More names than any cluster has: a typo such as node[1-100000000] is refused, not expanded.
MAX_HOSTS = 100_000
_TRAILING = re.compile(r"^(.*?)(\d+)$")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def _split_top(text: str, field: str) -> list[str]:
    """Split at the commas outside brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "[":
            depth += 1
            if depth > 1:
                raise ValidationError(f"nested '[' in host list {text!r}", field=field)
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise ValidationError(f"']' without '[' in host list {text!r}", field=field)
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise ValidationError(f"'[' without ']' in host list {text!r}", field=field)
    parts.append("".join(current))
    return parts


def _numbers(body: str, whole: str, field: str) -> list[str]:
    """``2433-2436,2440`` -> ['2433', '2434', '2435', '2436', '2440'] (padding kept)."""
    found: list[str] = []
    for item in body.split(","):
        m = _RANGE.match(item.strip())
        if not m:
            raise ValidationError(f"bad range {item!r} in host list {whole!r}", field=field)
        lo_text, hi_text = m.group(1), m.group(2)
        if hi_text is None:
            found.append(lo_text)
            continue
        lo, hi = int(lo_text), int(hi_text)
        if hi < lo:
            raise ValidationError(f"range {item!r} runs backwards in host list {whole!r}", field=field)
        if hi - lo + len(found) >= MAX_HOSTS:
            raise ValidationError(f"host list {whole[:60]!r} names more than {MAX_HOSTS} nodes", field=field)
        width = len(lo_text) if lo_text.startswith("0") and len(lo_text) > 1 else 0
        found.extend(str(n).zfill(width) for n in range(lo, hi + 1))
    return found


def _expand_one(pattern: str, whole: str, field: str) -> list[str]:
    pieces: list[list[str]] = []
    rest = pattern
    while "[" in rest:
        before, _, after = rest.partition("[")
        body, _, rest = after.partition("]")
        pieces.append([before])
        pieces.append(_numbers(body, whole, field))
    pieces.append([rest])
    total = 1
    for choice in pieces:
        total *= len(choice)
    if total > MAX_HOSTS:
        raise ValidationError(f"host list {whole[:60]!r} names more than {MAX_HOSTS} nodes", field=field)
    return ["".join(combo) for combo in itertools.product(*pieces)]


def expand(text: str, field: str = "hosts") -> list[str]:
    """The node names of a host list, in the list's order, each once. ``""`` and Slurm's
    ``(null)`` are the empty list."""
    text = (text or "").strip()
    if text in ("", "(null)"):
        return []
    names: dict[str, None] = {}
    for part in _split_top(text, field):
        part = part.strip()
        if not part:
            raise ValidationError(f"empty name in host list {text!r}", field=field)
        for name in _expand_one(part, text, field):
            names[name] = None
            if len(names) > MAX_HOSTS:
                raise ValidationError(
                    f"host list {text[:60]!r} names more than {MAX_HOSTS} nodes", field=field
                )
    return list(names)


@lru_cache(maxsize=4096)
def expand_sorted(text: str) -> tuple[str, ...]:
    """:func:`expand`, sorted (remembered: the same lists come back at every sync)."""
    return tuple(sorted(expand(text)))


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def compress(names: Iterable[str]) -> str:
    """The shortest host list for ``names`` (order does not matter; duplicates are dropped)."""
    groups: dict[tuple[str, int], set[int]] = defaultdict(set)
    plain: set[str] = set()
    for name in names:
        m = _TRAILING.match(name)
        if not m:
            plain.add(name)
            continue
        prefix, digits = m.group(1), m.group(2)
        width = len(digits) if digits.startswith("0") and len(digits) > 1 else 0
        groups[(prefix, width)].add(int(digits))
    parts: list[tuple[str, int, str]] = [(name, -1, name) for name in plain]
    for (prefix, width), numbers in groups.items():
        runs = _runs(sorted(numbers))
        fmt = [
            str(lo).zfill(width) if lo == hi else f"{str(lo).zfill(width)}-{str(hi).zfill(width)}"
            for lo, hi in runs
        ]
        if len(fmt) == 1 and runs[0][0] == runs[0][1]:
            text = f"{prefix}{fmt[0]}"
        else:
            text = f"{prefix}[{','.join(fmt)}]"
        parts.append((prefix, width, text))
    parts.sort(key=lambda p: (p[0], p[1], p[2]))
    return ",".join(p[2] for p in parts)
