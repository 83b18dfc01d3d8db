"""A small other site, exported: what the backup pilot and snapshot tests import."""

from __future__ import annotations

import shutil
from pathlib import Path

from nodedesk.core.backup import export_backup
from nodedesk.core.clock import FrozenClock
from nodedesk.core.config import Config
from nodedesk.core.db.engine import Database
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.site.setup import initialize

from tests.helpers import ADMIN, SITE_TZ
from tests.tui.conftest import seed_windows


def make_export(
    tmp_path: Path,
    sqlite_template: Path,
    clock: FrozenClock,
    *,
    windows: bool = True,
    exclude: list[str] | None = None,
) -> Path:
    """Another site (its own database) exported to ``tmp_path/export``.

    With ``windows`` it holds a node type, two nodes and four windows; without, only the node
    type and the nodes.
    """
    db_path = tmp_path / "source.db"
    shutil.copy(sqlite_template, db_path)
    url = f"sqlite:///{db_path}"
    database = Database.from_url(url)
    try:
        initialize(database, ADMIN, timezone=SITE_TZ, clock=clock)
        source = Runtime(Config(database_url=url), clock=clock, login=ADMIN, database=database)
        if windows:
            seed_windows(source)
        else:
            with source.write() as ctx:
                inventory.add_node_type(ctx, "A100", "GPU")
                inventory.add_node(ctx, "node01", "A100")
                inventory.add_node(ctx, "node02", "A100")
        target = tmp_path / "export"
        export_backup(source, target, timestamp=False, source_name="old-hpc", exclude=exclude)
    finally:
        database.dispose()
    return target
