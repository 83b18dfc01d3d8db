"""The API and the console at the same time on one database: no lost update. API clients
(PATCH with If-Match) and console sessions (the window service with the version they read,
as 'window edit --expected-version' does, each on its own connection pool) rename the same
window in a race; every save that succeeded is the next version and is audited once, every
other one was refused as stale (412 / ConflictError) or busy, never silently overwritten."""

from __future__ import annotations

import threading
from collections import Counter

from nodedesk.core.db.engine import Database
from nodedesk.core.errors import ConflictError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as svc
from nodedesk.core.services.views import activity

from tests.api.conftest import ApiSite

WINDOW = 7
ROUNDS = 6


def test_no_lost_update_between_api_and_console(api_site: ApiSite) -> None:
    site = api_site
    outcomes: Counter[str] = Counter()
    saved_titles: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def api_client(n: int) -> None:
        start.wait()
        for i in range(ROUNDS):
            title = f"api-{n}-{i}"
            read = site.get(f"/api/v1/windows/{WINDOW}", "rental_manager")
            r = site.client.patch(
                f"/api/v1/windows/{WINDOW}",
                headers=site.headers("rental_manager") | {"If-Match": read.headers["ETag"]},
                json={"title": title},
            )
            with lock:
                outcomes[str(r.status_code)] += 1
                if r.status_code == 200:
                    saved_titles.append(title)

    def console(n: int) -> None:
        database = Database.from_url(site.runtime.config.database_url)
        runtime = Runtime(
            site.runtime.config, clock=site.runtime.clock_for("UTC"), login="rmgr", database=database
        )
        start.wait()
        try:
            for i in range(ROUNDS):
                title = f"console-{n}-{i}"
                with runtime.read() as ctx:
                    version = svc.get_window(ctx, WINDOW).version
                try:
                    with runtime.write() as ctx:
                        svc.update_window(
                            ctx, WINDOW, svc.WindowChanges(title=title), expected_version=version
                        )
                except ConflictError:
                    with lock:
                        outcomes["console-refused"] += 1
                    continue
                with lock:
                    outcomes["console-saved"] += 1
                    saved_titles.append(title)
        finally:
            database.dispose()

    threads = [threading.Thread(target=api_client, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=console, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    saved = outcomes["200"] + outcomes["console-saved"]
    assert set(outcomes) <= {"200", "412", "503", "console-saved", "console-refused"}, outcomes
    assert sum(outcomes.values()) == 4 * ROUNDS and saved >= 1
    final = site.get(f"/api/v1/windows/{WINDOW}").json()
    assert final["version"] == 1 + saved, outcomes  # every success was the next version
    assert final["title"] in saved_titles
    with site.runtime.read() as ctx:
        entries = activity.list_activity(
            ctx, activity.ActivityQuery(action="window.updated", target=f"window:{WINDOW}", limit=1000)
        )
        assert entries.total == saved
        assert {e.via for e in entries.items} <= {"", "API token rental_manager-write"}
        assert sum(1 for e in entries.items if e.via) == outcomes["200"]
        assert activity.verify(ctx).ok
