"""API tokens: who a request to the HTTP API acts as (help/api.md).

A token is a random secret ``ndk_<43 characters>`` (256 bits) shown once when it is created;
the database keeps only its SHA-256, which is enough to find it again and useless for logging
in. A request presenting it acts as the token's user with that user's roles, through the same
service calls and permission checks as the console (core/identity.py), limited by the token's
scope:

- ``write``: everything the user's roles allow;
- ``read``: only reading, whatever the roles;
- ``feed``: only the calendar feed, and the only kind that may travel in a URL
  (``?token=``), because calendar clients cannot send headers. A URL ends up in logs and
  browser histories, so a read or write token in a URL is refused.

Creating and revoking tokens is user management (admins); both are audited. A revoked or
expired token stays listed (its name is never given to another token: the activity log names
it), and the token's user being deactivated stops it too.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ... import timeutil, validate
from ...context import ServiceContext
from ...errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from ...identity import Actor
from ...models import TOKEN_SCOPES, ApiToken, User

PREFIX = "ndk_"  # lets secret scanners recognize a leaked token
SECRET_BYTES = 32
MAX_SECRET_LENGTH = 100
DEFAULT_EXPIRY = "90d"
MAX_EXPIRY_DAYS = 3650
# The last-used time is written at most this often per token (it is not worth a write per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
_EXPIRY_RE = re.compile(r"^(\d{1,5})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class TokenRefused(PermissionDenied):
    """The request's credentials do not identify anyone (missing, unknown, revoked, expired,
    or used where its scope does not reach). The HTTP API answers 401."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def parse_expiry(text: str | None, now: datetime, tz: str, field: str = "expires") -> datetime | None:
    """``90d``, ``12w``, ``36h``, a site-local day ``YYYY-MM-DD`` (valid through that day) or
    ``never``; None means it never expires."""
    raw = (text if text is not None else DEFAULT_EXPIRY).strip().lower()
    if raw == "never":
        return None
    match = _EXPIRY_RE.match(raw)
    if match:
        amount = int(match.group(1)) * _UNITS[match.group(2)]
        if amount <= timedelta(0) or amount > timedelta(days=MAX_EXPIRY_DAYS):
            raise ValidationError(f"must be between 1h and {MAX_EXPIRY_DAYS}d", field=field)
        return now + amount
    if len(raw) == 10 and raw[4] == "-":
        day = timeutil.parse_date(raw, field)
        end = timeutil.start_of_day(day + timedelta(days=1), tz)
        if end <= now:
            raise ValidationError(f"{raw} is already over", field=field)
        if end - now > timedelta(days=MAX_EXPIRY_DAYS):
            raise ValidationError(f"must be at most {MAX_EXPIRY_DAYS} days ahead", field=field)
        return end
    raise ValidationError(
        f"{text!r} is not an expiry (use e.g. 90d, 12w, 36h, a day YYYY-MM-DD, or never)", field=field
    )


@dataclass(frozen=True)
class TokenView:
    id: int
    uuid: str
    name: str
    user: str
    scope: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_json(self, tz: str, now: datetime) -> dict[str, object]:
        def when(instant: datetime | None) -> str | None:
            return timeutil.iso_local(instant, tz) if instant else None

        return {
            "id": self.id,
            "uuid": self.uuid,
            "name": self.name,
            "user": self.user,
            "scope": self.scope,
            "status": self.status(now),
            "created_at": when(self.created_at),
            "created_by": self.created_by,
            "expires_at": when(self.expires_at),
            "last_used_at": when(self.last_used_at),
            "revoked_at": when(self.revoked_at),
            "revoked_by": self.revoked_by,
        }


def view(t: ApiToken) -> TokenView:
    return TokenView(
        t.id,
        t.uuid,
        t.name,
        t.user.username,
        t.scope,
        t.created_at,
        t.created_by,
        t.expires_at,
        t.last_used_at,
        t.revoked_at,
        t.revoked_by,
    )


def _audit_doc(v: TokenView, tz: str, now: datetime) -> dict[str, object]:
    doc = v.to_json(tz, now)
    for volatile in ("status", "last_used_at"):
        doc.pop(volatile)
    return doc


@dataclass(frozen=True)
class CreatedToken:
    token: TokenView
    secret: str  # shown once; never stored


