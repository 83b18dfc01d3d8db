"""Activity section: the append-only, keyed, hash-chained log of every change (read only).

The time column is the service time (which a frozen clock may set); "Written" shows the real
time the entry was written only where the two differ (help/audit.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.audit import VerifyResult
from nodedesk.core.context import ServiceContext
from nodedesk.core.services.views import activity as svc
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ...kit import navigation, render
from ...kit.bindings import keys_of, live_bindings
from ...kit.list_screen import ListScreen, Part, clear_binding, reload_binding
from ...kit.query import ListQuery
from ...widgets.paged_table import Col
from . import activity_changes

DIALOG_WIDTH = 100  # .dialog.wide in tui/app.tcss
DIALOG_FRAME = 6  # its border and padding, and the scrollbar


class ActivityScreen(ListScreen):
    SECTION = "activity"
    HELP_TOPIC = "activity"
    LIST_TITLE = "Activity"
    NOUN = "activity entries"
    BODY_ID = "activity-body"
    TABLE_ID = "activity-table"
    FILTER_PLACEHOLDER = "filter: text in action, actor, target or reason"

    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("v", "verify", "Verify chain"),
        Binding("b", "backup", "Backup"),
        reload_binding(),
        clear_binding(),
    ]

    def columns(self) -> list[Col]:
        return [
            Col("seq", "#", 6),
            Col("time", "Time (site)", 16),
            Col("actor", "Actor", 10),
            Col("action", "Action", 19),
            Col("target", "Target", None, min_width=16),
            Col("reason", "Reason", None, min_width=10, essential=False),
            Col("written", "Written (real)", 16, essential=False),
        ]

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> svc.ActivityPage:
        q = svc.ActivityQuery(text=query.text, offset=query.offset, limit=query.limit)
        return svc.list_activity(ctx, q)

    def key(self, e: svc.ActivityView) -> str:
        return str(e.seq)

    def cells(self, e: svc.ActivityView) -> Sequence[Any]:
        tz = self.session.tz
        return [
            Text(str(e.seq), justify="right"),
            timeutil.format_short(e.occurred_at, tz),
            render.text(e.actor_label),
            render.text(e.action),
            render.text(e.target),
            render.text(e.reason),
            Text(
                timeutil.format_short(e.recorded_at, tz)
                if e.real_time_differs and e.recorded_at is not None
                else "",
                style="bold",
            ),
        ]

    def status_parts(self) -> list[Part]:
        parts: list[Part] = [("Activity ", "bold"), self.table.range_label(), "  ·  newest first"]
        if self.text:
            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        return parts

    def open(self, e: svc.ActivityView) -> None:
        self.app.push_screen(ActivityEntryScreen(e, self.session.tz))

    def action_backup(self) -> None:
        navigation.go(self.app, "backup.menu")

    def action_verify(self) -> None:
        self.notify("Verifying the activity log against the site's audit key…", markup=False, timeout=3)
        self.db(svc.verify, self._verified)

    def _verified(self, result: VerifyResult) -> None:
        notes = "".join(f" {n}." for n in result.notes)
        if result.ok:
            self.notify(
                f"Activity log intact ({result.checked} entries checked).{notes}",
                title="Verified",
                markup=False,
            )
        else:
            shown = "; ".join(result.problems[:3]) + (" …" if len(result.problems) > 3 else "")
            self.refused(
                f"Activity log broken from entry #{result.first_bad}: {shown}", "Verification failed"
            )


class ActivityEntryScreen(ModalScreen[None]):
    """One activity entry: what it changed, one line per field (activity_changes.py), or its
    raw before/after JSON (``J`` toggles); all shown as inert text."""

    CSS_PATH = "activity.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding(
            "J",
            "toggle_json",
            "Raw JSON",
            key_display="J",
            tooltip="Raw before/after JSON, or the changed fields",
        ),
    ]

    def __init__(self, entry: svc.ActivityView, tz: str) -> None:
        super().__init__()
        self.entry, self.tz = entry, tz
        self.raw = False  # showing the raw JSON instead of the changed fields

    def compose(self) -> ComposeResult:
        e = self.entry
        lines = [
            f"#{e.seq}  {e.action}",
            f"time    {timeutil.format_local(e.occurred_at, self.tz, seconds=True)}"
            + ("  (frozen clock)" if e.clock_frozen else ""),
        ]
        if e.recorded_at is not None:
            lines.append(
                f"written {timeutil.format_local(e.recorded_at, self.tz, seconds=True)}"
                + ("  (real time; differs from the time above)" if e.real_time_differs else "")
            )
        lines += [f"actor   {e.actor_label}", f"target  {e.target}"]
        if e.target_uuid:
            lines.append(f"uuid    {e.target_uuid}")
        if e.reason:
            lines.append(f"reason  {e.reason}")
        raw = [
            f"{name}:\n{json.dumps(value, indent=2, ensure_ascii=False)}"
            for name, value in (("before", e.before), ("after", e.after))
            if value not in (None, {}, [])
        ]
        with Vertical(classes="dialog wide"):
            with VerticalScroll():
                yield Static(render.content("\n".join(lines), multiline=True), id="entry-head")
                yield Static(id="entry-changes")
                yield Static(
                    render.content("\n\n".join(raw) or "No before or after values.", multiline=True),
                    id="entry-json",
                )
            yield Static(id="entry-hint")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self._show()

    def on_resize(self) -> None:
        self._show_changes()

    def _show_changes(self) -> None:
        """The changed fields, shortened to the dialog's width (the raw JSON has them whole)."""
        width = min(DIALOG_WIDTH, self.app.size.width) - DIALOG_FRAME
        found = activity_changes.groups(self.entry.before, self.entry.after, width)
        if not found:
            shown = Content.styled("No field changed.", "dim")
        else:
            shown = Content("\n").join(
                Content.assemble((g.heading, "bold"), "\n", Content("\n".join(g.lines))) for g in found
            )
        self.query_one("#entry-changes", Static).update(shown)

    def _show(self) -> None:
        self._show_changes()
        self.query_one("#entry-changes").display = not self.raw
        self.query_one("#entry-json").display = self.raw
        other = "what changed" if self.raw else "raw JSON"
        live = live_bindings(self)  # the keys as the user's [keys] may have remapped them
        toggle = (keys_of(live, "activity_entry.toggle_json") or ["J"])[0]
        close = (keys_of(live, "activity_entry.close") or ["escape"])[0]
        self.query_one("#entry-hint", Static).update(
            Content.styled(f"{toggle} {other} · {close} close", "dim")
        )

    def action_toggle_json(self) -> None:
        self.raw = not self.raw
        self._show()
        self.query_one(VerticalScroll).scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
