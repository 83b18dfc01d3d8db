"""Terminal safety, CLI side: user text with escape sequences, markup, bidi controls and
very long words never reaches the terminal raw (tables, record views, JSON), CSV cells are
guarded against formula injection, and notices are inert."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from nodedesk.core.clock import FrozenClock

from tests.hardening.argtree import leaves
from tests.hardening.conftest import InProcessCli
from tests.hardening.hostile_data import CSV_TITLE, LONG_WORD, bad_chars, plant
from tests.helpers import DEFAULT_NOW

READ_VERBS = {"list", "show", "months", "status", "verify"}


def _reads() -> list[list[str]]:
    """Every listing/show command in the tree, with an argument that hits planted rows."""
    args = {
        "window show": ["6"],
        "outage show": ["6"],
        "reservation show": ["57"],
        "project show": ["2"],
        "subscription show": ["1"],
        "split show": ["2"],
        "rate show": ["NODE_A100"],
        "invoice show": ["2026-01"],
        "invoice verify": ["2026-01"],
        "override list": ["2026-01"],
    }
    found = []
    for leaf in leaves():
        if leaf.path[-1] not in READ_VERBS:
            continue
        if any(a.required and not a.flags and leaf.name not in args for a in leaf.args):
            continue  # needs an argument we do not know how to give (a new command): skip
        argv = [*leaf.path, *args.get(leaf.name, [])]
        found.append(argv)
        if any(a.dest == "json" for a in leaf.options):
            found.append([*argv, "--json"])
    return found


READS = _reads()


@pytest.fixture
def hostile_site(demo_site: InProcessCli) -> InProcessCli:
    plant(demo_site.database_url.removeprefix("sqlite:///"))
    return demo_site


def test_every_listing_is_inert(hostile_site: InProcessCli) -> None:
    assert len(READS) >= 25
    problems = []
    for argv in READS:
        outcome = hostile_site.run(argv)
        if outcome.rc not in (0, 1):
            problems.append(f"{argv}: rc={outcome.rc} {outcome.stderr[:200]}")
        for stream, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
            if bad_chars(text):
                problems.append(f"{argv} {stream}: {bad_chars(text)}")
        if "--json" not in argv and LONG_WORD in outcome.stdout and "show" not in argv[:2]:
            problems.append(f"{argv}: a 180-character word reached a table cell uncut")
    assert not problems, "\n".join(problems)


def test_table_rows_stay_one_line(hostile_site: InProcessCli) -> None:
    out = hostile_site.run(["window", "list"]).stdout
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert len(rows) == 9  # one line per window although descriptions hold newlines
    assert "\\x1b[31mRED" in out  # the escape is shown, visibly, not executed
    assert "…" in out  # long cells are cut, not wrapped
    shown = hostile_site.run(["window", "show", "6"]).stdout
    assert "\\u202e" in shown and "\\x07" in shown
    assert "[bold red]MARKUP[/]" in shown  # markup is text in a plain record view


def test_invoice_csv_guards_formulas(hostile_site: InProcessCli) -> None:
    outcome = hostile_site.run(["invoice", "show", "2026-01", "--csv"])
    assert outcome.rc == 0, outcome.describe()
    cells = [c for row in csv.reader(io.StringIO(outcome.stdout)) for c in row]
    assert cells, outcome.stdout
    assert not bad_chars(outcome.stdout)
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@") and not _number(c)]
    assert not dangerous, dangerous
    assert "'" + CSV_TITLE in cells


def test_app_csv_export_guards_formulas(hostile_site: InProcessCli) -> None:
    """The file export the app writes (Invoices > x) goes through the same guarded writer."""
    from nodedesk.core.config import Config
    from nodedesk.core.runtime import Runtime
    from nodedesk.core.services.invoicing import invoice_export, invoices

    from tests.hardening.conftest import ADMIN_LOGIN

    rt = Runtime(
        Config(database_url=hostile_site.database_url, private_dir=hostile_site.home / "nodedesk"),
        login=ADMIN_LOGIN,
        clock=FrozenClock(DEFAULT_NOW),
    )
    try:
        with rt.read() as ctx:
            text = invoice_export.render(invoices.compute_invoice(ctx, "2026-01"), "csv")
    finally:
        rt.close()
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert "'" + CSV_TITLE in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@") and not _number(c)]
    assert not bad_chars(text)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_notice_subject_and_body_are_inert(hostile_site: InProcessCli) -> None:
    """A window whose title holds escapes, markup and bidi controls changes: the notices to the
    affected renters carry none of them raw (subject one line; body plain text)."""
    from nodedesk.core.config import Config
    from nodedesk.core.models import Notice
    from nodedesk.core.runtime import Runtime
    from nodedesk.core.services.downtime import windows as win
    from sqlalchemy import select

    from tests.hardening.conftest import ADMIN_LOGIN

    rt = Runtime(
        Config(database_url=hostile_site.database_url, private_dir=hostile_site.home / "nodedesk"),
        login=ADMIN_LOGIN,
        clock=FrozenClock(DEFAULT_NOW),
    )
    try:
        with rt.write() as ctx:
            for wid in (6, 7, 8):  # upcoming windows over booked nodes: a longer window is news
                w = win.get_window(ctx, wid)
                win.update_window(ctx, wid, win.WindowChanges(end=w.end + timedelta(hours=1)))
        with rt.read() as ctx:
            notices = [
                (n.subject, n.body, n.ics)
                for n in ctx.session.scalars(select(Notice).where(Notice.subject_type == "window"))
            ]
    finally:
        rt.close()
    assert notices, "expected notices to the renters affected by the changed windows"
    for subject, body, ics in notices:
        assert not bad_chars(subject, allow=""), subject
        assert not bad_chars(body), body
        assert "\x1b" not in ics
    assert any("RED" in subject for subject, _, _ in notices)  # the title is there, cleaned
