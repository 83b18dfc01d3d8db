"""A checkbox whose state is readable without colour: ``[✓] label`` or ``[ ] label``.

Textual's checkbox shows the same ``X`` in both states and tells them apart by colour only,
which is lost on 16-colour or monochrome terminals (colour is never the only signal).
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox


class TickBox(Checkbox):
    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble(("[", ""), ("✓" if self.value else " ", style), ("] ", ""))
