"""Base screen: header rows, body, footer with the keys that matter most; helpers for DB work."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from textual.app import ComposeResult
from textual.screen import Screen
from textual.worker import Worker

from ..widgets.footer import KeyFooter
from ..widgets.topbar import TopBar
from ..workers import run_db

if TYPE_CHECKING:
    from ..session import AppSession

T = TypeVar("T")


class NodedeskScreen(Screen[Any]):
    """Every full screen: :class:`TopBar`, the screen's body, and the footer."""

    SECTION = "windows"
    HELP_TOPIC = "overview"

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
