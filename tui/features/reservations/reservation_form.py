"""The request/record form for reservations, with live validation.

As you type, the start and end instants and the billable hours are computed by the pure policy
functions of ``core.services.reservation_policy`` (no database): "ends Wed 25 Feb 2026 09:00 ·
41.00 h". The lead-time and horizon rules are judged the same way. Whether the node is free
then, and which downtime overlaps, needs the database: that check runs in a worker shortly after
you stop typing (``reservations.check_draft``) and names any clashing reservation. The same
worker asks ``slot_hints``: when the node is not free for the whole span, the next start from
which it is, and up to three other nodes of its type free then; ``ctrl+o`` puts one of them in
the node field (pressed again, the next one).

Rental managers *record* reservations (for anyone, optionally approved at once and waiving the
booking policy); other users *request* them (pending, policy enforced). On save the service
checks everything again under the node's lock; a refusal is shown next to the field it names
and the form keeps what you typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ConflictError, NodedeskError, ValidationError
from nodedesk.core.fieldcheck import FieldProblem
from nodedesk.core.services.rentals import reservations as svc
from nodedesk.core.services.rentals import slot_hints
from nodedesk.core.services.rentals.reservation_policy import (
    ReservationPolicy,
    Span,
    blocks_until,
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

from ...kit import render
from ...kit import rental_render as rr
from ...kit.access import not_allowed
from ...kit.edit_form import Check, EditFormScreen, problem_field
from ...kit.form_parts import NameListSuggester
from ...widgets.tickbox import TickBox
from .reservations import Names, load_names

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
        Binding(
            "ctrl+o", "other_node", "Other node", tooltip="Put a free node of the same type in the node field"
        ),
    ]

    def __init__(
        self, *, node: str = "", project: str = "", start: date | None = None, end: datetime | None = None
    ) -> None:
        """``start`` prefills the start date (default: the earliest the policy allows) and
        ``end`` the blocks: the most that end by then (the availability timeline's selection;
        ``reservation_policy.blocks_until``)."""
        super().__init__()
        self.prefill = {"node": node, "project": project}
        self.prefill_start = start
        self.prefill_end = end
        self.touched: set[str] = set()
        self.saving = False
        self.names = Names([], [], [], [], [])
        self.node_suggester = NameListSuggester()
        self.project_suggester = NameListSuggester()
        self.user_suggester = NameListSuggester()
        self.span: Span | None = None
        self.draft: Draft | None = None
        self.checked: svc.DraftCheck | None = None  # the last database check, for ``self.draft``
        self.hints: slot_hints.SlotHints | None = None  # free or not, next free start, other nodes
        self.picked: list[str] = []  # nodes ctrl+o put in since the node was last typed
        self.check_problem = ""
        self.rules: ReservationPolicy | None = None  # the site's booking policy, read by the service
        self.problems: list[FieldProblem] = []  # the service's last answer
        self._check_timer: Timer | None = None

    @property
    def manager(self) -> bool:
        """Rental managers record; everyone else requests."""
        return not not_allowed(self.session, "manage_reservations")

    def crumbs(self) -> tuple[str, ...]:
        return ("record" if self.manager else "request",)

    # ------------------------------------------------------------------ layout

    def _initial(self) -> dict[str, str]:
        today = timeutil.local_day(self.session.now(), self.session.tz)
        start = self.prefill_start
        if start is None and self.rules is not None:
            start = today + timedelta(days=self.rules.lead_days)
        blocks = 2
        if start is not None and self.prefill_end is not None and self.rules is not None:
            blocks = blocks_until(self.rules, start, self.prefill_end)
        return {
            "node": self.prefill["node"],
            "project": self.prefill["project"],
            "start_date": start.isoformat() if start is not None else "",
            "blocks": str(blocks),
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
        p = self.rules
        if self.manager:
            text = "Record a reservation"
            more = " · rental manager: for anyone; may approve, waive policy"
        else:
            text = "Request a reservation"
            more = " · pending until approved" + (f" · {p.lead_days}+ days ahead" if p else "")
        return Content.assemble((text, "bold"), (more, "dim"))

    def compose_body(self) -> ComposeResult:
        v = self._initial()
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
                    placeholder="blocks",
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
            yield self._row("Notes", "notes", Input(v["notes"], id="notes", compact=True))
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
        self.db(svc.policy, self._policy_loaded, on_error=self._policy_refused, group="policy")
        self.refresh_check()

    def _policy_loaded(self, rules: ReservationPolicy) -> None:
        """The booking policy came from the service: prefill the earliest start it allows."""
        self.rules = rules
        self.query_one("#blocks", Input).placeholder = f"1–{rules.max_blocks}"
        self.query_one("#form-heading", Static).update(self._heading())
        box = self.query_one("#start_date", Input)
        if not box.value and "start_date" not in self.touched:
            self.initial["start_date"] = self._initial()["start_date"]
            with box.prevent(Input.Changed):
                box.value = self.initial["start_date"]
        blocks = self.query_one("#blocks", Input)
        if self.prefill_end is not None and blocks.value == self.initial["blocks"]:  # not typed in yet
            self.initial["blocks"] = self._initial()["blocks"]
            with blocks.prevent(Input.Changed):
                blocks.value = self.initial["blocks"]
        self.refresh_check()

    def _policy_refused(self, exc: NodedeskError) -> None:
        """A bad stored setting: the form says so in one line; saving is refused by the service."""
        self._set_form_error(f"Reservations are not available: {render.one_line(str(exc))}")

    def _names_loaded(self, names: Names) -> None:
        self.names = names
        self.node_suggester.names = names.rentable
        self.project_suggester.names = names.active_projects
        self.user_suggester.names = names.users
        self.refresh_check()

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

    def _parsed(self) -> tuple[list[FieldProblem], date | None, int | None]:
        """The start date (core's date parser) and the number of blocks as typed."""
        problems: list[FieldProblem] = []
        start_date: date | None = None
        blocks: int | None = None
        try:
            start_date = timeutil.parse_date(self.value("start_date"), "start_date")
        except ValidationError as exc:
            problems.append(FieldProblem.of(exc))
        raw_blocks = self.value("blocks").strip()
        if raw_blocks.isdigit():
            blocks = int(raw_blocks)
        else:
            problems.append(FieldProblem.of(ValidationError("is required (a whole number)", field="blocks")))
        return problems, start_date, blocks

    def _preview(self, start_date: date | None, blocks: int | None) -> None:
        """Hints: when the reservation starts and ends, and its hours (core's span, no rule)."""
        tz, p = self.session.tz, self.rules
        self.span = None
        self._set_hint("start_date", "")
        self._set_hint("blocks", "")
        if p is None or start_date is None:
            return
        self._set_hint("start_date", f"starts {start_date:%a} {p.start_time:%H:%M}")
        if blocks is None:
            return
        try:
            self.span = reservation_span(p, start_date, blocks)
        except ValidationError:
            return  # the service's check says what is wrong
        capped = f" (cut back to {p.end_cap_time:%H:%M})" if self.span.capped else ""
        self._set_hint(
            "blocks",
            Content.assemble(
                f"ends {rr.day_time(self.span.end, tz)}{capped} · ",
                (rr.hours(self.span.hours), "bold"),
            ),
        )

    def _draft(self, start_date: date | None, blocks: int | None) -> svc.ReservationDraft:
        """The draft as typed; an unreadable date or count goes to the service as is, which
        refuses it (its parse problem is shown first)."""
        return svc.ReservationDraft(
            node=self.value("node").strip(),
            project=self.value("project").strip(),
            start_date=start_date,
            blocks=blocks if blocks is not None else 0,
            requested_for=self.value("requested_for").strip() if self.manager else None,
            notes=self.value("notes"),
        )

    def draft_check(self, *, final: bool) -> tuple[list[FieldProblem], Check | None]:
        problems, start_date, blocks = self._parsed()
        self._preview(start_date, blocks)
        node = self.value("node").strip()
        live = None
        if self.span is not None and start_date is not None and blocks is not None and node:
            live = Draft(node, start_date, blocks)
        self._draft_changed(live)
        draft = self._draft(start_date, blocks)
        manager, approve, waive = self.manager, self.flag("approve"), self.flag("waive")
        return problems, lambda ctx: svc.check_reservation(
            ctx, draft, manager=manager, approve=approve, waive_policy=waive
        )

    def _message(self, problem: FieldProblem) -> str:
        return problem.message.replace("with --waive-policy", "by ticking 'Waive booking policy'")

    def show_problems(self, problems: list[FieldProblem], *, final: bool) -> None:
        """Mark each field the service named with its message; the rest go on the form line."""
        marks = dict.fromkeys(FIELDS, "")
        loose: list[str] = []
        for problem in problems:
            if not final and isinstance(problem.error, ConflictError):
                continue  # a clash: the availability panel names it while typing
            field = problem_field(problem, FIELD_FOR_ERROR)
            if field is None or not self.query_one(f"#{field}-row").display:
                loose.append(str(problem.error))
            elif not marks[field]:
                marks[field] = self._message(problem)
        shown = [f for f in FIELDS if marks[f] and (final or f in self.touched)]
        for field in FIELDS:
            self._set_error(field, marks[field] if field in shown else "")
        self.problems = problems
        self._render_check()
        if not final:
            return
        self.query_one("#save", Button).disabled = False
        if shown:
            self._set_form_error(f"Not saved: fix the marked field{'s' if len(shown) > 1 else ''}.")
            self.show_field(shown[0])
        elif loose:
            self._set_form_error("Not saved: " + render.one_line(loose[0]))

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "node" and event.value not in self.picked:
            self.picked = []  # typed by hand: ctrl+o starts over
        if event.input.id:
            self.touched.add(event.input.id)
        if not self.saving:
            self._set_form_error("")  # a refusal was about what the form said before this change
        self.refresh_check()

    @on(Checkbox.Changed)
    def _option_changed(self) -> None:
        self.refresh_check()

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
        self.hints = None
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

        def done(result: tuple[svc.DraftCheck, slot_hints.SlotHints]) -> None:
            if draft == self.draft:  # still what the form says
                self.checked, self.hints = result
                self._render_check()
                self.refresh_bindings()  # ctrl+o follows the other free nodes

        def failed(exc: NodedeskError) -> None:
            if draft == self.draft:
                self.check_problem = str(exc)
                self._render_check()

        def work(ctx: ServiceContext) -> tuple[svc.DraftCheck, slot_hints.SlotHints]:
            return (
                svc.check_draft(ctx, draft.node, draft.start_date, draft.blocks),
                slot_hints.slot_hints(ctx, draft.node, draft.start_date, draft.blocks),
            )

        self.db(
            work,
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
        if self.flag("waive") and self.checked is not None and draft is not None:
            lines += [
                Content.styled(f"⚠ Policy waived: {v.message}", "$warning") for v in self.checked.violations
            ]
        if self.hints is not None and draft is not None:
            lines += self._hint_lines(self.hints)
        self.query_one("#check", Static).update(Content("\n").join(lines))

    def _hint_lines(self, h: slot_hints.SlotHints) -> list[Content]:
        """When the node is not free: its next free start; then the other free nodes."""
        tz = self.session.tz
        lines: list[Content] = []
        if not h.free:
            if h.next_span is not None:
                lines.append(
                    Content.assemble(
                        f"◷ Next free start on {h.node}: ",
                        (rr.day_time(h.next_span.start, tz), "bold"),
                        f" (start date {h.next_start:%Y-%m-%d})",
                    )
                )
            else:
                lines.append(
                    Content(f"◷ {h.node} is not free for as long up to {h.searched_until:%Y-%m-%d}.")
                )
        if h.others:
            names = ", ".join(h.others)
            lines.append(
                Content.assemble(
                    f"○ Also free then ({h.node_type}): ", (names, "bold"), " · ctrl+o puts one in"
                )
            )
        elif not h.free:
            lines.append(Content(f"○ No other {h.node_type} node is free for the whole span."))
        return lines

    def _current_hints(self) -> slot_hints.SlotHints | None:
        """The hints of what the form says now (None while a check is due or running)."""
        if self.hints is None or self.draft is None or self._check_timer is not None:
            return None
        return self.hints if self.hints.node == self.draft.node else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "other_node":
            hints = self._current_hints()
            return bool(hints and hints.others)  # shown while another node is free then
        return super().check_action(action, parameters)

    def action_other_node(self) -> None:
        """Put another node of the same type, free for the whole span, in the node field; pressed
        again, the next one (each is checked as if typed)."""
        hints = self._current_hints()
        if hints is None or not hints.others:
            self.explain(
                "No other node of this type is free for the whole span (or it is still being checked)."
            )
            return
        if hints.node not in self.picked:
            self.picked.append(hints.node)
        fresh = [n for n in hints.others if n not in self.picked]
        if not fresh:  # every one offered: round again
            self.picked = [hints.node]
            fresh = [n for n in hints.others if n != hints.node]
        choice = fresh[0]
        self.picked.append(choice)
        self.query_one("#node", Input).value = choice  # checked as if typed

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial.get(f, "") for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        self._set_form_error("")
        _, start_date, blocks = self._parsed()
        draft = self._draft(start_date, blocks)
        approve, waive = self.flag("approve"), self.flag("waive")
        if self.manager:

            def work(ctx: ServiceContext) -> svc.ReservationResult:
                return svc.record_reservation(ctx, draft, approve=approve, waive_policy=waive)

        else:

            def work(ctx: ServiceContext) -> svc.ReservationResult:
                return svc.request_reservation(ctx, draft)

        self.query_one("#save", Button).disabled = True
        self.checked_save(work, self._saved, self._refused)

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
