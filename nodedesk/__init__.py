"""nodedesk: a keyboard-driven console for rented compute nodes.

The code lives in the top-level ``core/`` and ``tui/`` folders of the repository and is
installed as ``nodedesk.core`` and ``nodedesk.tui``; ``help/`` and ``data/`` ship as package data.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nodedesk")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0.0.0"
