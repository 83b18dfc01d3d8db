"""Create/edit a recurring schedule, with a live preview of its next occurrences and whom they hit.

The preview is the core service's ``preview_draft`` run in a thread worker, debounced while the
admin types (a newer preview cancels an older one). A problem the service finds is shown next to
the field it names; saving runs every check again.
"""

from __future__ import annotations

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.recurrence import end_time_label
from nodedesk.core.services.downtime import schedules as svc
from nodedesk.core.services.downtime.windows import Scope
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from ...kit import render
from ...kit.edit_form import EditFormScreen
from ..windows.window_form import split_names

FIELDS = (
    "title",
    "rule",
    "start_time",
    "duration",
    "end_time",
    "from",
    "until",
    "node_types",
    "nodes",
    "desc",
)
# Service error fields → the form field that shows them.
FIELD_FOR_ERROR = {f: f for f in FIELDS} | {
    "node": "nodes",
    "node_type": "node_types",
    "scope": "nodes",
    "description": "desc",
}
PREVIEW_COUNT = 4
DEBOUNCE = 0.35


class ScheduleFormScreen(EditFormScreen):
    SECTION = "schedules"
    HELP_TOPIC = "schedules"
    HELP_TITLE = "schedule form"
    DEFAULT_CSS = """
    #schedule-preview { height: auto; margin-top: 1; padding: 0 1; background: $panel; }
    .sub-label { color: $text-muted; }
    """

    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "cancel", "Cancel")]

    def __init__(self, schedule: svc.ScheduleView | None = None) -> None:
        super().__init__()
        self.schedule = schedule
        self.saving = False
        self._debounce: Timer | None = None
        self.preview: svc.Preview | None = None
        self.initial: dict[str, str] = {}
        self.touched: set[str] = set()
        self.submitted = False

    def crumbs(self) -> tuple[str, ...]:
        return ("new",) if self.schedule is None else (f"#{self.schedule.id}", "edit")

    def _values(self) -> dict[str, str]:
        s = self.schedule
        if s is None:
            return dict.fromkeys(FIELDS, "") | {"start_time": "06:00", "duration": "12h"}
        return {
            "title": s.title,
            "rule": s.rule_text if not s.rule_text.startswith("RRULE ") else s.rrule,
            "start_time": s.start_time,
            "duration": "",
            "end_time": s.end_time if "+" not in s.end_time else "",
            "from": s.first_date.isoformat(),
            "until": s.until_date.isoformat() if s.until_date else "",
            "node_types": ", ".join(s.scope.node_types),
            "nodes": ", ".join(s.scope.nodes),
            "desc": s.description,
        } | ({"duration": f"{s.duration_minutes}m"} if "+" in s.end_time else {})

    def _input(self, field: str, placeholder: str, width: int | None = None) -> Input:
        box = Input(self.initial[field], id=field, placeholder=placeholder, compact=True)
        if width is not None:
            box.styles.width = width
        return box

    def _row(self, label: str, row_id: str, *parts: tuple[str, str, str, int | None]) -> Horizontal:
        """One line of the form: a label, then (sub-label, field, placeholder, width) parts, and
        under it the error line of its fields."""
        widgets: list[Widget] = []
        for sub, field, placeholder, width in parts:
            if sub:
                widgets.append(Label(f" {sub} ", classes="sub-label"))
            widgets.append(self._input(field, placeholder, width))
        return Horizontal(
            Label(label, classes="field-label"),
            Vertical(
                Horizontal(*widgets, classes="field-line"),
                *[Static(id=f"{p[1]}-error", classes="field-error") for p in parts],
                classes="field-body",
            ),
            classes="field-row",
            id=f"{row_id}-row",
        )

    def compose_body(self) -> ComposeResult:
        self.initial = self._values()
        heading = (
            "New recurring schedule"
            if self.schedule is None
            else f"Edit schedule #{self.schedule.id} · only future, not-yet-started occurrences change"
        )
        with VerticalScroll(id="form-body"):
            yield Static(Content.styled(heading, "bold"), id="form-heading")
            yield Static(id="form-error")
            yield self._row("Title", "sched-title", ("", "title", "e.g. Patch Tuesday", None))
            yield self._row(
                "Rule", "rule", ("", "rule", "3rd Tuesday of every month · last Friday · every Monday", None)
            )
            yield self._row(
                "Time",
                "time",
                ("", "start_time", "06:00", 7),
                ("for", "duration", "12h", 8),
                ("or until", "end_time", "HH:MM", 7),
            )
            yield self._row(
                "Dates",
                "dates",
                ("from", "from", "today", 12),
                ("until", "until", "no end", 12),
            )
            yield self._row(
                "Scope",
                "scope",
                ("types", "node_types", "all", None),
                ("nodes", "nodes", "all", None),
            )
            yield self._row("Description", "sched-desc", ("", "desc", "optional", None))
            yield Static(id="schedule-preview")
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for field in FIELDS:
            self._set_error(field, "")
        self._set_form_error("")
        self.query_one("#title", Input).focus()
        self.refresh_preview()

    # ------------------------------------------------------------------ values

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def draft(self, *, for_save: bool = False) -> svc.ScheduleDraft:
        """The typed values as a draft (dates parsed here: they are the front end's input).
        The preview does not need a title yet; a save does."""

        def day(field: str):  # type: ignore[no-untyped-def]
            text = self.value(field).strip()
            return timeutil.parse_date(text, field) if text else None

        return svc.ScheduleDraft(
            title=self.value("title") if for_save else (self.value("title").strip() or "preview"),
            rule=self.value("rule"),
            start_time=self.value("start_time"),
            duration=self.value("duration"),
            end_time=self.value("end_time"),
            description=self.value("desc"),
            first_date=day("from"),
            until_date=day("until"),
            scope=Scope(split_names(self.value("nodes")), split_names(self.value("node_types"))),
        )

    def _set_error(self, field: str, message: str) -> None:
        box = self.query_one(f"#{field}-error", Static)
        box.update(Content(message))
        box.display = bool(message)
        self.query_one(f"#{field}", Input).set_class(bool(message), "-invalid")

    def _set_form_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(Content(message))
        box.display = bool(message)

    # ------------------------------------------------------------------ live preview

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, self.refresh_preview)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    def refresh_preview(self) -> None:
        try:
            draft = self.draft()
        except NodedeskError as exc:
            self._preview_failed(exc)
            return
        self.db(
            lambda ctx: svc.preview_draft(ctx, draft, count=PREVIEW_COUNT),
            self._show_preview,
            on_error=self._preview_failed,
            group="preview",
            exclusive=True,
        )

    def _preview_failed(self, exc: NodedeskError) -> None:
        self.preview = None
        for field in FIELDS:
            self._set_error(field, "")
        field = FIELD_FOR_ERROR.get(exc.field or "")
        if field is not None:
            self._set_error(field, exc.message)
        self.query_one("#schedule-preview", Static).update(Content.styled(f"No preview: {exc}", "$warning"))

    def _show_preview(self, preview: svc.Preview) -> None:
        self.preview = preview
        for field in FIELDS:
            self._set_error(field, "")
        tz = self.session.tz
        end = end_time_label(preview.start_time, preview.duration_minutes)
        lines = [
            Content.assemble(
                ("Next: ", "bold"),
                (preview.rule_text, "bold"),
                f" {preview.start_time}–{end} · {render.one_line(preview.scope.label(), max_len=30)}",
            )
        ]
        if not preview.occurrences:
            lines.append(Content.styled("no upcoming occurrence", "dim"))
        for o in preview.occurrences:
            a, b = timeutil.to_local(o.start, tz), timeutil.to_local(o.end, tz)
            tail = b.format("HH:mm") if a.date() == b.date() else b.format("MM-DD HH:mm")
            when = f"{a.format('ddd MM-DD HH:mm')}–{tail} {a.format('Z')}"
            imp = o.impact
            if imp is None or not imp.lines:
                effect: Content = Content.styled("no reservation hit", "dim")
            else:
                effect = Content.styled(
                    f"{len(imp.lines)} resv · {imp.hours:.2f} h · "
                    f"{imp.not_billed:.2f} {imp.currency} not billed",
                    "$warning",
                )
            lines.append(Content.assemble(f"{when}  ", effect))
            notes = []
            if imp is not None and imp.lines:
                notes.append("hits " + ", ".join(dict.fromkeys(line.project for line in imp.lines)))
            if o.dst_note:
                notes.append(o.dst_note)
            warnings = imp.warning_texts(tz) if imp is not None else []
            if warnings:
                more = f" (+{len(warnings) - 1} more)" if len(warnings) > 1 else ""
                notes.append(f"⚠ {warnings[0]}{more}")
            for note in notes:
                lines.append(Content.styled("  " + render.one_line(note, max_len=70), "dim"))
        self.query_one("#schedule-preview", Static).update(Content("\n").join(lines))

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial.get(f, "") for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        self.submitted = True
        try:
            draft = self.draft(for_save=True)
        except NodedeskError as exc:
            self._refused(exc)
            return
        self.query_one("#save", Button).disabled = True
        s = self.schedule
        if s is None:
            work = lambda ctx: svc.create_schedule(ctx, draft)  # noqa: E731
        else:
            sid, version = s.id, s.version
            work = lambda ctx: svc.edit_schedule(ctx, sid, draft, expected_version=version)  # noqa: E731
        self.db(work, self._saved, on_error=self._refused, write=True, group="save")

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        field = FIELD_FOR_ERROR.get(exc.field or "")
        if field is not None:
            self._set_error(field, exc.message)
            self.show_field(field)
        self._set_form_error("Not saved: " + str(exc))

    def _saved(self, result: svc.ScheduleResult) -> None:
        self.saving = False
        s = result.schedule
        verb = "Created" if self.schedule is None else "Updated"
        extra = (
            f"{len(result.created_windows)} window(s) created"
            + (f", {len(result.updated_windows)} changed" if result.updated_windows else "")
            + (f", {len(result.deleted_windows)} deleted" if result.deleted_windows else "")
        )
        self.notify(
            f"{verb} schedule #{s.id} {render.one_line(s.title, max_len=40)!r}: {s.rule_text}; {extra}.",
            title="Saved",
            markup=False,
            timeout=8,
        )
        self.dismiss(result)
