"""API tokens: made and revoked by admins (audited), kept only as a hash, refused when revoked,
expired, out of scope or of a deactivated user; failed logins limited per address; identity
only from the token. Core on both back ends, the commands through the real entry point."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from nodedesk.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from nodedesk.core.models import ApiToken
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import api_tokens, users
from nodedesk.core.services.site.api_tokens import Presented, TokenRefused
from nodedesk.core.services.views import activity
from sqlalchemy import select

from tests.api.conftest import ApiSite
from tests.cli.conftest import SiteCli
from tests.helpers import DEFAULT_NOW, runtime_as


def test_create_keeps_only_a_hash_and_is_audited(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        made = api_tokens.create_token(ctx, "grafana", "admin", "read", "30d")
    secret = made.secret
    assert secret.startswith("ndk_") and len(secret) >= 40
    assert made.token.expires_at == DEFAULT_NOW + timedelta(days=30)
    with runtime.read() as ctx:
        row = ctx.session.scalar(select(ApiToken))
        assert row is not None and row.token_hash == api_tokens.hash_secret(secret)
        stored = [str(v) for v in (row.name, row.token_hash, row.scope, row.uuid)]
        assert all(secret not in v for v in stored)
        entry = activity.list_activity(ctx, activity.ActivityQuery(action="token.created")).items[0]
        assert entry.target_label == "grafana" and secret not in json.dumps(entry.after)
        assert entry.after["scope"] == "read" and entry.after["user"] == "admin"
        assert activity.verify(ctx).ok


def test_creating_and_revoking_is_for_admins(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        users.add_user(ctx, "rita", ["rental_manager"])
        api_tokens.create_token(ctx, "rita-bot", "rita", "write")
    rita = runtime_as(runtime, "rita")
    with pytest.raises(PermissionDenied, match="may not manage users"), rita.write() as ctx:
        api_tokens.create_token(ctx, "mine", "rita", "write")
    with pytest.raises(PermissionDenied), rita.write() as ctx:
        api_tokens.revoke_token(ctx, "rita-bot")
    with pytest.raises(PermissionDenied), rita.read() as ctx:
        api_tokens.list_tokens(ctx)


@pytest.mark.parametrize(
    ("name", "user", "scope", "expires", "field"),
    [
        ("bad name", "admin", "read", "90d", "name"),
        ("", "admin", "read", "90d", "name"),
        ("ok", "nobody", "read", "90d", "user"),
        ("ok", "admin", "admin", "90d", "scope"),
        ("ok", "admin", "read", "0d", "expires"),
        ("ok", "admin", "read", "99999d", "expires"),
        ("ok", "admin", "read", "2026-02-14", "expires"),
        ("ok", "admin", "read", "soon", "expires"),
    ],
)
def test_bad_tokens_are_refused_naming_the_field(
    runtime: Runtime, name: str, user: str, scope: str, expires: str, field: str
) -> None:
    with pytest.raises((ValidationError, NotFoundError)) as err, runtime.write() as ctx:
        api_tokens.create_token(ctx, name, user, scope, expires)
    assert err.value.field == field
    with runtime.read() as ctx:
        assert api_tokens.list_tokens(ctx) == []


def test_names_are_never_reused_and_revoking_twice_is_refused(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        api_tokens.create_token(ctx, "ci", "admin", "write", "never")
    with runtime.write() as ctx:
        revoked = api_tokens.revoke_token(ctx, "ci")
        assert revoked.status(ctx.now()) == "revoked" and revoked.revoked_by == "admin"
    with pytest.raises(ConflictError, match="already revoked"), runtime.write() as ctx:
        api_tokens.revoke_token(ctx, "ci")
    with pytest.raises(ConflictError, match="never reused"), runtime.write() as ctx:
        api_tokens.create_token(ctx, "ci", "admin", "write")
    with runtime.read() as ctx:
        entries = activity.list_activity(ctx, activity.ActivityQuery(action="token.")).items
        assert [e.action for e in entries] == ["token.revoked", "token.created"]


def _actor(runtime: Runtime, presented: Presented):  # type: ignore[no-untyped-def]
    with runtime.read(token=presented) as ctx:
        return ctx.actor


def test_a_token_acts_as_its_user_with_the_users_roles(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        users.add_user(ctx, "bea", ["billing_manager", "rental_manager"])
        secret = api_tokens.create_token(ctx, "bea-w", "bea", "write").secret
        reader = api_tokens.create_token(ctx, "bea-r", "bea", "read").secret
    actor = _actor(runtime, Presented(secret))
    assert (actor.username, actor.roles, actor.via) == (
        "bea",
        frozenset({"billing_manager", "rental_manager"}),
        "API token bea-w",
    )
    assert actor.can("manage_windows") and not actor.can("manage_users")
    read_only = _actor(runtime, Presented(reader))
    assert read_only.can("read") and not read_only.can("manage_windows")
    with pytest.raises(PermissionDenied, match="may only read"):
        read_only.require("manage_windows")


def test_refused_tokens(runtime: Runtime, clock) -> None:  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        users.add_user(ctx, "dan", ["viewer"])
        old = api_tokens.create_token(ctx, "old", "dan", "read", "1h").secret
        gone = api_tokens.create_token(ctx, "gone", "dan", "read").secret
        feed = api_tokens.create_token(ctx, "cal", "dan", "feed").secret
        writer = api_tokens.create_token(ctx, "w", "dan", "write").secret
        api_tokens.revoke_token(ctx, "gone")
    assert _actor(runtime, Presented(old)).username == "dan"
    cases = {
        "not a nodedesk API token": Presented("hunter2"),
        "unknown API token": Presented("ndk_" + "x" * 43),
        "was revoked": Presented(gone),
        "only opens the calendar feed": Presented(feed),
        "only a feed token may be put in a URL": Presented(writer, calendar=True, in_url=True),
    }
    for message, presented in cases.items():
        with pytest.raises(TokenRefused, match=message):
            _actor(runtime, presented)
    assert _actor(runtime, Presented(feed, calendar=True, in_url=True)).read_only
    assert _actor(runtime, Presented(writer, calendar=True)).username == "dan"
    clock.set(DEFAULT_NOW + timedelta(hours=1))
    with pytest.raises(TokenRefused, match="has expired"):
        _actor(runtime, Presented(old))
    with runtime.write() as ctx:
        users.update_user(ctx, "dan", active=False)
    with pytest.raises(TokenRefused, match="deactivated"):
        _actor(runtime, Presented(writer))


# ---------------------------------------------------------------- through HTTP


def test_identity_comes_only_from_the_token(api_site: ApiSite) -> None:
    site = api_site
    spoof = {"X-Remote-User": "admin", "X-Forwarded-User": "admin", "Remote-User": "admin"}
    me = site.get("/api/v1/me", "viewer", headers=spoof)
    assert me.json()["user"] == "viewer" and me.json()["token"] == "viewer-write"
    assert site.client.get("/api/v1/me", headers=spoof).status_code == 401
    basic = site.client.get("/api/v1/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status_code == 401
    assert basic.headers["WWW-Authenticate"].startswith("Bearer")
    assert basic.headers["content-type"] == "application/problem+json"


def test_read_tokens_read_and_never_write(api_site: ApiSite) -> None:
    site = api_site
    site.token("admin-read", "admin", "read")
    assert site.get("/api/v1/windows", "admin-read").status_code == 200
    body = {"title": "T", "start": "2026-03-01 08:00", "end": "2026-03-01 10:00"}
    refused = site.client.post("/api/v1/windows", headers=site.headers("admin-read"), json=body)
    assert refused.status_code == 403 and "may only read" in refused.json()["detail"]


def test_failed_logins_are_limited_per_address(api_site: ApiSite) -> None:
    site = api_site
    bad = {"Authorization": "Bearer ndk_" + "0" * 43}
    for _ in range(10):
        assert site.client.get("/api/v1/windows", headers=bad).status_code == 401
    blocked = site.client.get("/api/v1/windows", headers=site.headers())
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert "too many failed logins" in blocked.json()["detail"]
    assert site.client.get("/api/v1/health").status_code == 200  # no token needed there
    other = site.client.get("/api/v1/windows", headers=site.headers())
    assert other.status_code == 429  # still this address


def test_limiter_forgets_old_failures() -> None:
    from nodedesk.api.ratelimit import FailedLogins

    now = [0.0]
    limiter = FailedLogins(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.failed("10.0.0.1")
    assert limiter.blocked_for("10.0.0.1") == 60 and limiter.blocked_for("10.0.0.2") == 0
    now[0] = 59.5
    assert limiter.blocked_for("10.0.0.1") == 1
    now[0] = 60.0
    assert limiter.blocked_for("10.0.0.1") == 0


def test_worker_processes_share_one_count_per_address(tmp_path: Path) -> None:
    """With ``--workers N`` each worker has its own limiter over the same file: failures seen by
    one worker block the address in every other (nothing multiplies the limit)."""
    from nodedesk.api.ratelimit import FailedLogins

    now = [1_000.0]
    counts = tmp_path / "api-failed-logins.json"
    one, two = (FailedLogins(limit=4, window_s=60, clock=lambda: now[0], path=counts) for _ in range(2))
    for limiter in (one, two, one, two):
        limiter.failed("10.0.0.1")
    assert one.blocked_for("10.0.0.1") == two.blocked_for("10.0.0.1") == 60
    assert one.blocked_for("10.0.0.2") == 0
    now[0] += 60
    assert two.blocked_for("10.0.0.1") == 0
    assert counts.stat().st_mode & 0o077 == 0  # addresses are the site's business only
    counts.write_text("not json")  # a damaged file counts as empty, never as a refusal
    assert one.blocked_for("10.0.0.1") == 0
    one.failed("10.0.0.1")
    assert one.blocked_for("10.0.0.1") == 0 and two.blocked_for("10.0.0.3") == 0


def test_last_use_is_recorded(api_site: ApiSite) -> None:
    site = api_site
    with site.runtime.read() as ctx:
        before = {t.name: t.last_used_at for t in api_tokens.list_tokens(ctx)}
    assert before["viewer-write"] is None
    assert site.get("/api/v1/windows", "viewer").status_code == 200
    with site.runtime.read() as ctx:
        after = {t.name: t.last_used_at for t in api_tokens.list_tokens(ctx)}
    assert after["viewer-write"] == DEFAULT_NOW and after["rental_manager-write"] is None


# ---------------------------------------------------------------- the commands


def test_token_commands(cli_site: SiteCli) -> None:
    site = cli_site
    site.ok("user", "add", "grafana", "--role", "viewer")
    made = site.run("token", "create", "dash", "--user", "grafana", "--scope", "read", "--expires", "12w")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("ndk_") and made.stdout.count("\n") == 1
    assert "dash" in made.stderr and "shown only this once" in made.stderr
    listed = site.json("token", "list")
    assert [(t["name"], t["user"], t["scope"], t["status"]) for t in listed] == [
        ("dash", "grafana", "read", "active")
    ]
    assert listed[0]["expires_at"] == "2026-05-10T11:00:00-04:00"
    assert secret not in site.ok("token", "list") + json.dumps(listed)
    doc = site.json("token", "create", "cal", "--user", "grafana", "--scope", "feed", "--expires", "never")
    assert doc["token"].startswith("ndk_") and doc["expires_at"] is None
    assert "Revoked token 'dash'" in site.ok("token", "revoke", "dash")
    assert "already revoked" in site.refused("token", "revoke", "dash")
    assert "scope" in site.run("token", "create", "x", "--user", "grafana", "--scope", "admin").stderr
    assert "user: no user named 'ghost'" in site.refused(
        "token", "create", "x", "--user", "ghost", "--scope", "read"
    )
    viewer = site.run("token", "list", env={"NODEDESK_USER": "grafana"})  # the admin acting as a viewer
    assert viewer.returncode == 1 and "may not manage users" in viewer.stderr
    actions = [e["action"] for e in site.json("audit", "list", "--action", "token.")]
    assert actions == ["token.revoked", "token.created", "token.created"]
