"""Named pause points for the crash-safety tests (inert in the product).

A long unit of work calls :func:`reached` at a named point *inside* its transaction (for example
``invoice.finalize`` after the snapshot rows are written but before the commit). In the product
that does nothing: no hook is installed, and nothing here reads the environment or the command
line, so no user can make a writer hold its transaction open.

The crash tests start nodedesk through their own entry module (``tests/crash/paused_entry.py``),
which installs a hook with :func:`install` and then calls the normal ``main``; the hook pauses at
the point the test names so the test can SIGKILL the process at exactly that moment. Points:
``backup.import.kind`` (after each kind of an import is written), ``invoice.finalize``,
``schedule.extend`` (after each schedule's new windows are written).
"""

from __future__ import annotations

from collections.abc import Callable

Hook = Callable[[str], None]

_hook: Hook | None = None


def install(hook: Hook | None) -> None:
    """Set (or with ``None`` clear) the function called at every pause point. Tests only."""
    global _hook
    _hook = hook


def reached(name: str) -> None:
    """Mark that the unit of work reached the point ``name`` (no-op unless a test hooked it)."""
    if _hook is not None:
        _hook(name)
