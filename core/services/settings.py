"""Site settings: list them, and change one (admins; audited as ``setting.changed``).

The site timezone is chosen at ``nodedesk init`` and cannot change afterwards: every stored
local rule (reservation days, invoice months, schedules) was evaluated in it.
"""

from __future__ import annotations

from dataclasses import fields

from .. import site
from ..context import ServiceContext
from ..errors import ValidationError

FIXED = ("site_timezone",)


def list_settings(ctx: ServiceContext) -> dict[str, str]:
    ctx.require("read")
    return {f.name: str(getattr(ctx.site, f.name)) for f in fields(site.SiteSettings)}


def set_setting(ctx: ServiceContext, key: str, value: str) -> tuple[str, str]:
    """Change one setting; returns (old, new) text values."""
    ctx.require("manage_settings")
    key = (key or "").strip()
    if key in FIXED:
        raise ValidationError("is chosen at 'nodedesk init' and cannot change afterwards", field=key)
    old_default = list_settings(ctx).get(key)
    old, new = site.store(ctx.session, key, value, by=ctx.actor.username, at=ctx.now())
    old = old if old is not None else (old_default or "")
    ctx.record("setting.changed", "setting", key, key, before={key: old}, after={key: new})
    ctx.site = site.load(ctx.session)
    return old, new
