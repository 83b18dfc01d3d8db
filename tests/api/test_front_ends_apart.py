"""The console never pays for the API: importing its entry point loads neither the API
package nor FastAPI, uvicorn or the Prometheus client (``serve`` imports them when it starts).
And the API package never imports the console's (tui) code."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
import nodedesk.tui.cli
from nodedesk.tui.cli import build_parser
build_parser()  # every command module, serve and token included
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
      ("fastapi", "starlette", "uvicorn", "prometheus_client", "pydantic") or m.startswith("nodedesk.api"))))
"""


def test_console_start_imports_no_api() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_api_package_never_imports_the_console() -> None:
    offenders = []
    for path in sorted((REPO / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.name}: {n}" for n in names if n.startswith(("nodedesk.tui", "textual", "tui"))
            ]
    assert offenders == []
