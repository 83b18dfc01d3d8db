"""``nodedesk help TOPIC``: formatted for a terminal, the Markdown text itself when piped."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from nodedesk.core import helpdocs

from tests.cli_helpers import Cli


def cli(tmp_path: Path) -> Cli:
    return Cli(f"sqlite:///{tmp_path / 'none.db'}", tmp_path)


def run_in_a_terminal(env: dict[str, str], *args: str, columns: int = 80) -> str:
    """Run ``nodedesk`` with its stdout on a pseudo-terminal; returns what it printed."""
    leader, follower = pty.openpty()
    env = {**env, "COLUMNS": str(columns), "LINES": "24", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nodedesk", *args], stdout=follower, stderr=subprocess.PIPE, env=env
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8", "replace")


def test_piped_help_is_the_topic_text(tmp_path: Path) -> None:
    out = cli(tmp_path).ok("help", "keys")
    assert out == helpdocs.read("keys")
    assert "\x1b[" not in out


def test_help_on_a_terminal_is_formatted(tmp_path: Path) -> None:
    out = run_in_a_terminal(cli(tmp_path).env, "help", "keys")
    plain = out.replace("\r", "")
    assert "\x1b[" in plain  # styled for the terminal
    assert "# Keys" not in plain and "|---|" not in plain  # no Markdown markup left
    assert "Keys" in plain and "command palette" in plain
    assert max(len(line) for line in _strip_ansi(plain).splitlines()) <= 80


def test_the_topic_list_still_works_both_ways(tmp_path: Path) -> None:
    out = cli(tmp_path).ok("help")
    assert "keys" in out and "\x1b[" not in out
    assert "keys" in run_in_a_terminal(cli(tmp_path).env, "help")


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\]8;[^\x1b]*\x1b\\\\", "", text)
