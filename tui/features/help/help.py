"""The help modal: the screen's help topic first, then its live keys, then the general key help.

The keys are the screen's live bindings from the registry (tui/kit/bindings.py), after the
user's remapping in config.toml. Keys Textual itself binds on its widgets (page left, scroll,
select all...) are left out: they are the same everywhere and help/keys.md describes the ones
that matter.

Links never open a browser (nodedesk usually runs on a server over SSH): a link to another
help topic opens that topic here; any other link is only shown as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from nodedesk.core import helpdocs
from nodedesk.core.errors import NotFoundError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from ...kit.bindings import keys_of, live_bindings

_TOPIC_LINK = re.compile(r"^(?:help:)?([a-z0-9-]+)(?:\.md)?$")


# Textual's own bindings that are worth listing (moving between fields).
FRAMEWORK_KEPT = frozenset({"app.focus_next", "app.focus_previous"})


class _HasAction(Protocol):
    @property
    def action(self) -> str: ...


def framework_binding(node: object, binding: _HasAction) -> bool:
    """Whether ``binding`` comes from a Textual class rather than from nodedesk.

    The most derived class in the node's MRO that declares a binding for the same action
    decides (a nodedesk widget re-binding ``enter`` to its own action is nodedesk's).
    """
    if binding.action in FRAMEWORK_KEPT:
        return False
    for cls in type(node).__mro__:
        for declared in cls.__dict__.get("BINDINGS", ()):
            action = declared.action if isinstance(declared, Binding) else declared[1]
            if action == binding.action:
                return not cls.__module__.startswith("nodedesk")
    return False


HINT = "{close} close · ↑/↓ {scroll} scroll · links to other topics open here"


@dataclass(frozen=True)
class KeyHelp:
    key: str
    description: str
    enabled: bool = True


def _fold_sections(keys: list[KeyHelp]) -> list[KeyHelp]:
    """The ten ``Go to …`` section keys as one line: ``0–9  Go to a section (…)``."""
    sections = [k for k in keys if k.key.isdigit() and k.description.startswith("Go to ")]
    if len(sections) < 3:
        return keys
    names = ", ".join(f"{k.key} {k.description[6:]}" for k in sections)
    folded = KeyHelp(f"{sections[0].key}–{sections[-1].key}", f"Go to a section: {names}")
    at = keys.index(sections[0])
    rest = [k for k in keys if k not in sections]
    return [*rest[:at], folded, *rest[at:]]


def format_keys(keys: list[KeyHelp]) -> Content:
    if not keys:
        return Content("(no keys)")
    keys = _fold_sections(keys)
    width = max(len(k.key) for k in keys) + 2
    lines = []
    for k in keys:
        if not k.key:  # a separator between screen actions and movement keys
            lines.append(Content.styled("  moving around", "italic"))
            continue
        line = Content.assemble(("  " + k.key.ljust(width), "bold $accent"), k.description)
        if not k.enabled:
            line = line.stylize("dim")
        lines.append(line)
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """``?``/``F1``: help for the screen it was opened from: its topic, then its keys."""

    BINDINGS = [
        Binding("escape", "dismiss_help", "Close"),
        Binding("q", "dismiss_help", "Close", show=False),
        Binding("question_mark", "dismiss_help", "Close", show=False, key_display="?"),
        Binding("f1", "dismiss_help", "Close", show=False),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
        Binding("g", "scroll('home')", "Top", show=False),
        Binding("G", "scroll('end')", "Bottom", show=False),
    ]

    def __init__(self, topic: str, title: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.topic = topic
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Content.styled(f"Help: {self.title_text}", "bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Markdown(self._topic_text(self.topic), id="help-topic", open_links=False)
                yield Static(Content.styled("Keys on this screen", "bold $accent"), classes="help-heading")
                yield Static(format_keys(self.keys), id="help-keys")
                if self.topic != "keys":
                    yield Markdown(self._topic_text("keys"), id="help-general", open_links=False)
            yield Static(Content(HINT.format(close="escape", scroll="j/k")), id="help-hint")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
        remapped = getattr(self.app, "_keymap", {})  # the user's [keys] (Textual keeps it here)
        if any(ident.startswith("help.") for ident in remapped):
            live = live_bindings(self)
            close = " ".join(keys_of(live, "help.dismiss_help")[:1]) or "escape"
            scroll = "/".join(keys_of(live, "help.scroll_down")[:1] + keys_of(live, "help.scroll_up")[:1])
            self.query_one("#help-hint", Static).update(Content(HINT.format(close=close, scroll=scroll)))

    @staticmethod
    def _topic_text(topic: str) -> str:
        try:
            return helpdocs.read(topic)
        except NotFoundError:
            return f"# {topic}\n\nThere is no help file for this screen yet."

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home, "end": body.scroll_end}[
            where
        ]()

    async def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        href = event.href.strip()
        match = _TOPIC_LINK.match(href)
        if match and match.group(1) in helpdocs.topics():
            await self.query_one("#help-topic", Markdown).update(self._topic_text(match.group(1)))
            self.topic = match.group(1)
            self.query_one("#help-body", VerticalScroll).scroll_home(animate=False)
            return
        self.notify(f"Not opened (no browser on the server): {href}", title="Link", markup=False)
