"""The smoke path through a real ``nodedesk serve`` process on a free loopback port: start,
tokens, read, create, a stale If-Match, a viewer refused, the live calendar (parsed with
icalendar), /metrics (parsed with Prometheus' own text parser), then SIGTERM and a clean exit.
On SQLite (one and two workers) and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import icalendar
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.conftest import NODEDESK, SiteCli

STARTUP_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real_clock(site: SiteCli) -> dict[str, str]:
    """The site's environment without NODEDESK_NOW: the API runs on the real clock."""
    return {k: v for k, v in site.env.items() if k != "NODEDESK_NOW"}


def create_token(site: SiteCli, name: str, user: str, scope: str) -> str:
    result = subprocess.run(
        [str(NODEDESK), "token", "create", name, "--user", user, "--scope", scope],
        env=real_clock(site),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert secret.startswith("ndk_") and "\n" not in secret
    assert "shown only this once" in result.stderr
    return secret


class Server:
    def __init__(self, site: SiteCli, tmp: Path, workers: int, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"serve-{self.port}.log"
        self.proc = subprocess.Popen(
            [str(NODEDESK), "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), *extra],
            env=real_clock(site),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited early: {self.log.read_text()}"
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve did not answer within {STARTUP_S} s: {self.log.read_text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=60)


@pytest.fixture
def server_for(tmp_path: Path) -> Iterator[object]:
    started: list[Server] = []

    def start(site: SiteCli, workers: int = 1, *extra: str) -> Server:
        server = Server(site, tmp_path, workers, *extra)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=30)


def smoke(site: SiteCli, server: Server) -> None:
    admin = create_token(site, "ops", site.admin, "write")
    viewer = create_token(site, "viewer-bot", "viewer", "write")
    feed = create_token(site, "team-calendar", "viewer", "feed")
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=server.base, timeout=30) as http:
        assert http.get("/api/v1/windows").status_code == 401
        listed = http.get("/api/v1/windows", headers=auth, params={"limit": 3})
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert len(page["items"]) == 3 and page["total"] >= 9 and page["next_cursor"]

        start = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0)
        body = {
            "title": "Rack 7 PDU swap",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=4)).isoformat(),
            "scope": {"nodes": ["node2431"]},
        }
        created = http.post("/api/v1/windows", headers=auth, json=body)
        assert created.status_code == 201, created.text
        window = created.json()
        assert created.headers["ETag"] == '"1"' and window["scope"]["nodes"] == ["node2431"]
        path = created.headers["Location"]
        moved = http.patch(path, headers=auth | {"If-Match": '"1"'}, json={"title": "Rack 7 PDU swap (2)"})
        assert moved.status_code == 200 and moved.headers["ETag"] == '"2"'
        stale = http.patch(path, headers=auth | {"If-Match": '"1"'}, json={"title": "lost update"})
        assert stale.status_code == 412
        assert stale.headers["content-type"] == "application/problem+json"
        assert stale.json()["field"] == "version"

        refused = http.post("/api/v1/windows", headers={"Authorization": f"Bearer {viewer}"}, json=body)
        assert refused.status_code == 403 and "may not manage maintenance windows" in refused.json()["detail"]

        ics = http.get("/api/v1/calendar.ics", params={"token": feed, "include_outages": "true"})
        assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(ics.content)
        titles = {str(e.get("summary")) for e in calendar.walk("VEVENT")}
        assert any("Rack 7 PDU swap (2)" in t for t in titles)
        assert http.get("/api/v1/windows", params={"token": feed}).status_code == 401

        metrics = http.get("/metrics", headers=auth)
        assert metrics.status_code == 200
        families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
        nodes = {s.labels["state"]: s.value for s in families["nodedesk_nodes"].samples}
        assert sum(nodes.values()) == 20
        assert families["nodedesk_audit_chain_ok"].samples[0].value == 1
        assert "nodedesk_windows_upcoming_24h" in families

    used = {t["name"]: t["last_used_at"] for t in site.json("token", "list", env={"NODEDESK_NOW": ""})}
    assert used["ops"] is not None and used["team-calendar"] is not None and used["viewer-bot"] is None

    # the change is audited as made through the token; the log still verifies
    entries = site.json("audit", "list", "--action", "window.updated")
    assert entries[0]["via"] == "API token ops" and entries[0]["actor"] == site.admin
    assert "audit chain OK" in site.ok("audit", "verify")


def check_stopped(server: Server, feed_hidden: bool = True) -> None:
    assert server.stop() == 0
    log = server.log.read_text()
    assert '"POST /api/v1/windows" 201' in log and '"PATCH /api/v1/windows/' in log
    assert "ndk_" not in log, "a token reached the log"
    assert "Traceback" not in log


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_smoke_sqlite(cli_site: SiteCli, server_for, workers: int) -> None:  # type: ignore[no-untyped-def]
    site = cli_site
    site.ok("init", "--force", "--yes", "--timezone", "America/New_York", "--demo")
    proxy = ("--trusted-proxy", "127.0.0.1") if workers == 2 else ()
    server = server_for(site, workers, *proxy)
    smoke(site, server)
    forwarded = httpx.get(f"{server.base}/api/v1/health", headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 200
    if workers == 2:
        # failed logins spread over both workers (a new connection each) count once for the site
        prober = {"X-Forwarded-For": "198.51.100.7"}
        for _ in range(10):
            wrong = prober | {"Authorization": "Bearer ndk_x"}
            bad = httpx.get(f"{server.base}/api/v1/windows", headers=wrong)
            assert bad.status_code == 401
        good = create_token(site, "after-probe", site.admin, "read")
        for _ in range(4):
            blocked = httpx.get(
                f"{server.base}/api/v1/windows", headers=prober | {"Authorization": f"Bearer {good}"}
            )
            assert blocked.status_code == 429
        elsewhere = {"X-Forwarded-For": "198.51.100.8", "Authorization": f"Bearer {good}"}
        assert httpx.get(f"{server.base}/api/v1/windows", headers=elsewhere).status_code == 200
    check_stopped(server)
    client = "203.0.113.9" if proxy else "127.0.0.1"  # believed only from a trusted proxy
    assert f'{client} "GET /api/v1/health" 200' in server.log.read_text()


@pytest.mark.postgres
def test_serve_smoke_postgresql(pg_cli_site: SiteCli, server_for) -> None:  # type: ignore[no-untyped-def]
    site = pg_cli_site
    site.ok("init", "--force", "--yes", "--timezone", "America/New_York", "--demo")
    server = server_for(site)
    smoke(site, server)
    check_stopped(server)


def test_serve_refuses_bad_setups(cli_site: SiteCli) -> None:
    """One line and exit 1, before anything listens: a frozen clock, a bad or busy address."""
    line = cli_site.refused("serve")
    assert "NODEDESK_NOW" in line and "real clock" in line
    env = real_clock(cli_site)

    def serve(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NODEDESK), "serve", *args], env=env, capture_output=True, text=True, timeout=60,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    bad = serve("--bind", "127.0.0.1:99999")
    assert bad.returncode == 1 and "bind: the port must be a number from 1 to 65535" in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = serve("--bind", f"127.0.0.1:{taken.getsockname()[1]}")
    assert busy.returncode == 1 and "cannot listen on" in busy.stderr
    assert serve("--workers", "0").returncode == 2
    json.dumps(bad.stderr)  # plain text
