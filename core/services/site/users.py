"""Users and their system roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ... import validate
from ...context import ServiceContext
from ...errors import NotFoundError, ValidationError
from ...models import SYSTEM_ROLES, User, UserRole


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    full_name: str
    email: str
    roles: tuple[str, ...]
    active: bool

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "email": self.email,
            "roles": list(self.roles),
            "active": self.active,
        }


def view(user: User) -> UserView:
    return UserView(user.id, user.username, user.full_name, user.email, tuple(user.role_names), user.active)


def parse_roles(roles: list[str] | tuple[str, ...] | str, field: str = "role") -> list[str]:
    items = roles.split(",") if isinstance(roles, str) else [p for r in roles for p in r.split(",")]
    cleaned = sorted({r.strip() for r in items if r.strip()})
    if not cleaned:
        raise ValidationError(f"at least one role is required ({', '.join(SYSTEM_ROLES)})", field=field)
    for role in cleaned:
        validate.choice(role, field, SYSTEM_ROLES)
    return cleaned


_EMAIL_FORBIDDEN = set('<>()[]\\,;:"')


def validate_full_name(value: str | None) -> str:
    """A user's full name: one line (shared with the backup import)."""
    return validate.text(value, "full_name", max_len=200, multiline=False)


def validate_email(value: str | None) -> str:
    """Empty (no email) or a plain ``name@domain.tld`` address: one ``@``, a local part of at
    most 64 characters, a domain with a dot and no empty label, no spaces, controls or the
    characters ``<>()[]\\,;:"`` (display names and lists are not accepted), at most 254 characters."""
    email = (value or "").strip()
    if not email:
        return ""
    local, _, domain = email.rpartition("@")
    labels = domain.split(".")
    if (
        len(email) > 254
        or email.count("@") != 1
        or not local
        or len(local) > 64
        or len(labels) < 2
        or any(not label or label.startswith("-") or label.endswith("-") for label in labels)
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in _EMAIL_FORBIDDEN for ch in email)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise ValidationError(f"{email!r} is not an email address (expected name@domain.tld)", field="email")
    return email


def get_by_username(ctx: ServiceContext, username: str) -> User:
    user = ctx.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user named {username!r}", field="user")
    return user


def create_user_row(
    session,
    username: str,
    roles: list[str],
    *,
    at,
    by: str,  # type: ignore[no-untyped-def]
    full_name: str = "",
    email: str = "",
) -> User:
    """Insert a user without permission checks (used by ``init``, which has no actor yet)."""
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        created_at=at,
        created_by=by,
        modified_at=at,
        modified_by=by,
    )
    user.roles = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    return user


def add_user(
    ctx: ServiceContext, username: str, roles: list[str] | str, *, full_name: str = "", email: str = ""
) -> UserView:
    ctx.require("manage_users")
    username = validate.name(username, "username")
    role_list = parse_roles(roles)
    full_name = validate_full_name(full_name)
    email = validate_email(email)
    if ctx.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(f"user {username!r} already exists", field="username")
    user = create_user_row(
        ctx.session,
        username,
        role_list,
        at=ctx.now(),
        by=ctx.actor.username,
        full_name=full_name,
        email=email,
    )
    result = view(user)
    ctx.record("user.created", "user", user.id, username, after=result.to_json())
    return result


def set_roles(ctx: ServiceContext, username: str, roles: list[str] | str) -> UserView:
    ctx.require("manage_users")
    user = get_by_username(ctx, username)
    before = view(user).to_json()
    role_list = parse_roles(roles)
    if user.username == ctx.actor.username and "admin" in before["roles"] and "admin" not in role_list:  # type: ignore[operator]
        raise ValidationError("you may not remove your own admin role", field="role")
    # Keep the rows of roles the user keeps: replacing them all would INSERT a duplicate
    # (user_id, role) before the orphan DELETE runs and violate the unique constraint.
    kept = {r.role: r for r in user.roles}
    user.roles = [kept.get(r) or UserRole(role=r) for r in role_list]
    user.modified_at, user.modified_by = ctx.now(), ctx.actor.username
    ctx.session.flush()
    result = view(user)
    ctx.record("user.roles_changed", "user", user.id, user.username, before=before, after=result.to_json())
    return result


def update_user(
    ctx: ServiceContext,
    username: str,
    *,
    full_name: str | None = None,
    email: str | None = None,
    active: bool | None = None,
) -> UserView:
    ctx.require("manage_users")
    user = get_by_username(ctx, username)
    before = view(user).to_json()
    if full_name is not None:
        user.full_name = validate_full_name(full_name)
    if email is not None:
        user.email = validate_email(email)
    if active is not None:
        if not active and user.username == ctx.actor.username:
            raise ValidationError("you may not deactivate yourself", field="active")
        user.active = active
    user.modified_at, user.modified_by = ctx.now(), ctx.actor.username
    ctx.session.flush()
    result = view(user)
    ctx.record("user.updated", "user", user.id, user.username, before=before, after=result.to_json())
    return result


def list_users(ctx: ServiceContext) -> list[UserView]:
    ctx.require("read")
    return [view(u) for u in ctx.session.scalars(select(User).order_by(User.username))]
