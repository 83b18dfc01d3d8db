"""Make user text inert for terminals, tables and spreadsheets.

Titles and descriptions come from users and may contain escape sequences (ANSI CSI, OSC 52
clipboard writes, title changes), other C0/C1 controls, or bidi overrides that reorder what an
admin sees. Front ends pass every user string through :func:`inert` before display; Textual/Rich
markup is neutralised separately by rendering such text as plain ``Text``/``Content``.
"""

from __future__ import annotations

import unicodedata

# Bidi embedding/override/isolate controls (Trojan Source) and other invisible formatters.
_BIDI = {
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
}


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(value: str | None, *, keep_newlines: bool = False, max_len: int | None = None) -> str:
    """Replace control, bidi and other format characters with visible escapes like ``\\x1b``."""
    if not value:
        return ""
    out = []
    for ch in value:
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            out.append(_escape(ch))
        else:
            out.append(ch)
    text = "".join(out)
    if max_len is not None and len(text) > max_len:
        text = text[: max(max_len - 1, 0)] + "…"
    return text


def one_line(value: str | None, max_len: int | None = None) -> str:
    """Inert text on a single line (newlines shown as ``⏎``)."""
    return inert((value or "").replace("\r\n", "\n").replace("\n", " ⏎ "), max_len=max_len)


def csv_cell(value: str) -> str:
    """Guard a CSV cell against spreadsheet formula injection (OWASP advice): a cell starting
    with ``=`` ``+`` ``-`` ``@`` (a plain number aside), a tab or a carriage return gets a
    leading ``'``."""
    text = inert(value)
    if (value or "")[:1] in ("\t", "\r") or (text[:1] in ("=", "+", "-", "@") and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
