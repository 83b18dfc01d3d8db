"""Base screen: header rows, body, footer with the keys that matter most; helpers for DB work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from textual import events
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, RadioSet, Select, Switch, TextArea
from textual.widgets._toggle_button import ToggleButton
from textual.worker import Worker

from ..widgets.footer import KeyFooter
from ..widgets.topbar import TopBar
from .bindings import ensure_ids, name_class
from .workers import run_db

if TYPE_CHECKING:
    from ..session import AppSession

T = TypeVar("T")


# Widgets that take input: a printable key typed while one of them has focus is for the form.
FORM_WIDGETS: tuple[type[Widget], ...] = (Input, TextArea, Select, ToggleButton, RadioSet, Switch, Button)
TEXT_ENTRIES = "Input, TextArea, Select"


def holds_key(app: App[Any], event: events.Key) -> bool:
    """Whether a key press must not reach any binding (help/keys.md, "Typing in forms").

    A printable key typed while a form widget has focus (or anywhere on an edit form) never
    switches sections, quits or runs a screen action: only the focused widget's own keys (a
    checkbox's space) still work. ``?`` still opens the help. A dialog made of buttons only
    (yes/no) keeps its letter keys: pressing them is what the dialog is for.
    """
    if not event.is_printable or event.key == "question_mark" or len(event.character or "") != 1:
        return False
    screen, focused = app.screen, app.focused
    chain: list[Widget] = []
    node = focused
    while node is not None and node is not screen and isinstance(node, Widget):
        chain.append(node)
        node = node.parent  # type: ignore[assignment]
    in_form = getattr(screen, "KEEPS_TYPED_KEYS", False) or any(isinstance(n, FORM_WIDGETS) for n in chain)
    if not in_form:
        return False
    if any(event.key in n._bindings.key_to_bindings for n in chain):
        return False  # the widget's own key
    if event.key in screen._bindings.key_to_bindings:
        return bool(getattr(screen, "KEEPS_TYPED_KEYS", False) or screen.query(TEXT_ENTRIES))
    return True  # an app key (section number, quit, copy) or nothing at all


class NodedeskScreen(Screen[Any]):
    """Every full screen: :class:`TopBar`, the screen's body, and the footer."""

    SECTION = "windows"
    HELP_TOPIC = "overview"
    KEEPS_TYPED_KEYS = False  # True on edit forms: printable keys are for the form (holds_key)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name_class(cls)  # ids for its bindings (tui/kit/bindings.py): ``windows.new``

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ensure_ids()  # and for the dialogs and widgets its module brought in
        super().__init__(*args, **kwargs)

    def crumbs(self) -> tuple[str, ...]:
        return ()

    def compose(self) -> ComposeResult:
        yield TopBar(self.SECTION, self.crumbs())
        yield from self.compose_body()
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        yield from ()

    _shown_keys: tuple[object, ...] | None = None
    _keys_check_pending = False

    def refresh_bindings(self) -> None:
        """Tell the footer only when what it shows changed.

        Screens refresh their bindings on every cursor move (an action may be allowed on one row
        and not the next); the footer rebuilds all its keys each time it is told, which was most
        of a cursor move's cost. After the next refresh (when the footer would look too), the
        keys, words and enabled states are compared with what it was last told.
        """
        if not self._keys_check_pending:
            self._keys_check_pending = self.call_after_refresh(self._tell_footer_if_changed)

    def _tell_footer_if_changed(self) -> None:
        self._keys_check_pending = False
        try:
            keys = tuple(
                (key, b.binding.action, b.binding.description, b.binding.show, b.binding.tooltip, b.enabled)
                for key, b in self.active_bindings.items()
            )
        except Exception:  # e.g. switching sections: nothing to compare with, tell the footer
            keys = None
        if keys is not None and keys == self._shown_keys:
            return
        # (an unfocused app's footer ignores the news: tell it again next time)
        self._shown_keys = keys if self.app.app_focus else None
        super().refresh_bindings()

    @property
    def session(self) -> AppSession:
        return self.app.session  # type: ignore[attr-defined,no-any-return]

    def db(
        self,
        work: Callable[[ServiceContext], T],
        on_done: Callable[[T], None],
        *,
        on_error: Callable[[NodedeskError], None] | None = None,
        write: bool = False,
        group: str = "db",
        exclusive: bool = False,
    ) -> Worker[None]:
        return run_db(
            self, work, on_done=on_done, on_error=on_error, write=write, group=group, exclusive=exclusive
        )

    def refused(self, exc: NodedeskError | str, title: str = "Refused") -> None:
        """A refusal or explanation as a notification (plain text, never markup)."""
        self.notify(str(exc), title=title, severity="error", markup=False, timeout=8)

    def explain(self, message: str, title: str = "Not available") -> None:
        self.notify(message, title=title, severity="warning", markup=False, timeout=8)
