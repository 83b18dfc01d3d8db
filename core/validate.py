"""Small validators shared by services. Each raises a one-line ValidationError naming the field."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .errors import ValidationError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _has_control(value: str, allow_newlines: bool) -> bool:
    for ch in value:
        if allow_newlines and ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):
            return True
    return False


def text(
    value: str | None, field: str, *, min_len: int = 0, max_len: int = 10_000, multiline: bool = True
) -> str:
    """Free text: trimmed, length-checked, no control characters (tabs/newlines if multiline)."""
    cleaned = (value or "").strip()
    if len(cleaned) < min_len:
        raise ValidationError(
            "is required" if min_len == 1 else f"needs at least {min_len} characters", field=field
        )
    if len(cleaned) > max_len:
        raise ValidationError(f"must be at most {max_len} characters (got {len(cleaned)})", field=field)
    if _has_control(cleaned, allow_newlines=multiline):
        raise ValidationError("must not contain control characters", field=field)
    return cleaned


def title(value: str | None, field: str = "title") -> str:
    return text(value, field, min_len=1, max_len=200, multiline=False)


def name(value: str | None, field: str, max_len: int = 64) -> str:
    """Identifiers such as node names and usernames: letters, digits, '.', '_' and '-'."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise ValidationError("is required", field=field)
    if len(cleaned) > max_len:
        raise ValidationError(f"must be at most {max_len} characters", field=field)
    if not _NAME_RE.match(cleaned):
        raise ValidationError(
            f"{cleaned!r} may only use letters, digits, '.', '_' and '-' (starting with a letter or digit)",
            field=field,
        )
    return cleaned


def choice(value: str | None, field: str, allowed: Iterable[str]) -> str:
    options = list(allowed)
    cleaned = (value or "").strip()
    if cleaned not in options:
        raise ValidationError(f"must be one of {', '.join(options)} (got {cleaned!r})", field=field)
    return cleaned


def reason(value: str | None, field: str = "reason") -> str:
    return text(value, field, min_len=1, max_len=2000)
