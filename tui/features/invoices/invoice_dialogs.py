"""Dialogs of the Invoices section: finalize, unfinalize, set/clear an override, export, drift.

Each dialog says what the action means before anything is written, takes the reason where the
rules require one, and calls the service in a worker; a refusal is shown inside the dialog,
which stays open (nothing was changed). On success it dismisses with the service's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ConflictError, NodedeskError, NotFoundError
from nodedesk.core.safetext import one_line
from nodedesk.core.services.invoicing import invoice_export
from nodedesk.core.services.invoicing import invoices as svc
from nodedesk.core.services.invoicing import overrides as ovr
from nodedesk.core.services.rentals.splits import parse_assignment
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, RadioButton, RadioSet, Static
from textual.widgets.button import ButtonVariant

from ...kit.dialog import ActionDialog
from ...kit.form_parts import field_row, set_error, set_text
from ...kit.workers import run_db
from ...session import AppSession, session_of
from . import invoice_render as ir
from .invoice_actions import MonthState

Doc = dict[str, Any]
T = TypeVar("T")

FINALIZE_MEANING = (
    "Finalizing stores an immutable snapshot of this whole invoice with its SHA-256, and who "
    "finalized it when. From then on the month is shown from the snapshot, whatever happens to "
    "the live data. Changes that would alter it are refused, except admin corrections, which "
    "flag the month as drifted. Unfinalizing (with a reason) makes it a live draft again; the "
    "snapshot stays in the history."
)


class _Dialog(ActionDialog[Any]):
    """Shared plumbing: an error line, a busy flag, ctrl+s to confirm and escape to cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "confirm", "Confirm"),
    ]
    ERROR = "#dialog-error"

    def __init__(self) -> None:
        super().__init__()
        self.busy = False

    @property
    def session(self) -> AppSession:
        return session_of(self)

    def show_error(self, message: str) -> None:
        set_text(self, self.ERROR, message)

    def refused(self, exc: NodedeskError) -> None:
        self.busy = False
        self.query_one("#confirm", Button).disabled = False
        self.show_error(f"Refused, nothing changed: {exc}")

    def start(
        self, work: Callable[[ServiceContext], T], on_done: Callable[[T], None], *, write: bool = True
    ) -> None:
        self.show_error("")
        self.busy = True
        self.query_one("#confirm", Button).disabled = True
        run_db(self, work, on_done=on_done, on_error=self.refused, write=write, group="dialog")

    def buttons(self, confirm: str, variant: ButtonVariant = "primary") -> Horizontal:
        return Horizontal(
            Button(f"{confirm} (ctrl+s)", id="confirm", variant=variant, compact=True),
            Button("Cancel (esc)", id="cancel", compact=True),
            classes="dialog-buttons",
        )

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------- act on what was shown


