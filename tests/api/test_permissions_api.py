"""The permission matrix through HTTP: every endpoint x every role, with the outcomes written
from the role rules (tests/hardening/permissions_table.py, help/security.md), not from the code.
A refused request is 403 (401 without a valid token) and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from nodedesk.api.ratelimit import FailedLogins

from tests.api.conftest import ApiSite
from tests.hardening.conftest import db_digest
from tests.hardening.permissions_table import ROLES, allowed

FUTURE = {"start": "2026-03-20 08:00", "end": "2026-03-20 10:00"}
ANY = {"If-Match": "*"}

# (name, area, method, path, json body, query, extra headers)
ENDPOINTS: list[tuple[str, str, str, str, Any, dict[str, Any], dict[str, str]]] = [
    ("me", "read", "GET", "/api/v1/me", None, {}, {}),
    ("window list", "read", "GET", "/api/v1/windows", None, {"node": "node2431"}, {}),
    ("window show", "read", "GET", "/api/v1/windows/6", None, {}, {}),
    ("impact", "read", "POST", "/api/v1/impact", FUTURE, {}, {}),
    ("outage list", "read", "GET", "/api/v1/outages", None, {"open": True}, {}),
    ("outage show", "read", "GET", "/api/v1/outages/6", None, {}, {}),
    ("node list", "read", "GET", "/api/v1/nodes", None, {}, {}),
    ("node timeline", "read", "GET", "/api/v1/nodes/node2431/timeline", None, {}, {}),
    ("reservation list", "read", "GET", "/api/v1/reservations", None, {"status": "pending"}, {}),
    ("schedule list", "read", "GET", "/api/v1/schedules", None, {}, {}),
    ("invoice", "read", "GET", "/api/v1/invoices/2026-01", None, {}, {}),
    ("activity", "read", "GET", "/api/v1/activity", None, {}, {}),
    ("calendar", "read", "GET", "/api/v1/calendar.ics", None, {}, {}),
    ("metrics", "read", "GET", "/metrics", None, {}, {}),
    ("window add", "windows", "POST", "/api/v1/windows", {"title": "M", **FUTURE}, {}, {}),
    ("window edit", "windows", "PATCH", "/api/v1/windows/7", {"title": "Renamed"}, {}, ANY),
    ("window delete", "windows", "DELETE", "/api/v1/windows/8", None, {}, {}),
    (
        "window correct",
        "correction",
        "PATCH",
        "/api/v1/windows/3",
        {"title": "Fixed", "correct": True, "reason": "typo"},
        {},
        ANY,
    ),
    (
        "window delete correct",
        "correction",
        "DELETE",
        "/api/v1/windows/2",
        None,
        {"correct": True, "reason": "dup"},
        {},
    ),
    (
        "outage add",
        "outages",
        "POST",
        "/api/v1/outages",
        {"title": "M", "nodes": ["node2433"], "start": "2026-02-15 09:00"},
        {},
        {},
    ),
    ("outage update", "outages", "PATCH", "/api/v1/outages/6", {"description": "more"}, {}, ANY),
]


def call(site: ApiSite, role: str, endpoint: tuple[Any, ...]) -> Any:
    _name, _area, method, path, body, query, extra = endpoint
    headers = {"Authorization": "Bearer ndk_" + "u" * 43} if role == "unregistered" else site.headers(role)
    return site.client.request(method, path, json=body, params=query, headers=headers | extra)


def test_every_endpoint_is_in_the_matrix(api_site: ApiSite) -> None:
    """A new endpoint must be added above (or this fails)."""

    def area_of(path: str) -> str:
        return path.split("/")[3] if path.startswith("/api") else path

    covered = {(e[2], area_of(e[3])) for e in ENDPOINTS}
    routes = {
        (method, area_of(route.path))
        for route in api_site.client.app.routes  # type: ignore[attr-defined]
        for method in getattr(route, "methods", ()) or ()
        if route.path not in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/api/v1/health")
        and method != "HEAD"
    }
    assert routes <= covered, f"endpoints missing from the matrix: {sorted(routes - covered)}"


@pytest.mark.parametrize("role", ROLES)
def test_outcomes_match_the_role_rules(role: str, api_site: ApiSite) -> None:
    site = api_site
    site.client.app.state.api.limiter = FailedLogins(limit=10_000)  # type: ignore[attr-defined]
    wrong = []
    for endpoint in ENDPOINTS:
        name, area = endpoint[0], endpoint[1]
        before = db_digest(site.runtime.config.database_url)
        r = call(site, role, endpoint)
        if role == "unregistered":
            if r.status_code != 401:
                wrong.append(f"{name}: {r.status_code} for an unknown token")
        elif allowed(area, role):
            if not 200 <= r.status_code < 300:
                wrong.append(
                    f"{role} {name}: refused ({r.status_code} {r.text[:200]}) but the role rules allow it"
                )
        else:
            after = db_digest(site.runtime.config.database_url)
            if r.status_code != 403:
                wrong.append(f"{role} {name}: {r.status_code} (expected 403) {r.text[:200]}")
            elif (
                r.headers["content-type"] != "application/problem+json" or "may not" not in r.json()["detail"]
            ):
                wrong.append(f"{role} {name}: not a problem response naming the rule: {r.text[:200]}")
            if after != before:
                wrong.append(f"{role} {name}: refused but the database changed")
    assert wrong == []
