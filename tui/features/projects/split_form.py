"""Propose a cost split: an effective date and CODE=PERCENT rows, checked as you type.

The running sum says at once whether the percentages add up to exactly 100 (no rounding, no
floating point: the core's Decimal rules). Each row is checked with the core's own parser;
on save the service checks the whole split again, and the finalized-month rule.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pendulum
from nodedesk.core import timeutil, validate
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.models import UNALLOCATED
from nodedesk.core.services.rentals import projects, splits
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static, TextArea

from ...kit import render
from ...kit.edit_form import EditFormScreen
from ...kit.form_parts import FIX_FIELDS, field_row, fields_fixed, set_error, set_text
from ..windows.window_actions import not_allowed
from .project_actions import compact_split

FIELDS = ("effective_date", "parts")
_SEPARATORS = re.compile(r"[\n,;]+")


def entries(text: str) -> list[str]:
    """The CODE=PERCENT entries typed: one per line, or separated by commas or semicolons."""
    return [e.strip() for e in _SEPARATORS.split(text) if e.strip()]


def check_entries(items: list[str]) -> tuple[list[tuple[str, str]], list[str], Decimal]:
    """Parsed (code, percent) pairs, a message per bad entry, and the sum of the good percents."""
    parsed: list[tuple[str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    total = Decimal(0)
    for entry in items:
        try:
            code, pct = splits.parse_assignment(entry)
        except ValidationError:
            problems.append(f"{render.one_line(entry, max_len=40)!r} is not CODE=PERCENT")
            continue
        label = render.one_line(code, max_len=30)
        try:
            code = validate.name(code, "cost object")
            if code.upper() == UNALLOCATED:
                raise ValidationError(f"{UNALLOCATED} is reserved for days without a split")
            if code.upper() in seen:
                raise ValidationError(f"{code} appears more than once")
            value = splits.parse_percent(pct, field=code)
        except ValidationError as exc:
            problems.append(f"{label}: {exc.message}")
            continue
        seen.add(code.upper())
        parsed.append((code, pct))
        total += value
    return parsed, problems, total


def sum_line(total: Decimal, count: int, problems: int) -> Content:
    """``Sum 100.00 % (2 cost objects) ✓ sums to 100.00`` or ``… ✗ 0.01 short of 100.00``."""
    shown = splits.format_percent(total) if total else "0.00"
    head = Content.assemble(
        ("Sum ", "bold"), (f"{shown} %", "bold"), f" ({count} cost object{'s' * (count != 1)})  "
    )
    if total == splits.HUNDRED and not problems:
        return Content.assemble(head, ("✓ sums to 100.00", "bold $success"))
    if total == splits.HUNDRED:
        return Content.assemble(head, ("✗ sums to 100.00, but fix the entries above", "bold $error"))
    gap = splits.HUNDRED - total
    side = f"{splits.format_percent(gap)} short of" if gap > 0 else f"{splits.format_percent(-gap)} over"
    return Content.assemble(head, (f"✗ {side} 100.00", "bold $error"))


def first_of_next_month(today: date) -> date:
    nxt = pendulum.date(today.year, today.month, 1).add(months=1)
    return date(nxt.year, nxt.month, 1)


class SplitFormScreen(EditFormScreen):
    DISCARD_QUESTION = "Discard this split?"
    DEFAULT_CSS = """
    #split-today, #split-pending {
        height: auto;
    }
    #effective_date-row, #parts-row {
        margin-top: 1;
    }
    .field-line Input.date {
        width: 14;
    }
    #parts {
        height: 5;
        width: 1fr;
    }
    #split-sum, #parts-help {
        margin-left: 14;
    }
    """

    SECTION = "projects"
    HELP_TOPIC = "projects"
    HELP_TITLE = "propose a cost split"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        project: projects.ProjectView,
        in_force: splits.SplitView | None,
        pending: splits.SplitView | None,
    ) -> None:
        super().__init__()
        self.project = project
        self.in_force = in_force
        self.pending = pending
        self.timeline: list[splits.SplitView] | None = None
        self.touched: set[str] = set()
        self.saving = False
        self.attempted = False  # after a save attempt every field's error stays visible

    def crumbs(self) -> tuple[str, ...]:
        return (f"#{self.project.id}", "propose split")

    def _initial(self) -> dict[str, str]:
        source = self.pending or self.in_force
        today = timeutil.local_day(self.session.now(), self.session.tz)
        day = self.pending.effective_date if self.pending else first_of_next_month(today)
        parts = (
            "\n".join(f"{p.cost_object}={splits.format_percent(p.percent)}" for p in source.parts)
            if source
            else ""
        )
        return {"effective_date": day.isoformat(), "parts": parts}

    def compose_body(self) -> ComposeResult:
        self.initial = v = self._initial()
        p = self.project
        with VerticalScroll(id="form-body"):
            yield Static(
                Content.assemble(
                    ("Propose a cost split · ", "bold"),
                    (render.one_line(p.title, max_len=50), "bold $accent"),
                ),
                id="form-heading",
            )
            today = (
                Content.assemble(("In force today: ", "bold"), render.one_line(compact_split(self.in_force)))
                if self.in_force
                else Content.assemble(
                    ("In force today: ", "bold"), ("UNALLOCATED (no approved split)", "$warning")
                )
            )
            yield Static(today, id="split-today")
            if self.pending is not None:
                yield Static(
                    Content.assemble(
                        ("Note: ", "bold $warning"),
                        f"saving replaces pending #{self.pending.id} from "
                        f"{self.pending.effective_date.isoformat()} (rejected as superseded).",
                    ),
                    id="split-pending",
                )
            yield Static(id="form-error")
            yield field_row(
                "Effective",
                "effective_date",
                Input(
                    v["effective_date"],
                    id="effective_date",
                    placeholder="YYYY-MM-DD",
                    compact=True,
                    classes="date",
                ),
                hint=True,
            )
            yield field_row("Split", "parts", TextArea(v["parts"], id="parts", compact=True), hint=False)
            yield Static(id="split-sum")
            yield Static(
                Content.styled("one CODE=PERCENT per line (or comma separated), up to 4 decimals", "dim"),
                id="parts-help",
            )
            with Horizontal(id="form-buttons"):
                yield Button("Propose (ctrl+s)", id="save", variant="primary", compact=True)
                if not not_allowed(self.session, "approve_splits"):
                    yield Button("Propose and approve", id="save-approve", variant="success", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for field in FIELDS:
            set_error(self, field, "")
        set_text(self, "#form-error", "")
        self.query_one("#parts", TextArea).focus()
        project_id = self.project.id
        self.db(
            lambda ctx: splits.split_timeline(ctx, project_id),
            self._timeline_loaded,
            on_error=lambda exc: None,
        )
        self.validate_all(show_untouched=False)

    def _timeline_loaded(self, timeline: list[splits.SplitView]) -> None:
        self.timeline = timeline
        self.validate_all(show_untouched=False)

    # ------------------------------------------------------------------ validation

    def value(self, field: str) -> str:
        if field == "parts":
            return self.query_one("#parts", TextArea).text
        return self.query_one(f"#{field}", Input).value

    def check(self) -> tuple[dict[str, str], list[tuple[str, str]], date | None]:
        errors = dict.fromkeys(FIELDS, "")
        day: date | None = None
        hint = ""
        try:
            day = timeutil.parse_date(self.value("effective_date"), "effective_date")
        except ValidationError as exc:
            errors["effective_date"] = exc.message
        if day is not None:
            hint = pendulum.date(day.year, day.month, day.day).format("ddd D MMM YYYY")
            if self.timeline is not None:
                before = splits.pick_in_force(self.timeline, day)
                hint += " · so far: " + (compact_split(before) if before else "UNALLOCATED")
        self.query_one("#effective_date-hint", Static).update(Content(render.one_line(hint, max_len=120)))
        parsed, problems, total = check_entries(entries(self.value("parts")))
        if problems:
            errors["parts"] = "\n".join(problems[:4]) + (
                f"\n… and {len(problems) - 4} more" if len(problems) > 4 else ""
            )
        elif not parsed:
            errors["parts"] = "needs at least one CODE=PERCENT"
        elif total != splits.HUNDRED:
            errors["parts"] = "percentages must sum to exactly 100"
        self.query_one("#split-sum", Static).update(sum_line(total, len(parsed), len(problems)))
        return errors, parsed, day

    def validate_all(self, *, show_untouched: bool) -> dict[str, str]:
        errors, _, _ = self.check()
        show_all = show_untouched or self.attempted
        for field, message in errors.items():
            set_error(self, field, message if (show_all or field in self.touched) else "")
        if not any(errors.values()):
            fields_fixed(self)
        return errors

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self.touched.add(event.input.id)
        self.validate_all(show_untouched=False)

    @on(TextArea.Changed)
    def _text_changed(self) -> None:
        self.touched.add("parts")
        self.validate_all(show_untouched=False)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial[f] for f in FIELDS)

    @on(Button.Pressed, "#save-approve")
    def _save_approve_pressed(self) -> None:
        self.action_save(approve=True)

    def action_save(self, approve: bool = False) -> None:
        """Propose the split; ``approve`` (billing managers: the second button) approves it too."""
        if self.saving:
            return
        self.attempted = True
        errors = self.validate_all(show_untouched=True)
        bad = [f for f in FIELDS if errors[f]]
        if bad:
            set_text(self, "#form-error", f"{FIX_FIELDS} ({errors[bad[0]].splitlines()[0]})")
            self.show_field(bad[0])
            return
        _, parsed, day = self.check()
        assert day is not None
        project_id = self.project.id
        set_text(self, "#form-error", "")
        self.saving = True
        for button in self.query("#form-buttons Button"):
            button.disabled = button.id != "cancel"
        self.db(
            lambda ctx: splits.propose_split(ctx, project_id, parsed, day, approve=approve),
            self._saved,
            on_error=self._refused,
            write=True,
            group="save",
        )

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        for button in self.query("#form-buttons Button"):
            button.disabled = False
        field = {"effective_date": "effective_date", "split": "parts", "cost_object": "parts"}.get(
            exc.field or ""
        )
        if field is None and (exc.field or "").startswith("percent"):
            field = "parts"
        if field is not None:
            set_error(self, field, exc.message)
            self.show_field(field)
        set_text(self, "#form-error", "Not saved: " + str(exc))

    def _saved(self, result: splits.SplitView) -> None:
        self.saving = False
        state = "approved" if result.status == "approved" else "pending approval by a billing manager"
        self.notify(
            f"Split #{result.id} for {render.one_line(result.project, max_len=40)!r} from "
            f"{result.effective_date.isoformat()}: {render.one_line(result.label())} — {state}.",
            title="Proposed",
            markup=False,
            timeout=8,
        )
        self.dismiss(result)
