"""The full-screen app: sections as Textual modes, help, command palette, app factory.

``create_app(runtime)`` builds the app from an already configured runtime (tests pass one with a
frozen clock); ``run_app`` is what ``nodedesk`` with no command runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from nodedesk.core.runtime import Runtime
from nodedesk.core.safetext import one_line
from rich.text import Text
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import DataTable

from . import appearance
from .kit import bindings as keys_registry
from .kit import navigation
from .kit.live import ChangeFeed, DataChanged
from .kit.workers import JobDone, JobProgress
from .sections import SECTIONS
from .session import AppSession
from .widgets.paged_table import MARK_COLUMN

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from .features.help.help import KeyHelp


# Textual's own screen bindings: listed with the movement keys, after the screen's actions.
GENERIC_ACTIONS = {"app.focus_next", "app.focus_previous", "screen.copy_text"}


# Action names that change data, and their "🔒 says why" stand-ins (dimmed with --readonly).
# Generic names such as "cancel" (also a dialog's Cancel) are left out: those screens already
# swap the write key for an "unavailable" stand-in in a read-only session.
WRITE_ACTIONS = frozenset(
    {
        "new", "new_window", "new_project", "edit", "edit_project", "move_end", "delete",
        "delete_correction", "correct", "approve", "decline", "resolve", "finalize", "unfinalize",
        "override", "clear_override", "set_rate", "propose_split", "approve_split", "reject_split",
        "add_member", "remove_member", "extend", "send", "locked", "unavailable", "why", "why_rate",
    }
)  # fmt: skip


class NodedeskApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "nodedesk"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    MODES = {s.id: navigation.factory(s.route) for s in SECTIONS}
    DEFAULT_MODE = "dashboard"
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("f1", "help", "Help", show=False),
        Binding("y", "copy('cell')", "Copy cell", show=False, tooltip="Copy the cell (a list row: its #)"),
        Binding("Y", "copy('row')", "Copy row", show=False, tooltip="Copy the whole row, tab-separated"),
        *[
            Binding(s.key, f"section('{s.id}')", f"Go to {s.title}", show=False, id=f"section.{s.id}")
            for s in SECTIONS
        ],
        # Textual's own palette key (it adds it last), declared here so it has an id to remap
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",
            show=False,
            priority=True,
            tooltip="Open the command palette",
        ),
    ]

    def __init__(
        self,
        session: AppSession,
        *,
        theme: str | None = None,
        animations: bool = False,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        keys_registry.ensure_ids()  # every binding has an id (tui/kit/bindings.py)
        keys_registry.name_node(self)
        if keymap:  # the user's [keys] (tui/userconfig.py), already checked
            self.set_keymap(dict(keymap))
        self.session = session
        self._start_theme = appearance.pick_theme(theme, os.environ)
        level = appearance.animation_level(animations, os.environ)
        if level is not None:
            self.animation_level = level
        self.feed = ChangeFeed(self)  # screens are live (tui/kit/live.py)

    def on_mount(self) -> None:
        self.theme = self._start_theme
        if self.no_color:  # Textual strips the colours; reverse video and bold need none
            self.add_class("-no-color")
        self.feed.start()

    def push_screen(self, *args: Any, **kwargs: Any) -> Any:
        keys_registry.ensure_ids()  # a screen class loaded just now gets its binding ids
        return super().push_screen(*args, **kwargs)

    def on_data_changed(self, message: DataChanged) -> None:
        self.feed.changed(message)

    def on_job_done(self, message: JobDone) -> None:
        """A thread worker's outcome (tui/kit/workers.py), on the UI thread."""
        if message.wanted():
            message.callback(message.value)

    def on_job_progress(self, message: JobProgress) -> None:
        message.callback(message.kind, message.done, message.total)

    async def _on_key(self, event: events.Key) -> None:
        """Keys typed into a form stay there (``holds_key``): no section switch, no quit.

        Keys that reach the app (no widget took them) while a list's filter box is opening go
        into that box: typed in one burst after ``/`` (a paste, a fast typist), they arrive
        before the box has the focus (tui/kit/list_screen.py ``typing_into``)."""
        from .kit.base import holds_key

        box = getattr(self.screen, "typing_into", None)
        if box is not None and event.is_printable and len(event.character or "") == 1:
            box.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()
            return
        if holds_key(self, event):
            event.stop()
            event.prevent_default()  # (Textual would also run App._on_key itself)

    NOTE_SECONDS = 3.0  # toasts are short notes over the top bar (app.tcss, "toasts")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast for at most three seconds; what must stay is on the screen itself."""
        shown = min(timeout if timeout is not None else self.NOTE_SECONDS, self.NOTE_SECONDS)
        super().notify(message, title=title, severity=severity, timeout=shown, markup=markup)

    # ------------------------------------------------------------------ actions

    def action_section(self, section_id: str) -> None:
        if section_id != self.current_mode:
            self.switch_mode(section_id)

    def _check_action_state(self, action: str, default_namespace: DOMNode) -> bool | None:
        """With ``--readonly`` every write action shows dimmed in the footer and the help modal.

        Textual asks this only to *display* bindings; a key press still asks the screen's own
        ``check_action``, so pressing a dimmed write key says why nothing can be changed.
        """
        state = super()._check_action_state(action, default_namespace)
        if state and self.session.readonly and action.split("(", 1)[0].rsplit(".", 1)[-1] in WRITE_ACTIONS:
            return None
        return state

    def live_keys(self, screen: Screen) -> list[KeyHelp]:
        """The screen's key bindings as they are right now (disabled ones dimmed).

        Screen and app actions come first, then the focused widget's keys; keys bound to the same
        action share a line (``? f1  Help``).
        """
        from .features.help.help import KeyHelp, framework_binding

        groups: list[dict[tuple[str, str], list[str]]] = [{}, {}]
        enabled: dict[tuple[str, str], bool] = {}
        text: dict[tuple[str, str], str] = {}
        for live in keys_registry.live_bindings(screen):
            if not live.description or live.key.startswith("super+") or framework_binding(live.node, live):
                continue
            generic = live.action in GENERIC_ACTIONS
            group = 0 if isinstance(live.node, (Screen, App)) and not generic else 1
            ident = (live.action, live.description)
            if not text.get(ident) or not isinstance(live.node, App):  # the screen's own words win
                text[ident] = live.tooltip or live.description
            if any(ident in g for g in groups) and ident not in groups[group]:
                continue
            groups[group].setdefault(ident, []).append(live.display)
            enabled[ident] = enabled.get(ident, False) or live.enabled
        keys = [
            [KeyHelp(" ".join(dict.fromkeys(k)), text[ident], enabled[ident]) for ident, k in g.items()]
            for g in groups
        ]
        if not any(k.description == "palette" for k in keys[0]):
            palette = keys_registry.keys_of(keys_registry.live_bindings(screen), "app.command_palette")
            keys[0].append(KeyHelp(" ".join(palette) or "^p", "Command palette"))
        return keys[0] + ([KeyHelp("", ""), *keys[1]] if keys[1] else [])

    def action_help(self) -> None:
        from .features.help.help import HelpScreen

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        topic = getattr(screen, "HELP_TOPIC", "overview")
        section_id = getattr(screen, "SECTION", "windows")
        title = next((s.title for s in SECTIONS if s.id == section_id), section_id.title())
        detail = getattr(screen, "HELP_TITLE", "")
        self.push_screen(
            HelpScreen(topic, f"{title}{' · ' + detail if detail else ''}", self.live_keys(screen))
        )

    def action_copy(self, what: str) -> None:
        """Copy the focused table's cell or row to the terminal's clipboard (OSC 52)."""
        table = self.focused
        if not isinstance(table, DataTable) or table.row_count == 0:
            self.notify("Nothing to copy here: move to a row of a list first", title="Copy")
            return
        coord = table.cursor_coordinate
        cells = [_plain(c) for c in table.get_row_at(coord.row)]
        # A list's marks column is not data (tui/kit/table.py): copy the columns after it.
        skip = int(bool(table.ordered_columns) and table.ordered_columns[0].key.value == MARK_COLUMN)
        cells = cells[skip:]
        if what == "row":
            text = "\t".join(cells)
            label = f"row ({len(cells)} cells, tab-separated)"
        else:
            # A row cursor has no column of its own: the first cell (the record's #) is the one.
            column = max(coord.column - skip, 0) if table.cursor_type in ("cell", "column") else 0
            text = cells[column] if column < len(cells) else ""
            label = "cell"
        self.copy_to_clipboard(text)
        preview = one_line(text, max_len=40)
        self.notify(f"Copied {label}: {preview}", title="Copied to clipboard", markup=False)

    def open_url(self, url: str, *, new_tab: bool = True) -> None:
        """Never start a browser on the server; show the address instead."""
        self.notify(f"Not opened (no browser on the server): {url}", title="Link", markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        live = keys_registry.live_bindings(screen)
        for s in SECTIONS:
            key = " ".join(keys_registry.keys_of(live, f"section.{s.id}")) or "no key"
            yield SystemCommand(
                f"Go to {s.title}", f"Section {key}", lambda s=s: self.action_section(s.id)
            )
        help_keys = " or ".join(keys_registry.keys_of(live, "app.help")) or "no key"
        yield SystemCommand("Help", f"Help for this screen and its keys ({help_keys})", self.action_help)
        yield from self._key_commands(live)
        extra = getattr(screen, "palette_commands", None)
        if extra is not None:
            yield from extra()
        kit = getattr(screen, "list_commands", None)  # every list: export, marks (tui/kit/list_screen.py)
        if kit is not None:
            yield from kit()
        from .features.backup.backup import backup_commands

        yield from backup_commands(self, screen)
        from .features.notices.notices import notices_commands

        yield from notices_commands(self, screen)
        from .features.windows.emergency_form import emergency_commands

        yield from emergency_commands(self, screen)
        yield from super().get_system_commands(screen)

    def _key_commands(self, live: list[keys_registry.LiveBinding]) -> Iterable[SystemCommand]:
        """The screen's own keys as commands: ``Key n: New`` with its id, for finding and remapping."""
        from .features.help.help import framework_binding

        seen: set[str] = set()
        for b in live:
            if (
                not b.description
                or not b.enabled
                or b.id in seen
                or isinstance(b.node, App)
                or framework_binding(b.node, b)
            ):
                continue
            seen.add(b.id)
            shown = " ".join(keys_registry.keys_of(live, b.id))
            yield SystemCommand(
                f"Key {shown}: {b.description}",
                f"{b.tooltip or b.description} · id {b.id} (help: keys)",
                partial(self.run_action, b.action, b.node),
            )


def _plain(cell: object) -> str:
    """A table cell as the plain text it shows (Rich Text or str), on one line."""
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return " ".join(text.split())


def create_app(
    runtime: Runtime,
    *,
    readonly: bool = False,
    theme: str | None = None,
    animations: bool = False,
    keymap: Mapping[str, str] | None = None,
) -> NodedeskApp:
    """The app factory: resolves the acting user (refusing unregistered ones) and site settings."""
    return NodedeskApp(
        AppSession.load(runtime, readonly=readonly), theme=theme, animations=animations, keymap=keymap
    )


def run_app(
    runtime: Runtime,
    *,
    readonly: bool = False,
    mouse: bool = True,
    theme: str | None = None,
    animations: bool = False,
    keymap: Mapping[str, str] | None = None,
) -> int:
    app = create_app(runtime, readonly=readonly, theme=theme, animations=animations, keymap=keymap)
    app.run(mouse=mouse)
    return app.return_code or 0
