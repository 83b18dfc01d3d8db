"""The shortcuts the scale work added stay equivalent to the long way.

- A page of reservations spread over weeks loads only its nodes' downtime
  (``load_downtime(nodes=...)``): the overlaps it shows are the ones the full index gives.
- The schema check on every start decides without alembic, and agrees with alembic's head.
- Starting the app (no command) parses its options without importing the command modules.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

from nodedesk.core.db import migrate
from nodedesk.core.downtime import load_downtime
from nodedesk.core.models import Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.downtime import windows as win
from nodedesk.core.services.nodes import inventory
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.rentals import reservations as rsv
from nodedesk.tui import cli
from sqlalchemy import select

from tests.helpers import local


def _seed(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        inventory.add_node_type(ctx, "A100", "GPU")
        inventory.add_node_type(ctx, "H100", "GPU")
        inventory.add_node(ctx, "node01", "A100")
        inventory.add_node(ctx, "node02", "A100")
        inventory.add_node(ctx, "node03", "H100")
        projects.add_project(ctx, "Folding", "admin")
        for title, start, end, scope in (
            ("node01 only", "2026-02-21 01:00", "2026-02-21 03:00", win.Scope(("node01",))),
            ("all A100", "2026-03-06 01:00", "2026-03-06 02:00", win.Scope((), ("A100",))),
            ("everything", "2026-03-21 05:00", "2026-03-21 06:00", win.Scope()),
            ("node03 only", "2026-03-06 00:00", "2026-03-06 04:00", win.Scope(("node03",))),
            ("node02 only", "2026-02-21 00:00", "2026-02-21 05:00", win.Scope(("node02",))),
        ):
            win.create_window(ctx, win.WindowDraft(title, local(start), local(end), scope=scope))
        days = (
            ("node01", 20),
            ("node01", 33),
            ("node01", 48),
            ("node01", 110),
            ("node03", 33),
            ("node02", 20),
        )
        for node, day in days:
            draft = rsv.ReservationDraft(node, "Folding", date(2026, 2, 1) + timedelta(days=day - 1), 2)
            rsv.record_reservation(ctx, draft, approve=True, waive_policy=True)


def test_wide_page_loads_only_its_nodes_downtime_and_shows_the_same(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.read() as ctx:
        page = rsv.list_reservations(ctx, rsv.ReservationQuery(node="node01", limit=100))
        assert len(page.items) == 4
        assert page.items[-1].start - page.items[0].start > rsv.WIDE_PAGE  # the restricted path
        shown = {v.id: [d.title for d in v.downtime] for v in page.items}
        rows = ctx.session.scalars(select(Reservation).where(Reservation.id.in_(shown))).all()
        full = load_downtime(ctx.session, min(r.start for r in rows), max(r.end for r in rows), ctx.now())
        expected = {r.id: [d.title for d in rsv._overlaps_for(full, r)] for r in rows}
        assert shown == expected
        assert sorted(t for titles in shown.values() for t in titles) == [
            "all A100",
            "everything",
            "node01 only",
        ]
        restricted = load_downtime(
            ctx.session,
            min(r.start for r in rows),
            max(r.end for r in rows),
            ctx.now(),
            nodes={(r.node_id, r.node.node_type_id) for r in rows},
        )
        # node02's and node03's own windows were not loaded at all
        assert {src.title for src, _scope in restricted.windows} == {"node01 only", "all A100", "everything"}
        assert {src.title for src, _scope in full.windows} >= {"node02 only", "node03 only"}


def test_quick_head_agrees_with_alembic() -> None:
    assert migrate.quick_head() == migrate.head_revision()


def test_schema_check_and_app_options_need_neither_alembic_nor_commands(
    runtime: Runtime, backend: str
) -> None:
    if backend != "sqlite":
        return  # the import graph does not depend on the back end
    code = (
        "import sys\n"
        "from nodedesk.core.config import Config\n"
        "from nodedesk.core.runtime import Runtime\n"
        "from nodedesk.tui import cli\n"
        f"Runtime(Config(database_url={runtime.config.database_url!r})).check_schema()\n"
        "cli.build_parser(commands=cli._may_name_a_command(['--readonly'])).parse_args(['--readonly'])\n"
        "import nodedesk.tui.app\n"
        "heavy = ('alembic', 'nodedesk.tui.cli.commands')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_only_commands_and_help_need_the_command_modules() -> None:
    assert not cli._may_name_a_command([])
    assert not cli._may_name_a_command(["--readonly", "--no-mouse", "--theme=ansi-dark"])
    assert cli._may_name_a_command(["window", "list"])
    assert cli._may_name_a_command(["--help"])
    assert cli._may_name_a_command(["--theme", "ansi-dark"])  # a value: parsed with everything
    assert "window" in cli.build_parser().format_help()


def test_pages_read_from_the_end_are_the_same_rows(runtime: Runtime) -> None:
    """A page in the second half is read backwards from the end: same rows, same order."""
    _seed(runtime)
    with runtime.write() as ctx:  # ties on start and title, so the tie-breakers matter too
        for i in range(4):
            start = local("2026-04-01 08:00")
            draft = win.WindowDraft(f"Same {i % 2}", start, start + timedelta(hours=i + 1))
            win.create_window(ctx, draft)
    with runtime.read() as ctx:
        for sort in win.SORT_KEYS:
            for descending in (False, True):
                q = win.WindowQuery(sort=sort, descending=descending, limit=1000)
                everything = [w.id for w in win.list_windows(ctx, q).items]
                assert len(everything) == 9
                for offset in range(0, 10):
                    got = win.list_windows(ctx, replace(q, offset=offset, limit=2)).items
                    assert [w.id for w in got] == everything[offset : offset + 2], (sort, descending, offset)
        for sort in rsv.SORT_KEYS:
            for descending in (False, True):
                q = rsv.ReservationQuery(sort=sort, descending=descending, limit=1000)
                everything = [r.id for r in rsv.list_reservations(ctx, q).items]
                assert len(everything) == 6
                for offset in range(0, 7):
                    got = rsv.list_reservations(ctx, replace(q, offset=offset, limit=2)).items
                    assert [r.id for r in got] == everything[offset : offset + 2], (sort, descending, offset)
