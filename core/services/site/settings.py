"""Site settings: list them, and change one (admins; audited as ``setting.changed``).

The site timezone is chosen at ``nodedesk init`` and cannot change afterwards: every stored
local rule (reservation days, invoice months, schedules) was evaluated in it.
"""

from __future__ import annotations

from ... import site
from ...context import ServiceContext
from ...errors import ValidationError

FIXED = ("site_timezone",)


def list_settings(ctx: ServiceContext) -> dict[str, str]:
    ctx.require("read")
    # stored_text: a stored value that fails its check is shown as it is, so it can be repaired.
    return {name: ctx.site.stored_text(name) for name in site.SETTING_NAMES}


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
