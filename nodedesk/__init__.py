"""nodedesk: a keyboard-driven console for rented compute nodes.

The code lives in the top-level ``core/`` and ``tui/`` folders of the repository and is
installed as ``nodedesk.core`` and ``nodedesk.tui``; ``help/`` and ``data/`` ship as package data.
"""

# The one place the version is written (pyproject.toml reads it): asking the installed
# package's metadata instead would cost every command a noticeable part of its start.
__version__ = "0.1.0"
