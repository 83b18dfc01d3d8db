"""Set a rate: amount, effective date and notes, checked as you type, confirmed before saving.

Rates are append-only, so the confirmation says what the new row does (a new price from a date,
or a correction of the row for that date). The service checks everything again, including the
finalized-month rule.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pendulum
from nodedesk.core import timeutil, validate
from nodedesk.core.errors import NodedeskError, ValidationError
from nodedesk.core.services.invoicing import rates
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Static

from ...kit.confirm import ConfirmScreen
from ...kit.edit_form import EditFormScreen
from ...kit.form_parts import FIX_FIELDS, field_row, fields_fixed, set_error, set_text
from ..projects.split_form import first_of_next_month
from .rate_actions import UNIT

FIELDS = ("amount", "effective_date", "notes")


class RateFormScreen(EditFormScreen):
    DISCARD_QUESTION = "Discard this rate?"
    DEFAULT_CSS = """
    #amount-row {
        margin-top: 1;
    }
    .field-line Input.date {
        width: 14;
    }
    #rate-help {
        margin: 1 0 0 14;
    }
    """

    SECTION = "rates"
    HELP_TOPIC = "rates"
    HELP_TITLE = "set a rate"

    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, sku: rates.SkuView) -> None:
        super().__init__()
        self.sku = sku
        self.timeline: list[rates.RateView] | None = None
        self.touched: set[str] = set()
        self.saving = False
        self.attempted = False  # after a save attempt every field's error stays visible

    def crumbs(self) -> tuple[str, ...]:
        return (self.sku.code, "set rate")

    def compose_body(self) -> ComposeResult:
        s = self.sku
        today = timeutil.local_day(self.session.now(), self.session.tz)
        self.initial = {
            "amount": rates.format_amount(s.rate.amount) if s.rate else "",
            "effective_date": first_of_next_month(today).isoformat(),
            "notes": "",
        }
        v = self.initial
        with VerticalScroll(id="form-body"):
            yield Static(
                Content.assemble(("Set a rate · ", "bold"), (s.code, "bold $accent"), f"  ({UNIT[s.kind]})"),
                id="form-heading",
            )
            now = (
                f"In force today: {rates.format_amount(s.rate.amount)} {UNIT[s.kind]} since "
                f"{s.rate.effective_date.isoformat()}"
                if s.rate
                else "No rate in force today."
            )
            yield Static(Content(now), id="rate-today")
            yield Static(id="form-error")
            yield field_row(
                "Amount",
                "amount",
                Input(v["amount"], id="amount", placeholder="e.g. 4.80", compact=True, classes="date"),
                hint=True,
            )
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
            yield field_row(
                "Notes", "notes", Input(v["notes"], id="notes", max_length=2000, compact=True), hint=True
            )
            yield Static(
                Content.styled(
                    "Rates are append-only: saving adds a row to the history. A row with the same "
                    "effective date as an existing one corrects it (notes required).",
                    "dim",
                ),
                id="rate-help",
            )
            with Horizontal(id="form-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for field in FIELDS:
            set_error(self, field, "")
        set_text(self, "#form-error", "")
        self.query_one("#amount", Input).focus()
        code = self.sku.code
        self.db(lambda ctx: rates.rate_timeline(ctx, code), self._timeline_loaded, on_error=lambda exc: None)
        self.validate_all(show_untouched=False)

    def _timeline_loaded(self, timeline: list[rates.RateView]) -> None:
        self.timeline = timeline
        self.validate_all(show_untouched=False)

    # ------------------------------------------------------------------ validation

    def value(self, field: str) -> str:
        return self.query_one(f"#{field}", Input).value

    def _before(self, day: date) -> rates.RateView | None:
        return rates.pick_rate(self.timeline, day) if self.timeline is not None else None

    def check(self) -> tuple[dict[str, str], Decimal | None, date | None, bool]:
        """Errors per field, the amount, the date, and whether the row corrects one."""
        errors = dict.fromkeys(FIELDS, "")
        amount: Decimal | None = None
        day: date | None = None
        try:
            if not self.value("amount").strip():
                raise ValidationError("is required (e.g. 4.80)", field="amount")
            amount = rates.parse_amount(self.value("amount"))
        except ValidationError as exc:
            errors["amount"] = exc.message
        try:
            day = timeutil.parse_date(self.value("effective_date"), "effective_date")
        except ValidationError as exc:
            errors["effective_date"] = exc.message
        try:
            validate.text(self.value("notes"), "notes", max_len=2000)
        except ValidationError as exc:
            errors["notes"] = exc.message
        before = self._before(day) if day else None
        correcting = before is not None and day is not None and before.effective_date == day
        amount_hint = UNIT[self.sku.kind]
        if amount is not None and before is not None:
            if amount == before.amount:
                amount_hint += " · same as in force then (no change)"
            else:
                amount_hint += f" · was {rates.format_amount(before.amount)} that day"
        date_hint = ""
        if day is not None:
            date_hint = pendulum.date(day.year, day.month, day.day).format("ddd D MMM YYYY")
            if correcting:
                date_hint += f" · corrects #{before.id} ({rates.format_amount(before.amount)})"  # type: ignore[union-attr]
            elif self.timeline is not None:
                later = [r.effective_date for r in self.timeline if r.effective_date > day]
                if later:
                    date_hint += f" · until {min(later).isoformat()} (a later row takes over)"
        notes_hint = "required: this corrects an existing row" if correcting else "optional, e.g. why"
        if correcting and not self.value("notes").strip():
            errors["notes"] = f"is required for a correction of #{before.id} (say why)"  # type: ignore[union-attr]
        self.query_one("#amount-hint", Static).update(Content(amount_hint))
        self.query_one("#effective_date-hint", Static).update(Content(date_hint))
        self.query_one("#notes-hint", Static).update(Content(notes_hint))
        return errors, amount, day, correcting

    def validate_all(self, *, show_untouched: bool) -> dict[str, str]:
        errors = self.check()[0]
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

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        if event.input.id == "notes":
            self.action_save()
        else:
            self.focus_next()

    # ------------------------------------------------------------------ saving

    def dirty(self) -> bool:
        return any(self.value(f) != self.initial[f] for f in FIELDS)

    def action_save(self) -> None:
        if self.saving:
            return
        self.attempted = True
        errors = self.validate_all(show_untouched=True)
        bad = [f for f in FIELDS if errors[f]]
        if bad:
            set_text(self, "#form-error", f"{FIX_FIELDS}{'s' if len(bad) > 1 else ''}.")
            self.show_field(bad[0])
            return
        _, amount, day, correcting = self.check()
        assert amount is not None and day is not None
        set_text(self, "#form-error", "")
        s = self.sku
        what = "Correct" if correcting else "Set"
        question = (
            f"{what} {s.code} to {rates.format_amount(amount)} {UNIT[s.kind]} from {day.isoformat()}?\n\n"
            "The row is added to the rate history for good (rates are never edited or deleted)."
        )
        if day <= timeutil.local_day(self.session.now(), self.session.tz):
            question += " The date is not in the future: charges from that day on are priced anew."
        notes = self.value("notes")

        def answer(yes: bool | None) -> None:
            if yes:
                self._store(amount, day, notes)

        self.app.push_screen(ConfirmScreen(question, "Save rate", "Back"), answer)

    def _store(self, amount: Decimal, day: date, notes: str) -> None:
        self.saving = True
        self.query_one("#save", Button).disabled = True
        code = self.sku.code
        self.db(
            lambda ctx: rates.set_rate(ctx, code, amount, day, notes),
            self._saved,
            on_error=self._refused,
            write=True,
            group="save",
        )

    def _refused(self, exc: NodedeskError) -> None:
        self.saving = False
        self.query_one("#save", Button).disabled = False
        if exc.field in FIELDS:
            set_error(self, exc.field, exc.message)
            self.show_field(exc.field)
        set_text(self, "#form-error", "Not saved: " + str(exc))

    def _saved(self, result: rates.RateView) -> None:
        self.saving = False
        self.notify(
            f"{result.sku}: {rates.format_amount(result.amount)} {UNIT[self.sku.kind]} from "
            f"{result.effective_date.isoformat()} (row #{result.id}).",
            title="Rate set",
            markup=False,
        )
        self.dismiss(result)
