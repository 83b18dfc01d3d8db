"""How the app looks and moves over SSH: theme choice, colour fallbacks, animations.

- ``--theme NAME`` picks one of Textual's built-in themes (``ansi-dark``/``ansi-light`` use the
  terminal's own 16 colours; ``textual-light``, ``solarized-light``, ... are light).
- Without ``--theme``: ``NODEDESK_THEME`` or Textual's ``TEXTUAL_THEME`` if set, else ``theme`` in the
  user's config.toml (tui/userconfig.py), else ``ansi-dark`` when ``TEXTUAL_COLOR_SYSTEM=standard``
  (a 16-colour terminal: truecolor themes squeezed into 16 colours lose contrast), else
  ``textual-dark``.
- ``NO_COLOR`` (any value): Textual itself drops the colours (greyscale for truecolor themes, the
  terminal's default colours for ANSI themes); the app adds the ``-no-color`` class so cursors,
  focus and highlights are shown in reverse video and bold, which needs no colour at all.
- Animations are off unless ``--animations`` is given or ``TEXTUAL_ANIMATIONS`` is set: over a
  slow link every animation frame is a screen redraw.

No Textual import here: the command line validates ``--theme`` before building the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line reads this module without loading Textual
    from textual.types import AnimationLevel

# Textual 8.2.8's built-in themes (textual.theme.BUILTIN_THEMES; a test keeps this in step).
THEMES: tuple[str, ...] = (
    "textual-dark",
    "textual-light",
    "ansi-dark",
    "ansi-light",
    "nord",
    "gruvbox",
    "catppuccin-mocha",
    "catppuccin-latte",
    "catppuccin-frappe",
    "catppuccin-macchiato",
    "dracula",
    "tokyo-night",
    "monokai",
    "flexoki",
    "solarized-light",
    "solarized-dark",
    "rose-pine",
    "rose-pine-moon",
    "rose-pine-dawn",
    "atom-one-dark",
    "atom-one-light",
)
DEFAULT_THEME = "textual-dark"
SIXTEEN_COLOUR_THEME = "ansi-dark"
ENV_THEME = "NODEDESK_THEME"
SIXTEEN_COLOUR_SYSTEMS = ("standard", "windows")


class ThemeError(ValueError):
    """An unknown theme name (the command line turns it into a one-line usage error)."""


def check_theme(name: str, source: str = "theme") -> str:
    name = (name or "").strip()
    if name not in THEMES:
        raise ThemeError(f"{source}: unknown theme {name!r}; choose one of {', '.join(THEMES)}")
    return name


def pick_theme(requested: str | None, environ: Mapping[str, str], configured: str | None = None) -> str:
    """The theme to start with (see the module docstring for the order); ``configured`` is the
    config file's ``theme`` (already checked), below the command line and the environment."""
    if requested is not None:
        return check_theme(requested)
    for name in (ENV_THEME, "TEXTUAL_THEME"):
        if environ.get(name):
            return check_theme(environ[name], name)
    if configured:
        return check_theme(configured, "config theme")
    if environ.get("TEXTUAL_COLOR_SYSTEM", "").strip().lower() in SIXTEEN_COLOUR_SYSTEMS:
        return SIXTEEN_COLOUR_THEME
    return DEFAULT_THEME


def animation_level(enabled: bool, environ: Mapping[str, str]) -> AnimationLevel | None:
    """``"full"`` with ``--animations``; Textual's own setting when ``TEXTUAL_ANIMATIONS`` is set
    (returns None: leave it); otherwise ``"none"``."""
    if enabled:
        return "full"
    if environ.get("TEXTUAL_ANIMATIONS"):
        return None
    return "none"
