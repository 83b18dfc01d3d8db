"""The footer: the few keys that matter most, each shown whole.

Textual's own footer cuts the last key mid-word when the row is too narrow ("q Qui"). This one
drops whole keys instead, the least important first, until the rest fit; every key stays listed in
the help modal (``?``) and the command palette (``^p``). See help/keys.md.

Importance, most important first: help, then the screen's way in and out (open, back, save,
cancel), then reload, then the screen's other keys in their own order, then the palette hint,
then quit (``q`` is the same on every screen and is in the help).

The keys come from the binding registry (tui/kit/bindings.py), so a key the user remapped in
config.toml shows as remapped.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.content import Content
from textual.widget import Widget

from ..kit.bindings import live_bindings

# Actions a list screen binds with show=False that still belong in the footer when they fit
# (help: ``f1`` stands in while a text field takes ``?``).
PROMOTED = frozenset({"reload", "refresh"})
# The way in and out of a screen: kept right after help.
FIRST = frozenset({"select_cursor", "open", "back", "dismiss", "save", "cancel", "close"})
HELP = frozenset({"help", "app.help"})
QUIT = frozenset({"quit", "app.quit"})
PALETTE_WORD = "palette"
PALETTE_ACTIONS = frozenset({"command_palette", "app.command_palette"})
SEP = " "  # between two keys
GAP = 2  # at least this much space before the palette hint


@dataclass(frozen=True)
class FooterEntry:
    key: str  # the key as Textual names it (for a click)
    display: str  # the key as shown (``⏎``, ``^s``)
    description: str
    enabled: bool
    rank: int  # lower is more important

    @property
    def width(self) -> int:
        return cell_len(self.display) + 1 + cell_len(self.description)


def _bare(action: str) -> str:
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


def choose(
    entries: list[FooterEntry], width: int, palette: FooterEntry | None
) -> tuple[list[FooterEntry], bool]:
    """The entries that fit ``width`` in their own order, and whether the palette hint fits too.

    Whole entries are dropped, the least important (highest rank, then the later one) first.
    """
    kept = list(entries)

    def used(items: list[FooterEntry]) -> int:
        return sum(e.width for e in items) + len(SEP) * max(len(items) - 1, 0) + 1  # +1: left pad

    show_palette = palette is not None
    while kept or show_palette:
        total = used(kept) + (GAP + palette.width + 1 if show_palette and palette else 0)
        if total <= width:
            break
        worst = max(kept, key=lambda e: (e.rank, kept.index(e)), default=None)
        if show_palette and (worst is None or worst.rank < PALETTE_RANK):
            show_palette = False
            continue
        if worst is None:
            break
        kept.remove(worst)
    return kept, show_palette


PALETTE_RANK = 900
QUIT_RANK = 1000


class KeyFooter(Widget):
    """One row of ``key word`` pairs; clicking a pair presses its key."""

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, FooterEntry]] = []
        self.shown: list[FooterEntry] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: object) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def entries(self) -> tuple[list[FooterEntry], FooterEntry | None]:
        """Every key the footer could show, by action (the first key of an action wins)."""
        seen: set[str] = set()
        entries: list[FooterEntry] = []
        palette: FooterEntry | None = None
        try:
            bindings = live_bindings(self.screen)
        except Exception:  # the screen is being torn down
            return [], None
        for order, binding in enumerate(bindings):
            key = binding.key
            action = binding.action
            bare = _bare(action)
            if action in PALETTE_ACTIONS:
                if palette is None:
                    palette = FooterEntry(key, binding.display, PALETTE_WORD, binding.enabled, PALETTE_RANK)
                continue
            if not binding.description or not (binding.show or bare in PROMOTED | HELP) or action in seen:
                continue
            seen.add(action)
            if bare in HELP:
                rank = 0
            elif bare in QUIT:
                rank = QUIT_RANK
            elif bare in FIRST or key in ("enter", "escape", "ctrl+s"):
                rank = 1
            elif bare in PROMOTED:
                rank = 2
            else:
                rank = 10 + order
            entries.append(FooterEntry(key, binding.display, binding.description, binding.enabled, rank))
        return entries, palette

    def render(self) -> Content:
        width = self.size.width
        entries, palette = self.entries()
        kept, show_palette = choose(entries, width, palette)
        self.shown = kept + ([palette] if show_palette and palette else [])
        parts: list[Content | str | tuple[str, str]] = [" "]
        self._spans = []
        x = 1
        for i, entry in enumerate(kept):
            if i:
                parts.append(SEP)
                x += len(SEP)
            parts.append(self._pair(entry))
            self._spans.append((x, x + entry.width, entry))
            x += entry.width
        if show_palette and palette:
            pad = width - x - palette.width - 1
            parts.append(" " * max(pad, GAP))
            self._spans.append((x + max(pad, GAP), width - 1, palette))
            parts.append(self._pair(palette))
        return Content.assemble(*parts)

    @staticmethod
    def _pair(entry: FooterEntry) -> Content:
        pair = Content.assemble((entry.display, "bold $footer-key-foreground"), " ", entry.description)
        return pair.stylize("dim") if not entry.enabled else pair

    def plain(self) -> str:
        """The row as text (for tests and checks)."""
        return self.render().plain

    def on_click(self, event: events.Click) -> None:
        for start, end, entry in self._spans:
            if start <= event.x < end:
                event.stop()
                if entry.enabled:
                    self.app.simulate_key(entry.key)
                else:
                    self.app.bell()
                return
