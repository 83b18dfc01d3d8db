"""Benchmark: the HTTP API on the big centre (``pytest -m benchmark -s
tests/benchmarks/test_api_benchmark.py``).

A real ``nodedesk serve`` (1 and 2 workers) on a copy of the big centre
(:mod:`tests.benchmarks.bigcentre`, SQLite: 1,000 nodes, 100,000 windows and outages, 200,000
reservations), driven from this process by a Python client on loopback:

- closed loop: :data:`CLIENTS` connections each sending the next request when the last one
  answered, for :data:`SECONDS` s: requests/s, p50, p99;
- paced: a page of windows at :data:`RATE` requests/s for :data:`SECONDS` s, each request's
  latency counted from when it was due (so a server falling behind shows as latency, not as a
  lower rate): p50, p99 against the target p99 < 50 ms.

The server keeps an answer while nothing changed (core/headmemo.py), so a request repeated
with no write in between costs about one indexed query; "a new page each" asks for another day
every time and shows what computing a page costs.

The client shares the machine's two cores with the server: figures are printed with the load,
never asserted. ``NODEDESK_API_BENCH_SIZE=smoke`` runs the same on the small centre.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import api_tokens

from tests.benchmarks import bigcentre

pytestmark = pytest.mark.benchmark

CLIENTS = 4
SECONDS = 8.0
RATE = 200  # requests per second for the paced run
TARGET_P99_MS = 50.0
ENDPOINTS = {
    "GET /windows (a page of 50)": "/api/v1/windows?limit=50",
    "GET /windows (a filtered page)": "/api/v1/windows?status=upcoming&node_type=A100&limit=50",
    "GET /nodes (every node now)": "/api/v1/nodes",
    # Each request asks for another day: never a kept answer (core/headmemo.py), the cost of
    # computing a page.
    "GET /windows (a new page each)": "/api/v1/windows?limit=50&from={day}",
}


def _path(template: str, i: int) -> str:
    """The i-th request's path: ``{day}`` is another day of 2020-2029 each time."""
    return template.format(day=(date(2020, 1, 1) + timedelta(days=i % 3650)).isoformat())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _site(tmp: Path) -> tuple[dict[str, str], str]:
    """A private copy of the centre, its environment for ``serve`` and an admin's read token."""
    size = bigcentre.SMOKE if os.environ.get("NODEDESK_API_BENCH_SIZE") == "smoke" else bigcentre.Size()
    source, _built = bigcentre.cached_sqlite(size)
    home = tmp / "xdg"
    data = home / "nodedesk"
    data.mkdir(parents=True, mode=0o700)
    db = data / "nodedesk.db"
    shutil.copy(source, db)
    db.chmod(0o600)
    url = f"sqlite:///{db}"
    bigcentre.seal_for(f"sqlite:///{source}")  # the key and anchor beside the cached file
    shutil.copytree(bigcentre.site_dir(f"sqlite:///{source}"), data, dirs_exist_ok=True)
    config = Config(database_url=url, private_dir=data)  # where 'serve' finds them too
    runtime = Runtime(config, clock=FrozenClock(bigcentre.NOW), login=bigcentre.LOGIN)
    try:
        with runtime.write() as ctx:
            secret = api_tokens.create_token(ctx, "bench", bigcentre.LOGIN, "read", "never").secret
    finally:
        runtime.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEDESK_")}
    env |= {"NODEDESK_DATABASE_URL": url, "XDG_DATA_HOME": str(home)}
    return env, secret


class Server:
    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        nodedesk = Path(sys.executable).with_name("nodedesk")
        self.proc = subprocess.Popen(
            [str(nodedesk), "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"serve did not start: {log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        """CPU time of the server and its worker processes so far (less disturbed by load)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            pid = int(stat.parent.name)
            if pid == self.proc.pid or int(fields[1]) == self.proc.pid:
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout=60)


def _ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")  # printed as '-': nothing answered within the run
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def closed_loop(base: str, path: str, token: str) -> tuple[float, float, float, int, int]:
    """(requests/s, p50 ms, p99 ms, errors, requests) with CLIENTS connections back to back
    (the warm-up requests count too, in the requests, so the CPU per request is right)."""
    latencies: list[float] = []
    errors = [0]
    sent = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + SECONDS

    def client() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            http.get(_path(path, 0))  # warm the connection and the worker
            mine = []
            while time.perf_counter() < stop_at:
                with lock:
                    sent[0] += 1
                    i = sent[0]
                t0 = time.perf_counter()
                r = http.get(_path(path, i))
                mine.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    with lock:
                        errors[0] += 1
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return (
        len(latencies) / elapsed,
        _ms(latencies, 0.5),
        _ms(latencies, 0.99),
        errors[0],
        len(latencies) + CLIENTS,
    )


def paced(base: str, path: str, token: str) -> tuple[float, float, float, int, int]:
    """(achieved requests/s, p50 ms, p99 ms, errors, requests) at RATE requests/s, latency from
    due time."""
    total = int(RATE * SECONDS)
    start = time.perf_counter() + 0.5
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    next_index = [0]

    def sender() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= total:
                    return
                due = start + i / RATE
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                r = http.get(path)
                done = time.perf_counter()
                with lock:
                    latencies.append(done - due)
                    if r.status_code != 200:
                        errors[0] += 1

    threads = [threading.Thread(target=sender) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finished = start + max(latencies) if latencies else start
    achieved = len(latencies) / max(finished - start, SECONDS)
    return achieved, _ms(latencies, 0.5), _ms(latencies, 0.99), errors[0], len(latencies)


def test_api_benchmark(tmp_path: Path) -> None:
    env, token = _site(tmp_path)
    lines = [
        "",
        f"HTTP API on the {os.environ.get('NODEDESK_API_BENCH_SIZE') or 'big'} centre (SQLite); "
        f"{CLIENTS} clients closed loop and {RATE} req/s paced, "
        f"{SECONDS:.0f} s each; load before {os.getloadavg()[0]:.2f}",
        f"{'workers':>7}  {'request':<32} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'cpu ms/req':>10}",
    ]

    def ms(value: float) -> str:
        return "-" if value != value else f"{value:.1f}"

    for workers in (1, 2):
        server = Server(env, workers, tmp_path / f"serve-{workers}.log")
        try:
            for name, path in ENDPOINTS.items():
                cpu0 = server.cpu_seconds()
                rps, p50, p99, errors, count = closed_loop(server.base, path, token)
                cpu = (server.cpu_seconds() - cpu0) * 1000 / max(count, 1)
                lines.append(
                    f"{workers:>7}  {name:<32} {rps:>7.1f} {ms(p50):>8} {ms(p99):>8} {errors:>6} {cpu:>10.1f}"
                )
            cpu0 = server.cpu_seconds()
            rate, p50, p99, errors, count = paced(
                server.base, ENDPOINTS["GET /windows (a page of 50)"], token
            )
            cpu = (server.cpu_seconds() - cpu0) * 1000 / max(count, 1)
            verdict = "met" if p99 < TARGET_P99_MS else "missed"
            lines.append(
                f"{workers:>7}  {'GET /windows paced at ' + str(RATE) + '/s':<32} {rate:>7.1f} {ms(p50):>8} "
                f"{ms(p99):>8} {errors:>6} {cpu:>10.1f}   target p99 < {TARGET_P99_MS:.0f} ms: {verdict}"
            )
        finally:
            assert server.stop() == 0
    lines.append(f"load after {os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus shared by client and server")
    print("\n".join(lines))
