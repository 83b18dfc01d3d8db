"""Measurements of the app on a big centre (the scale benchmark and its smoke run share them).

In-app figures drive the real app with ``App.run_test`` on the centre's database. An action's
time runs from the key press until the screen has shown its rows: for the lists, the next
``PagedTable.show_page`` (the table got the page a worker loaded); for the calendar, the screen's
``_loaded_span``; for an invoice month, the month screen's ``show_state``. A :class:`Probe`
records those calls. Cursor moves are timed around the pilot's key press (the key is handled and
the screen repainted). After every step :func:`held_rows` checks that no table holds more than
its page of rows.

The cold start is a real process: ``nodedesk`` in a detached tmux session at 120x40, whose pane is
polled every 10 ms until the Windows list shows its range line with rows ("Windows 1–100 of …").
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodedesk.core.clock import FrozenClock
from nodedesk.core.identity import os_login
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import users
from nodedesk.tui.app import NodedeskApp, create_app
from nodedesk.tui.widgets.paged_table import PagedTable
from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.benchmarks import bigcentre

# Targets (seconds): the first frame; the dashboard fully loaded; a section's open, later visit
# or filter; any key (cursor, page, next page, G, a calendar day); the calendar's busy month.
TARGETS = {"first frame": 0.5, "dashboard": 0.6, "open": 0.25, "key": 0.03, "calendar": 0.4}
OPEN, KEY = TARGETS["open"], TARGETS["key"]

# The figures before this round of speed work, printed beside today's: (wall ms, CPU ms or None),
# one run on this 2-core machine shared with other work, SQLite at load 1.96. (The PostgreSQL run
# before it did not finish: tmux could not start its cold-start session.)
BEFORE: dict[str, dict[str, tuple[int, int | None]]] = {
    "sqlite": {
        "app start in-process to first paint (no imports)": (164, None),
        "dashboard: the first screen loaded": (2495, None),
        "Windows: open": (308, 314),
        "Windows: cursor down (median of 20)": (9, 9),
        "Windows: page down in the page (median of 3)": (46, 47),
        "Windows: next page ] (SQL page load)": (77, 81),
        "Windows: last page G (SQL page load)": (117, 124),
        "Windows: filter 'Cooling' (enter to rows)": (376, 382),
        "Reservations: open": (625, 634),
        "Reservations: cursor down (median of 20)": (9, 10),
        "Reservations: next page ] (SQL page load)": (72, 71),
        "Activity: open": (405, 453),
        "Activity: cursor down (median of 20)": (6, 6),
        "Activity: next page ] (SQL page load)": (59, 59),
        "Activity: filter 'approved' (enter to rows)": (171, 175),
        "Reservations: filter node n0007 (enter to rows)": (566, 574),
        "Calendar: open on 2026-06 (busy month)": (945, 1169),
        "Calendar: move a day (median of 20)": (43, 47),
        "Invoices: open month 2026-05": (74, 75),
        "Reservations: open again (a later visit)": (1345, 1611),
        "Calendar: open again (a later visit)": (3260, 418),
        "cold start: exec to first frame (median of 3)": (1276, 950),
        "cold start: exec to Windows rows on screen": (1762, 1420),
        "  of which imports (fresh interpreter, median of 3)": (549, 534),
    },
    "postgresql": {},
}
NODEDESK = Path(sys.executable).with_name("nodedesk")


@dataclass
class Figure:
    name: str
    seconds: float  # wall clock
    target: float | None  # None: shown for information
    cpu: float | None = None  # CPU seconds of the process (all threads): what load disturbs least

    @property
    def ok(self) -> bool:
        return self.target is None or self.seconds < self.target


@dataclass
class Report:
    backend: str = "sqlite"
    figures: list[Figure] = field(default_factory=list)
    max_rows_held: int = 0
    page_size: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float | tuple[float, float], target: float | None) -> None:
        wall, cpu = seconds if isinstance(seconds, tuple) else (seconds, None)
        self.figures.append(Figure(name, wall, target, cpu))

    def table(self) -> str:
        """Each figure beside its target and its figure before (``BEFORE``), met or missed."""
        before = BEFORE.get(self.backend, {})
        head = (
            f"{'measurement':<50} {'wall':>8} {'cpu':>8} {'target':>9} {'':6} {'before: wall':>12} {'cpu':>7}"
        )
        lines = [head, "-" * len(head)]
        for f in self.figures:
            target = f"< {f.target * 1000:.0f} ms" if f.target else ""
            cpu = f"{f.cpu * 1000:5.0f} ms" if f.cpu is not None else ""
            ok = ("met" if f.ok else "MISSED") if f.target else ""
            was_wall, was_cpu = before.get(f.name, (None, None))
            was = f"{was_wall:5d} ms" if was_wall is not None else ""
            was_c = f"{was_cpu:4d} ms" if was_cpu is not None else ""
            lines.append(
                f"{f.name:<50} {f.seconds * 1000:>5.0f} ms {cpu:>8} {target:>9} {ok:6} {was:>12} {was_c:>7}"
            )
        lines.append(
            f"{'most rows any table held':<50} {self.max_rows_held:>8} {'':>8} "
            f"{'<= ' + str(self.page_size):>9}  {'yes' if self.max_rows_held <= self.page_size else 'NO'}"
        )
        return "\n".join(lines + self.notes)


# ---------------------------------------------------------------------- the database


def prepare(source: Path, tmp: Path) -> str:
    """A working copy of the centre with the OS login registered as an admin; returns its URL."""
    path = tmp / f"centre-{uuid.uuid4().hex[:6]}.db"
    shutil.copy(source, path)
    url = f"sqlite:///{path}"
    register_login(url)
    return url


def register_login(url: str) -> None:
    login = os_login()
    if login == bigcentre.LOGIN:
        return
    runtime = Runtime(bigcentre.config(url), clock=FrozenClock(bigcentre.NOW), login=bigcentre.LOGIN)
    try:
        with runtime.write() as ctx:
            users.add_user(ctx, login, ["admin"])
    finally:
        runtime.close()


# ---------------------------------------------------------------------- probes


class Probe:
    """Counts calls of the methods that mean "this screen now shows its data"."""

    def __init__(self) -> None:
        self.calls = 0
        self._undo: list[Callable[[], None]] = []

    def watch(self, cls: type, name: str) -> None:
        original = getattr(cls, name)
        probe = self

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            probe.calls += 1
            return result

        setattr(cls, name, wrapper)
        self._undo.append(lambda: setattr(cls, name, original))

    def close(self) -> None:
        for undo in reversed(self._undo):
            undo()


@contextmanager
def probed() -> Iterator[Probe]:
    from nodedesk.tui.features.calendar.calendar import CalendarScreen
    from nodedesk.tui.features.invoices.invoice_month import InvoiceMonthScreen

    probe = Probe()
    probe.watch(PagedTable, "show_page")
    probe.watch(CalendarScreen, "_loaded_span")
    probe.watch(InvoiceMonthScreen, "show_state")
    try:
        yield probe
    finally:
        probe.close()


def send_key(app: NodedeskApp, key: str) -> None:
    """Post one key press as the terminal driver would (``Pilot.press`` without its idle waits:
    those sleep in 20 ms steps and wait up to a second while any thread of the process is busy,
    which would time the pilot, not the app)."""
    char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


async def painted(pilot: Pilot) -> None:
    """Every message the key caused is handled, and the screen is repainted."""
    await asyncio.sleep(0)
    await pilot._wait_for_screen()
    await pilot._wait_for_screen()
    pilot.app.screen._on_timer_update()


async def press(pilot: Pilot, *keys: str) -> None:
    """Keys handled one by one (untimed steps between measurements)."""
    for key in keys:
        send_key(pilot.app, key)  # type: ignore[arg-type]
        await painted(pilot)


async def settled(pilot: Pilot) -> None:
    """Every worker has finished (a cancelled one too), and the screen is repainted."""
    while any(not w.is_finished for w in pilot.app.workers):
        await asyncio.gather(*(w.wait() for w in pilot.app.workers), return_exceptions=True)
    await painted(pilot)


async def until_loaded(pilot: Pilot, probe: Probe, before: int, timeout: float = 20.0) -> None:
    deadline = time.perf_counter() + timeout
    while probe.calls <= before:
        if time.perf_counter() > deadline:
            notes = [n.message for n in pilot.app._notifications]
            raise TimeoutError(f"{pilot.app.screen} did not show its data; notifications: {notes}")
        await asyncio.sleep(0.002)
    await painted(pilot)


async def timed_load(pilot: Pilot, probe: Probe, key: str) -> tuple[float, float]:
    """(wall, CPU) seconds from pressing ``key`` until the screen has shown and painted its data."""
    before = probe.calls
    t0, c0 = time.perf_counter(), time.process_time()
    send_key(pilot.app, key)  # type: ignore[arg-type]
    await until_loaded(pilot, probe, before)
    return time.perf_counter() - t0, time.process_time() - c0


async def timed_visit(pilot: Pilot, probe: Probe, key: str) -> tuple[float, float]:
    """Like :func:`timed_load` for a later visit, which may show data the screen still holds:
    a calendar whose month is loaded and unchanged shows it at once, without a reload (waiting
    for one would time the next clock tick instead)."""
    from nodedesk.tui.features.calendar.calendar import CalendarScreen

    before = probe.calls
    t0, c0 = time.perf_counter(), time.process_time()
    send_key(pilot.app, key)  # type: ignore[arg-type]
    await painted(pilot)
    screen = pilot.app.screen
    if not (isinstance(screen, CalendarScreen) and screen.state().span is not None):
        await until_loaded(pilot, probe, before)
    return time.perf_counter() - t0, time.process_time() - c0


def held_rows(app: NodedeskApp) -> tuple[int, int]:
    """(most rows any table of any live screen holds, the smallest page size among them)."""
    most, page = 0, 10**9
    screens = list(app.screen_stack)
    for mode in app._screen_stacks.values():  # other sections keep their screens
        screens.extend(mode)
    for screen in screens:
        for table in screen.query(DataTable):
            held = table.row_count
            if isinstance(table, PagedTable):
                held = max(held, len(table.rows_data))
                page = min(page, table.page_size)
            most = max(most, held)
    return most, page


def _note_rows(report: Report, app: NodedeskApp) -> None:
    most, page = held_rows(app)
    report.max_rows_held = max(report.max_rows_held, most)
    if page < 10**9:
        report.page_size = max(report.page_size, page)


async def moves(pilot: Pilot, key: str, n: int) -> tuple[float, float]:
    """The median (wall, CPU) of ``n`` presses of ``key`` (each handled and repainted)."""
    times, cpus = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        send_key(pilot.app, key)  # type: ignore[arg-type]
        await painted(pilot)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    await settled(pilot)  # (a move may start a page load; let it land)
    return statistics.median(times), statistics.median(cpus)


# ---------------------------------------------------------------------- the in-app run


async def measure_app(url: str, report: Report, *, filter_text: str, node: str, moves_n: int = 20) -> None:
    from nodedesk.tui.features.invoices.invoices import InvoicesScreen

    runtime = Runtime(bigcentre.config(url), clock=FrozenClock(bigcentre.NOW), login=bigcentre.LOGIN)
    try:
        with probed() as probe:
            t0, c0 = time.perf_counter(), time.process_time()
            app = create_app(runtime)
            async with app.run_test(size=(120, 40)) as pilot:
                await painted(pilot)
                since = (time.perf_counter() - t0, time.process_time() - c0)
                report.add("app start in-process to first paint (no imports)", since, None)
                if app.current_mode == "windows":
                    await until_loaded(pilot, probe, 0)
                    since = (time.perf_counter() - t0, time.process_time() - c0)
                    report.add("Windows: open (the first screen)", since, OPEN)
                else:  # another first screen: let it settle, then open Windows
                    await settled(pilot)
                    await painted(pilot)
                    target = TARGETS["dashboard"] if app.current_mode == "dashboard" else None
                    since = (time.perf_counter() - t0, time.process_time() - c0)
                    report.add(f"{app.current_mode}: the first screen loaded", since, target)
                    report.add("Windows: open", await timed_load(pilot, probe, "1"), OPEN)
                _note_rows(report, app)

                # cursor and page moves on the Windows list
                report.add(
                    f"Windows: cursor down (median of {moves_n})", await moves(pilot, "down", moves_n), KEY
                )
                report.add(
                    "Windows: page down in the page (median of 3)", await moves(pilot, "pagedown", 3), KEY
                )
                t = await timed_load(pilot, probe, "right_square_bracket")
                report.add("Windows: next page ] (SQL page load)", t, KEY)
                t = await timed_load(pilot, probe, "G")
                report.add("Windows: last page G (SQL page load)", t, KEY)
                _note_rows(report, app)

                # filter: type, then enter applies at once (typing alone waits 0.25 s first)
                await press(pilot, "slash", *filter_text)
                t = await timed_load(pilot, probe, "enter")
                report.add(f"Windows: filter '{filter_text}' (enter to rows)", t, OPEN)
                await press(pilot, "escape")
                await settled(pilot)

                for key, section in (("3", "Reservations"), ("6", "Activity")):
                    t = await timed_load(pilot, probe, key)
                    report.add(f"{section}: open", t, OPEN)
                    report.add(
                        f"{section}: cursor down (median of {moves_n})",
                        await moves(pilot, "down", moves_n),
                        KEY,
                    )
                    t = await timed_load(pilot, probe, "right_square_bracket")
                    report.add(f"{section}: next page ] (SQL page load)", t, KEY)
                    _note_rows(report, app)

                # Activity filter, then the Reservations node filter
                await press(pilot, "slash", *"approved")
                t = await timed_load(pilot, probe, "enter")
                report.add("Activity: filter 'approved' (enter to rows)", t, OPEN)
                await settled(pilot)
                await press(pilot, "3")
                await settled(pilot)
                await press(pilot, "slash", *node)
                t = await timed_load(pilot, probe, "enter")
                report.add(f"Reservations: filter node {node} (enter to rows)", t, OPEN)
                _note_rows(report, app)

                t = await timed_load(pilot, probe, "4")
                report.add(f"Calendar: open on {bigcentre.BUSY_MONTH} (busy month)", t, TARGETS["calendar"])
                report.add(
                    f"Calendar: move a day (median of {moves_n})", await moves(pilot, "right", moves_n), KEY
                )
                _note_rows(report, app)

                # (the month list computes each month's summary in the background, newest
                # first; a user opens a month while that goes on, and so does this)
                threads = threading.active_count()
                await press(pilot, "5")
                screen = app.screen
                assert isinstance(screen, InvoicesScreen)
                while not screen.loaded:
                    await asyncio.sleep(0.01)
                await painted(pilot)
                period = bigcentre.INVOICE_MONTH
                index = screen.periods.index(period)
                screen.table.move_cursor(row=index - screen.table.page_offset)
                t = await timed_load(pilot, probe, "enter")
                report.add(f"Invoices: open month {period}", t, OPEN)
                _note_rows(report, app)
                app.workers.cancel_all()  # the remaining months' summaries are not measured
                await settled(pilot)
                while threading.active_count() > threads:  # a cancelled thread runs to its end
                    await asyncio.sleep(0.05)

                # A section's first visit pays for Textual parsing the whole stylesheet again
                # (it does so whenever a screen brings CSS of its own); later visits do not.
                await press(pilot, "escape")
                for key, section, target in (
                    ("3", "Reservations", OPEN),
                    ("4", "Calendar", TARGETS["calendar"]),
                ):
                    t = await timed_visit(pilot, probe, key)
                    report.add(f"{section}: open again (a later visit)", t, target)
                _note_rows(report, app)
    finally:
        runtime.close()


# ---------------------------------------------------------------------- the cold start

RANGE_LINE = re.compile(r"Windows\s+\d+–\d+ of \d+")
TOP_BAR = re.compile(r"nodedesk › \w+")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ColdStart:
    first: float  # wall seconds to the first frame
    first_cpu: float  # CPU seconds the process used by then
    rows: float  # wall seconds to the Windows rows on screen
    rows_cpu: float


def cold_start(url: str, timeout: float = 60.0, size: tuple[int, int] = (120, 40)) -> ColdStart:
    """Seconds from starting ``nodedesk`` until its first frame, and until the Windows list's rows.

    The first frame is the first capture showing the top bar (``nodedesk › <section>``). When the
    app opens on another section (a dashboard), ``1`` is sent as soon as that frame is up, so the
    second figure is exec → Windows rows on screen either way.
    """
    session = f"ndbench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "NODEDESK_DATABASE_URL": url,
        "NODEDESK_NOW": bigcentre.NOW.isoformat(),
        "TERM": "xterm-256color",
    }
    env.pop("NODEDESK_USER", None)
    # The app's environment is given to tmux with -e: a tmux server already running (another
    # session on this machine) would otherwise start the app with the server's environment.
    cmd = ["tmux", "new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1])]
    for name in ("NODEDESK_DATABASE_URL", "NODEDESK_NOW", "TERM", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "HOME"):
        if name in env:
            cmd += ["-e", f"{name}={env[name]}"]
    first: float | None = None
    first_cpu = 0.0
    pane = ""
    t0 = time.perf_counter()
    for _attempt in range(3):  # (another tmux client on a shared machine may be restarting the server)
        started = subprocess.run([*cmd, str(NODEDESK)], env=env, capture_output=True, text=True)
        if started.returncode == 0:
            break
        time.sleep(0.5)
        t0 = time.perf_counter()
    else:
        raise RuntimeError(f"tmux could not start a session: {started.stderr.strip()}")
    pid = int(
        subprocess.run(
            ["tmux", "display-message", "-p", "-t", session, "#{pane_pid}"], capture_output=True, text=True
        ).stdout
    )
    try:
        while time.perf_counter() - t0 < timeout:
            pane = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            now = time.perf_counter() - t0
            if first is None and TOP_BAR.search(pane):
                first, first_cpu = now, _cpu_seconds(pid)
                if "› Windows" not in pane:
                    subprocess.run(["tmux", "send-keys", "-t", session, "1"], check=True)
            if first is not None and RANGE_LINE.search(pane):
                return ColdStart(first, first_cpu, now, _cpu_seconds(pid))
            time.sleep(0.01)
        raise TimeoutError(f"no Windows rows after {timeout} s; the pane shows:\n{pane}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def import_time() -> tuple[float, float]:
    """(wall, CPU) seconds a fresh interpreter takes to import what ``nodedesk`` needs to show
    the app (the app and its first screens)."""
    code = (
        "import time; t, c = time.perf_counter(), time.process_time(); import nodedesk.tui.cli, "
        "nodedesk.tui.app, nodedesk.tui.features.windows.windows; "
        "print(time.perf_counter() - t, time.process_time() - c)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    wall, cpu = out.split()
    return float(wall), float(cpu)


def measure_cold(url: str, report: Report, runs: int = 3, imports: int = 3) -> None:
    results = [cold_start(url) for _ in range(runs)]

    def median(attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results)

    first = (median("first"), median("first_cpu"))
    report.add(f"cold start: exec to first frame (median of {runs})", first, TARGETS["first frame"])
    report.add("cold start: exec to Windows rows on screen", (median("rows"), median("rows_cpu")), None)
    if imports:
        walls, cpus = zip(*(import_time() for _ in range(imports)), strict=True)
        seconds = (statistics.median(walls), statistics.median(cpus))
        report.add(f"  of which imports (fresh interpreter, median of {imports})", seconds, None)
