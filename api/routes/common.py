"""What every endpoint shares: checked text, times in site time, cursors, versions."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Request, Response
from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict

from ..problems import Problem

if TYPE_CHECKING:
    from ..app import Api

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
INT_MAX = 2**31 - 1  # ids and versions are 32-bit integers in the database


def usable(value: str, field: str = "") -> str:
    """Text no database or log can take: a NUL or a lone surrogate (undecodable input)."""
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters", field=field or None)
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValidationError("is not valid UTF-8 text", field=field or None)
    return value


def _checked(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("is not valid UTF-8 text")
    return value


Text = Annotated[str, AfterValidator(_checked)]


class Body(BaseModel):
    """Request bodies: unknown fields are refused, so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    def refuse_nulls(self, *names: str) -> None:
        """A change body: these fields may be left out (kept) but not given as null."""
        for name in names:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValidationError("must not be null (leave it out to keep it)", field=name)


def instant(ctx: ServiceContext, text: str | None, field: str) -> datetime | None:
    """A time (site time unless it has an offset), or None when not given."""
    if text is None:
        return None
    return timeutil.parse_instant(usable(text, field), ctx.tz, field=field)


def bound(ctx: ServiceContext, text: str | None, field: str, *, end_of_day: bool) -> datetime | None:
    """A range bound: a day or a time; a bare ``to`` day includes that whole day."""
    if text is None:
        return None
    raw = usable(text, field).strip()
    if end_of_day and len(raw) == 10:
        return timeutil.start_of_day(timeutil.parse_date(raw, field) + timedelta(days=1), ctx.tz)
    return timeutil.parse_instant(raw, ctx.tz, field=field)


def optional(value: str | None, field: str) -> str | None:
    return None if value is None else usable(value, field)


# ---------------------------------------------------------------- cursors


def _fingerprint(filters: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]


def offset_of(cursor: str | None, filters: dict[str, Any]) -> int:
    """The position a cursor points at; it only continues the listing it came from."""
    if cursor is None:
        return 0
    try:
        doc = json.loads(base64.urlsafe_b64decode(usable(cursor, "cursor").encode("ascii") + b"=="))
        offset, mark = int(doc["o"]), str(doc["f"])
    except (ValueError, KeyError, TypeError, UnicodeError) as exc:
        raise ValidationError("is not a cursor this server gave out", field="cursor") from exc
    if mark != _fingerprint(filters) or not 0 <= offset <= INT_MAX:
        raise ValidationError(
            "belongs to another listing (other filters); start again without it", field="cursor"
        )
    return offset


def next_cursor(offset: int, count: int, total: int, filters: dict[str, Any]) -> str | None:
    after = offset + count
    if count == 0 or after >= total:
        return None
    raw = json.dumps({"o": after, "f": _fingerprint(filters)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def page(items: list[Any], total: int, offset: int, limit: int, filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "next_cursor": next_cursor(offset, len(items), total, filters),
    }


def reader(ctx: ServiceContext) -> tuple[str, tuple[str, ...], str | None]:
    """What a kept answer depends on besides the data, the clock and the request: who asks
    (their roles decide what they may read)."""
    actor = ctx.actor
    return (actor.username, tuple(sorted(actor.roles)), actor.token_scope)


def listing(
    api: Api,
    request: Request,
    filters: dict[str, Any],
    cursor: str | None,
    limit: int,
    fetch: Callable[[ServiceContext, int], tuple[list[Any], int]],
    until: Callable[[ServiceContext], datetime | None] | None = None,
) -> dict[str, Any]:
    """One page of a listing: ``fetch(ctx, offset)`` gives the page's JSON items and the total.
    With ``until`` (the first instant the listing could read differently with the same data),
    the page is kept while nothing changed (core/headmemo.py)."""
    offset = offset_of(cursor, filters)
    with api.read(request) as ctx:
        if until is None:
            items, total = fetch(ctx, offset)
        else:
            key = ("listing", request.url.path, _fingerprint(filters), offset, limit, reader(ctx))
            items, total = ctx.kept(key, lambda: (fetch(ctx, offset), until(ctx)))
    return page(items, total, offset, limit, filters)


# ---------------------------------------------------------------- versions


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, *, required: bool) -> int | None:
    """The version ``If-Match`` names (``"3"``, ``W/"3"`` or ``3``); ``*`` means any."""
    if if_match is None or not if_match.strip():
        if required:
            raise Problem(
                428,
                "send If-Match with the version you read (the ETag of GET), so another admin's "
                "change is never overwritten unseen",
                field="If-Match",
            )
        return None
    raw = if_match.strip()
    if raw == "*":
        return None
    raw = raw.removeprefix("W/").strip().strip('"')
    if not raw.isdigit() or len(raw) > 10 or int(raw) > INT_MAX:
        raise ValidationError(
            f"{if_match[:40]!r} is not a version (send the ETag you read)", field="If-Match"
        )
    return int(raw)


def not_modified(response: Response, if_none_match: str | None, version: int) -> bool:
    """Set the ETag; True when the client's copy is current (answer 304)."""
    tag = etag(version)
    response.headers["ETag"] = tag
    if if_none_match is None:
        return False
    return any(t.strip() in (tag, f"W/{tag}", "*") for t in if_none_match.split(","))
