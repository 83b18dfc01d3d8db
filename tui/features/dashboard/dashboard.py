"""Dashboard: the first screen — what is down now, what comes next, what waits for someone.

Six compact panels in a 2×3 grid (80×24 shows about five items a panel; a taller terminal
shows more). Every item is selectable and ``enter`` opens its own screen: a window or outage
detail, a reservation, an invoice month, a project's cost splits, the notices outbox. The data
comes from :func:`nodedesk.core.services.views.dashboard.dashboard` in one thread worker, which posts
:class:`DashboardScreen.Loaded`; it is reloaded when the screen comes back, when the change
feed reports a change (tui/kit/live.py) and on ``r``. Under the panels, one line says when Slurm
was last synced and how much drift there is now (only on a site that has run a sync).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from nodedesk.core import timeutil
from nodedesk.core.errors import NodedeskError
from nodedesk.core.safetext import one_line
from nodedesk.core.services.rentals import projects
from nodedesk.core.services.views import dashboard as svc
from nodedesk.core.slurm.status import SyncSummary
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Grid
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...kit import navigation, render
from ...kit.access import not_allowed
from ...kit.base import NodedeskScreen
from ...kit.live import Reread
from ...kit.render import LOCK

# panel id → title; the order is the focus order (row by row: left, right)
PANELS = {
    "now": "In progress now",
    "risk": "Reservations at risk · 7 days",
    "near": "Next 7 days",
    "approvals": "Pending approvals",
    "far": "Upcoming · 8–30 days",
    "office": "Invoices · notices",
}
GLYPH = {
    "window": "⚒",
    "outage": "⚠",
    "reservation": "▣",
    "split": "%",
    "invoice": "$",
    "notices": "✉",
    "slurm": "⇄",
}
INVOICE_WORD = {"draft": "draft", "finalized": "finalized ✓", "drifted": "⚠ drifted"}


def _node_list(nodes: tuple[str, ...]) -> str:
    return ", ".join(nodes) if len(nodes) <= 3 else f"{', '.join(nodes[:2])} +{len(nodes) - 2}"


class DashboardScreen(NodedeskScreen):
    CSS_PATH = "dashboard.tcss"
    SECTION = "dashboard"
    HELP_TOPIC = "dashboard"

    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the selected item's screen", priority=True),
        Binding("a", "decide('approve')", "Approve", tooltip="Approve the selected split"),
        Binding("x", "decide('reject')", "Reject", tooltip="Reject the selected split"),
        Binding("r", "reload", "Refresh", tooltip="Reload the dashboard now (it is live anyway)"),
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
        Binding("l", "panel('next')", "Next panel", show=False, tooltip="Next panel (also tab)"),
        Binding("h", "panel('previous')", "Previous panel", show=False, tooltip="Previous panel"),
    ]

    class Loaded(Message):
        """The dashboard was read (posted from the worker's result, handled on the UI thread)."""

        def __init__(self, data: svc.Dashboard) -> None:
            super().__init__()
            self.data = data

    class SlowLoaded(Message):
        """The slow parts were read; they complete the dashboard last shown."""

        def __init__(self, parts: svc.SlowParts) -> None:
            super().__init__()
            self.parts = parts

    def __init__(self) -> None:
        super().__init__()
        self.data: svc.Dashboard | None = None
        self.loads = 0  # completed loads (tests wait on it)
        self.feed_reads = Reread()
        self._loaded_once = False

    # ------------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        with Grid(id="dash-grid"):
            for panel_id, title in PANELS.items():
                options = OptionList(Option(Content.styled("Loading…", "dim"), disabled=True), id=panel_id)
                options.border_title = title
                yield options
        yield Static(id="dash-slurm")

    def on_mount(self) -> None:
        self.query_one("#dash-slurm").display = False
        self.panel("now").focus()
        self.reload()

    def panel(self, panel_id: str) -> OptionList:
        return self.query_one(f"#{panel_id}", OptionList)

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        """Read the quick panels first, then the slow ones (at-risk reservations, invoices), so a
        big centre's dashboard is usable before its invoices are computed."""
        self.db(
            lambda ctx: svc.dashboard(ctx, slow=False),
            self._deliver,
            on_error=self._failed,
            group="dashboard",
            exclusive=True,
        )

    def refresh_from_feed(self, kinds: frozenset[str] = frozenset()) -> None:
        """Data changed: read again, but let a read in progress finish first (its slow panels
        would be dropped by a newer read, and a busy centre changes every second)."""
        self.feed_reads.request(self.reload)

    def _deliver(self, data: svc.Dashboard) -> None:
        self.post_message(self.Loaded(data))

    def _deliver_slow(self, parts: svc.SlowParts) -> None:
        self.post_message(self.SlowLoaded(parts))

    def _failed(self, exc: NodedeskError) -> None:
        self.feed_reads.finished(self.reload)
        self.refused(exc, "Could not load the dashboard")

    @on(Loaded)
    def _show_quick(self, message: Loaded) -> None:
        data = message.data
        previous = self.data
        if previous is not None and previous.complete:  # keep the last figures while re-reading
            assert previous.at_risk is not None and previous.invoice is not None
            assert previous.last_month is not None
            data = data.with_slow(svc.SlowParts(previous.at_risk, previous.invoice, previous.last_month))
        self._show(data)
        self.db(
            svc.slow_parts, self._deliver_slow, on_error=self._failed, group="dashboard-slow", exclusive=True
        )

    @on(SlowLoaded)
    def _show_slow(self, message: SlowLoaded) -> None:
        if self.data is not None:
            self._show(self.data.with_slow(message.parts))
            self.loads += 1  # a whole, fresh dashboard is on screen (tests wait on this)
        self.feed_reads.finished(self.reload)

    def _show(self, data: svc.Dashboard) -> None:
        self.data = data
        self._loaded_once = True
        tz = self.session.tz
        self._fill("now", self._now_items(data, tz), "nothing in progress", 0)
        self._fill(
            "near",
            self._window_items(data.windows_near, tz, "ddd D HH:mm"),
            "no windows",
            data.windows_near.more,
        )
        self._fill(
            "far",
            self._window_items(data.windows_far, tz, "MMM D HH:mm"),
            "no windows",
            data.windows_far.more,
        )
        if data.at_risk is None:
            self._fill("risk", [], "Loading…", 0)
        else:
            self._fill("risk", self._risk_items(data, tz), "no downtime on reservations", data.at_risk.more)
        self._fill("approvals", self._approval_items(data, tz), "nothing waits for approval", 0)
        self._fill("office", self._office_items(data), "", 0)
        self._show_slurm(data.slurm, tz)
        self.panel("now").border_subtitle = self._count(data.windows_now.total + data.outages_now.total)
        self.panel("near").border_subtitle = self._count(data.windows_near.total)
        self.panel("far").border_subtitle = self._count(data.windows_far.total)
        self.panel("risk").border_subtitle = self._count(data.at_risk.total if data.at_risk else 0)
        self.panel("approvals").border_subtitle = self._count(
            data.pending_reservations.total + data.pending_splits.total
        )
        self.refresh_bindings()

    def _show_slurm(self, summary: SyncSummary | None, tz: str) -> None:
        """The Slurm line: the last sync and the drift now (nothing if no sync ever ran)."""
        line = self.query_one("#dash-slurm", Static)
        last = summary.last if summary is not None else None
        line.display = summary is not None and last is not None
        if summary is None or last is None:
            return
        when = timeutil.to_local(last.at, tz).format("ddd D MMM HH:mm")
        drift = summary.drift_total
        trouble = drift > 0 or last.outcome != "ok" or bool(summary.nodes_out)
        line.set_class(trouble, "-trouble")
        outcome = "ok" if last.outcome == "ok" else f"{last.outcome}, {last.problems} problem(s)"
        drift_words = f"{drift} drift item{'s' if drift != 1 else ''}" if drift else "no drift"
        out = f" · {len(summary.nodes_out)} node(s) out of service" if summary.nodes_out else ""
        line.update(
            Content.assemble(
                (f"{GLYPH['slurm']} Slurm ", "bold"),
                f"last sync {when} by {one_line(last.by, max_len=20)}: {outcome} · ",
                (drift_words, "bold" if drift else ""),
                out,
            )
        )

    @staticmethod
    def _count(n: int) -> str:
        return str(n) if n else ""

    def _fill(self, panel_id: str, items: list[Option], empty: str, more: int) -> None:
        options = self.panel(panel_id)
        keep = options.highlighted_option.id if options.highlighted_option is not None else None
        if not items:
            items = [Option(Content.styled(empty, "dim"), disabled=True)]
        if more:
            items.append(Option(Content.styled(f"… and {more} more", "dim"), disabled=True))
        options.clear_options()
        options.add_options(items)
        ids = [o.id for o in items]
        if keep in ids:
            options.highlighted = ids.index(keep)
        else:
            first = next((i for i, o in enumerate(items) if not o.disabled), None)
            options.highlighted = first

    # ------------------------------------------------------------------ panel items

    def _until(self, end: datetime, now: datetime, tz: str) -> str:
        local, today = timeutil.to_local(end, tz), timeutil.to_local(now, tz)
        return local.format("HH:mm" if local.date() == today.date() else "ddd D HH:mm")

    def _now_items(self, data: svc.Dashboard, tz: str) -> list[Option]:
        items: list[Option] = []
        for o in data.outages_now.items:
            if o.etr is None:
                etr = "no ETR"
            elif o.etr_overdue:
                etr = "ETR overdue"
            else:
                etr = f"ETR {self._until(o.etr, data.now, tz)}"
            prompt = Content.assemble(
                (f"{GLYPH['outage']} ", "$warning"),
                (one_line(o.title, max_len=60), "bold"),
                "\n  ",
                (etr, "$warning" if o.etr_overdue else ""),
                (f" · {_node_list(o.nodes)}", "dim"),
            )
            items.append(Option(prompt, id=f"outage:{o.id}"))
        for w in data.windows_now.items:
            nodes = w.nodes_label()
            prompt = Content.assemble(
                (f"{GLYPH['window']} ", "$accent"),
                (f"{render.EMERGENCY} ", "bold $error") if w.window.emergency else "",
                (one_line(w.window.title, max_len=60), "bold"),
                f"\n  until {self._until(w.window.end, data.now, tz)}",
                (f" · {nodes}", "dim"),
            )
            items.append(Option(prompt, id=f"window:{w.id}"))
        if data.windows_now.more or data.outages_now.more:
            more = data.windows_now.more + data.outages_now.more
            items.append(Option(Content.styled(f"… and {more} more", "dim"), disabled=True))
        return items

    def _window_items(self, panel: svc.Panel[svc.DashWindow], tz: str, fmt: str) -> list[Option]:
        items = []
        for w in panel.items:
            nodes = w.nodes_label()
            start, end = timeutil.to_local(w.window.start, tz), timeutil.to_local(w.window.end, tz)
            until = end.format("HH:mm" if end.date() == start.date() else fmt)
            prompt = Content.assemble(
                (f"{start.format(fmt)}–{until}", "bold"),
                " ",
                (f"{render.EMERGENCY} ", "bold $error") if w.window.emergency else "",
                one_line(w.window.title, max_len=40),
                (f" · {nodes}", "dim"),
            )
            items.append(Option(prompt, id=f"window:{w.id}"))
        return items

    def _risk_items(self, data: svc.Dashboard, tz: str) -> list[Option]:
        items = []
        for a in data.at_risk.items if data.at_risk else ():
            r = a.reservation
            mark = "…" if r.status == "pending" else "✓"
            prompt = Content.assemble(
                (timeutil.to_local(r.start, tz).format("ddd D HH:mm"), "bold"),
                f" {r.node} ",
                (f"{a.hours_affected:.2f} h down", "$warning"),
                f" · {mark} ",
                one_line(r.project, max_len=40),
            )
            items.append(Option(prompt, id=f"reservation:{r.id}"))
        return items

    def _approval_items(self, data: svc.Dashboard, tz: str) -> list[Option]:
        items = []
        for r in data.pending_reservations.items:
            prompt = Content.assemble(
                (f"{GLYPH['reservation']} #{r.id} ", "bold"),
                f"{r.node} ",
                one_line(r.project, max_len=30),
                (f" · {timeutil.to_local(r.start, tz).format('MMM D HH:mm')}", "dim"),
            )
            items.append(Option(prompt, id=f"reservation:{r.id}"))
        if data.pending_reservations.more:
            more = data.pending_reservations.more
            items.append(Option(Content.styled(f"… and {more} more reservations", "dim"), disabled=True))
        for s in data.pending_splits.items:
            prompt = Content.assemble(
                (f"{GLYPH['split']} split #{s.id} ", "bold"),
                one_line(s.project, max_len=30),
                (f" · from {s.effective_date.isoformat()}", "dim"),
            )
            items.append(Option(prompt, id=f"split:{s.project_id}:{s.id}"))
        if data.pending_splits.more:
            more = data.pending_splits.more
            items.append(Option(Content.styled(f"… and {more} more splits", "dim"), disabled=True))
        return items

    def _office_items(self, data: svc.Dashboard) -> list[Option]:
        items = []
        if data.invoice is None or data.last_month is None:
            items.append(Option(Content.styled("Loading invoices…", "dim"), disabled=True))
        for label, inv in (("this month", data.invoice), ("last month", data.last_month)):
            if inv is None:
                continue
            style = "$warning" if inv.status == "drifted" else "bold"
            amount = f"{inv.amount:,.2f} {inv.currency}"
            word = INVOICE_WORD.get(inv.status, inv.status)
            if inv.status == "draft" and label == "last month" and inv.projects:
                word = "draft, not finalized"
            if inv.status == "draft" and not inv.projects:
                tail = "no charges"
            elif inv.status == "draft" and label == "this month":
                tail = f"{amount} so far"
            else:
                tail = amount
            prompt = Content.assemble(
                (f"{GLYPH['invoice']} {inv.period} ", "bold"),
                (word, style),
                (f" ({label})", "dim"),
                f"\n  {tail}",
            )
            items.append(Option(prompt, id=f"invoice:{inv.period}"))
        n = data.notices
        if n.waiting:
            detail = f" ({n.pending} pending, {n.failed} failed)" if n.failed else ""
            words = f"{n.waiting} notice{'s' if n.waiting != 1 else ''} waiting{detail}"
        else:
            words = "no notices waiting"
        failed_style = "$warning" if n.failed else ""
        items.append(
            Option(Content.assemble((f"{GLYPH['notices']} ", "bold"), (words, failed_style)), id="notices")
        )
        return items

    # ------------------------------------------------------------------ actions

    def _selected(self) -> str | None:
        focused = self.focused
        if isinstance(focused, OptionList) and focused.highlighted_option is not None:
            option = focused.highlighted_option
            return None if option.disabled else option.id
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "decide":  # offered (footer, help) only while a pending split is selected
            selected = self._selected()
            return bool(selected and selected.startswith("split:"))
        return True

    @on(OptionList.OptionHighlighted)
    def _moved(self) -> None:
        self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.open_item(event.option_id)

    def action_open(self) -> None:
        self.open_item(self._selected())

    def open_item(self, item: str | None) -> None:
        if not item:
            return
        kind, _, rest = item.partition(":")
        if kind == "window":
            navigation.go(self.app, "window.detail", int(rest))
        elif kind == "outage":
            navigation.go(self.app, "outage.detail", int(rest))
        elif kind == "reservation":
            navigation.go(self.app, "reservation.detail", int(rest))
        elif kind == "invoice":
            navigation.go(self.app, "invoice.month", rest)
        elif kind == "split":
            navigation.go(self.app, "project.detail", int(rest.split(":")[0]), pane="splits")
        elif kind == "notices":
            self.open_notices()

    def open_notices(self) -> None:
        navigation.go(self.app, "notices")

    def action_decide(self, decision: str) -> None:
        """Approve or reject the selected pending split in the projects' decision dialog."""
        selected = self._selected()
        if not selected or not selected.startswith("split:"):
            return
        why = not_allowed(self.session, "approve_splits")
        if why:
            self.explain(why, f"{'Approve' if decision == 'approve' else 'Reject'} {LOCK}")
            return
        project_id, split_id = (int(x) for x in selected.split(":")[1:])
        pending = next(
            (s for s in (self.data.pending_splits.items if self.data else ()) if s.id == split_id), None
        )
        if pending is None:
            return

        def show(project: projects.ProjectView) -> None:
            navigation.go(
                self.app, "project.split_decision", project, pending, decision, then=lambda _r: self.reload()
            )

        self.db(lambda ctx: projects.get_project(ctx, project_id), show, on_error=self._failed)

    def action_reload(self) -> None:
        self.reload()

    def action_cursor(self, direction: str) -> None:
        focused = self.focused
        if isinstance(focused, OptionList):
            focused.action_cursor_down() if direction == "down" else focused.action_cursor_up()

    def action_panel(self, direction: str) -> None:
        self.focus_next(OptionList) if direction == "next" else self.focus_previous(OptionList)

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Refresh dashboard", "Reload every panel (r)", self.reload)
        yield SystemCommand("Open notices outbox", "Notices waiting to be sent", self.open_notices)
