"""Open, update or resolve an outage, with inline validation.

Modes: ``create`` (open a new outage, which started now or earlier);
``update`` (status, ETR, description and the other fields; moving a resolved outage back to an
earlier status reopens it and clears its end); ``resolve`` (the end is required: after the
start, not in the future).

The End field is shown exactly when the chosen status is ``resolved``. Every change of the ETR
is kept in the activity log and shows in the outage's ETR history. The fields are judged as you
type by the service's own check (``outages.check_outage``); it checks again on save.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.services.downtime import outages as svc
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from ...kit import render
from ...kit import rental_render as rr
from ...kit.edit_form import Check, EditFormScreen, problem_field
from ...kit.form_parts import NameListSuggester, split_names
from ...widgets.tickbox import TickBox
from .outages import load_node_names

MODES = ("create", "update", "resolve")
TIME_FORMAT = "YYYY-MM-DD HH:mm"
FIELDS = ("title", "nodes", "start", "status", "etr", "end", "description")
FIELD_FOR_ERROR = {f: f for f in FIELDS} | {"node": "nodes"}


class OutageFormScreen(EditFormScreen):
    SECTION = "outages"
    HELP_TOPIC = "outages"
    HELP_TITLE = "outage form"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self, mode: str, outage: svc.OutageView | None = None, *, nodes: tuple[str, ...] = ()
    ) -> None:
        """``nodes`` prefills a new outage's nodes (a node's detail opens one on it)."""
        super().__init__()
        if mode not in MODES or (mode != "create" and outage is None):
            raise ValueError(f"bad form mode {mode!r}")
        self.mode = mode
        self.outage = outage
        self.prefill_nodes = nodes
        self.touched: set[str] = set()
        self.saving = False
        self.node_names: list[str] = []
        self.node_suggester = NameListSuggester()

    def crumbs(self) -> tuple[str, ...]:
        if self.outage is None:
            return ("open",)
        return (f"#{self.outage.id}", self.mode)

    # ------------------------------------------------------------------ layout

    def _now_text(self) -> str:
        return timeutil.to_local(self.session.now(), self.session.tz).format(TIME_FORMAT)

    def _initial(self) -> dict[str, Any]:
        tz = self.session.tz
        o = self.outage
        if o is None:
            return {
                "title": "",
                "nodes": ", ".join(self.prefill_nodes),
                "start": self._now_text(),
                "status": "reported",
                "etr": "",
                "end": "",
                "credit": True,
                "description": "",
            }
        end = timeutil.to_local(o.end, tz).format(TIME_FORMAT) if o.end else ""
        if self.mode == "resolve" and not end:
            end = self._now_text()
        return {
            "title": o.title,
            "nodes": ", ".join(o.nodes),
            "start": timeutil.to_local(o.start, tz).format(TIME_FORMAT),
            "status": "resolved" if self.mode == "resolve" else o.status,
            "etr": timeutil.to_local(o.etr, tz).format(TIME_FORMAT) if o.etr else "",
            "end": end,
            "credit": o.credit,
            "description": o.description,
        }

    def _heading(self) -> Content:
        o = self.outage
        if o is None:
            return Content.assemble(
                ("Open an outage", "bold"), (" · unplanned downtime that has begun", "dim")
            )
        verb = "Resolve" if self.mode == "resolve" else "Update"
        return Content.assemble(
            (f"{verb} outage #{o.id} · ", "bold"),
            (render.one_line(o.title, max_len=50), "bold"),
            "  ",
            rr.as_content(rr.outage_status(o.status)),
        )

    def _row(self, label: str, field: str, *widgets: Widget, hint: bool = False) -> Horizontal:
        extra: list[Widget] = [Static(id=f"{field}-hint", classes="hint")] if hint else []
        return Horizontal(
            Label(label, classes="field-label"),
            Vertical(
                Horizontal(*widgets, *extra, classes="field-line"),
                Static(id=f"{field}-error", classes="field-error"),
                classes="field-body",
            ),
            classes="field-row",
            id=f"{field}-row",
        )

    def _status_options(self) -> list[tuple[Content, str]]:
        allowed: tuple[str, ...]
        if self.outage is None:
            allowed = svc.STATUSES
        else:
            current = self.outage.status
            allowed = tuple(s for s in svc.STATUSES if s == current or s in svc.allowed_transitions(current))
        return [(rr.as_content(rr.outage_status(s)), s) for s in allowed]

    def compose_body(self) -> ComposeResult:
        v = self._initial()
        with VerticalScroll(id="form-body", classes="outage-form"):
            yield Static(self._heading(), id="form-heading")
            yield Static(id="form-error")
            yield self._row("Title", "title", Input(v["title"], id="title", compact=True))
            yield self._row(
                "Nodes",
                "nodes",
                Input(
                    v["nodes"],
                    id="nodes",
                    placeholder="affected nodes, e.g. node2433, node2434",
                    suggester=self.node_suggester,
                    compact=True,
                ),
            )
            yield self._row(
                "Start",
                "start",
                Input(v["start"], id="start", placeholder="YYYY-MM-DD HH:MM", compact=True, classes="time"),
                hint=True,
            )
            yield self._row(
                "Status",
                "status",
                Select(
                    self._status_options(), value=v["status"], allow_blank=False, id="status", compact=True
                ),
                hint=True,
            )
            yield self._row(
                "ETR",
                "etr",
                Input(v["etr"], id="etr", placeholder="empty: none", compact=True, classes="time"),
                hint=True,
            )
            yield self._row(
                "End",
                "end",
                Input(v["end"], id="end", placeholder="YYYY-MM-DD HH:MM", compact=True, classes="time"),
                hint=True,
            )
            yield self._row(
                "Credit",
                "credit",
                TickBox(
                    "credited: renters are not billed for this downtime",
                    v["credit"],
                    id="credit",
                    compact=True,
                ),
            )
            yield self._row(
                "Description", "description", TextArea(v["description"], id="description", compact=True)
            )
            with Horizontal(id="form-buttons"):
                label = "Resolve (ctrl+s)" if self.mode == "resolve" else "Save (ctrl+s)"
                yield Button(label, id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.initial = self._initial()
        for field in (*FIELDS, "credit"):
            self._set_error(field, "")
        self._set_form_error("")
        if self.mode == "resolve":
            for field in ("title", "nodes", "start", "status", "etr", "credit"):
                self.query_one(f"#{field}").disabled = True
            self.query_one("#end", Input).focus()
        elif self.mode == "update":
            self.query_one("#status", Select).focus()
        else:
            self.query_one("#title", Input).focus()
        self.db(load_node_names, self._names_loaded, on_error=lambda exc: None)
        self.refresh_check()

    def _names_loaded(self, names: list[str]) -> None:
        self.node_names = names
        self.node_suggester.names = names
        self.refresh_check()

    # ------------------------------------------------------------------ values and validation

    def value(self, field: str) -> Any:
        if field == "description":
            return self.query_one("#description", TextArea).text
        if field == "status":
            return self.query_one("#status", Select).value
        if field == "credit":
            return self.query_one("#credit", TickBox).value
        return self.query_one(f"#{field}", Input).value

    def _set_error(self, field: str, message: str) -> None:
        box = self.query_one(f"#{field}-error", Static)
        box.update(Content(message))
        box.display = bool(message)
        self.query_one(f"#{field}-row").set_class(bool(message), "has-error")

    def _set_form_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(Content(message))
        box.display = bool(message)

    def _set_hint(self, field: str, message: str) -> None:
        self.query_one(f"#{field}-hint", Static).update(Content(message))

    def _time(self, field: str) -> datetime | None:
        raw = self.value(field).strip()
        if not raw or (field == "etr" and raw.lower() == "none"):
            return None
        return timeutil.parse_instant(raw, self.session.tz, field=field)

    def _parsed(self) -> tuple[list[FieldProblem], dict[str, datetime | None]]:
        """The start, estimate and end as typed, read by core's parser (hints show them)."""
        tz, now = self.session.tz, self.session.now()
        problems: list[FieldProblem] = []
        times: dict[str, datetime | None] = {}
        for field in ("start", "etr", "end"):
            self._set_hint(field, "")
            try:
                times[field] = (
                    timeutil.parse_instant(self.value("start"), tz, field="start")
                    if field == "start"
                    else self._time(field)
                )
            except ValidationError as exc:
                problems.append(FieldProblem.of(exc))
                times[field] = None
        start, etr, end = times["start"], times["etr"], times["end"]
        if start is not None:
            self._set_hint("start", rr.day_time(start, tz))
        if etr is not None:
            left = etr - now
            when = f"in {timeutil.format_duration(left)}" if left.total_seconds() > 0 else "already passed"
            self._set_hint("etr", f"{rr.day_time(etr, tz)} · {when}")
        elif not self.value("etr").strip():
            self._set_hint("etr", "no estimate")
        if end is not None:
            lasted = f" · lasted {timeutil.format_duration(end - start)}" if start and end > start else ""
            self._set_hint("end", rr.day_time(end, tz) + lasted)
        return problems, times

    def draft_check(self, *, final: bool) -> tuple[list[FieldProblem], Check | None]:
        status = self.value("status")
        self.query_one("#end-row").display = status == "resolved"
        self._set_hint("status", self._status_hint(status))
        problems, times = self._parsed()
        if any(p.field in ("start", "etr", "end") for p in problems):
            return problems, None
        if self.mode == "create":
            start = times["start"]
            assert start is not None
            draft = svc.OutageDraft(
                title=self.value("title"),
                nodes=self._typed_nodes(final=final),
                start=start,
                end=times["end"] if status == "resolved" else None,
                etr=times["etr"],
                status=status,
                credit=self.value("credit"),
                description=self.value("description"),
            )
            return problems, lambda ctx: svc.check_outage(ctx, draft)
        o = self.outage
        assert o is not None
        changes = self._changes(final=final)
        return problems, lambda ctx: svc.check_outage(
            ctx, changes, outage_id=o.id, expected_version=o.version
        )

    def _typed_nodes(self, *, final: bool) -> tuple[str, ...]:
        """The nodes as typed; while not ``final`` a name still being typed waits."""
        box = self.query_one("#nodes", Input)
        nodes = split_names(box.value)
        if not final and box.has_focus and len(nodes) > 1 and not box.value.rstrip().endswith(","):
            return nodes[:-1]
        return nodes

    def show_problems(self, problems: list[FieldProblem], *, final: bool) -> None:
        """Mark each field the service named with its message; the rest go on the form line."""
        marks = dict.fromkeys(FIELDS, "")
        loose: list[str] = []
        for problem in problems:
            field = problem_field(problem, FIELD_FOR_ERROR)
            if field is None or not self.query_one(f"#{field}-row").display:
                if problem.field != "changes" or final:
                    loose.append(str(problem.error))
            elif not marks[field]:
                marks[field] = problem.message
        shown = [f for f in FIELDS if marks[f] and (final or f in self.touched)]
        for field in FIELDS:
            self._set_error(field, marks[field] if field in shown else "")
        if not final:
            return
        self.query_one("#save", Button).disabled = False
        if shown:
            self._set_form_error(f"Not saved: fix the marked field{'s' if len(shown) > 1 else ''}.")
            self.show_field(shown[0])
        elif loose:
            self._set_form_error("Not saved: " + render.one_line(loose[0]))

    def _status_hint(self, status: str) -> str:
        o = self.outage
        if o is not None and o.status == "resolved" and status != "resolved":
            return "reopens the outage (its end is cleared)"
        if status == "resolved":
            return "needs the end"
        return "still open: downtime up to now"

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.refresh_check()

    @on(Select.Changed)
    def _status_changed(self) -> None:
        self.touched.add("status")
        end = self.query_one("#end", Input)
        if self.value("status") == "resolved" and not end.value.strip():
            end.value = self._now_text()  # resolving now is the usual case; edit it if not
        self.refresh_check()

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        self.touched.add("description")
        self.refresh_check()

    @on(Input.Blurred)
    def _left_field(self) -> None:
        self.refresh_check()

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial.get(f) for f in (*FIELDS, "credit"))

    def _changes(self, *, final: bool = True) -> svc.OutageChanges:
        o = self.outage
        assert o is not None
        status = self.value("status")
        nodes = self._typed_nodes(final=final)
        title, desc = self.value("title").strip(), self.value("description").strip()
        start, etr = self._time("start"), self._time("etr")
        end = self._time("end") if status == "resolved" else None
        unset = svc.UNSET
        return svc.OutageChanges(
            title=title if title != o.title else unset,
            description=desc if desc != o.description else unset,
            nodes=nodes if set(nodes) != set(o.nodes) else unset,
            start=start if start != o.start else unset,
            end=end if status == "resolved" and end != o.end else unset,
            etr=etr if etr != o.etr else unset,
            status=status if status != o.status else unset,
            credit=self.value("credit") if self.value("credit") != o.credit else unset,
        )

    def _work(self) -> Callable[[ServiceContext], svc.OutageResult | None] | None:
        """The service call for this mode, or None when an update changes nothing (the times
        are read already: the check stops at an unreadable one)."""
        try:
            start = timeutil.parse_instant(self.value("start"), self.session.tz, field="start")
            etr = self._time("etr")
            end = self._time("end") if self.value("status") == "resolved" else None
        except ValidationError:
            return lambda ctx: None  # never runs
        if self.mode == "create":
            draft = svc.OutageDraft(
                title=self.value("title"),
                nodes=split_names(self.value("nodes")),
                start=start,
                end=end,
                etr=etr,
                status=self.value("status"),
                credit=self.value("credit"),
                description=self.value("description"),
            )
            return lambda ctx: svc.create_outage(ctx, draft)
        o = self.outage
        assert o is not None
        changes = self._changes()
        if not changes.given():
            return None
        return lambda ctx: svc.update_outage(ctx, o.id, changes, expected_version=o.version)

    def action_save(self) -> None:
        if self.saving:
            return
        work = self._work()
        if work is None:
            self._set_form_error("Nothing changed: there is nothing to save.")
            return
        self._set_form_error("")
        self.query_one("#save", Button).disabled = True
        self.checked_save(work, self._saved, self._refused)

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        field = FIELD_FOR_ERROR.get(exc.field or "")
        if field is not None and self.query_one(f"#{field}-row").display:
            self._set_error(field, exc.message)
            self._set_form_error("Not saved: see the marked field.")
            widget = self.query_one(f"#{field}")
            if not widget.disabled:
                widget.focus()
        else:
            self._set_form_error("Not saved: " + str(exc))

    def _saved(self, result: svc.OutageResult) -> None:
        self.saving = False
        o = result.outage
        before = self.outage
        if before is None:
            verb = "Opened"
        elif o.status == "resolved" and before.status != "resolved":
            verb = "Resolved"
        elif before.status == "resolved" and o.status != "resolved":
            verb = "Reopened"
        else:
            verb = "Updated"
        lines = [f"{verb} outage #{o.id} {render.one_line(o.title, max_len=40)!r} ({o.status})."]
        if before is not None and before.etr != o.etr:
            lines.append("ETR revised; the change is kept in the outage's ETR history.")
        if result.drifted_months:
            lines.append("Finalized invoices now drifted: " + ", ".join(result.drifted_months))
        self.notify("\n".join(lines), title="Saved", markup=False, timeout=8)
        self.dismiss(result)
