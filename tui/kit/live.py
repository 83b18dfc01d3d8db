"""Live screens: one change feed per app, and the screens it refreshes.

The feed reads the activity log's head (:mod:`nodedesk.core.changes`, one tiny indexed query) in
a thread worker every :data:`POLL_SECONDS`; when it moved, the app gets a :class:`DataChanged`
naming the kinds of data written (``window``, ``reservation``, ``invoice_period``, …). A slow
minute tick posts the same message with the kind ``clock``: statuses such as "upcoming" →
"in progress" follow the clock, not a write (help/overview.md, "Live screens").

The active screen is refreshed at once; a screen further down the stack (or in another section)
catches up with everything it missed when it comes back. A screen refreshes through, in this
order, ``refresh_from_feed()`` (taking the kinds when it accepts an argument), ``reload()`` or
``action_reload()``; one may name the kinds it shows in ``LIVE_KINDS`` to ignore the others.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from nodedesk.core import changes
from nodedesk.core.changes import EVERYTHING, ChangeHead
from textual.app import ScreenStackError, UnknownModeError
from textual.message import Message
from textual.screen import Screen

from ..session import session_of

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

POLL_SECONDS = 1.0  # changes by other admins show within about this (plus the screen's read)
CLOCK_SECONDS = 60.0  # statuses that follow the clock
CLOCK = "clock"
HISTORY = 500  # feed events kept for screens that come back (older: refreshed in full)
STUCK_SECONDS = 30.0  # a head read unanswered this long is given up (the database hangs)


class DataChanged(Message):
    """Data changed (``kinds``: the target types written, or ``clock``); ``head`` is the log's
    newest entry after the change."""

    def __init__(self, kinds: frozenset[str], head: ChangeHead) -> None:
        super().__init__()
        self.kinds = kinds
        self.head = head


def wants(screen: object, kinds: frozenset[str]) -> bool:
    """Whether ``screen`` shows any of ``kinds`` (``LIVE_KINDS``; none declared: everything)."""
    watched = getattr(screen, "LIVE_KINDS", None)
    if watched is None or EVERYTHING in kinds:
        return True
    return not kinds.isdisjoint(watched)


def refresher(screen: object) -> Callable[[frozenset[str]], None] | None:
    """How ``screen`` re-reads itself, or None when it has no way to (dialogs, help)."""
    for name in ("refresh_from_feed", "reload", "action_reload"):
        method = getattr(screen, name, None)
        if not callable(method):
            continue
        if name == "refresh_from_feed" and _takes_an_argument(method):
            return _with_kinds(method)
        return _without_kinds(method)
    return None


def _with_kinds(method: Callable[[frozenset[str]], object]) -> Callable[[frozenset[str]], None]:
    def call(kinds: frozenset[str]) -> None:
        method(kinds)

    return call


def _without_kinds(method: Callable[[], object]) -> Callable[[frozenset[str]], None]:
    def call(kinds: frozenset[str]) -> None:
        method()

    return call


def _takes_an_argument(method: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


class ChangeFeed:
    """The app's poller and the bookkeeping of which screen has seen which change."""

    def __init__(
        self, app: App[Any], *, poll_seconds: float = POLL_SECONDS, clock_seconds: float = CLOCK_SECONDS
    ) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self.clock_seconds = clock_seconds
        self.head: ChangeHead | None = None  # None until the first read
        self.polls = 0  # head reads done (tests and the benchmark count them)
        self.refreshes = 0  # screens refreshed by the feed
        self._event = 0  # feed events so far; a screen remembers the last one it saw
        self._history: list[tuple[int, frozenset[str]]] = []
        self._seen: WeakKeyDictionary[Screen[Any], int] = WeakKeyDictionary()
        self._polling = False
        self._polling_since = 0.0
        self._timers: list[Timer] = []

    # ------------------------------------------------------------------ polling

    def start(self) -> None:
        """Read the head now, then every ``poll_seconds``; tick every ``clock_seconds``."""
        self.app.screen_change_signal.subscribe(self.app, self.screen_changed)
        self.app.call_after_refresh(self._adopt_first_screen)
        self.poll()
        self._timers = [
            self.app.set_interval(self.poll_seconds, self.poll, name="change-feed"),
            self.app.set_interval(self.clock_seconds, self.tick, name="clock-tick"),
        ]

    def set_poll_seconds(self, seconds: float) -> None:
        """Poll at another interval from now on (tests make it small)."""
        self.poll_seconds = seconds
        if self._timers:
            self._timers[0].stop()
            self._timers[0] = self.app.set_interval(seconds, self.poll, name="change-feed")

    def _adopt_first_screen(self) -> None:
        """The screen the app opened on (shown before the feed listened): it read itself."""
        with suppress(Exception):  # (no screen: the app is closing)
            self._seen.setdefault(self.app.screen, self._event)

    def poll(self) -> None:
        """Read the head in a thread worker (one at a time: a slow read is not queued twice,
        unless the last one has not answered for a long while)."""
        if self._polling and time.monotonic() - self._polling_since < STUCK_SECONDS:
            return
        self._polling, self._polling_since = True, time.monotonic()
        self.app.run_worker(self._poll_job, thread=True, group="change-feed", exit_on_error=False)

    def _poll_job(self) -> None:
        try:
            found = self.check()
        except Exception as exc:  # the database is away for a moment: try again next poll
            found = None
            self.app.log.warning("change feed:", exc)
        with suppress(RuntimeError):  # the app is shutting down
            self.app.call_from_thread(self._polled, found)

    def _polled(self, found: DataChanged | None) -> None:
        self._polling = False
        if found is not None:
            self.app.post_message(found)

    def check(self) -> DataChanged | None:
        """Read the head (any thread); the change since the last read, or None."""
        database = session_of(self.app).runtime.database
        with database.read() as session:
            now = changes.head(session)
            self.polls += 1
            seen = self.head
            if seen is None or now == seen:
                self.head = now
                return None
            kinds = changes.kinds_between(session, seen, now)
        self.head = now
        return DataChanged(kinds, now)

    def tick(self) -> None:
        """The minute tick: statuses that follow the clock."""
        self.app.post_message(DataChanged(frozenset({CLOCK}), self.head or changes.EMPTY))

    # ------------------------------------------------------------------ screens

    def changed(self, message: DataChanged) -> None:
        """Note the change and refresh the active screen (the app's message handler calls it)."""
        self._adopt_first_screen()
        self._event += 1
        self._history.append((self._event, message.kinds))
        del self._history[:-HISTORY]
        try:
            shown = self.app.screen
        except (ScreenStackError, UnknownModeError):
            return  # between two screens, or closing: the next screen shown catches up
        self.catch_up(shown)

    def screen_changed(self, screen: Screen[Any]) -> None:
        """A screen became active: one seen for the first time reads itself; one coming back
        catches up with what it missed."""
        if screen not in self._seen:
            self._seen[screen] = self._event
        else:
            self.catch_up(screen)
        self.poll()  # and what changed while it was away, but was not polled yet

    def missed(self, screen: Screen[Any]) -> frozenset[str]:
        seen = self._seen.get(screen, self._event)
        if seen >= self._event:
            return frozenset()
        if self._history and self._history[0][0] > seen + 1:
            return frozenset({EVERYTHING})  # further back than the history goes
        kinds: set[str] = set()
        for event, k in self._history:
            if event > seen:
                kinds |= k
        return frozenset(kinds)

    def catch_up(self, screen: Screen[Any]) -> bool:
        """Refresh ``screen`` with what it missed, if it shows any of it; True when it re-read."""
        kinds = self.missed(screen)
        if not kinds or not screen.is_mounted:
            return False
        do = refresher(screen)
        if do is None:  # a dialog or help: catches up nothing, keeps what it showed
            return False
        self._seen[screen] = self._event
        if not wants(screen, kinds):
            return False
        self.refreshes += 1
        do(kinds)
        return True


class Reread:
    """One feed re-read of a screen at a time: a change that arrives during a read asks for one
    more read after it (never a queue of them: a big month takes a while to recompute)."""

    def __init__(self) -> None:
        self.running = False
        self.again = False
        self.count = 0  # reads started (tests count them)

    def request(self, start: Callable[[], None]) -> None:
        if self.running:
            self.again = True
            return
        self.running = True
        self.count += 1
        start()

    def finished(self, start: Callable[[], None]) -> None:
        self.running = False
        if self.again:
            self.again = False
            self.request(start)
