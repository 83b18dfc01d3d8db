"""The permissions matrix, CLI half: the same outcome through ``nodedesk`` as in core.

Each role gets its own copy of the demo centre; commands run in-process as that role's OS login
(``login=``), and two through the real entry point with NODEDESK_USER. Expected outcomes come from
:mod:`tests.hardening.permissions_table` (help/security.md), not from core.identity.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import NODEDESK
from tests.hardening.conftest import ADMIN_LOGIN, InProcessCli, db_digest, install_seal
from tests.hardening.permissions_table import LOGIN_OF, ROLES, allowed

# (name, area, argv): independent of each other, so allowed runs can follow one another.
COMMANDS: list[tuple[str, str, list[str]]] = [
    ("node add", "inventory", ["node", "add", "node9000", "--type", "A100"]),
    ("node-type add", "inventory", ["node-type", "add", "B200", "--category", "GPU"]),
    (
        "window add",
        "windows",
        ["window", "add", "--title", "M", "--start", "2026-03-20 08:00", "--end", "2026-03-20 10:00"],
    ),
    ("window edit", "windows", ["window", "edit", "7", "--title", "Renamed"]),
    ("window delete", "windows", ["window", "delete", "9", "--yes"]),
    (
        "window correct",
        "correction",
        ["window", "edit", "3", "--title", "Fixed", "--correct", "--reason", "typo"],
    ),
    (
        "outage add",
        "outages",
        ["outage", "add", "--title", "M", "--node", "node2433", "--start", "2026-02-15 09:00"],
    ),
    ("outage update", "outages", ["outage", "update", "6", "--description", "more"]),
    ("reservation approve", "reservations", ["reservation", "approve", "56"]),
    ("reservation decline", "reservations", ["reservation", "decline", "57", "--reason", "full"]),
    ("project add", "projects", ["project", "add", "Matrix Project", "--owner", "viewer"]),
    ("member add", "projects", ["member", "add", "Climate Ensemble Modelling", "okim", "--role", "member"]),
    (
        "split set",
        "propose_split",
        ["split", "set", "Astrophysics N-body", "NSF-1=100", "--from", "2026-03-01"],
    ),
    ("split approve", "approve_split", ["split", "approve", "Genomics Variant Calling"]),
    ("rate set", "rates", ["rate", "set", "NODE_A100", "5.00", "--from", "2026-03-01"]),
    ("subscription end", "subscriptions", ["subscription", "end", "1", "--on", "2026-03-31"]),
    ("override set", "billing", ["override", "set", "2026-01", "20", "--exclude", "--reason", "r"]),
    ("invoice finalize", "billing", ["invoice", "finalize", "2026-01"]),
    ("user add", "users", ["user", "add", "newbie", "--role", "viewer"]),
    ("export", "backup", ["export", "backup-out", "--no-timestamp"]),
    ("node retire", "inventory", ["node", "retire", "node2438", "--reservations", "keep", "--yes"]),
    ("window list", "read", ["window", "list", "--json"]),
    ("node list", "read", ["node", "list", "--json"]),
    ("downtime list", "read", ["downtime", "list", "--json"]),
    ("node free", "read", ["node", "free", "--from", "2026-03-02", "--to", "2026-03-03", "--json"]),
    ("invoice show", "read", ["invoice", "show", "2026-01", "--json"]),
    ("db upgrade", "db_upgrade", ["db", "upgrade"]),
    # the export is from before the admin's correction above: putting it back is a correction
    ("import", "import", ["import", "import-src", "--dry-run", "--correct", "--reason", "check"]),
    # last: for an admin it wipes the site
    ("init --force", "init", ["init", "--force", "--yes", "--timezone", "America/New_York"]),
]


@pytest.mark.parametrize("role", ROLES)
def test_cli_outcomes_match_the_table(role: str, demo_site: InProcessCli) -> None:
    login = ADMIN_LOGIN if role == "admin" else LOGIN_OF[role]
    made = demo_site.run(["export", "import-src", "--no-timestamp"])  # by the admin
    assert made.rc == 0, made.describe()
    wrong = []
    for name, area, argv in COMMANDS:
        before = db_digest(demo_site.database_url)
        outcome = demo_site.run(argv, login=login)
        expect = allowed(area, role)
        if expect and outcome.rc != 0:
            wrong.append(f"{role} {name}: refused but the role rules allow it: {outcome.stderr.strip()}")
        elif not expect:
            line = outcome.stderr.strip()
            if outcome.rc != 1 or "\n" in line or not ("may not" in line or "not registered" in line):
                wrong.append(f"{role} {name}: expected a one-line refusal, got rc={outcome.rc} {line!r}")
            elif db_digest(demo_site.database_url) != before:
                wrong.append(f"{role} {name}: refused but the database changed")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("user", "argv", "rc"),
    [("viewer", ["window", "delete", "6", "--yes"], 1), ("rmgr", ["window", "delete", "6", "--yes"], 0)],
)
def test_real_entry_point_with_nodedesk_user(
    demo_template: Path, tmp_path: Path, user: str, argv: list[str], rc: int
) -> None:
    """Through the installed console script: the admin acts as ``user`` with NODEDESK_USER."""
    shutil.copy(demo_template, tmp_path / "nodedesk.db")
    install_seal(demo_template, tmp_path)
    site = InProcessCli(f"sqlite:///{tmp_path / 'nodedesk.db'}", tmp_path)
    result = subprocess.run(
        [str(NODEDESK), *argv],
        env=site.environ(user),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == rc, result.stderr
    if rc:
        assert result.stderr.count("\n") == 1 and "viewer may not manage maintenance windows" in result.stderr


@pytest.mark.parametrize("role", ROLES)
def test_clock_override_is_for_admins(role: str, demo_site: InProcessCli) -> None:
    """NODEDESK_NOW set back lets a rental manager edit a completed window, set ahead lets a
    billing manager finalize a month that has not ended: honoured for admins only."""
    login = ADMIN_LOGIN if role == "admin" else LOGIN_OF[role]
    before = db_digest(demo_site.database_url)
    outcome = demo_site.run(["window", "list", "--json"], login=login, now_from_env=True)
    if allowed("clock", role):
        assert outcome.rc == 0, outcome.describe()
    else:
        assert outcome.rc == 1 and outcome.stderr.count("\n") == 1, outcome.describe()
        assert "may set the clock" in outcome.stderr or "not registered" in outcome.stderr
    assert db_digest(demo_site.database_url) == before
