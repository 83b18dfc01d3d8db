"""Packaging: the product layout (core/, tui/, api/, help/, data/ at the top of the
repository) installs as ``nodedesk.*`` with every subpackage and every data file, and a
NON-editable install works from outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOP = {
    "core": "nodedesk.core",
    "tui": "nodedesk.tui",
    "api": "nodedesk.api",
    "help": "nodedesk.help",
    "data": "nodedesk.data",
}


def declared_packages() -> list[str]:
    doc = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    return doc["tool"]["setuptools"]["packages"]


def source_packages() -> set[str]:
    found = {"nodedesk"}
    for top, dotted in TOP.items():
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top)
            if "__pycache__" in rel.parts:
                continue
            found.add(".".join([dotted, *rel.parts]))
    return found


def test_every_package_is_declared() -> None:
    declared = set(declared_packages())
    missing = source_packages() - declared
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_every_declared_package_exists() -> None:
    assert set(declared_packages()) <= source_packages()


def test_package_dir_mapping() -> None:
    doc = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    mapping = doc["tool"]["setuptools"]["package-dir"]
    assert mapping == {"nodedesk": "nodedesk", **{v: k for k, v in TOP.items()}}
    assert doc["project"]["scripts"]["nodedesk"] == "nodedesk.tui.cli:main"
    textual = [d for d in doc["project"]["dependencies"] if d.startswith("textual")]
    assert len(textual) == 1 and "==" in textual[0], "textual must be pinned exactly"


def _copy_sources(dest: Path) -> None:
    """Build from a clean copy: no build/ or egg-info left in the shared tree, no stale caches."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-wal", "*.db-shm")
    for name in ("nodedesk", *TOP):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dest / name)


@pytest.mark.slow
def test_wheel_installs_and_works_outside_the_repo(tmp_path: Path) -> None:
    src, out, target, elsewhere = (tmp_path / d for d in ("src", "dist", "target", "elsewhere"))
    _copy_sources(src)
    elsewhere.mkdir()
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = out.glob("nodedesk-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(target)

    def shipped(folder: str, pattern: str) -> set[str]:
        return {p.name for p in (REPO / folder).glob(pattern)}

    def in_wheel(prefix: str, suffix: str) -> set[str]:
        return {
            n[len(prefix) :]
            for n in names
            if n.startswith(prefix) and n.endswith(suffix) and "/" not in n[len(prefix) :]
        }

    assert shipped("help", "*.md") and in_wheel("nodedesk/help/", ".md") == shipped("help", "*.md")
    assert shipped("data", "*.json") and in_wheel("nodedesk/data/", ".json") == shipped("data", "*.json")
    assert in_wheel("nodedesk/tui/", ".tcss") == shipped("tui", "*.tcss")
    assert "nodedesk/core/migrations/env.py" in names
    assert "nodedesk/core/migrations/script.py.mako" in names
    assert in_wheel("nodedesk/core/migrations/versions/", ".py") == shipped(
        "core/migrations/versions", "*.py"
    )
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)

    # Run from outside the repository with only the unpacked wheel and the venv's dependencies
    # on the path. -S skips site processing, so the editable install's finder never loads.
    site_packages = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODEDESK_", "PYTHON"))} | {
        "PYTHONPATH": os.pathsep.join([str(target), site_packages]),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "NODEDESK_NOW": "2026-02-15 10:00",
    }

    def py(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-S", *args], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
        )

    probe = py(
        "-c",
        "from nodedesk.core import helpdocs; import nodedesk;"
        "print(nodedesk.__file__); print(','.join(helpdocs.topics()))",
    )
    assert probe.returncode == 0, probe.stderr
    location, topics = probe.stdout.splitlines()
    assert location.startswith(str(target)), f"imported {location}, not the installed wheel"
    assert topics.split(",") == sorted(p.stem for p in (REPO / "help").glob("*.md"))
    # migrations and demo data ship: init --demo works from the wheel alone
    init = py("-m", "nodedesk", "init", "--timezone", "America/New_York", "--demo")
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "xdg" / "nodedesk" / "nodedesk.db").is_file()
    status = py("-m", "nodedesk", "db", "status")
    assert status.returncode == 0 and "up to date" in status.stdout
