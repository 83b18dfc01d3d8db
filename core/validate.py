"""Small validators shared by services. Each raises a one-line ValidationError naming the field."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

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


DECIMAL_MAX_CHARS = 64  # longer text cannot be a number that fits any column
_DECIMAL_RE = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def decimal(
    raw: str | Decimal | int,
    field: str,
    *,
    places: int,
    digits: int,
    minimum: Decimal | int | None = None,
    maximum: Decimal | int | None = None,
    example: str = "",
    what: str = "a number",
) -> Decimal:
    """An exact decimal from user input: finite, at most ``places`` decimal places and
    ``digits - places`` digits before the point (the column's NUMERIC(digits, places)), and
    within ``minimum``..``maximum`` when given. Never rounds; never raises anything but a
    one-line :class:`ValidationError` naming ``field`` (``1e400``, ``NaN`` and 100 nines
    included). Floats are refused: they are not exact."""
    hint = f" (e.g. {example})" if example else ""
    if isinstance(raw, float):
        raise ValidationError("must be given as text or Decimal, never a float", field=field)
    shown = str(raw).strip()
    if len(shown) > DECIMAL_MAX_CHARS:
        raise ValidationError(f"{shown[:20]!r}... is too long to be {what}{hint}", field=field)
    if not isinstance(raw, Decimal) and not _DECIMAL_RE.match(shown):  # ASCII digits, no "1_000"
        raise ValidationError(f"{shown!r} is not {what}{hint}", field=field)
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(shown)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError(f"{shown!r} is not {what}{hint}", field=field) from exc
    if not value.is_finite():
        raise ValidationError(f"{shown!r} is not {what}{hint}", field=field)
    # Comparisons of finite Decimals are exact and never trap, whatever the exponent.
    if minimum is not None and value < minimum:
        rule = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        raise ValidationError(f"{rule} (got {shown})", field=field)
    if maximum is not None and value > maximum:
        raise ValidationError(f"is too large (at most {maximum}; got {shown})", field=field)
    if value and value.adjusted() >= digits - places:
        raise ValidationError(
            f"{shown} is too large (at most {digits - places} digits before the decimal point)", field=field
        )
    _sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    trailing = len(digit_tuple) - len("".join(map(str, digit_tuple)).rstrip("0"))
    if value and exponent + trailing < -places:
        raise ValidationError(f"{shown} has more than {places} decimal places", field=field)
    if not value:
        return Decimal(0)  # also -0 and 0E+1000
    if exponent > 0:  # 1E+2 -> 100 (exact: the digits were checked above)
        value = value.quantize(Decimal(1))
    return value
