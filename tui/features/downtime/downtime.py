"""Downtime section: maintenance windows and outages in one paged list (help/downtime.md).

The rows, their order, the phases and the renters they affect come from
core/services/downtime/downtime_list.py; enter opens the row's own detail (a window's or an
outage's) through its route, so this feature never imports the windows or outages features.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.downtime import downtime_list as svc
from rich.text import Text
from textual.app import SystemCommand
from textual.content import Content

from ...kit import navigation, render
from ...kit import rental_render as rr
from ...kit.list_screen import (
    ListScreen,
    Part,
    clear_binding,
    cycle_bindings,
    filter_binding,
    reload_binding,
    sort_bindings,
)
from ...kit.query import Cycle, ListQuery, Sort
from ...widgets.paged_table import Col

SORTS = (Sort("start", "start", True, ("newest first", "oldest first")),)
KIND = Cycle(
    "kind",
    "t",
    (None, *svc.KINDS),
    "Kind",
    tooltip="Kind: all, maintenance windows, outages",
    show=True,
    labels={"window": "windows", "outage": "outages"},
)
PHASE = Cycle(
    "phase",
    "f",
    (None, *svc.PHASES),
    "Phase",
    tooltip="Phase: all, upcoming, now (in progress or open), past (completed or resolved)",
    show=True,
)
# What each phase takes in (core/services/downtime/downtime_list.py), for the palette
PHASE_MEANS = {
    None: "everything",
    "upcoming": "windows not started yet",
    "now": "windows in progress and open outages",
    "past": "completed windows and resolved outages",
}
ROUTE = {"window": "window.detail", "outage": "outage.detail"}
WIDE = 136  # from this width on, times show the full date (narrower: "Feb 15 08:00")


def kind_text(row: svc.DowntimeRow) -> Text:
    """``⚒ window`` / ``⚠ outage``: the glyph and the word, so no colour is needed."""
    return Text(f"{row.glyph} {row.kind}", no_wrap=True)


def status_text(row: svc.DowntimeRow) -> Text:
    """A window's status in the Windows list's words and colours, an outage's in the Outages
    list's; one space after the glyph for both, so the words line up."""
    if row.kind == "outage":
        return rr.outage_status(row.status)
    glyph = render.STATUS_GLYPH.get(row.status, "?")
    return Text.assemble(f"{glyph} ", render.status_text(row.status, glyph=False))


def etr_overdue(row: svc.DowntimeRow) -> bool:
    """An open outage whose ETR has passed (its effective end is then later than the ETR)."""
    return row.end is None and row.etr is not None and row.until != row.etr


