"""Bad input through HTTP: every field of every body, query and path, fuzzed with hypothesis.

Each answer must be 2xx, or 4xx as an RFC 9457 problem naming what was wrong in one line, never
5xx; a refused request must leave every table as it was (digest of all rows). Values are the
CLI fuzzer's hostile strings (tests/hardening/hostile.py) plus wrong JSON types: numbers too big
for any column, NaN, nulls, lists, objects, NUL and lone surrogates, unknown fields.
``NODEDESK_FUZZ_EXAMPLES`` raises the number of examples per endpoint."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.api.ratelimit import FailedLogins

from tests.api.conftest import ApiSite
from tests.hardening.conftest import db_digest, fuzz_examples
from tests.hardening.hostile import DATES, HOSTILE

SCALARS = st.one_of(
    st.sampled_from(HOSTILE + DATES),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.one_of(st.sampled_from(["node2431", "A100", "", "\x00", "x" * 300]), SCALARS), max_size=4),
    st.dictionaries(st.sampled_from(["nodes", "node_types", "all_nodes", "x"]), SCALARS, max_size=3),
)
GOOD_WINDOW = {"title": "Fuzz", "start": "2026-03-20 08:00", "end": "2026-03-20 10:00"}
GOOD_OUTAGE = {"title": "Fuzz", "nodes": ["node2433"], "start": "2026-02-15 09:00"}

# (name, method, path, a valid body or None, the fields to fuzz)
BODIES = [
    (
        "window add",
        "POST",
        "/api/v1/windows",
        GOOD_WINDOW,
        [*GOOD_WINDOW, "description", "scope", "reason", "dry_run"],
    ),
    (
        "window edit",
        "PATCH",
        "/api/v1/windows/7",
        {"title": "T"},
        ["title", "start", "end", "scope", "correct", "reason"],
    ),
    (
        "outage add",
        "POST",
        "/api/v1/outages",
        GOOD_OUTAGE,
        [*GOOD_OUTAGE, "end", "etr", "status", "credit", "correct"],
    ),
    (
        "outage edit",
        "PATCH",
        "/api/v1/outages/6",
        {"description": "d"},
        ["etr", "status", "end", "nodes", "credit"],
    ),
    (
        "impact",
        "POST",
        "/api/v1/impact",
        {"start": "2026-03-20 08:00", "end": "2026-03-20 10:00"},
        ["start", "end", "scope", "window"],
    ),
]
QUERIES = [
    (
        "/api/v1/windows",
        ["from", "to", "status", "node", "node_type", "q", "sort", "desc", "cursor", "limit"],
    ),
    ("/api/v1/outages", ["open", "status", "node", "from", "to", "cursor", "limit"]),
    ("/api/v1/reservations", ["status", "node", "project", "from", "to", "sort", "desc", "cursor", "limit"]),
    ("/api/v1/nodes", ["node_type"]),
    ("/api/v1/nodes/node2431/timeline", ["from", "to"]),
    ("/api/v1/schedules", ["q", "cursor", "limit"]),
    ("/api/v1/activity", ["action", "actor", "target", "q", "cursor", "limit"]),
    ("/api/v1/invoices/2026-01", ["project"]),
    ("/api/v1/calendar.ics", ["node", "include_outages", "from", "to"]),
    ("/api/v1/windows/1", []),
]
PATHS = ["/api/v1/windows/{}", "/api/v1/outages/{}", "/api/v1/nodes/{}/timeline", "/api/v1/invoices/{}"]
# URLs stay under what a client sends (a 100 kB query is the proxy's to refuse)
QUERY_VALUES = st.one_of(
    st.sampled_from([v for v in HOSTILE + DATES if len(v) <= 8000]),
    st.text(max_size=30),
    st.integers().map(str),
)
HEADER_VALUES = st.sampled_from(['"1"', "*", "W/1", "", " ", "-1", '"99999999999"', "x" * 300, '"1", "2"'])


def check(site: ApiSite, r: Any, before: str) -> str:
    """The contract; returns the digest to compare the next refusal with."""
    assert r.status_code < 500, f"{r.status_code}: {r.text[:500]}"
    if r.status_code < 400:
        return db_digest(site.runtime.config.database_url)
    assert r.headers["content-type"] == "application/problem+json", r.text[:300]
    doc = r.json()
    assert doc["status"] == r.status_code and isinstance(doc["detail"], str)
    assert "\n" not in doc["detail"] and len(doc["detail"]) <= 400
    assert "Traceback" not in r.text
    assert db_digest(site.runtime.config.database_url) == before, f"refused but changed: {doc}"
    return before


def _fuzz(site: ApiSite, examples: int) -> None:
    site.client.app.state.api.limiter = FailedLogins(limit=10**9)  # type: ignore[attr-defined]
    state = {"digest": db_digest(site.runtime.config.database_url)}
    auth = site.headers()

    @settings(max_examples=examples, suppress_health_check=list(HealthCheck), database=None, deadline=None)
    @given(data=st.data())
    def bodies(data: st.DataObject) -> None:
        _name, method, path, good, fields = data.draw(st.sampled_from(BODIES))
        if data.draw(st.integers(0, 9)) == 0:
            body: Any = data.draw(VALUES)  # not an object at all
        else:
            body = dict(good)
            for field in data.draw(st.lists(st.sampled_from([*fields, "bogus"]), min_size=1, max_size=3)):
                body[field] = data.draw(VALUES)
        headers = auth | {"If-Match": data.draw(HEADER_VALUES)} if method == "PATCH" else auth
        raw = json.dumps(body, allow_nan=True)
        r = site.client.request(
            method, path, content=raw, headers=headers | {"content-type": "application/json"}
        )
        state["digest"] = check(site, r, state["digest"])

    @settings(max_examples=examples, suppress_health_check=list(HealthCheck), database=None, deadline=None)
    @given(data=st.data())
    def queries(data: st.DataObject) -> None:
        path, names = data.draw(st.sampled_from(QUERIES))
        chosen = data.draw(st.lists(st.sampled_from([*names, "x"]), max_size=3))
        params = [(n, data.draw(QUERY_VALUES)) for n in chosen]
        # undecodable input travels as the raw bytes it stood for (%FF), as a client would send it
        query = urlencode(params, encoding="utf-8", errors="surrogateescape")
        r = site.client.get(f"{path}?{query}", headers=auth)
        state["digest"] = check(site, r, state["digest"])

    @settings(max_examples=examples, suppress_health_check=list(HealthCheck), database=None, deadline=None)
    @given(template=st.sampled_from(PATHS), value=QUERY_VALUES)
    def paths(template: str, value: str) -> None:
        r = site.client.get(template.format(quote(value, safe="", errors="surrogateescape")), headers=auth)
        state["digest"] = check(site, r, state["digest"])

    bodies()
    queries()
    paths()
    for raw in (b"{", b"\xff\xfe", b"[]" * 1000, b'{"title": "\\ud800"}', b"null"):
        r = site.client.post(
            "/api/v1/windows", content=raw, headers=auth | {"content-type": "application/json"}
        )
        state["digest"] = check(site, r, state["digest"])
    huge = site.client.post("/api/v1/windows", content=b" " * 1_100_000, headers=auth)
    assert huge.status_code == 413


def test_every_field_fuzzed(api_site: ApiSite, backend: str) -> None:
    _fuzz(api_site, fuzz_examples(60 if backend == "sqlite" else 15))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_regressions(api_site: ApiSite) -> None:
    """Inputs that once reached the database raw or broke a handler."""
    site = api_site
    auth = site.headers()
    cases = [
        ("POST", "/api/v1/windows", {**GOOD_WINDOW, "scope": {"nodes": ["a\x00b"]}}, 422),
        ("POST", "/api/v1/windows", {**GOOD_WINDOW, "title": "\udcff"}, 422),
        (
            "POST",
            "/api/v1/impact",
            {"start": "2026-03-20 08:00", "end": "2026-03-20 10:00", "window": 2**40},
            422,
        ),
        ("POST", "/api/v1/windows", {**GOOD_WINDOW, "start": "9999-12-31 23:59", "end": "2026-01-01"}, 422),
    ]
    before = db_digest(site.runtime.config.database_url)
    for method, path, body, status in cases:
        raw = json.dumps(body)  # lone surrogates travel as JSON escapes
        r = site.client.request(
            method, path, content=raw, headers=auth | {"content-type": "application/json"}
        )
        assert r.status_code == status, (body, r.text)
        check(site, r, before)
    assert site.get("/api/v1/windows", params={"node": "a\x00b"}).json()["field"] == "node"
