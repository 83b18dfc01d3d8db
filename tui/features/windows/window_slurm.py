"""Whether Slurm has a window, as the Windows list and the window detail say it
(core/slurm/status.py reads it from the last sync, without asking Slurm; help/slurm.md).

The list shows a glyph in its narrow "Slurm" column (the glyph, not its colour, is the signal),
the preview line, the detail and the CSV say it in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodedesk.core.context import ServiceContext
from nodedesk.core.slurm import status
from rich.text import Text

from ...kit import render

# presence state -> (glyph, word, cell colour)
SHOWN = {
    "yes": ("✓", "present", render.GREEN),
    "drift": ("≠", "differs", render.YELLOW),
    "no": ("✗", "missing", render.RED),
    "n/a": ("–", "n/a", render.GREY),
}
NO_SYNC = ("—", "no sync", render.GREY)  # the site has never run a Slurm sync


@dataclass(frozen=True)
class SlurmState:
    """The windows' presence in Slurm (None: the site never ran a sync)."""

    presence: dict[int, status.Presence] | None

    @property
    def synced(self) -> bool:
        return self.presence is not None

    def of(self, window_id: int) -> status.Presence | None:
        return None if self.presence is None else self.presence.get(window_id)


def read(ctx: ServiceContext, window_ids: list[int]) -> SlurmState:
    """The presence of these windows, read once for them all (nothing when Slurm sync is not in
    use on this site)."""
    return SlurmState(status.synced_presence(ctx, window_ids))


def _shown(p: status.Presence | None) -> tuple[str, str, str]:
    return NO_SYNC if p is None else SHOWN.get(p.state, SHOWN["n/a"])


def cell(p: status.Presence | None) -> Text:
    glyph, _word, colour = _shown(p)
    return Text(glyph, style=colour, justify="center")


def word(p: status.Presence | None) -> str:
    return _shown(p)[1]


def sentence(p: status.Presence | None) -> str:
    """The window's presence in Slurm in words (the detail screen and the preview)."""
    if p is None:
        return "no Slurm sync has run on this site"
    detail = f" ({render.one_line(p.detail, max_len=200)})" if p.detail else ""
    if p.state == "yes":
        return f"{SHOWN['yes'][0]} present, as the window is now{detail}"
    if p.state == "drift":
        return f"{SHOWN['drift'][0]} differs from the window{detail}"
    if p.state == "no":
        return f"{SHOWN['no'][0]} missing{detail}"
    return f"{SHOWN['n/a'][0]} nothing to push{detail}"
