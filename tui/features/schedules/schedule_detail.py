"""One recurring schedule: its rule and its upcoming occurrences (skip or move one)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError, NotFoundError, ValidationError
from nodedesk.core.services.downtime import schedules as svc
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from ...kit import render
from ...kit.base import NodedeskScreen
from ...kit.confirm import ConfirmScreen
from ..windows.window_actions import not_allowed

STATUS_WORDS = {"scheduled": "scheduled", "skipped": "✗ skipped", "moved": "→ moved"}


def _when(o: svc.OccurrenceView, tz: str) -> str:
    a, b = timeutil.to_local(o.start, tz), timeutil.to_local(o.end, tz)
    tail = b.format("HH:mm") if a.date() == b.date() else b.format("MM-DD HH:mm")
    return f"{a.format('ddd MM-DD HH:mm')}–{tail} {a.format('Z')}"


class ScheduleDetailScreen(NodedeskScreen):
    SECTION = "schedules"
    HELP_TOPIC = "schedules"
    HELP_TITLE = "schedule detail"
    DEFAULT_CSS = """
    #schedule-detail-body { height: 1fr; padding: 0 1; }
    #detail-fields { height: auto; margin-bottom: 1; }
    #occurrences { height: 1fr; }
    #detail-hint { height: auto; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("s", "skip", "Skip one", tooltip="Skip the highlighted occurrence"),
        Binding("m", "move", "Move one", tooltip="Move the highlighted occurrence"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self, schedule_id: int) -> None:
        super().__init__()
        self.schedule_id = schedule_id
        self.schedule: svc.ScheduleView | None = None
        self.occs: list[svc.OccurrenceView] = []

    def crumbs(self) -> tuple[str, ...]:
        return (f"#{self.schedule_id}",)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="schedule-detail-body"):
            yield Static(Content("Loading…"), id="detail-fields")
            yield DataTable(id="occurrences", cursor_type="row", zebra_stripes=False)
            yield Static(id="detail-hint")

    def on_mount(self) -> None:
        table = self.query_one("#occurrences", DataTable)
        table.add_columns("Date", "When", "Status", "Window")
        table.focus()
        self.reload()

    def reload(self) -> None:
        sid = self.schedule_id

        def load(ctx):  # type: ignore[no-untyped-def]
            return svc.get_schedule(ctx, sid), svc.occurrences(ctx, sid, count=12)

        self.db(load, self._show, on_error=self._failed, group="detail", exclusive=True)

    def _failed(self, exc: NodedeskError) -> None:
        if isinstance(exc, NotFoundError):
            self.explain(f"Schedule #{self.schedule_id} no longer exists.", "Gone")
            self.dismiss(None)
            return
        self.refused(exc, "Could not load the schedule")

    def _show(self, loaded: tuple[svc.ScheduleView, list[svc.OccurrenceView]]) -> None:
        s, occs = loaded
        self.schedule, self.occs = s, occs
        tz = self.session.tz
        rows = [
            Content.assemble((f"#{s.id}  ", "bold"), (render.one_line(s.title, max_len=60), "bold $accent")),
            Content.assemble(("Rule   ", "bold"), f"{s.rule_text} · {s.time_label} · {s.timezone}"),
            Content.assemble(
                ("Scope  ", "bold"),
                render.one_line(s.scope.label(), max_len=50),
                f" · from {s.first_date.isoformat()}",
                f" until {s.until_date.isoformat()}" if s.until_date else " · no end",
                f" · {s.materialised_ahead} window(s) made ahead",
            ),
        ]
        if s.description:
            rows.append(Content.assemble(("About  ", "bold"), render.one_line(s.description, max_len=200)))
        self.query_one("#detail-fields", Static).update(Content("\n").join(rows))
        table = self.query_one("#occurrences", DataTable)
        row = table.cursor_row
        keys = [r.key.value for r in table.ordered_rows]
        kept = keys[row] if 0 <= row < len(keys) else None  # the occurrence under the cursor
        table.clear()
        for o in occs:
            window = "-"
            if o.window_id is not None:
                window = f"#{o.window_id} {render.STATUS_WORD.get(o.window_status, o.window_status or '')}"
            status = STATUS_WORDS.get(o.status, o.status)
            table.add_row(
                o.local_date.isoformat(),
                _when(o, tz),
                Text(status),
                Text(window),
                key=o.local_date.isoformat(),
            )
        if occs:
            dates = [o.local_date.isoformat() for o in occs]
            table.move_cursor(row=dates.index(kept) if kept in dates else min(row, len(occs) - 1))
        hint = not_allowed(self.session, "manage_windows") or (
            "s skip · m move the highlighted occurrence · e edit (future occurrences only)"
            " · d delete · esc back"
        )
        self.query_one("#detail-hint", Static).update(Content.styled(hint, "dim"))
        self.refresh_bindings()

    def current(self) -> svc.OccurrenceView | None:
        table = self.query_one("#occurrences", DataTable)
        if not self.occs or table.cursor_row < 0 or table.cursor_row >= len(self.occs):
            return None
        return self.occs[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("skip", "move", "edit", "delete"):
            if self.schedule is None or not_allowed(self.session, "manage_windows"):
                return None
            if action in ("skip", "move"):
                o = self.current()
                if o is None or not o.changeable or (action == "skip" and o.status == "skipped"):
                    return None
        return True

    def action_back(self) -> None:
        self.dismiss(None)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Skip this occurrence", "The highlighted one; its window is deleted (s)", self.action_skip
        )
        yield SystemCommand(
            "Move this occurrence", "The highlighted one, to another time (m)", self.action_move
        )
        yield SystemCommand(
            "Edit this schedule", "Only future, not-yet-started occurrences change (e)", self.action_edit
        )
        yield SystemCommand(
            "Delete this schedule", "Upcoming windows go, past ones stay (d)", self.action_delete
        )

    def action_reload(self) -> None:
        self.reload()

    def _why_not(self, o: svc.OccurrenceView | None) -> str:
        refusal = not_allowed(self.session, "manage_windows")
        if refusal:
            return refusal
        if o is None:
            return "Choose an occurrence first."
        if not o.changeable:
            return "This occurrence has started (or is over): it can no longer be skipped or moved."
        return ""

    def action_skip(self) -> None:
        o = self.current()
        why = self._why_not(o) or ("Already skipped." if o and o.status == "skipped" else "")
        if why or o is None:
            self.explain(why)
            return
        sid, day = self.schedule_id, o.local_date
        gone = f" Its window #{o.window_id} is deleted." if o.window_id else ""

        def answer(yes: bool | None) -> None:
            if yes:
                self.db(
                    lambda ctx: svc.skip_occurrence(ctx, sid, day),
                    self._changed,
                    on_error=lambda exc: self.refused(exc),
                    write=True,
                    group="save",
                )

        self.app.push_screen(
            ConfirmScreen(f"Skip the {day.isoformat()} occurrence?{gone}", "Skip", "Keep"), answer
        )

    def action_move(self) -> None:
        o = self.current()
        why = self._why_not(o)
        if why or o is None:
            self.explain(why)
            return
        sid, day = self.schedule_id, o.local_date

        def chosen(times: tuple[datetime, datetime] | None) -> None:
            if times is None:
                return
            start, end = times
            self.db(
                lambda ctx: svc.move_occurrence(ctx, sid, day, start, end),
                self._changed,
                on_error=lambda exc: self.refused(exc),
                write=True,
                group="save",
            )

        self.app.push_screen(MoveOccurrenceScreen(o, self.session.tz), chosen)

    def _changed(self, result: svc.ExceptionResult) -> None:
        verb = "Skipped" if result.kind == "skip" else "Moved"
        self.notify(
            f"{verb} the {result.occurrence_date.isoformat()} occurrence.", title="Saved", markup=False
        )
        self.reload()

    def action_edit(self) -> None:
        if self.schedule is None:
            return
        from .schedule_form import ScheduleFormScreen

        self.app.push_screen(ScheduleFormScreen(self.schedule), lambda r: self.reload() if r else None)

    def action_delete(self) -> None:
        if self.schedule is None:
            return
        from .schedules import confirm_delete

        confirm_delete(self, self.schedule, lambda: self.dismiss(None))