def create_token(
    ctx: ServiceContext, name: str, username: str, scope: str, expires: str | None = None
) -> CreatedToken:
    """A new token for ``username``; the result holds the secret, which nothing keeps."""
    ctx.require("manage_users")
    name = validate.name(name, "name")
    scope = validate.choice((scope or "").strip(), "scope", TOKEN_SCOPES)
    now = ctx.now()
    expires_at = parse_expiry(expires, now, ctx.tz)
    user = ctx.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFoundError(f"no user named {username!r} (add it with 'nodedesk user add')", field="user")
    if not user.active:
        raise ValidationError(f"user {user.username!r} is deactivated", field="user")
    taken = ctx.session.scalar(select(ApiToken).where(ApiToken.name == name))
    if taken is not None:
        raise ConflictError(
            f"a token named {name!r} already exists (names are never reused, even after revoking)",
            field="name",
        )
    secret = new_secret()
    token = ApiToken(
        name=name,
        user=user,
        scope=scope,
        token_hash=hash_secret(secret),
        created_at=now,
        created_by=ctx.actor.username,
        expires_at=expires_at,
    )
    ctx.session.add(token)
    ctx.session.flush()
    result = view(token)
    ctx.record("token.created", "api_token", token.id, name, after=_audit_doc(result, ctx.tz, now), row=token)
    return CreatedToken(result, secret)


def list_tokens(ctx: ServiceContext) -> list[TokenView]:
    """Every token, active or not, by name."""
    ctx.require("manage_users")
    return [view(t) for t in ctx.session.scalars(select(ApiToken).order_by(ApiToken.name))]


def revoke_token(ctx: ServiceContext, name: str) -> TokenView:
    """Stop a token at once; it stays listed as revoked."""
    ctx.require("manage_users")
    token = ctx.session.scalar(
        select(ApiToken).where(ApiToken.name == (name or "").strip()).with_for_update(of=ApiToken)
    )
    if token is None:
        raise NotFoundError(f"no token named {name!r}", field="name")
    if token.revoked_at is not None:
        raise ConflictError(
            f"token {token.name!r} was already revoked at "
            f"{timeutil.format_local(token.revoked_at, ctx.tz)} by {token.revoked_by}",
            field="name",
        )
    now = ctx.now()
    before = view(token)
    token.revoked_at, token.revoked_by = now, ctx.actor.username
    ctx.session.flush()
    after = view(token)
    ctx.record(
        "token.revoked",
        "api_token",
        token.id,
        token.name,
        before=_audit_doc(before, ctx.tz, now),
        after=_audit_doc(after, ctx.tz, now),
        row=token,
    )
    return after


# ---------------------------------------------------------------- authentication


@dataclass(frozen=True)
class Presented:
    """A secret as a request presented it: for the calendar feed or not, in its URL or not."""

    secret: str
    calendar: bool = False
    in_url: bool = False


def authenticate(session: Session, presented: Presented, now: datetime) -> Actor:
    """The actor a presented token stands for, or :class:`TokenRefused` saying why not."""
    return authenticate_until(session, presented, now)[0]


def authenticate_until(
    session: Session, presented: Presented, now: datetime
) -> tuple[Actor, datetime | None]:
    """:func:`authenticate`, and the instant the answer stops holding by itself (the token's
    expiry; None: only a change to the token or its user ends it, and those are audited)."""
    secret = presented.secret.strip()
    if not secret.startswith(PREFIX) or len(secret) > MAX_SECRET_LENGTH or not secret.isascii():
        raise TokenRefused("not a nodedesk API token (they start with 'ndk_')", field="token")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None:
        raise TokenRefused("unknown API token", field="token")
    if token.revoked_at is not None:
        raise TokenRefused(f"API token {token.name!r} was revoked", field="token")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused(f"API token {token.name!r} has expired", field="token")
    if presented.in_url and token.scope != "feed":
        raise TokenRefused(
            f"API token {token.name!r} is a {token.scope} token: only a feed token may be put in a URL "
            "(URLs end up in logs); send it in the Authorization header, or create a feed token",
            field="token",
        )
    if token.scope == "feed" and not presented.calendar:
        raise TokenRefused(
            f"API token {token.name!r} is a feed token: it only opens the calendar feed", field="token"
        )
    user = token.user
    if not user.active:
        raise TokenRefused(f"API token {token.name!r}: user {user.username!r} is deactivated", field="token")
    actor = Actor(
        username=user.username,
        roles=frozenset(user.role_names),
        real_user=user.username,
        token=token.name,
        token_scope=token.scope,
    )
    return actor, token.expires_at


def note_use(session: Session, secret: str, now: datetime) -> None:
    """Record that the token was used now (unless that was recorded within the last minute).
    Not an audited change: it says when a credential was last seen, nothing more."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_hash == hash_secret(secret.strip()),
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )
