"""Users' email addresses are checked (field "email") when added or edited."""

from __future__ import annotations

import pytest
from nodedesk.core.errors import ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import users

BAD = ["not-an-email", "a@b", "a@@b.org", "a b@c.org", "Ann <a@b.org>", "a@b..org", "a@b.org,c@d.org"]


@pytest.mark.parametrize("bad", BAD)
def test_bad_address_is_refused_on_add_and_edit(runtime: Runtime, bad: str) -> None:
    with pytest.raises(ValidationError) as info, runtime.write() as ctx:
        users.add_user(ctx, "ann", "viewer", email=bad)
    assert info.value.field == "email"
    with runtime.write() as ctx:
        users.add_user(ctx, "ann", "viewer", email="ann@example.org")
    with pytest.raises(ValidationError) as info, runtime.write() as ctx:
        users.update_user(ctx, "ann", email=bad)
    assert info.value.field == "email"
    with runtime.read() as ctx:
        assert [u.email for u in users.list_users(ctx) if u.username == "ann"] == ["ann@example.org"]


def test_good_addresses_and_clearing(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        assert users.add_user(ctx, "ann", "viewer", email=" first.last+tag@sub.example.co.uk ").email == (
            "first.last+tag@sub.example.co.uk"
        )
        assert users.update_user(ctx, "ann", email="").email == ""