class DowntimeScreen(ListScreen):
    SECTION = "downtime"
    HELP_TOPIC = "downtime"
    CSS_PATH = "downtime.tcss"
    REFRESH_SECONDS = 30.0  # phases follow the clock; other admins change things too
    LIST_TITLE = "Downtime"
    NOUN = "downtime"
    BODY_ID = "downtime-body"
    TABLE_ID = "downtime-table"
    FILTER_PLACEHOLDER = "filter: text in title or description"
    SORTS = SORTS
    CYCLES = (KIND, PHASE)
    PREVIEW = True

    BINDINGS = [
        filter_binding("Filter by text in the title or description"),
        *cycle_bindings([KIND, PHASE]),
        *sort_bindings("Sort by start (S: newest or oldest first)"),
        reload_binding("Reload (also every 30 s)"),
        clear_binding(),
    ]

    @property
    def compact(self) -> bool:
        return self.size.width < WIDE

    # ------------------------------------------------------------------ the list

    def columns(self) -> list[Col]:
        compact = self.compact
        when = self.time_width("start", "end", "etr", compact=compact)
        etrs = [row for row in self.items if row.end is None and row.etr is not None]
        etr_room = (6 if any(etr_overdue(row) for row in etrs) else 4) if etrs else 0  # "ETR ⚠ "
        return [
            Col("kind", "Kind", 8),
            Col("title", "Title", None, min_width=12),
            Col("start", "Start", when, sort_key="start"),
            Col("end", "End / ETR", when + etr_room),
            Col("status", "Status", 15),
            # from about 120 columns on every column shows (the preview has them in full)
            Col("nodes", "Nodes", 18, essential=False),
            Col("renters", "Renters", 20, essential=False),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.DowntimePage:
        return svc.list_downtime(
            ctx,
            svc.DowntimeQuery(
                kind=query.get("kind"),
                phase=query.get("phase"),
                text=query.text,
                descending=query.descending,
                offset=query.offset,
                limit=query.limit,
            ),
        )

    def status_parts(self) -> list[Part]:
        """As every list's, with the order alone (start is the only sort): fits 80 columns."""
        parts: list[Part] = [(f"{self.LIST_TITLE} ", "bold"), self.table.range_label()]
        for cycle in self.CYCLES:
            parts += [f"  ·  {cycle.name}: ", (cycle.label(self.filters[cycle.name]), "bold")]
        parts += ["  ·  ", (SORTS[0].arrow(self.descending), "bold")]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        return parts

    def key(self, row: svc.DowntimeRow) -> str:
        return f"{row.kind}:{row.id}"  # windows and outages number their ids apart

    def end_cell(self, row: svc.DowntimeRow) -> Text:
        tz, now, compact = self.session.tz, self.session.now(), self.compact
        if row.end is not None:
            return Text(render.when(row.end, tz, compact=compact, now=now), no_wrap=True)
        if row.etr is None:
            return Text("open", style="bold", no_wrap=True)
        etr = render.when(row.etr, tz, compact=compact, now=now)
        if etr_overdue(row):  # the glyph says so without colour
            return Text(f"ETR ⚠ {etr}", style="bold", no_wrap=True)
        return Text(f"ETR {etr}", no_wrap=True)

    def cells(self, row: svc.DowntimeRow) -> Sequence[Any]:
        tz, now, compact = self.session.tz, self.session.now(), self.compact
        return [
            kind_text(row),
            render.window_title(row.title, row.emergency),
            render.when(row.start, tz, compact=compact, now=now),
            self.end_cell(row),
            status_text(row),
            render.text(row.scope_label),
            render.text(row.renters_text()),
        ]

    def open(self, row: svc.DowntimeRow) -> None:
        navigation.go(self.app, ROUTE[row.kind], row.id, section=self.SECTION)

    def empty_text(self) -> str:
        return "No downtime matches." if self.filtered else "No maintenance windows or outages yet."

    def preview(self, row: svc.DowntimeRow | None) -> Content:
        if row is None:
            return Content(self.empty_text())
        tz = self.session.tz
        noun = "maintenance window" if row.kind == "window" else "outage"
        span = timeutil.format_duration(row.end - row.start) if row.end is not None else "open"
        first = Content.assemble(
            (f"{row.glyph} {noun} #{row.id} ", "bold"),
            (render.one_line(row.title, max_len=40), "bold"),
            f"  ·  {span}",
        )
        nodes = Content.assemble(("nodes ", "bold"), render.one_line(row.scope_label, max_len=200))
        if row.end is None and row.etr is not None:  # its ETR first, "(overdue)" once passed
            nodes = Content.assemble(row.end_text(tz), "  ·  ", nodes)
        if row.renters:
            count = f"{row.reservations} reservation{'s' if row.reservations != 1 else ''}"
            who = render.one_line(", ".join(row.renters), max_len=200)
            renters = Content.assemble(("renters ", "bold"), f"{who} ({count})")
        else:
            renters = Content.assemble(("renters ", "bold"), "none affected")
        if row.kind == "outage" and not row.credit:
            renters = renters + Content("  ·  not credited: billed as usual")
        return Content("\n").join([first, nodes, renters])

    # ------------------------------------------------------------------ palette

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Filter downtime", "Text in title or description (/)", self.action_filter)
        for kind in KIND.values:

            def show_kind(kind: str | None = kind) -> None:
                self.set_filter("kind", kind)

            shown = "windows and outages" if kind is None else f"{KIND.label(kind)} only"
            yield SystemCommand(f"Downtime: {shown}", "Kind filter (t cycles)", show_kind)
        for phase in PHASE.values:

            def show_phase(phase: str | None = phase) -> None:
                self.set_filter("phase", phase)

            shown = "every phase" if phase is None else phase
            yield SystemCommand(f"Downtime: {shown}", f"{PHASE_MEANS[phase]} (f cycles)", show_phase)