class _ReviewDialog(_Dialog):
    """A dialog that reads the month afresh before it shows it, and acts on what it showed.

    Opening it reads the month in a worker (someone else may have changed it since the screen
    behind was drawn); it shows those figures with their digest, and confirming acts on exactly
    that invoice: the service refuses (``MonthChanged``, nothing written) when the month changed
    in between. The dialog then offers to review again: ctrl+s reads the month once more
    (help/invoices.md, "Finalize what you saw").
    """

    CONFIRM = "Confirm"

    def __init__(self, state: MonthState) -> None:
        super().__init__()
        self.state = state
        self.inv: svc.Invoice | None = None  # what the dialog shows (and acts on)
        self.stale = False  # the month changed since it was shown: confirming reviews again
        self.reading = False

    @property
    def period(self) -> str:
        return self.state.period

    def on_mount(self) -> None:
        self.show_error("")
        self.review()

    def review(self) -> None:
        """Read the month afresh (in a worker), then show it."""
        self.stale = False
        self.inv = None
        self.reading = True
        self.show_reading()
        self.start(lambda ctx: svc.compute_invoice(ctx, self.period), self._reviewed, write=False)

    def action_cancel(self) -> None:
        if self.reading:  # nothing is being done yet: the read is dropped with the dialog
            self.dismiss(None)
        else:
            super().action_cancel()

    def _reviewed(self, inv: svc.Invoice) -> None:
        self.busy = self.reading = False
        self.inv = inv
        shown = self.state.invoice
        if shown is None or (shown.status, shown.digest) != (inv.status, inv.digest):
            self.state.set_invoice(inv)  # the screens behind show what this dialog read
            self.state.changed = True
        button = self.query_one("#confirm", Button)
        button.label = f"{self.CONFIRM} (ctrl+s)"
        button.disabled = False
        self.show_invoice(inv)

    def refused(self, exc: NodedeskError) -> None:
        if self.inv is None:  # the month could not be read: nothing to act on yet
            self.busy = self.reading = False
            self.stale = True
            button = self.query_one("#confirm", Button)
            button.label = "Read again (ctrl+s)"
            button.disabled = False
            self.show_error(f"Could not read {self.period}: {exc}")
            return
        if isinstance(exc, svc.MonthChanged):
            self.busy = False
            self.stale = True
            button = self.query_one("#confirm", Button)
            button.label = "Review again (ctrl+s)"
            button.disabled = False
            self.show_error(f"{self.REFUSED} {exc}")
            return
        self.refused_otherwise(exc)

    REFUSED = "Refused, nothing changed:"

    def refused_otherwise(self, exc: NodedeskError) -> None:
        super().refused(exc)

    def action_confirm(self) -> None:
        if self.busy:
            return
        if self.stale or self.inv is None:
            self.review()
            return
        self.act(self.inv)

    def show_reading(self) -> None:
        raise NotImplementedError

    def show_invoice(self, inv: svc.Invoice) -> None:
        raise NotImplementedError

    def act(self, inv: svc.Invoice) -> None:
        raise NotImplementedError


def _figures(inv: svc.Invoice) -> str:
    lines = sum(len(p["lines"]) for p in inv.projects)
    return f"{len(inv.projects)} project(s) · {lines} line(s) · {ir.totals_text(inv.totals, inv.currency)}"


def _digest_text(inv: svc.Invoice) -> str:
    if inv.status == "finalized":
        altered = "" if inv.integrity_ok else " — DOES NOT MATCH its text: altered after finalizing"
        return f"snapshot sha256 {inv.digest[:16]}…{altered}"
    return f"digest {inv.digest[:16]}… (what finalizing it now would store)"


# ---------------------------------------------------------------- finalize / unfinalize


class FinalizeScreen(_ReviewDialog):
    """Confirm finalizing a month: what it means, and what is being frozen (as read just now)."""

    CONFIRM = "Finalize"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="finalize-dialog"):
            yield Static(
                Content.styled(f"Finalize the invoice of {self.period}?", "bold"), classes="dialog-title"
            )
            yield Static(id="finalize-figures", classes="dialog-text")
            yield Static(id="finalize-digest", classes="dialog-text muted")
            yield Static(Content(FINALIZE_MEANING), classes="dialog-text")
            yield Static(id="finalize-warnings", classes="dialog-text warning")
            yield Static(id="dialog-error", classes="field-error")
            yield self.buttons("Finalize", "warning")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#cancel", Button).focus()

    def show_reading(self) -> None:
        set_text(self, "#finalize-figures", f"Reading {self.period} as it is now…")
        set_text(self, "#finalize-digest", "")
        self.query_one("#finalize-warnings", Static).display = False

    def show_invoice(self, inv: svc.Invoice) -> None:
        set_text(self, "#finalize-figures", _figures(inv))
        set_text(self, "#finalize-digest", _digest_text(inv))
        box = self.query_one("#finalize-warnings", Static)
        box.display = bool(inv.warnings)
        if inv.warnings:
            shown = "\n".join(f"  {ir.WARNING_MARK} {one_line(w, max_len=200)}" for w in inv.warnings[:3])
            more = f"\n  … and {len(inv.warnings) - 3} more" if len(inv.warnings) > 3 else ""
            box.update(Content(f"It has {len(inv.warnings)} warning(s):\n{shown}{more}"))
        if inv.status == "finalized":
            fin = inv.doc.get("finalized") or {}
            self.query_one("#confirm", Button).disabled = True
            self.show_error(
                f"{inv.period} was finalized meanwhile (by {one_line(fin.get('by'))}); "
                "nothing to do here (escape)"
            )

    def act(self, inv: svc.Invoice) -> None:
        period, digest = inv.period, inv.digest
        self.start(lambda ctx: svc.finalize(ctx, period, expected_digest=digest), self._done)

    def _done(self, inv: svc.Invoice) -> None:
        self.notify(
            f"Finalized {inv.period}: {ir.money(inv.totals['amount'])} {inv.currency}; "
            f"sha256 {(inv.sha256 or '')[:16]}…",
            title="Finalized",
            markup=False,
            timeout=8,
        )
        self.dismiss(inv)


