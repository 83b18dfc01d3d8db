"""One maintenance window: every field, whether Slurm has it, its lock state and what may be done
with it.

While the window is not over, the impact panel under it shows the reservations it hits and the
free nodes of their type each could move to; ``M`` moves all that can be moved (one
confirmation listing the moves; help/windows.md "Moving renters off a window")."""

from __future__ import annotations

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError, NotFoundError
from nodedesk.core.services.downtime import schedules
from nodedesk.core.services.downtime import windows as svc
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ...kit import render
from ...kit.base import NodedeskScreen
from ...widgets.impact_panel import ImpactPanel, Proposal
from . import window_slurm
from .window_actions import WINDOW_ACTION_BINDINGS, WindowActionsMixin, not_allowed

MOVE_ALL_TIP = "Move all that can be moved: the reservations it hits to free nodes of their type"


class WindowDetailScreen(WindowActionsMixin, NodedeskScreen):
    SECTION = "windows"
    HELP_TOPIC = "windows"
    HELP_TITLE = "window detail"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        *WINDOW_ACTION_BINDINGS,
        Binding("M", "move_all", "Move all", key_display="M", tooltip=MOVE_ALL_TIP),
        Binding("r", "reload", "Reload", show=False),
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
    ]

    def __init__(self, window_id: int) -> None:
        super().__init__()
        self.window_id = window_id
        self.window: svc.WindowView | None = None
        self.link: schedules.WindowLink | None = None  # the recurring schedule it belongs to
        self.slurm = window_slurm.SlurmState(None)

    def crumbs(self) -> tuple[str, ...]:
        return (f"#{self.window_id}",)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static(Content("Loading…"), id="detail-fields")
            yield Static(id="detail-description")
            yield Static(id="detail-lock")
            yield Static(id="detail-hint")
        yield ImpactPanel(id="impact-panel", move_key="M")

    def on_mount(self) -> None:
        self.query_one("#detail-body").focus()
        self.reload()

    def reload(self) -> None:
        window_id = self.window_id
        self.db(
            lambda ctx: (
                svc.get_window(ctx, window_id),
                schedules.link_of_window(ctx, window_id),
                window_slurm.read(ctx, [window_id]),
            ),
            self._loaded,
            on_error=self._failed,
            group="detail",
        )

    def _loaded(
        self, loaded: tuple[svc.WindowView, schedules.WindowLink | None, window_slurm.SlurmState]
    ) -> None:
        self.window, self.link, self.slurm = loaded
        self._show(loaded[0])

    def _failed(self, exc: NodedeskError) -> None:
        if isinstance(exc, NotFoundError):
            self.explain(f"Window #{self.window_id} no longer exists (deleted by someone else?).", "Gone")
            self.dismiss(None)
            return
        self.refused(exc, "Could not load the window")

    def _show(self, w: svc.WindowView) -> None:
        self.window = w
        tz = self.session.tz
        label_width = 11

        def row(label: str, value: Content | str) -> Content:
            return Content.assemble((label.ljust(label_width), "bold"), value)

        flag = (f"{render.EMERGENCY}  ", "bold $error") if w.emergency else ""
        rows = [
            Content.assemble((f"#{w.id}  ", "bold"), flag, (render.one_line(w.title), "bold $accent")),
            Content(""),
            row("Status", Content.from_rich_text(render.status_text(w.status, locked=w.locked))),
            row("Start", timeutil.format_local(w.start, tz)),
            row("End", timeutil.format_local(w.end, tz)),
            row("Duration", timeutil.format_duration(w.duration)),
            row("Scope", render.one_line(w.scope.label())),
            row("In Slurm", window_slurm.sentence(self.slurm.of(w.id))),
            row("Backdated", "yes (created with a start in the past)" if w.backdated else "no"),
            *(
                [row("Emergency", "yes (declared at once for a failure; notices sent at once)")]
                if w.emergency
                else []
            ),
            row("Created", f"{timeutil.format_local(w.created_at, tz)} by {render.one_line(w.created_by)}"),
            row(
                "Modified", f"{timeutil.format_local(w.modified_at, tz)} by {render.one_line(w.modified_by)}"
            ),
            row("Version", str(w.version)),
            row("UUID", w.uuid),
        ]
        if self.link is not None:
            ln = self.link
            rows.append(
                row(
                    "Schedule",
                    f"Part of schedule #{ln.schedule_id} {render.one_line(ln.title, max_len=40)!r} "
                    f"({ln.rule_text}), the {ln.occurrence_date.isoformat()} occurrence"
                    + (" (moved)" if ln.moved else ""),
                )
            )
        self.query_one("#detail-fields", Static).update(Content("\n").join(rows))
        desc = self.query_one("#detail-description", Static)
        if w.description:
            desc.update(
                Content.assemble(("Description\n", "bold"), render.content(w.description, multiline=True))
            )
        else:
            desc.update(Content.styled("No description.", "dim"))
        lock = self.query_one("#detail-lock", Static)
        lock.display = w.locked
        if w.locked:
            lock.update(Content.assemble((f"{render.LOCK} Locked: ", "bold"), w.lock_reason(tz)))
        self.query_one("#detail-hint", Static).update(Content.styled(self._hint(w), "dim"))
        panel = self.query_one(ImpactPanel)
        if w.status == "completed":
            panel.propose(None, "the window is over: nobody to move off it")
        else:  # its whole impact (its saved version is not counted twice)
            panel.propose(Proposal(w.start, w.end, w.scope, exclude_window_id=w.id))
        self.refresh_bindings()

    def _hint(self, w: svc.WindowView) -> str:
        refusal = not_allowed(self.session, "manage_windows")
        if refusal:
            return refusal
        if w.status == "upcoming":
            return "e edit · d delete (you will see the billing impact first) · escape back"
        can_correct = not not_allowed(self.session, "correct")
        if w.status == "in_progress":
            base = "e move the end (to now or later: overran or finished early)"
        else:
            base = "edit and delete are locked"
        if can_correct:
            base += " · C correct · X delete as correction (admin, reason required)"
        return base + " · escape back"

    # ------------------------------------------------------------------ actions

    def current_window(self) -> svc.WindowView | None:
        return self.window

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "move_all":
            return self.query_one(ImpactPanel).can_move()  # shown while something can move
        state = self.window_action_state(action)
        return True if state is None else state

    def action_move_all(self) -> None:
        self.query_one(ImpactPanel).move_all()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.reload()

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    def open_form(self, mode: str, window: svc.WindowView) -> None:
        from .window_form import WindowFormScreen

        self.app.push_screen(WindowFormScreen(mode, window), self._saved)

    def open_delete(self, window: svc.WindowView, correction: bool) -> None:
        from .window_delete import DeleteWindowScreen

        self.app.push_screen(DeleteWindowScreen(window, correction=correction), self._deleted)

    def _saved(self, result: svc.SaveResult | None) -> None:
        if result is not None:
            self._show(result.window)

    def _deleted(self, result: svc.DeleteResult | None) -> None:
        if result is not None:
            self.dismiss(None)
