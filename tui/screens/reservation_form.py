"""The request/record form for reservations, with live validation.

As you type, the start and end instants and the billable hours are computed by the pure policy
functions of ``core.services.reservation_policy`` (no database): "ends Wed 25 Feb 2026 09:00 ·
41.00 h". The lead-time and horizon rules are judged the same way. Whether the node is free
then, and which downtime overlaps, needs the database: that check runs in a worker shortly after
you stop typing (``reservations.check_draft``) and names any clashing reservation.

Rental managers *record* reservations (for anyone, optionally approved at once and waiving the
booking policy); other users *request* them (pending, policy enforced). On save the service
checks everything again under the node's lock; a refusal is shown next to the field it names
and the form keeps what you typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from nodedesk.core import timeutil, validate
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.services import reservations as svc
from nodedesk.core.services.reservation_policy import (
    PolicyViolation,
    ReservationPolicy,
    Span,
    booking_violations,
    check_blocks,
    reservation_span,
)
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Static

from .. import render
from .. import rental_render as rr
from ..widgets.tickbox import TickBox
from .edit_form import EditFormScreen
from .reservations import Names, load_names
from .window_actions import not_allowed
from .window_form import NameListSuggester

FIELDS = ("node", "project", "start_date", "blocks", "requested_for", "notes")
FIELD_FOR_ERROR = {f: f for f in FIELDS} | {"by": "requested_for", "start": "start_date"}
CHECK_DELAY = 0.3  # seconds of quiet typing before the database check runs


@dataclass(frozen=True)
class Draft:
    """The parsed parts of the form that the live database check needs."""

    node: str
    start_date: date
    blocks: int


def _lookup(value: str, names: list[str]) -> str | None:
    """The known name matching ``value`` (exactly, else ignoring case)."""
    if value in names:
        return value
    lowered = [n for n in names if n.lower() == value.lower()]
    return lowered[0] if len(lowered) == 1 else None


class ReservationFormScreen(EditFormScreen):
    DISCARD_QUESTION = "Discard this reservation?"
    SECTION = "reservations"
    HELP_TOPIC = "reservations"
    HELP_TITLE = "reservation form"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, *, node: str = "", project: str = "") -> None:
        super().__init__()
        self.prefill = {"node": node, "project": project}
        self.touched: set[str] = set()
        self.saving = False
        self.names = Names([], [], [], [], [])
        self.node_suggester = NameListSuggester()
        self.project_suggester = NameListSuggester()
        self.user_suggester = NameListSuggester()
        self.span: Span | None = None
        self.draft: Draft | None = None
        self.checked: svc.DraftCheck | None = None  # the last database check, for ``self.draft``
        self.check_problem = ""
        self.violations: list[PolicyViolation] = []  # waivable booking rules the start date breaks
        self._check_timer: Timer | None = None

    @property
    def manager(self) -> bool:
        """Rental managers record; everyone else requests."""
        return not not_allowed(self.session, "manage_reservations")

    @property
    def policy(self) -> ReservationPolicy:
        return ReservationPolicy.from_site(self.session.site)

    def crumbs(self) -> tuple[str, ...]:
        return ("record" if self.manager else "request",)

    # ------------------------------------------------------------------ layout

    def _initial(self) -> dict[str, str]:
        today = timeutil.local_day(self.session.now(), self.session.tz)
        return {
            "node": self.prefill["node"],
            "project": self.prefill["project"],
            "start_date": (today + timedelta(days=self.policy.lead_days)).isoformat(),
            "blocks": "2",
            "requested_for": self.session.actor.username,
            "notes": "",
        }

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

    def _heading(self) -> Content:
        p = self.policy
        if self.manager:
            text = "Record a reservation"
            more = " · rental manager: for anyone; may approve, waive policy"
        else:
            text = "Request a reservation"
            more = f" · pending until approved · {p.lead_days}+ days ahead"
        return Content.assemble((text, "bold"), (more, "dim"))

    def compose_body(self) -> ComposeResult:
        v = self._initial()
        p = self.policy
        with VerticalScroll(id="form-body", classes="reservation-form"):
            yield Static(self._heading(), id="form-heading")
            yield Static(id="form-error")
            yield self._row(
                "Node",
                "node",
                Input(
                    v["node"],
                    id="node",
                    placeholder="a rentable node, e.g. node2431",
                    suggester=self.node_suggester,
                    compact=True,
                ),
            )
            yield self._row(
                "Project",
                "project",
                Input(
                    v["project"],
                    id="project",
                    placeholder="an active project",
                    suggester=self.project_suggester,
                    compact=True,
                ),
            )
            yield self._row(
                "Start date",
                "start_date",
                Input(
                    v["start_date"], id="start_date", placeholder="YYYY-MM-DD", compact=True, classes="date"
                ),
                hint=True,
            )
            yield self._row(
                "Blocks",
                "blocks",
                Input(
                    v["blocks"],
                    id="blocks",
                    placeholder=f"1–{p.max_blocks}",
                    compact=True,
                    classes="blocks",
                    restrict=r"[0-9]*",
                    max_length=3,
                ),
                hint=True,
            )
            yield self._row(
                "For",
                "requested_for",
                Input(
                    v["requested_for"],
                    id="requested_for",
                    placeholder="username",
                    suggester=self.user_suggester,
                    compact=True,
                    classes="name",
                ),
                hint=True,
            )
            yield self._row("Notes", "notes", Input(v["notes"], id="notes", max_length=2000, compact=True))
            yield self._row(
                "Options",
                "options",
                TickBox("Approve at once", id="approve", compact=True),
                TickBox("Waive booking policy", id="waive", compact=True),
            )
            yield Static(id="check")
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.initial = self._initial()
        if not self.manager:
            self.query_one("#requested_for-row").display = False  # requests are for yourself
            self.query_one("#options-row").display = False
        else:
            self._set_hint("requested_for", "who will use the node (default: you)")
        for field in (*FIELDS, "options"):
            self._set_error(field, "")
        self._set_form_error("")
        first = "project" if self.prefill["node"] and not self.prefill["project"] else "node"
        if self.prefill["node"] and self.prefill["project"]:
            first = "start_date"
        self.query_one(f"#{first}", Input).focus()
        self.db(load_names, self._names_loaded, on_error=lambda exc: None, group="names")
        self.validate_all(show_untouched=False)

    def _names_loaded(self, names: Names) -> None:
        self.names = names
        self.node_suggester.names = names.rentable
        self.project_suggester.names = names.active_projects
        self.user_suggester.names = names.users
        self.validate_all(show_untouched=False)

    # ------------------------------------------------------------------ values and validation

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def flag(self, field: str) -> bool:
        return self.manager and self.query_one(f"#{field}", Checkbox).value

    def _set_error(self, field: str, message: str) -> None:
        box = self.query_one(f"#{field}-error", Static)
        box.update(Content(message))
        box.display = bool(message)
        self.query_one(f"#{field}-row").set_class(bool(message), "has-error")

    def _set_form_error(self, message: str) -> None:
        box = self.query_one("#form-error", Static)
        box.update(Content(message))
        box.display = bool(message)

    def _set_hint(self, field: str, message: str | Content) -> None:
        self.query_one(f"#{field}-hint", Static).update(
            message if isinstance(message, Content) else Content(message)
        )

    def check(self) -> dict[str, str]:
        """Every field's problem right now ('' when fine); computes the span and hours."""
        errors = dict.fromkeys(FIELDS, "")
        tz, p = self.session.tz, self.policy
        names = self.names

        node = self.value("node").strip()
        if not node:
            errors["node"] = "is required"
        elif names.nodes:
            known = _lookup(node, names.nodes)
            if known is None:
                errors["node"] = f"no node named {node!r}"
            elif known not in names.rentable:
                errors["node"] = f"{known} is not rentable (only rentable nodes can be reserved)"
            else:
                node = known

        project = self.value("project").strip()
        if not project:
            errors["project"] = "is required (a project title)"
        elif names.projects:
            known = _lookup(project, names.projects)
            if known is None:
                errors["project"] = f"no project titled {project!r}"
            elif known not in names.active_projects:
                errors["project"] = (
                    f"project {known!r} is archived; only active projects can hold reservations"
                )

        start_date: date | None = None
        try:
            if not self.value("start_date").strip():
                raise ValidationError("is required (YYYY-MM-DD)", field="start_date")
            start_date = timeutil.parse_date(self.value("start_date"), "start_date")
        except ValidationError as exc:
            errors["start_date"] = exc.message
        blocks: int | None = None
        raw_blocks = self.value("blocks").strip()
        try:
            if not raw_blocks:
                raise ValidationError("is required (a whole number of 12-hour blocks)", field="blocks")
            blocks = check_blocks(p, int(raw_blocks))
        except ValidationError as exc:
            errors["blocks"] = exc.message

        self.span = None
        self._set_hint("start_date", "")
        self._set_hint("blocks", "")
        if start_date is not None:
            self._set_hint("start_date", f"starts {start_date:%a} {p.start_time:%H:%M}")
        if start_date is not None and blocks is not None:
            try:
                self.span = reservation_span(p, start_date, blocks)
            except ValidationError as exc:
                errors[FIELD_FOR_ERROR.get(exc.field or "", "blocks")] = exc.message
        if self.span is not None:
            capped = f" (cut back to {p.end_cap_time:%H:%M})" if self.span.capped else ""
            self._set_hint(
                "blocks",
                Content.assemble(
                    f"ends {rr.day_time(self.span.end, tz)}{capped} · ",
                    (rr.hours(self.span.hours), "bold"),
                ),
            )
        self.violations = []
        if start_date is not None and not errors["start_date"]:
            today = timeutil.local_day(self.session.now(), tz)
            violations = self.violations = booking_violations(p, start_date, today)
            if violations and not self.flag("waive"):
                hint = " — tick 'Waive booking policy' to record it anyway" if self.manager else ""
                errors["start_date"] = violations[0].message + hint

        if self.manager:
            who = self.value("requested_for").strip()
            if who and names.users and who not in names.users:
                errors["requested_for"] = f"no active user named {who!r}"
        try:
            validate.text(self.value("notes"), "notes", max_len=2000)
        except ValidationError as exc:
            errors["notes"] = exc.message

        draft = None
        if (
            self.span is not None
            and start_date is not None
            and blocks is not None
            and node
            and not errors["node"]
        ):
            draft = Draft(node, start_date, blocks)
        self._draft_changed(draft)
        return errors

    def validate_all(self, *, show_untouched: bool) -> dict[str, str]:
        errors = self.check()
        for field, message in errors.items():
            show = show_untouched or field in self.touched
            self._set_error(field, message if show else "")
        return errors

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        if not self.saving:
            self._set_form_error("")  # a refusal was about what the form said before this change
        self.validate_all(show_untouched=False)

    @on(Checkbox.Changed)
    def _option_changed(self) -> None:
        self.validate_all(show_untouched=False)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ the live database check

    def _draft_changed(self, draft: Draft | None) -> None:
        """Schedule the availability/downtime check for a new draft (debounced)."""
        if draft == self.draft and (self.checked is not None or self._check_timer is not None):
            self._render_check()
            return
        self.draft = draft
        self.checked = None
        self.check_problem = ""
        if self._check_timer is not None:
            self._check_timer.stop()
            self._check_timer = None
        if draft is not None:
            self._check_timer = self.set_timer(CHECK_DELAY, self._run_check)
        self._render_check()

    def _run_check(self) -> None:
        self._check_timer = None
        draft = self.draft
        if draft is None:
            return

        def done(result: svc.DraftCheck) -> None:
            if draft == self.draft:  # still what the form says
                self.checked = result
                self._render_check()

        def failed(exc: NodedeskError) -> None:
            if draft == self.draft:
                self.check_problem = str(exc)
                self._render_check()

        self.db(
            lambda ctx: svc.check_draft(ctx, draft.node, draft.start_date, draft.blocks),
            done,
            on_error=failed,
            group="check",
            exclusive=True,
        )

    def _render_check(self) -> None:
        tz = self.session.tz
        lines: list[Content] = []
        draft = self.draft
        if draft is None:
            lines.append(Content.styled("Availability: fill in node, start date and blocks.", "dim"))
        elif self.check_problem:
            lines.append(Content.styled(f"Availability: {render.one_line(self.check_problem)}", "$error"))
        elif self.checked is None:
            lines.append(Content.styled(f"Availability: checking {draft.node}…", "dim"))
        elif self.checked.clashes:
            lines.append(
                Content.styled(
                    f"✗ Conflict: {draft.node} is already booked then (never allowed):",
                    "bold $error",
                )
            )
            lines += [Content.styled("  " + render.one_line(c), "$error") for c in self.checked.clashes[:3]]
        else:
            lines.append(Content.styled(f"✓ {draft.node} is free then.", "$success"))
        if self.checked is not None and draft is not None and self.checked.downtime:
            total = self.checked.downtime
            lines.append(
                Content.styled("⚠ Overlaps downtime (allowed; that time is not billed):", "$warning")
            )
            lines += [Content("  " + rr.downtime_line(d, tz, max_len=40)) for d in total[:3]]
        if self.flag("waive"):
            lines += [Content.styled(f"⚠ Policy waived: {v.message}", "$warning") for v in self.violations]
        self.query_one("#check", Static).update(Content("\n").join(lines))

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial.get(f, "") for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        errors = self.validate_all(show_untouched=True)
        bad = [f for f in FIELDS if errors[f]]
        if bad:
            self._set_form_error(f"Not saved: fix the marked field{'s' if len(bad) > 1 else ''}.")
            self.show_field(bad[0])
            return
        self._set_form_error("")
        draft = svc.ReservationDraft(
            node=self.value("node").strip(),
            project=self.value("project").strip(),
            start_date=timeutil.parse_date(self.value("start_date"), "start_date"),
            blocks=int(self.value("blocks")),
            requested_for=self.value("requested_for").strip() if self.manager else None,
            notes=self.value("notes"),
        )
        approve, waive = self.flag("approve"), self.flag("waive")
        if self.manager:

            def work(ctx):  # type: ignore[no-untyped-def]
                return svc.record_reservation(ctx, draft, approve=approve, waive_policy=waive)

        else:

            def work(ctx):  # type: ignore[no-untyped-def]
                return svc.request_reservation(ctx, draft)

        self.saving = True
        self.query_one("#save", Button).disabled = True
        self.db(work, self._saved, on_error=self._refused, write=True, group="save")

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        field = FIELD_FOR_ERROR.get(exc.field or "")
        message = exc.message if field else str(exc)
        if "--waive-policy" in message:
            message = message.replace("with --waive-policy", "by ticking 'Waive booking policy'")
        if field is not None and self.query_one(f"#{field}-row").display:
            self._set_error(field, message)
            self.show_field(field)
            self._set_form_error("Not saved: see the marked field.")
        else:
            self._set_form_error("Not saved: " + message)
        if exc.field == "node" and self.draft is not None:
            self.checked = None  # the slot may have been taken meanwhile: check again
            self._run_check()

    def _saved(self, result: svc.ReservationResult) -> None:
        self.saving = False
        tz = self.session.tz
        r = result.reservation
        verb = "Recorded" if self.manager else "Requested"
        lines = [
            f"{verb} reservation #{r.id} ({r.status}): {render.one_line(r.node)} for "
            f"{render.one_line(r.project, max_len=40)!r}, {rr.span(r.start, r.end, tz)}, {rr.hours(r.hours)}."
        ]
        lines += [f"Policy waived: {render.one_line(w.message)}" for w in result.waived]
        if r.downtime:
            lines.append(f"Note: it overlaps downtime; {rr.hours(r.downtime_hours)} will not be billed.")
        self.notify("\n".join(lines), title="Saved", markup=False, timeout=8)
        self.dismiss(result)
