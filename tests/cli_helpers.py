"""Running the real ``nodedesk`` entry point in a subprocess (shared by CLI tests).

``Cli(database_url, home)`` runs ``python -m nodedesk`` with ``NODEDESK_DATABASE_URL``,
``NODEDESK_NOW`` and ``XDG_DATA_HOME`` set, and no other ``NODEDESK_*`` variable leaking in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

DEFAULT_NOW = "2026-02-15T10:00"


class Cli:
    def __init__(self, database_url: str, home: Path, now: str = DEFAULT_NOW) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NODEDESK_")},
            "NODEDESK_DATABASE_URL": database_url,
            "NODEDESK_NOW": now,
            "XDG_DATA_HOME": str(home),
        }

    def at(self, now: str) -> Cli:
        """The same database with the clock frozen at another instant."""
        other = Cli.__new__(Cli)
        other.env = {**self.env, "NODEDESK_NOW": now}
        return other

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nodedesk", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *args: str) -> str:
        result = self.run(*args)
        assert result.returncode == 0, f"{args}: rc={result.returncode} {result.stderr}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def refused(self, *args: str) -> str:
        """Exit 1 with exactly one line on stderr and nothing on stdout; returns that line."""
        result = self.run(*args)
        assert result.returncode == 1, f"{args}: rc={result.returncode} {result.stdout} {result.stderr}"
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        return lines[0]
