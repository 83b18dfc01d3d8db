"""The API's contract is deliberate: the generated OpenAPI schema must equal the checked-in
tests/api/openapi.json. After an intended change, re-pin it with

    NODEDESK_REPIN_OPENAPI=1 .venv/bin/python -m pytest -q tests/api/test_openapi_snapshot.py

and review the diff (git diff tests/api/openapi.json) like any other code."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

from nodedesk.api.app import create_app
from nodedesk.core.config import Config
from nodedesk.core.runtime import Runtime

from nodedesk import __version__

PINNED = Path(__file__).with_name("openapi.json")


def current_schema(tmp_path: Path) -> str:
    config = Config(database_url=f"sqlite:///{tmp_path / 'unused.db'}", private_dir=tmp_path)
    runtime = Runtime(config, login="nobody")  # the schema needs no database
    schema = create_app(runtime).openapi()
    schema["info"]["version"] = "(version)"  # a release does not change the contract
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_schema_matches_the_pinned_copy(tmp_path: Path) -> None:
    now = current_schema(tmp_path)
    if os.environ.get("NODEDESK_REPIN_OPENAPI"):
        PINNED.write_text(now, encoding="utf-8")
    pinned = PINNED.read_text(encoding="utf-8")
    if now != pinned:
        diff = "".join(
            difflib.unified_diff(
                pinned.splitlines(keepends=True), now.splitlines(keepends=True), "pinned", "generated", n=2
            )
        )
        raise AssertionError(
            "the API's OpenAPI schema changed; if that is intended, re-pin it with "
            "NODEDESK_REPIN_OPENAPI=1 .venv/bin/python -m pytest -q tests/api/test_openapi_snapshot.py "
            f"and review the diff:\n{diff[:20000]}"
        )


def test_served_schema_and_docs(api_site) -> None:  # type: ignore[no-untyped-def]
    """/openapi.json and /docs need no token (they describe the API, not the centre's data)."""
    served = api_site.client.get("/openapi.json")
    assert served.status_code == 200 and served.json()["info"]["version"] == __version__
    paths = served.json()["paths"]
    assert {"/api/v1/windows", "/api/v1/windows/{id}", "/api/v1/calendar.ics", "/metrics"} <= set(paths)
    assert paths["/api/v1/windows"]["get"]["security"] == [{"HTTPBearer": []}]
    docs = api_site.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
