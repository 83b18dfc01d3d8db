"""JSON encoding of column values, chosen from the column's type.

Instants are ISO 8601 UTC strings ending in ``Z``, decimals are strings (never floats: JSON
numbers lose exactness), dates are ``YYYY-MM-DD``, booleans and integers are JSON booleans and
integers, text is text. Decoding validates the value and raises :class:`FieldError` with a short
reason; the importer adds which record and field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, Numeric, String

from ..db.types import ExactDecimal, UTCDateTime


class FieldError(ValueError):
    """A value does not fit its column (message says why, without the field name)."""


class UnsupportedColumn(Exception):
    pass


@dataclass(frozen=True)
class Codec:
    kind: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    identity: bool = False  # the database value is already its JSON form (text, int, bool)


def iso_utc(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _dec_instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise FieldError("must be an ISO 8601 instant string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(f"{value!r} is not an ISO 8601 instant") from exc
    if parsed.tzinfo is None:
        raise FieldError(f"{value!r} has no UTC offset")
    try:
        return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+05:00 lies before year 1 in UTC
        raise FieldError(f"{value!r} is out of range") from exc


def _dec_date(value: Any) -> date:
    if not isinstance(value, str):
        raise FieldError("must be a YYYY-MM-DD date string")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(f"{value!r} is not a YYYY-MM-DD date") from exc


def _decimal_codec(scale: int | None) -> Codec:
    quantum = Decimal(1).scaleb(-scale) if scale is not None else None

    def encode(value: Any) -> str:
        dec = value if isinstance(value, Decimal) else Decimal(str(value))
        if quantum is not None:
            dec = dec.quantize(quantum)
        return format(dec, "f")

    def decode(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise FieldError('must be a decimal string such as "8.00"')
        try:
            dec = Decimal(value)
        except InvalidOperation as exc:
            raise FieldError(f"{value!r} is not a decimal") from exc
        if not dec.is_finite():
            raise FieldError(f"{value!r} is not a finite decimal")
        if quantum is not None:
            if dec.quantize(quantum) != dec:
                raise FieldError(f"{value} has more than {scale} decimal places")
            dec = dec.quantize(quantum)
        return dec

    return Codec("decimal", encode, decode)


def _dec_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError("must be true or false")
    return value


def _dec_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("must be a whole number")
    return value


# Characters no stored text may hold: C0/C1 controls except tab, newline and carriage return (ICS
# text uses CRLF), and lone surrogates (undecodable bytes). NUL cannot be stored by PostgreSQL at all.
UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _string_codec(length: int | None) -> Codec:
    def decode(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldError("must be a string")
        if length is not None and len(value) > length:
            raise FieldError(f"is longer than {length} characters")
        bad = UNSAFE_TEXT.search(value)
        if bad:
            raise FieldError(f"must not contain control characters (found U+{ord(bad.group()):04X})")
        return value

    return Codec("string", str, decode, identity=True)


def _json_codec() -> Codec:
    def decode(value: Any) -> Any:
        json.dumps(value)  # anything JSON can hold
        return value

    return Codec("json", lambda v: v, decode)


def codec_for(column: Column[Any], where: str) -> Codec:
    """The codec for a column, from its type; unsupported types are refused at build time."""
    typ = column.type
    if isinstance(typ, UTCDateTime):
        return Codec("instant", iso_utc, _dec_instant)
    if isinstance(typ, DateTime):
        raise UnsupportedColumn(f"{where}: use UTCDateTime, not a plain DateTime")
    if isinstance(typ, Date):
        return Codec("date", date.isoformat, _dec_date)
    if isinstance(typ, ExactDecimal):
        return _decimal_codec(typ.scale)
    if isinstance(typ, Numeric):
        return _decimal_codec(typ.scale)
    if isinstance(typ, Boolean):
        return Codec("bool", bool, _dec_bool, identity=True)
    if isinstance(typ, Integer):
        return Codec("int", int, _dec_int, identity=True)
    if isinstance(typ, String):
        return _string_codec(typ.length)
    if isinstance(typ, JSON):
        return _json_codec()
    raise UnsupportedColumn(f"{where}: column type {typ!r} cannot be exported yet; add a codec")
