"""The API keeps answers while nothing changed (core/headmemo.py): a kept answer is never
stale. A write by anyone (console or API), the clock reaching a window's start, a node's next
change or a token's expiry, and a revoked token all end it (both back ends)."""

from __future__ import annotations

from datetime import datetime, timedelta

from nodedesk.core.clock import FrozenClock
from nodedesk.core.headmemo import HeadMemo
from nodedesk.core.services.downtime import windows as window_svc
from nodedesk.core.services.site import api_tokens, users

from tests.api.conftest import ApiSite
from tests.helpers import SITE_TZ, local

W = "/api/v1/windows"


def _clock(site: ApiSite) -> FrozenClock:
    clock = site.runtime.clock_for(SITE_TZ)
    assert isinstance(clock, FrozenClock)
    return clock


def _memo(site: ApiSite) -> HeadMemo:
    assert site.runtime.memo is not None
    return site.runtime.memo


def _ids(site: ApiSite, **params: object) -> list[int]:
    r = site.get(W, params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return [w["id"] for w in r.json()["items"]]


def test_a_listing_is_kept_until_a_write_or_a_window_starts(api_site: ApiSite) -> None:
    site, memo = api_site, _memo(api_site)
    assert _ids(site, status="upcoming") == [6, 7, 8, 9]
    hits = memo.hits
    assert _ids(site, status="upcoming") == [6, 7, 8, 9]
    assert memo.hits > hits  # the second answer was the kept one

    # a write from the console (not through the API) ends it
    with site.runtime.write() as ctx:
        made = window_svc.create_window(
            ctx,
            window_svc.WindowDraft(
                "Firmware",
                local("2026-02-16 08:00"),
                local("2026-02-16 10:00"),
                scope=window_svc.Scope(("node2433",)),
            ),
        ).window
    assert _ids(site, status="upcoming") == [made.id, 6, 7, 8, 9]  # by start: it is the first

    # the clock reaching that window's start ends it too: the window is in progress now
    _clock(site).set(local("2026-02-16 08:00"))
    assert made.id not in _ids(site, status="upcoming")
    assert made.id in _ids(site, status="in_progress")


def test_node_states_are_kept_until_the_first_next_change(api_site: ApiSite) -> None:
    site = api_site
    nodes = site.get("/api/v1/nodes").json()["items"]
    changing = [n for n in nodes if n.get("next_change")]
    assert changing, "the demo centre has nodes whose state changes ahead"
    first = min(changing, key=lambda n: n["next_change"]["at"])
    assert site.get("/api/v1/nodes").json()["items"] == nodes  # kept, and the same
    _clock(site).set(datetime.fromisoformat(first["next_change"]["at"]))
    now = {n["name"]: n for n in site.get("/api/v1/nodes").json()["items"]}
    assert now[first["name"]]["status"] == first["next_change"]["state"] != first["status"]


def test_a_revoked_or_expired_token_is_refused_at_once(api_site: ApiSite) -> None:
    site = api_site
    site.token("short", "admin", "read", expires="2026-02-16")
    assert site.get(W, "short").status_code == 200
    assert site.get(W, "short").status_code == 200  # its user is kept
    with site.runtime.read() as ctx:
        ends = next(t for t in api_tokens.list_tokens(ctx) if t.name == "short").expires_at
    assert ends is not None
    _clock(site).set(ends - timedelta(seconds=1))
    assert site.get(W, "short").status_code == 200
    _clock(site).set(ends)
    assert site.get(W, "short").status_code == 401

    site.token("gone", "admin", "read")
    assert site.get(W, "gone").status_code == 200
    with site.runtime.write() as ctx:
        api_tokens.revoke_token(ctx, "gone")
    refused = site.get(W, "gone")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert site.get(W).status_code == 200  # the same client with a live token still reads


def test_a_role_taken_away_or_a_user_deactivated_ends_the_kept_answer(api_site: ApiSite) -> None:
    """Kept answers are per reader and per head: the viewer's user losing the right to write,
    then being deactivated, is felt on the next request."""
    site = api_site
    assert site.get(W, "rental_manager").status_code == 200
    body = {"title": "Fans", "start": "2026-02-20 08:00", "end": "2026-02-20 09:00", "dry_run": True}
    assert site.client.post(W, json=body, headers=site.headers("rental_manager")).status_code == 200
    with site.runtime.write() as ctx:
        users.set_roles(ctx, "rmgr", ["viewer"])
    refused = site.client.post(W, json=body, headers=site.headers("rental_manager"))
    assert refused.status_code == 403
    assert site.get(W, "rental_manager").status_code == 200  # a viewer still reads
    with site.runtime.write() as ctx:
        users.update_user(ctx, "rmgr", active=False)
    gone = site.get(W, "rental_manager")
    assert gone.status_code == 401 and "deactivated" in gone.json()["detail"]
