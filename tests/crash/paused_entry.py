"""Test-only entry point: ``nodedesk`` with a pause point installed (see core/testpoints.py).

Usage: ``python -m tests.crash.paused_entry POINT[@N] SECONDS -- NODEDESK-ARGS...``

At the N-th time (default the first) the unit of work reaches ``POINT``, the process writes
``nodedesk: paused at POINT`` to stderr and sleeps ``SECONDS``, so the crash tests can SIGKILL it
there. The product's own entry point never installs a hook.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence

from nodedesk.core import testpoints
from nodedesk.tui.cli import main


def pause_hook(spec: str, seconds: float) -> testpoints.Hook:
    point, _, nth = spec.partition("@")
    wanted = int(nth) if nth else 1
    hits = 0

    def hook(name: str) -> None:
        nonlocal hits
        if name != point:
            return
        hits += 1
        if hits == wanted:
            sys.stderr.write(f"nodedesk: paused at {name}\n")
            sys.stderr.flush()
            time.sleep(seconds)

    return hook


def run(argv: Sequence[str]) -> int:
    if len(argv) < 3 or argv[2] != "--":
        sys.stderr.write("usage: python -m tests.crash.paused_entry POINT[@N] SECONDS -- ARGS...\n")
        return 2
    spec, seconds = argv[0], float(argv[1])
    if not (math.isfinite(seconds) and seconds >= 0):
        sys.stderr.write("paused_entry: SECONDS must be a finite number >= 0\n")
        return 2
    testpoints.install(pause_hook(spec, seconds))
    return main(list(argv[3:]))


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