class UnfinalizeScreen(_Dialog):
    """Confirm returning a finalized month to draft; a reason is required."""

    def __init__(self, inv: svc.Invoice) -> None:
        super().__init__()
        self.inv = inv

    def compose(self) -> ComposeResult:
        inv = self.inv
        tz = self.session.tz
        when = timeutil.format_local(inv.finalized_at, tz) if inv.finalized_at else "?"
        meaning = (
            f"The month becomes a live draft again: it is recomputed from the live data and may "
            f"change. The snapshot finalized by {one_line(inv.finalized_by)} at {when} "
            f"(sha256 {(inv.sha256 or '')[:12]}…) stays in the history, with your reason. "
            "Finalize again to bill the corrected figures."
        )
        with Vertical(classes="dialog", id="unfinalize-dialog"):
            yield Static(Content.styled(f"Unfinalize {inv.period}?", "bold"), classes="dialog-title")
            yield Static(Content(meaning), classes="dialog-text")
            yield Input(placeholder="reason (required)", id="reason", max_length=2000, compact=True)
            yield Static(id="dialog-error", classes="field-error")
            yield self.buttons("Unfinalize", "warning")

    def on_mount(self) -> None:
        self.show_error("")
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy:
            return
        reason = self.query_one("#reason", Input).value
        if not reason.strip():
            self.show_error("Not unfinalized: a reason is required (it is kept in the activity log).")
            self.query_one("#reason", Input).focus()
            return
        period = self.inv.period
        self.start(lambda ctx: svc.unfinalize(ctx, period, reason), self._done)

    def _done(self, result: svc.UnfinalizeResult) -> None:
        self.notify(
            f"{result.period} is a live draft again; the old snapshot stays in the history.",
            title="Unfinalized",
            markup=False,
            timeout=8,
        )
        self.dismiss(result)


# ---------------------------------------------------------------- overrides

KIND_HELP = {
    "exclude": "Exclude: keep the line, bill nothing",
    "hours": "Hours: bill these hours (the split scales)",
    "split": "Split: this line's own CODE=PCT (sums to 100)",
    "charge_to": "Charge to: another project (with its split)",
}
VALUE_PLACEHOLDER = {
    "exclude": "(none for exclude)",
    "hours": "hours, e.g. 20 or 12.5",
    "split": "e.g. NIH-1=70 NSF-2=30",
    "charge_to": "project title",
}


def _line_heading(period: str, project: Doc, line: Doc) -> Content:
    return Content.assemble(
        (f"#{line['reservation_id']} ", "bold"),
        (one_line(line["node"]), "bold"),
        " for ",
        (one_line(project["project"], max_len=50), "bold $accent"),
        f" in {period}",
    )


def _line_figures(line: Doc, currency: str) -> str:
    figures = (
        f"gross {line['gross_hours']} h · downtime {ir.minus(line['downtime_hours'])} h · "
        f"net {line.get('computed_net_hours', line['net_hours'])} h · "
        f"{ir.money(line['amount'])} {currency}"
    )
    return figures


def _initial_value(o: Doc | None) -> tuple[str, str]:
    if not o:
        return "exclude", ""
    kind, value = o["kind"], o.get("value")
    if kind == "hours":
        return kind, str(value)
    if kind == "split":
        return kind, " ".join(f"{c}={p}" for c, p in (value or {}).items())
    if kind == "charge_to":
        return kind, str(value or "")
    return kind, ""


def load_project_titles(ctx: Any) -> list[str]:
    from nodedesk.core.services.rentals import projects

    return [p.title for p in projects.list_projects(ctx, status="active")]


@dataclass(frozen=True)
class LineNow:
    """One reservation line of a month and its override, read together."""

    project: Doc
    line: Doc
    currency: str
    version: int  # the override's version; 0 without one


