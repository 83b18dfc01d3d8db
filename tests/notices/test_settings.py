"""Site settings service: admins change notice_roles / reminder_hours; audited; checked."""

from __future__ import annotations

import pytest
from nodedesk.core.errors import PermissionDenied, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import settings, users
from nodedesk.core.services.views import activity

from tests.helpers import runtime_as


def test_change_is_checked_audited_and_takes_effect(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        assert settings.set_setting(ctx, "notice_roles", " member , owner ") == (
            "owner,technical_admin",
            "member,owner",
        )
        assert ctx.site.notice_role_list == ("member", "owner")
    with runtime.read() as ctx:
        assert settings.list_settings(ctx)["notice_roles"] == "member,owner"
        entry = activity.list_activity(ctx, activity.ActivityQuery(limit=1)).items[0]
        assert entry.action == "setting.changed"
    for key, value in (
        ("notice_roles", "boss"),
        ("reminder_hours", "-1"),
        ("site_timezone", "UTC"),
        ("nope", "1"),
    ):
        with pytest.raises(ValidationError) as info, runtime.write() as ctx:
            settings.set_setting(ctx, key, value)
        assert info.value.field == key


def test_only_admins_change_settings(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        users.add_user(ctx, "rmgr", "rental_manager")
    with pytest.raises(PermissionDenied), runtime_as(runtime, "rmgr").write() as ctx:
        settings.set_setting(ctx, "reminder_hours", "4")
