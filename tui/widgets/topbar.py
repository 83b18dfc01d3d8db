"""The two header rows of every screen: where you are, site time, who you are; then the sections."""

from __future__ import annotations

from nodedesk.core.safetext import one_line
from rich.cells import cell_len
from textual.content import Content
from textual.widget import Widget

from ..kit.render import site_time
from ..sections import SECTIONS, Section
from ..session import session_of

LEVELS = 6  # of shortening the section tabs (TopBar._tab)
# The shortest words that still say what a tab is, for many sections on a narrow terminal.
TINY_TITLES = {
    "Windows": "Win",
    "Outages": "Out",
    "Invoices": "Inv",
    "Activity": "Act",
    "Schedules": "Sch",
}


class TopBar(Widget):
    """Row 1: ``nodedesk › Windows › #3`` … ``Sun 2026-02-15 10:00 -05:00 · admin``.
    Row 2: the numbered sections, the current one highlighted."""

    DEFAULT_CSS = """
    TopBar {
        dock: top;
        height: 2;
        background: $panel;
        color: $foreground;
        link-style: none;
        link-color: $foreground;
        link-background: $panel;
        link-style-hover: bold;
    }
    """

    def __init__(self, section_id: str, crumbs: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.section_id = section_id
        self.crumbs = crumbs

    def on_mount(self) -> None:
        # Site time is read from the in-memory clock: no database work on the UI thread.
        self.set_interval(1.0, self.refresh)

    def set_crumbs(self, *crumbs: str) -> None:
        self.crumbs = crumbs
        self.refresh()

    def _status(self) -> Content:
        session = session_of(self)
        parts: list[tuple[str, str] | str] = [(site_time(session.now(), session.tz), "bold")]
        if session.clock_frozen:
            parts.append((" frozen", "$warning"))
        actor = session.actor
        who = f"{actor.real_user} as {actor.username}" if actor.impersonated else actor.username
        parts += ["  ", (who, "bold $accent")]
        if session.readonly:
            parts.append((" read-only", "$warning"))
        return Content.assemble(*parts)

    def _where(self) -> Content:
        title = next((s.title for s in SECTIONS if s.id == self.section_id), self.section_id)
        parts: list[tuple[str, str] | str] = [(" nodedesk", "bold"), " › ", (title, "bold")]
        for crumb in self.crumbs:
            parts += [" › ", one_line(crumb, max_len=40)]
        return Content.assemble(*parts)

    def _sections(self, width: int) -> Content:
        """The section tabs, shortened step by step until they fit the width."""
        for level in range(LEVELS):
            tabs = [self._tab(sec, level) for sec in SECTIONS]
            sep = "  " if level in (1, 2) else " "
            if sum(len(key + rest) + len(sep) for key, rest in tabs) + 1 <= width or level == LEVELS - 1:
                break
        parts: list[Content | str] = [" "]
        for sec, (key, rest) in zip(SECTIONS, tabs, strict=True):
            tab = Content.from_markup(
                f"[@click=app.section('{sec.id}')][bold underline]$key[/]$rest[/]", key=key, rest=rest
            )
            parts += [tab.stylize("reverse bold") if sec.id == self.section_id else tab, sep]
        return Content.assemble(*parts)

    def _tab(self, sec: Section, level: int) -> tuple[str, str]:
        """(the part in bold, the rest). Level 0: `` 3 Reservations ``; 1: ``3 Reservations``;
        2: ``3 Resv``; 3: ``5 Inv`` (three or four letters; up to here the current section shows
        its full title); 4: the key in bold against the word (``5Inv``), and a section whose key
        is its initial is its word alone, the initial in bold (``Nodes``): thirteen sections fit
        80 columns; 5: the keys alone."""
        title = sec.title
        if level == 0:
            return "", f" {sec.key} {title} "
        if level == 1 or (sec.id == self.section_id and level < 4):
            return "", f"{sec.key} {title}"
        if level == 2:
            return "", f"{sec.key} {sec.short_title}"
        tiny = TINY_TITLES.get(title, sec.short_title)
        if level == 3:
            return "", f"{sec.key} {tiny}"
        if level == 4:
            return sec.key, tiny[1:] if tiny[:1] == sec.key else tiny
        return "", sec.key


    def render(self) -> Content:
        width = self.size.width
        where, status = self._where(), self._status()
        gap = width - cell_len(where.plain) - cell_len(status.plain) - 1
        if gap < 2:  # narrow: keep the status (time and user), shorten the breadcrumb
            keep = max(width - cell_len(status.plain) - 3, 0)
            where = where.truncate(keep, ellipsis=True)
            gap = max(width - cell_len(where.plain) - cell_len(status.plain) - 1, 1)
        first = Content.assemble(where, " " * gap, status, " ")
        return Content("\n").join([first, self._sections(width)])
