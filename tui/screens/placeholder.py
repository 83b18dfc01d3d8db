"""A section that a later version fills in. It says so plainly; nothing on it pretends to work."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from ..sections import Section
from .base import NodedeskScreen


class PlaceholderScreen(NodedeskScreen):
    def __init__(self, section: Section) -> None:
        super().__init__()
        self.section = section
        self.SECTION = section.id
        self.HELP_TOPIC = section.help_topic

    def compose_body(self) -> ComposeResult:
        s = self.section
        with Vertical(id="placeholder"):
            yield Static(Content.styled(f"{s.title}: this screen is not built yet", "bold"))
            yield Static(Content(f"Coming: {s.coming}"), classes="para")
            yield Static(Content(f"Until then, use {s.meanwhile}"), classes="para")
            yield Static(
                Content("Press 1 for maintenance windows, 6 for the activity log, ? for help, q to quit."),
                classes="para muted",
            )
