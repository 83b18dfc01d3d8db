"""Architecture rules (CONTRIBUTING.md): core never imports textual or the front ends, and importing
it touches neither the database nor the filesystem."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "core"

# Runs in a fresh interpreter: imports every module under nodedesk.core and reports what
# happened, watched by an audit hook installed before the first nodedesk import.
PROBE = r"""
import importlib, json, os, pkgutil, sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
events = []

def hook(name, args):
    if name == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writing:
            events.append(f"open for writing: {path}")
        elif not str(path).endswith((".py", ".pyc", ".so", ".zip")) and "dist-info" not in str(path) \
                and "zoneinfo" not in str(path):
            events.append(f"read: {path}")
    elif name in ("sqlite3.connect", "socket.connect", "os.mkdir", "os.makedirs", "os.remove",
                  "os.rename", "os.unlink", "shutil.rmtree", "subprocess.Popen"):
        events.append(f"{name}: {args!r}")

sys.addaudithook(hook)
import nodedesk.core as core
imported = []
for info in pkgutil.walk_packages(core.__path__, "nodedesk.core."):
    if info.name.endswith(".migrations.env"):
        continue  # an alembic script: only runs inside alembic's migration context
    importlib.import_module(info.name)
    imported.append(info.name)
print(json.dumps({
    "imported": imported,
    "forbidden": sorted(
        m for m in sys.modules if m.split(".")[0] == "textual" or m.startswith("nodedesk.tui")
    ),
    "events": events,
}))
"""


def run_probe(tmp_path: Path) -> dict[str, list[str]]:
    data_home = tmp_path / "xdg"
    data_home.mkdir()
    env = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "XDG_DATA_HOME": str(data_home),
        "NODEDESK_DATABASE_URL": f"sqlite:///{data_home / 'nd' / 'nodedesk.db'}",
        "NODEDESK_NOW": "2026-02-15 10:00",
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert list(data_home.iterdir()) == [], "importing core created files"
    return result


def test_importing_core_loads_no_front_end_and_touches_nothing(tmp_path: Path) -> None:
    result = run_probe(tmp_path)
    # every module was imported (guards against the walk silently finding nothing)
    assert "nodedesk.core.services.downtime.windows" in result["imported"]
    assert "nodedesk.core.db.engine" in result["imported"]
    assert len(result["imported"]) >= 30
    assert result["forbidden"] == []
    assert result["events"] == []


def _imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            # relative imports climbing out of core (e.g. "from ...tui import x")
            depth = len(path.relative_to(CORE).parts) - 1
            if node.level > depth + 1 or (node.level == depth + 1 and (node.module or "").startswith("tui")):
                names.append(f"<relative>{'.' * node.level}{node.module or ''}")
    return names


def test_core_sources_never_import_front_ends() -> None:
    """Also catches imports hidden inside functions, which the import probe cannot see."""
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for name in _imported_names(path):
            root = name.split(".")[0]
            if root in ("textual", "tui") or name.startswith(("nodedesk.tui", "<relative>")):
                offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert offenders == []


# Forms whose rules come only from the service's check (tui/screens/edit_form.py).
CHECKED_FORMS = ("window_form.py", "outage_form.py", "reservation_form.py", "project_form.py")
# Rule texts and limits that belong to core services and validators, never to a form.
COPIED_RULES = (
    "must be after",
    "must be at most",
    "is required for",
    "already begun",
    "days' notice",
    "not rentable",
    "only active projects",
    "now or later",
    "max_length=2",  # a text limit (200, 2000) is the validator's
    "max_len=2",
    "check_blocks",
    "booking_violations",
    "ReservationPolicy.from_site",
    "validate.",
)


def test_checked_forms_hold_no_copy_of_a_core_rule() -> None:
    """A form reads what is typed (core's parsers) and marks what the service's check says."""
    screens = REPO / "tui" / "screens"
    offenders = []
    for name in CHECKED_FORMS:
        source = (screens / name).read_text("utf-8")
        offenders += [f"{name}: {rule!r}" for rule in COPIED_RULES if rule in source]
    assert offenders == []