def read_line(ctx: Any, period: str, reservation_id: int) -> LineNow:
    """The line and its override as they are now (one read: the figures and the version agree)."""
    inv = svc.compute_invoice(ctx, period)
    found = next(
        (
            (p, ln)
            for p, ln in inv.lines()
            if ln.get("type") == "reservation" and ln.get("reservation_id") == reservation_id
        ),
        None,
    )
    if found is None:
        raise NotFoundError(
            f"reservation #{reservation_id} is no longer on the {period} invoice", field="reservation"
        )
    current = next((o for o in ovr.list_overrides(ctx, period) if o.reservation_id == reservation_id), None)
    return LineNow(found[0], found[1], inv.currency, current.version if current is not None else 0)


class _LineDialog(_Dialog):
    """An override dialog reads its line afresh before it may act (the screen behind may show an
    older month: another admin may have set or cleared the override meanwhile), shows it, and acts
    on the override it showed: the service refuses (nothing written) when it changed in between,
    and the dialog shows the line again as it is now, to be confirmed once more."""

    def __init__(self, period: str, project: Doc, line: Doc) -> None:
        super().__init__()
        self.period, self.project, self.line = period, project, line
        self.version: int | None = None  # the override version shown (None: still reading)

    def review(self) -> None:
        self.version = None
        self.query_one("#confirm", Button).disabled = True
        period, rid = self.period, self.line["reservation_id"]
        run_db(
            self,
            lambda ctx: read_line(ctx, period, rid),
            on_done=self._reviewed,
            on_error=self._review_failed,
            group="review",
        )

    def _reviewed(self, now: LineNow) -> None:
        shown = self.line.get("override")
        self.project, self.line, self.version = now.project, now.line, now.version
        note = self.query_one("#line-changed", Static)
        note.display = now.line.get("override") != shown
        if note.display:
            note.update(
                Content(
                    "Changed since the month was shown: "
                    + (ir.override_text(now.line.get("override")) or "no override now")
                )
            )
        self.show_line(now)
        self.query_one("#confirm", Button).disabled = not self.can_act(now)

    def _review_failed(self, exc: NodedeskError) -> None:
        self.show_error(f"Could not read the line: {exc}")

    def can_act(self, now: LineNow) -> bool:
        return True

    def show_line(self, now: LineNow) -> None:
        raise NotImplementedError

    def refused(self, exc: NodedeskError) -> None:
        super().refused(exc)
        if isinstance(exc, ConflictError) and exc.field == "version":
            self.show_error(f"Refused, nothing changed: {exc}. Shown again as it is now: confirm once more.")
            self.review()

    def ready(self) -> bool:
        """Whether the line was read (else say so)."""
        if self.version is None:
            self.show_error("Still reading the line as it is now…")
            return False
        return True


