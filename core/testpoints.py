"""Named pause points for the crash-safety tests (inert unless a test asks for one).

A long unit of work calls :func:`reached` at a named point *inside* its transaction (for example
``invoice.finalize`` after the snapshot rows are written but before the commit). Normally that
does nothing. When the environment variable ``NODEDESK_TEST_PAUSE_AT`` names the point, the
process writes ``nodedesk: paused at <name>`` to stderr and sleeps
(``NODEDESK_TEST_PAUSE_SECONDS``, default 60), so a test can SIGKILL it at exactly that moment and
check that the database is unchanged. ``name@N`` pauses at the N-th time the point is reached
(e.g. ``backup.import.kind@3``: after the third kind of an import has been written).

Operators never set this variable; tests/crash/ does. Points: ``backup.import.kind``,
``invoice.finalize``, ``schedule.extend``.
"""

from __future__ import annotations

import os
import sys
import time

ENV_POINT = "NODEDESK_TEST_PAUSE_AT"
ENV_SECONDS = "NODEDESK_TEST_PAUSE_SECONDS"

_hits: dict[str, int] = {}


def reached(name: str) -> None:
    wanted = os.environ.get(ENV_POINT)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != (int(nth) if nth.isdigit() else 1):
        return
    sys.stderr.write(f"nodedesk: paused at {name}\n")
    sys.stderr.flush()
    time.sleep(float(os.environ.get(ENV_SECONDS, "60")))
