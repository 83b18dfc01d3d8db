"""Plain-text and JSON output for the CLI (stdout is data, stderr is diagnostics)."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from nodedesk.core.audit import to_jsonable
from nodedesk.core.safetext import one_line
from rich.cells import cell_len

# JSON escapes only C0 controls; a terminal must not receive the others raw either: DEL, C1
# controls, bidi and other format characters, lone surrogates, private use. (Fast path: ASCII.)
_NOT_PLAIN = re.compile("[^\x20-\x7e\n]")


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co"):
        return ch
    code = ord(ch)
    if code > 0xFFFF:  # JSON spells these as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def print_json(value: Any, out: TextIO | None = None) -> None:
    """JSON on stdout; user text keeps its characters, but the ones that could reorder or
    control a terminal are written as ``\\uXXXX`` escapes (the same JSON value)."""
    out = out or sys.stdout
    text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)
    out.write(_NOT_PLAIN.sub(_json_escape, text))
    out.write("\n")


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], out: TextIO | None = None, max_width: int = 48
) -> None:
    """An aligned text table; every cell passes through :func:`one_line` (inert user text)."""
    out = out or sys.stdout
    cells = [[one_line(str(c), max_len=max_width) for c in row] for row in rows]
    widths = [cell_len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], cell_len(c))

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - cell_len(v)) for v, w in zip(values, widths, strict=True))

    out.write(line(headers).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row).rstrip() + "\n")
    if not cells:
        out.write("(none)\n")


def fields(pairs: Iterable[tuple[str, object]], out: TextIO | None = None) -> None:
    """``label: value`` lines for one record."""
    out = out or sys.stdout
    items = list(pairs)
    width = max((len(k) for k, _ in items), default=0)
    for key, value in items:
        out.write(f"{key + ':':<{width + 1}} {one_line(str(value))}\n")


def note(message: str) -> None:
    """A diagnostic line on stderr."""
    sys.stderr.write(one_line(message) + "\n")