class OverrideFormScreen(_LineDialog):
    """Set (or replace) the override of one reservation line in one month."""

    def __init__(self, period: str, project: Doc, line: Doc, currency: str) -> None:
        super().__init__(period, project, line)
        self.currency = currency
        self.kind, self.initial = _initial_value(line.get("override"))

    def compose(self) -> ComposeResult:
        line = self.line
        with Vertical(classes="dialog", id="override-dialog"):
            yield Static(Content.styled("Override a line", "bold"), classes="dialog-title")
            yield Static(_line_heading(self.period, self.project, line), id="override-line")
            yield Static(
                Content(_line_figures(line, self.currency)), id="override-figures", classes="dialog-text"
            )
            yield Static(self._now_text(line), id="override-now", classes="dialog-text")
            yield Static(id="line-changed", classes="dialog-text warning")
            with RadioSet(id="kind"):
                for kind, text in KIND_HELP.items():
                    yield RadioButton(text, value=kind == self.kind, name=kind, id=f"kind-{kind}")
            yield field_row("Value", "value", Input(self.initial, id="value", compact=True, max_length=500))
            yield field_row(
                "Reason",
                "reason",
                Input(
                    placeholder="required (kept in the activity log)",
                    id="reason",
                    max_length=2000,
                    compact=True,
                ),
            )
            yield Static(id="dialog-error", classes="field-error")
            yield self.buttons("Save override")

    def on_mount(self) -> None:
        for field in ("value", "reason"):
            set_error(self, field, "")
        self.show_error("")
        self.query_one("#line-changed").display = False
        self.query_one("#override-now").display = bool(self.line.get("override"))
        self._kind_changed()
        self.query_one("#kind", RadioSet).focus()
        run_db(self, load_project_titles, on_done=self._titles, on_error=lambda exc: None)
        self.review()

    @staticmethod
    def _now_text(line: Doc) -> Content:
        current = ir.override_text(line.get("override"))
        return Content(f"Now: {current}\nSaving replaces it (one override per line and month).")

    def show_line(self, now: LineNow) -> None:
        self.currency = now.currency
        self.query_one("#override-line", Static).update(_line_heading(self.period, now.project, now.line))
        self.query_one("#override-figures", Static).update(Content(_line_figures(now.line, now.currency)))
        box = self.query_one("#override-now", Static)
        box.display = bool(now.line.get("override"))
        box.update(self._now_text(now.line))
        kind, initial = _initial_value(now.line.get("override"))
        value = self.query_one("#value", Input)
        if self.chosen() == self.kind and value.value == self.initial:  # untouched: follow the line
            self.kind, self.initial = kind, initial
            self.query_one(f"#kind-{kind}", RadioButton).value = True
            value.value = initial

    def _titles(self, titles: list[str]) -> None:
        own = self.project["project"]
        self.query_one("#value", Input).suggester = SuggestFromList(
            [t for t in titles if t != own], case_sensitive=False
        )

    def chosen(self) -> str:
        button = self.query_one("#kind", RadioSet).pressed_button
        return (button.name if button is not None else None) or "exclude"

    @on(RadioSet.Changed)
    def _kind_changed(self) -> None:
        kind = self.chosen()
        box = self.query_one("#value", Input)
        box.placeholder = VALUE_PLACEHOLDER[kind]
        box.disabled = kind == "exclude"
        if kind == "exclude":
            box.value = ""
        set_error(self, "value", "")

    @on(Input.Submitted, "#value")
    def _value_submitted(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.action_confirm()

    def _arguments(self) -> dict[str, Any] | None:
        """The service's keyword arguments, or None after showing what is missing."""
        kind = self.chosen()
        value = self.query_one("#value", Input).value.strip()
        reason = self.query_one("#reason", Input).value
        problems = {"value": "", "reason": ""}
        args: dict[str, Any] = {"kind": kind, "reason": reason}
        if kind != "exclude" and not value:
            problems["value"] = {
                "hours": "the hours to bill are required",
                "split": "the split is required (CODE=PCT …)",
                "charge_to": "the project to charge is required",
            }[kind]
        elif kind == "hours":
            args["hours"] = value
        elif kind == "split":
            try:
                args["split"] = [parse_assignment(item) for item in value.replace(",", " ").split()]
            except NodedeskError as exc:
                problems["value"] = exc.message
        elif kind == "charge_to":
            args["charge_to"] = value
        if not reason.strip():
            problems["reason"] = "a reason is required (kept in the activity log)"
        set_error(self, "value", problems["value"])
        set_error(self, "reason", problems["reason"])
        if problems["value"] or problems["reason"]:
            self.show_error("Not saved: fix the marked field.")
            self.query_one("#value" if problems["value"] else "#reason", Input).focus()
            return None
        return args

    def action_confirm(self) -> None:
        if self.busy or not self.ready():
            return
        args = self._arguments()
        if args is None:
            return
        period, rid, version = self.period, self.line["reservation_id"], self.version
        self.start(
            lambda ctx: ovr.set_override(ctx, period, rid, expected_version=version, **args), self._done
        )

    def refused(self, exc: NodedeskError) -> None:
        super().refused(exc)
        if exc.field in ("hours", "split", "charge_to"):
            set_error(self, "value", exc.message)
            self.query_one("#value", Input).focus()
        elif exc.field == "reason":
            set_error(self, "reason", exc.message)
            self.query_one("#reason", Input).focus()

    def _done(self, result: ovr.OverrideView) -> None:
        self.notify(
            f"Override on #{result.reservation_id} for {result.period}: {one_line(result.describe())}",
            title="Override saved",
            markup=False,
            timeout=8,
        )
        self.dismiss(result)


class ClearOverrideScreen(_LineDialog):
    """Remove a line's override (reason required): the ordinary rules apply again."""

    def compose(self) -> ComposeResult:
        line = self.line
        with Vertical(classes="dialog", id="clear-override-dialog"):
            yield Static(Content.styled("Clear the override?", "bold"), classes="dialog-title")
            yield Static(
                _line_heading(self.period, self.project, line), id="clear-line", classes="dialog-text"
            )
            yield Static(self._now_text(line), id="clear-now", classes="dialog-text")
            yield Static(id="line-changed", classes="dialog-text warning")
            yield Input(placeholder="reason (required)", id="reason", max_length=2000, compact=True)
            yield Static(id="dialog-error", classes="field-error")
            yield self.buttons("Clear override", "warning")

    @staticmethod
    def _now_text(line: Doc) -> Content:
        if not line.get("override"):
            return Content("This line has no override now: nothing to clear (escape).")
        return Content(
            f"{ir.override_text(line.get('override'))}\n"
            f"Without it the line is billed by the ordinary rules: "
            f"{line.get('computed_net_hours', line['net_hours'])} net hours."
        )

    def on_mount(self) -> None:
        self.show_error("")
        self.query_one("#line-changed").display = False
        self.query_one("#reason", Input).focus()
        self.review()

    def can_act(self, now: LineNow) -> bool:
        return bool(now.line.get("override"))

    def show_line(self, now: LineNow) -> None:
        self.query_one("#clear-line", Static).update(_line_heading(self.period, now.project, now.line))
        self.query_one("#clear-now", Static).update(self._now_text(now.line))

    @on(Input.Submitted, "#reason")
    def _submitted(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.busy or not self.ready():
            return
        if not self.line.get("override"):
            self.show_error("Nothing to clear: this line has no override now.")
            return
        reason = self.query_one("#reason", Input).value
        if not reason.strip():
            self.show_error("Not cleared: a reason is required (it is kept in the activity log).")
            self.query_one("#reason", Input).focus()
            return
        period, rid, version = self.period, self.line["reservation_id"], self.version
        self.start(
            lambda ctx: ovr.clear_override(ctx, period, rid, reason, expected_version=version), self._done
        )

    def _done(self, result: ovr.OverrideView) -> None:
        self.notify(
            f"Cleared the override on #{result.reservation_id} for {result.period} "
            f"(was {one_line(result.describe())}).",
            title="Override cleared",
            markup=False,
            timeout=8,
        )
        self.dismiss(result)


# ---------------------------------------------------------------- export


class ExportScreen(_ReviewDialog):
    """Write the month's invoice as CSV or JSON to a file: the figures the dialog shows."""

    CONFIRM = "Export"
    REFUSED = "Not written:"

    def __init__(self, state: MonthState) -> None:
        super().__init__(state)
        self.fmt = "csv"
        self.overwrite_armed: str | None = None  # the path the user agreed to overwrite

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog"):
            yield Static(
                Content.styled(f"Export the invoice of {self.period}", "bold"), classes="dialog-title"
            )
            yield Static(id="export-source", classes="dialog-text")
            yield Static(id="export-figures", classes="dialog-text")
            with RadioSet(id="format"):
                yield RadioButton("CSV (spreadsheets, accounting)", value=True, name="csv", id="format-csv")
                yield RadioButton("JSON (automation)", name="json", id="format-json")
            yield field_row(
                "File",
                "path",
                Input(invoice_export.default_path(self.period, "csv"), id="path", compact=True),
            )
            yield Static(id="dialog-error", classes="field-error")
            yield self.buttons("Export")

    def on_mount(self) -> None:
        set_error(self, "path", "")
        super().on_mount()
        self.query_one("#path", Input).focus()

    def show_reading(self) -> None:
        self.overwrite_armed = None  # agreed for other figures: ask again
        set_text(self, "#export-source", f"Reading {self.period} as it is now…")
        set_text(self, "#export-figures", "")

    def show_invoice(self, inv: svc.Invoice) -> None:
        if inv.status == "finalized":
            source = f"from its finalized snapshot (sha256 {inv.digest[:16]}…)"
            if not inv.integrity_ok:
                source += ", whose text NO LONGER MATCHES its SHA-256"
        else:
            source = f"as computed now (a live draft, digest {inv.digest[:16]}…)"
        set_text(
            self,
            "#export-source",
            f"The whole month, {source}. CSV: one row per line and cost object, as 'nodedesk "
            "invoice show --csv'. JSON: the documented invoice document, as '--json'.",
        )
        set_text(self, "#export-figures", _figures(inv))

    @on(RadioSet.Changed, "#format")
    def _format_changed(self) -> None:
        button = self.query_one("#format", RadioSet).pressed_button
        new = (button.name if button is not None else None) or "csv"
        box = self.query_one("#path", Input)
        if box.value.endswith(f".{self.fmt}"):  # keep the name, follow the format
            box.value = box.value[: -len(self.fmt)] + new
        self.fmt = new
        self._reset_overwrite()

    @on(Input.Changed, "#path")
    def _path_changed(self) -> None:
        self._reset_overwrite()

    def _reset_overwrite(self) -> None:
        if self.overwrite_armed is not None:
            self.overwrite_armed = None
            self.query_one("#confirm", Button).label = "Export (ctrl+s)"
            self.show_error("")

    @on(Input.Submitted, "#path")
    def _submitted(self) -> None:
        self.action_confirm()

    def act(self, inv: svc.Invoice) -> None:
        fmt = self.fmt
        raw = self.query_one("#path", Input).value
        overwrite = self.overwrite_armed == raw
        self.start(
            lambda ctx: invoice_export.export_checked(ctx, inv, raw, fmt, overwrite=overwrite),
            self._done,
            write=False,
        )

    def refused_otherwise(self, exc: NodedeskError) -> None:
        self.busy = False
        self.query_one("#confirm", Button).disabled = False
        if isinstance(exc, ConflictError) and exc.field == "path":
            self.overwrite_armed = self.query_one("#path", Input).value
            self.query_one("#confirm", Button).label = "Overwrite (ctrl+s)"
            self.show_error(f"{exc.message}. Press ctrl+s again to overwrite it, or type another name.")
            return
        self.show_error(f"Not written: {exc}")

    def _done(self, path: Any) -> None:
        self.notify(
            f"Wrote the {self.period} invoice ({self.fmt.upper()}) to {path}",
            title="Exported",
            markup=False,
            timeout=10,
        )
        self.dismiss(path)


# ---------------------------------------------------------------- drift


class DriftScreen(ModalScreen[None]):
    """The line-by-line differences between a finalized month's snapshot and live data."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, result: svc.VerifyResult, currency: str) -> None:
        super().__init__()
        self.result = result
        self.currency = currency

    def compose(self) -> ComposeResult:
        r = self.result
        snap, live = r.snapshot_totals.get("amount"), r.live_totals.get("amount")
        if r.drifted:
            head = (
                f"{ir.WARNING_MARK} {r.period} drifted: live data differs from the finalized snapshot "
                f"in {len(r.items)} place(s). Snapshot {ir.money(snap)} {self.currency}, "
                f"live {ir.money(live)} {self.currency}."
            )
        else:
            head = (
                f"✓ {r.period}: live data matches the finalized snapshot ({ir.money(snap)} {self.currency})."
            )
        lines = [f"• {one_line(i.text, max_len=400)}" for i in r.items]
        tail = []
        if r.drift_note:
            tail.append(f"Flagged by: {one_line(r.drift_note, max_len=400)}")
        tail.append(
            f"Snapshot sha256 {r.sha256}" + ("" if r.integrity_ok else " — DOES NOT MATCH its content")
        )
        if r.drifted:
            tail.append(
                "The invoice is still shown and exported from the snapshot. To bill the live "
                "figures: unfinalize (u, with a reason), then finalize (f) again."
            )
        with Vertical(classes="dialog wide", id="drift-dialog"):
            yield Static(Content.styled(head, "bold"), classes="dialog-title")
            with VerticalScroll(id="drift-body"):
                yield Static(Content("\n".join(lines) or "No differences."), id="drift-items")
                yield Static(Content("\n".join(tail)), classes="dialog-text muted", id="drift-tail")
            yield Static(Content("escape close · j/k scroll"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#drift-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#drift-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()