class MoveOccurrenceScreen(ModalScreen[tuple[datetime, datetime] | None]):
    """Ask for an occurrence's new start and end (site time)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, occurrence: svc.OccurrenceView, tz: str) -> None:
        super().__init__()
        self.occ, self.tz = occurrence, tz

    def compose(self) -> ComposeResult:
        fmt = "YYYY-MM-DD HH:mm"
        with Vertical(classes="dialog"):
            yield Static(
                Content(f"Move the {self.occ.local_date.isoformat()} occurrence to (site time):"),
                classes="dialog-text",
            )
            with Horizontal(classes="field-line"):
                yield Label("New start ", classes="move-label")
                yield Input(
                    timeutil.to_local(self.occ.start, self.tz).format(fmt), id="move-start", compact=True
                )
            with Horizontal(classes="field-line"):
                yield Label("New end   ", classes="move-label")
                yield Input(timeutil.to_local(self.occ.end, self.tz).format(fmt), id="move-end", compact=True)
            yield Static(id="move-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Move", id="move", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#move-start", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._move()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "move":
            self._move()
        else:
            self.dismiss(None)

    def _move(self) -> None:
        try:
            start = timeutil.parse_instant(self.query_one("#move-start", Input).value, self.tz, "start")
            end = timeutil.parse_instant(self.query_one("#move-end", Input).value, self.tz, "end")
            if end <= start:
                raise ValidationError("must be after the start", field="end")
        except ValidationError as exc:
            self.query_one("#move-error", Static).update(Content(str(exc)))
            return
        self.dismiss((start, end))

    def action_cancel(self) -> None:
        self.dismiss(None)
