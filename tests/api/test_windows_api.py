"""``/api/v1/windows`` on the demo centre (both back ends): filters, cursors, ETags, the lock
rules, corrections, backdating, dry runs and the audit trail, exactly as in the console.

Demo windows (data/demo.json) at 2026-02-15 10:00 New York: #1 completed (all nodes), #2 A100,
#3 node2433, #4 H100+L40S (completed), #5 node2501+node2502 (in progress), #6 all nodes,
#7 H100, #8 all nodes (Mar 4-5), #9 L40S + node2431 (upcoming)."""

from __future__ import annotations

from typing import Any

import pytest
from nodedesk.core.services.views import activity

from tests.api.conftest import ApiSite

W = "/api/v1/windows"


def ids(site: ApiSite, **params: Any) -> list[int]:
    r = site.get(W, params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return [w["id"] for w in r.json()["items"]]


def audit(site: ApiSite, action: str) -> list[activity.ActivityView]:
    with site.runtime.read() as ctx:
        return activity.list_activity(ctx, activity.ActivityQuery(action=action)).items


def test_filters(api_site: ApiSite) -> None:
    site = api_site
    assert ids(site) == list(range(1, 10))
    assert ids(site, status="upcoming") == [6, 7, 8, 9]
    assert ids(site, status="in_progress") == [5]
    # a node: windows on all nodes, on it, or on its type
    assert ids(site, node="node2501") == [1, 4, 5, 6, 7, 8]
    # a node type: windows on all nodes, on the type, or on one of its nodes
    assert ids(site, node_type="A100") == [1, 2, 3, 6, 8, 9]
    assert ids(site, node_type="EPYC") == [1, 6, 8]
    assert ids(site, **{"from": "2026-02-20", "to": "2026-03-05"}) == [7, 8]
    assert ids(site, q="cooling") == [5]
    assert ids(site, status="upcoming", sort="title", desc=True) == [9, 6, 7, 8]
    for params, field in [
        ({"node": "nope"}, "node"),
        ({"node_type": "TPU"}, "node_type"),
        ({"status": "soon"}, "status"),
        ({"from": "yesterday"}, "from"),
        ({"sort": "colour"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
    ]:
        r = site.get(W, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["field"] == field and r.headers["content-type"] == "application/problem+json"


def test_cursor_pages_through_everything_once(api_site: ApiSite) -> None:
    site = api_site
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 4, "node_type": "A100"}
    while True:
        page = site.get(W, params=params).json()
        assert page["total"] == 6 and len(page["items"]) <= 4
        seen += [w["id"] for w in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [1, 2, 3, 6, 8, 9]
    other = site.get(W, params={"limit": 4, "node_type": "H100", "cursor": params["cursor"]})
    assert other.status_code == 422 and other.json()["field"] == "cursor"
    assert "another listing" in other.json()["detail"]
    assert site.get(W, params={"cursor": "!!"}).json()["field"] == "cursor"


def test_read_one_with_etag(api_site: ApiSite) -> None:
    site = api_site
    r = site.get(f"{W}/6")
    doc = r.json()
    assert r.status_code == 200 and r.headers["ETag"] == f'"{doc["version"]}"'
    assert doc["status"] == "upcoming" and doc["lock_reason"] == "" and doc["scope"]["all_nodes"]
    again = site.get(f"{W}/6", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert site.get(f"{W}/5").json()["lock_reason"].startswith("in progress since")
    missing = site.get(f"{W}/999")
    assert missing.status_code == 404 and missing.json()["detail"] == "no maintenance window #999"
    assert site.get(f"{W}/0").status_code == 422
    assert site.get(f"{W}/99999999999").status_code == 422


def test_create_and_dry_run(api_site: ApiSite) -> None:
    site = api_site
    body = {
        "title": "Rack 4 PDU swap",
        "start": "2026-03-03 06:00",
        "end": "2026-03-03 18:00",
        "scope": {"node_types": ["A100"]},
    }
    preview = site.client.post(W, headers=site.headers("rental_manager"), json=body | {"dry_run": True})
    assert preview.status_code == 200, preview.text
    assert preview.json()["dry_run"] is True and preview.json()["id"] is None
    assert "assessment" in preview.json() and "Location" not in preview.headers
    assert ids(site) == list(range(1, 10)) and audit(site, "window.created")[0].target_id != "10"

    made = site.client.post(W, headers=site.headers("rental_manager"), json=body)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert made.headers["Location"] == f"{W}/{doc['id']}" and made.headers["ETag"] == '"1"'
    assert doc["start"] == "2026-03-03T06:00:00-05:00" and doc["scope"]["node_types"] == ["A100"]
    assert doc["created_by"] == "rmgr" and doc["dry_run"] is False
    assert set(site.get(made.headers["Location"]).json()) >= set(doc) - {
        "impact", "assessment", "drifted_months", "dry_run"
    }  # fmt: skip
    entry = audit(site, "window.created")[0]
    assert entry.target_id == str(doc["id"]) and entry.actor == "rmgr"
    assert entry.via == "API token rental_manager-write"
    assert entry.actor_label == "rmgr via API token rental_manager-write"


def test_create_refusals_change_nothing(api_site: ApiSite) -> None:
    site = api_site
    ok = {"title": "T", "start": "2026-03-03 06:00", "end": "2026-03-03 08:00"}
    cases = [
        (ok | {"end": "2026-03-03 05:00"}, 422, "end"),
        (ok | {"start": "2026-03-08 02:30", "end": "2026-03-08 04:00"}, 422, "start"),  # DST gap
        (ok | {"title": " "}, 422, "title"),
        (ok | {"scope": {"nodes": ["node9999"]}}, 422, "node"),
        (ok | {"scope": {"all_nodes": True, "nodes": ["node2431"]}}, 422, "scope"),
        (ok | {"start": "2026-02-01 06:00"}, 422, "start"),  # backdated without a reason
        (ok | {"colour": "red"}, 422, "colour"),
        ({"title": "T"}, 422, "start"),
    ]
    for body, status, field in cases:
        r = site.client.post(W, headers=site.headers(), json=body)
        assert (r.status_code, r.json().get("field")) == (status, field), (body, r.text)
    assert ids(site) == list(range(1, 10))
    backdated = site.client.post(
        W, headers=site.headers(), json=ok | {"start": "2026-02-14 06:00", "reason": "logged late"}
    )
    assert backdated.status_code == 201 and backdated.json()["backdated"] is True
    assert site.client.post(W, headers=site.headers(), content=b"{not json").status_code == 422
    form = site.client.post(W, headers=site.headers(), data={"title": "T"})  # curl -d without --json
    assert form.status_code == 415 and "Content-Type: application/json" in form.json()["detail"]


def test_patch_needs_the_version_read(api_site: ApiSite) -> None:
    site = api_site
    h = site.headers("rental_manager")
    missing = site.client.patch(f"{W}/6", headers=h, json={"title": "x"})
    assert missing.status_code == 428 and missing.json()["field"] == "If-Match"
    first = site.client.patch(f"{W}/6", headers=h | {"If-Match": '"1"'}, json={"title": "Kernel patch"})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    stale = site.client.patch(f"{W}/6", headers=h | {"If-Match": '"1"'}, json={"title": "Mine"})
    assert stale.status_code == 412
    assert "was changed by rmgr" in stale.json()["detail"] and stale.json()["field"] == "version"
    assert site.get(f"{W}/6").json()["title"] == "Kernel patch"
    weak = site.client.patch(f"{W}/6", headers=h | {"If-Match": 'W/"2"'}, json={"description": "d"})
    assert weak.status_code == 200
    garbage = site.client.patch(f"{W}/6", headers=h | {"If-Match": "v3"}, json={"title": "x"})
    assert garbage.status_code == 422 and garbage.json()["field"] == "If-Match"
    null = site.client.patch(f"{W}/6", headers=h | {"If-Match": "*"}, json={"title": None})
    assert null.status_code == 422 and null.json()["field"] == "title"
    nothing = site.client.patch(f"{W}/6", headers=h | {"If-Match": "*"}, json={})
    assert nothing.status_code == 422 and nothing.json()["field"] == "changes"


def test_lock_rules_and_corrections(api_site: ApiSite) -> None:
    site = api_site
    rm = site.headers("rental_manager") | {"If-Match": "*"}
    admin = site.headers() | {"If-Match": "*"}
    # in progress: only the end may move, to now or later
    title = site.client.patch(f"{W}/5", headers=rm, json={"title": "x"})
    assert title.status_code == 409 and title.json()["field"] == "title"
    early = site.client.patch(f"{W}/5", headers=rm, json={"end": "2026-02-15 09:00"})
    assert early.status_code == 409 and early.json()["field"] == "end"
    later = site.client.patch(f"{W}/5", headers=rm, json={"end": "2026-02-15 16:00"})
    assert later.status_code == 200 and later.json()["end"] == "2026-02-15T16:00:00-05:00"
    assert audit(site, "window.end_moved")[0].via == "API token rental_manager-write"
    # completed: locked; an admin corrects it with a reason
    locked = site.client.patch(f"{W}/1", headers=rm, json={"title": "x"})
    assert locked.status_code == 409 and "locked" in locked.json()["detail"]
    assert (
        site.client.patch(
            f"{W}/1", headers=rm, json={"title": "x", "correct": True, "reason": "r"}
        ).status_code
        == 403
    )
    no_reason = site.client.patch(f"{W}/1", headers=admin, json={"title": "Fixed", "correct": True})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    fixed = site.client.patch(
        f"{W}/1", headers=admin, json={"title": "Fixed", "correct": True, "reason": "typo in the title"}
    )
    assert fixed.status_code == 200 and fixed.json()["title"] == "Fixed"
    entry = audit(site, "window.corrected")[0]
    assert entry.reason == "typo in the title" and entry.via == "API token admin-write"


def test_delete(api_site: ApiSite) -> None:
    site = api_site
    rm = site.headers("rental_manager")
    stale = site.client.delete(f"{W}/9", headers=rm | {"If-Match": '"7"'})
    assert stale.status_code == 412
    gone = site.client.delete(f"{W}/9", headers=rm | {"If-Match": '"1"'})
    assert gone.status_code == 200 and gone.json()["deleted"]["id"] == 9
    assert site.get(f"{W}/9").status_code == 404
    assert site.client.delete(f"{W}/1", headers=rm).status_code == 409
    assert site.client.delete(f"{W}/1", headers=site.headers(), params={"correct": True}).status_code == 422
    corrected = site.client.delete(
        f"{W}/1", headers=site.headers(), params={"correct": True, "reason": "dup"}
    )
    assert corrected.status_code == 200
    deleted = audit(site, "window.deleted")
    assert [e.target_id for e in deleted] == ["1", "9"] and {e.via for e in deleted} == {
        "API token admin-write",
        "API token rental_manager-write",
    }
    with site.runtime.read() as ctx:
        assert activity.verify(ctx).ok


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_impact_matches_the_console(api_site: ApiSite) -> None:
    from nodedesk.core.services.downtime import impact, windows
    from nodedesk.core.timeutil import parse_instant

    site = api_site
    body = {"start": "2026-02-20 06:00", "end": "2026-02-21 06:00", "scope": {"node_types": ["A100"]}}
    r = site.client.post("/api/v1/impact", headers=site.headers("viewer"), json=body)
    assert r.status_code == 200
    with site.runtime.read() as ctx:
        expected = impact.assess(
            ctx,
            parse_instant(body["start"], ctx.tz),
            parse_instant(body["end"], ctx.tz),
            windows.Scope(node_types=("A100",)),
        ).to_json(ctx.tz)
    assert r.json() == expected


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_pages_concatenate_to_the_whole_listing(api_site: ApiSite) -> None:
    """Property: for any page size and filter, following next_cursor yields the whole listing
    once, in order, and every page says the same total."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    site = api_site
    filters = [{}, {"node_type": "A100"}, {"status": "upcoming"}, {"sort": "title", "desc": True}, {"q": "e"}]

    @settings(max_examples=25, suppress_health_check=list(HealthCheck), deadline=None, database=None)
    @given(limit=st.integers(1, 10), chosen=st.sampled_from(filters))
    def prop(limit: int, chosen: dict[str, Any]) -> None:
        whole = site.get(W, params={**chosen, "limit": 1000}).json()
        seen: list[int] = []
        params: dict[str, Any] = {**chosen, "limit": limit}
        while True:
            page = site.get(W, params=params).json()
            assert page["total"] == whole["total"] and len(page["items"]) <= limit
            seen += [w["id"] for w in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == [w["id"] for w in whole["items"]]

    prop()


def test_declare_an_emergency_window(api_site: ApiSite, monkeypatch: pytest.MonkeyPatch) -> None:
    site = api_site
    monkeypatch.delenv("NODEDESK_SMTP_HOST", raising=False)
    body = {"scope": {"nodes": ["node2431"]}, "reason": "PSU failed", "duration": "90m"}
    no_reason = site.client.post(f"{W}/emergency", headers=site.headers(), json=body | {"reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    everywhere = site.client.post(f"{W}/emergency", headers=site.headers(), json=body | {"scope": {}})
    assert everywhere.status_code == 422 and everywhere.json()["field"] == "node"
    assert ids(site) == list(range(1, 10))

    made = site.client.post(f"{W}/emergency", headers=site.headers("rental_manager"), json=body)
    assert made.status_code == 201, made.text
    doc = made.json()
    assert doc["emergency"] is True and doc["backdated"] is False and doc["status"] == "in_progress"
    assert (doc["start"], doc["end"]) == ("2026-02-15T10:00:00-05:00", "2026-02-15T11:30:00-05:00")
    assert doc["notices"]["smtp_configured"] is False
    assert made.headers["Location"] == f"{W}/{doc['id']}"
    assert site.get(made.headers["Location"]).json()["emergency"] is True
    assert {w["id"]: w["emergency"] for w in site.get(W, params={"limit": 1000}).json()["items"]} == {
        i: i == doc["id"] for i in range(1, 11)
    }
    entry = audit(site, "window.emergency")[0]
    assert entry.actor == "rmgr" and entry.reason == "PSU failed"
