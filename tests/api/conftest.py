"""The API in-process (FastAPI's TestClient) on the demo centre, on SQLite and PostgreSQL.

``api_site`` is the ``runtime`` fixture's site (frozen clock, 2026-02-15 10:00 New York) with the
demo centre loaded and one write token per role: ``site.client`` and ``site.headers(role)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nodedesk.api.app import create_app
from nodedesk.core.runtime import Runtime
from nodedesk.core.services import api_tokens
from nodedesk.core.services.demo import load_demo

from tests.cli.conftest import cli_site, cli_template, pg_cli_site  # noqa: F401
from tests.hardening.permissions_table import LOGIN_OF

ROLE_LOGINS = {"admin": "admin", **{r: u for r, u in LOGIN_OF.items() if r != "unregistered"}}


@dataclass
class ApiSite:
    runtime: Runtime
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def token(self, name: str, user: str, scope: str, expires: str | None = None) -> str:
        with self.runtime.write() as ctx:
            secret = api_tokens.create_token(ctx, name, user, scope, expires).secret
        self.tokens[name] = secret
        return secret

    def get(self, path: str, who: str = "admin", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(who) | kwargs.pop("headers", {}), **kwargs)


def make_site(runtime: Runtime) -> ApiSite:
    with runtime.write() as ctx:
        load_demo(ctx)
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    site = ApiSite(runtime, client)
    for role, login in ROLE_LOGINS.items():
        site.tokens[role] = site.token(f"{role}-write", login, "write")
    return site


@pytest.fixture
def api_site(runtime: Runtime) -> Iterator[ApiSite]:
    site = make_site(runtime)
    with site.client:
        yield site
