"""The one paged list screen: filter, sort, filter cycles, paging, selection, refresh, states.

A list screen declares its columns (:meth:`ListScreen.columns`), its sorts and filter cycles
(``SORTS``, ``CYCLES``), how it reads a page (:meth:`ListScreen.fetch`, run in a thread worker
inside one read unit of work), how a row looks (:meth:`ListScreen.cells`) and what enter opens
(:meth:`ListScreen.open`). The base class does the rest:

- ``/`` shows the filter box; typing filters after a short pause; enter or escape leave it;
- ``s`` cycles the sorts, ``S`` reverses, a click on a sortable header picks it;
- each filter cycle has its key (``f`` status...), ``escape`` clears filter and cycles;
- paging through :class:`VirtualTable` (pages in memory, neighbours read ahead);
- the cursor stays on its row (by key) after any reload; ``r`` reloads, and so does the
  ``REFRESH_SECONDS`` timer and :meth:`ListScreen.refresh_from_feed`;
- one line says when the list is loading, empty, or could not be read;
- with ``MARKS`` (and :func:`mark_bindings` in its keys): ``space`` marks the cursor row, ``V``
  marks the rows from the last mark to the cursor, ``escape`` (with no filter to clear) clears
  the marks; marks are row keys, kept across pages and reloads, dropped when the filter or a
  filter cycle changes; the screen acts on :meth:`ListScreen.marked_keys`;
- ``ctrl+e`` writes the whole list as it is filtered and sorted now (every page) to a CSV file
  (tui/kit/export.py); a screen names the columns in :meth:`ListScreen.export_headers` and the
  cells in :meth:`ListScreen.export_cells` (by default: the table's columns and the plain text
  of :meth:`ListScreen.cells`, asked with ``exporting`` set, when a screen gives full dates).

Workers post typed messages (:class:`ListScreen.Loaded`, :class:`ListScreen.LoadFailed`) to the
screen; errors are the command line's one-line mapping (tui/kit/errors.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from nodedesk.core import timeutil
from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import NodedeskError
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from ..widgets.paged_table import Col, CursorHint, PagedTable, Row
from . import render
from .base import NodedeskScreen
from .cache import last_offset
from .query import Cycle, ListQuery, Page, SimplePage, Sort
from .table import MARK_GLYPH, VirtualTable
from .workers import in_unit_of_work

if TYPE_CHECKING:
    from nodedesk.core.services.rentals.bulk import BulkResult

    from .bulk import BulkAction

T = TypeVar("T")
DEBOUNCE_SECONDS = 0.25
READ_LIMIT = 1000  # rows per read when a list is read whole (the services' largest page)

Part = str | tuple[str, str]


def filter_binding(tooltip: str) -> Binding:
    return Binding("slash", "filter", "Filter", key_display="/", tooltip=tooltip)


def sort_bindings(tooltip: str, *, show: bool = False) -> list[Binding]:
    return [
        Binding("s", "cycle_sort", "Sort", show=show, tooltip=tooltip),
        Binding("S", "reverse_sort", "Reverse sort", show=False, key_display="S"),
    ]


def cycle_bindings(cycles: Sequence[Cycle]) -> list[Binding]:
    return [Binding(c.key, f"cycle_{c.name}", c.description, show=c.show, tooltip=c.tooltip) for c in cycles]


def reload_binding(tooltip: str = "Reload") -> Binding:
    return Binding("r", "reload", "Reload", tooltip=tooltip)


def clear_binding() -> Binding:
    return Binding("escape", "clear_filter", "Clear filter")


def mark_bindings() -> list[Binding]:
    """The keys of a list with ``MARKS``; put them after :func:`clear_binding` (``escape`` clears
    the filter first, then the marks: both keep the filter's key id)."""
    return [
        Binding("space", "toggle_mark", "Mark", show=False, tooltip="Mark or unmark the row"),
        Binding(
            "V",
            "mark_range",
            "Mark range",
            show=False,
            key_display="V",
            tooltip="Mark from the last mark to here",
        ),
        Binding("escape", "clear_marks", "Clear marks"),
    ]


EXPORT_BINDING = Binding(
    "ctrl+e", "export", "Export CSV", show=False, tooltip="Write the whole list as filtered now to a CSV file"
)


class ListScreen(NodedeskScreen):
    """Base of every paged list screen (see the module docstring)."""

    BINDINGS = [EXPORT_BINDING]

    LIST_TITLE: ClassVar[str] = "List"  # the status line's first word
    NOUN: ClassVar[str] = "rows"  # "Could not load <noun>", "No <noun> yet."
    BODY_ID: ClassVar[str] = "list-body"
    TABLE_ID: ClassVar[str] = "list-table"
    FILTER_PLACEHOLDER: ClassVar[str | None] = None  # None: the list has no text filter
    # A screen with its own filter row overrides compose_filter/read_filter/reset_filter and
    # names the row here; refusals about FILTER_FIELDS are shown in the status line instead.
    FILTER_BOX: ClassVar[str] = "#filter"
    FILTER_FIELDS: ClassVar[frozenset[str]] = frozenset()
    SORTS: ClassVar[tuple[Sort, ...]] = ()
    CYCLES: ClassVar[tuple[Cycle, ...]] = ()
    REFRESH_SECONDS: ClassVar[float | None] = None
    PAGE_SIZE: ClassVar[int] = 100
    PREVIEW: ClassVar[bool] = False  # a two-line preview of the current row under the table
    TABLE: ClassVar[type[VirtualTable]] = VirtualTable
    LOCAL: ClassVar[bool] = False  # True: page_in_memory pages rows the screen holds, not fetch
    OPENS: ClassVar[bool] = True  # False: rows open nothing (enter is not offered)
    MARKS: ClassVar[bool] = False  # True: rows can be marked (with mark_bindings() in BINDINGS)
    EXPORT_NAME: ClassVar[str | None] = None  # the CSV's default name; None: the screen's SECTION

    # ------------------------------------------------------------------ messages

    class Loaded(Message):
        """A page read by the list's worker."""

        def __init__(
            self, query: ListQuery, page: Page, cursor: CursorHint, keep_scroll: bool, generation: int
        ):
            super().__init__()
            self.query, self.page, self.cursor = query, page, cursor
            self.keep_scroll, self.generation = keep_scroll, generation

    class LoadFailed(Message):
        """The list's worker could not read a page: the one-line refusal."""

        def __init__(self, query: ListQuery, error: NodedeskError, generation: int) -> None:
            super().__init__()
            self.query, self.error, self.generation = query, error, generation

    class Prefetched(Message):
        def __init__(self, pages: list[Page], generation: int) -> None:
            super().__init__()
            self.pages, self.generation = pages, generation

    class RangeRead(Message):
        """The rows between the last mark and the cursor, read to mark them."""

        def __init__(self, keys: list[str], generation: int) -> None:
            super().__init__()
            self.keys, self.generation = keys, generation

    # ------------------------------------------------------------------ what a subclass declares

    def columns(self) -> list[Col]:
        raise NotImplementedError

    def fetch(self, ctx: ServiceContext, query: ListQuery) -> Page:
        """Read one page (runs in a worker thread: use ``query`` only, never widgets)."""
        raise NotImplementedError

    def page_in_memory(self, query: ListQuery) -> Page:
        """With ``LOCAL``: one page of the rows the screen holds (UI thread, no database)."""
        raise NotImplementedError

    def cells(self, item: Any) -> Sequence[Any]:
        raise NotImplementedError

    def key(self, item: Any) -> str:
        return str(item.id)

    def page_read(self, page: Page) -> None:
        """A page arrived from :meth:`fetch` (UI thread), before it is shown or kept: a screen
        whose cells need more than the items keeps it here (the Windows list: Slurm presence)."""

    def export_headers(self) -> list[str]:
        """The CSV's header line: the columns the table shows (asked with ``exporting`` set)."""
        return [c.label for c in self.columns()]

    def export_cells(self, item: Any) -> list[str]:
        """One CSV row: the plain text of :meth:`cells` (asked with ``exporting`` set)."""
        return [plain_text(c) for c in self.cells(item)]

    def open(self, item: Any) -> None:
        """What enter on a row opens (nothing by default)."""

    def preview(self, item: Any | None) -> Content:
        """The preview under the table (with ``PREVIEW``); ``item`` is None on an empty list."""
        return Content(self.empty_text() if item is None else "")

    def empty_text(self) -> str:
        return f"No {self.NOUN} match." if self.filtered else f"No {self.NOUN} yet."

    def status_parts(self) -> list[Part]:
        """The status line: title, range, cycles, sort, filter text."""
        parts: list[Part] = [(f"{self.LIST_TITLE} ", "bold"), self.table.range_label()]
        for cycle in self.CYCLES:
            parts += [f"  ·  {cycle.name}: ", (cycle.label(self.filters[cycle.name]), "bold")]
        sort = self.current_sort
        if sort is not None:
            parts += ["  ·  sort: ", (f"{sort.label} {sort.arrow(self.descending)}", "bold")]
        if self.text:
            from . import render

            parts += ["  ·  filter: ", (render.one_line(self.text, max_len=30), "bold $accent")]
        return parts

    # ------------------------------------------------------------------ set-up

    def __init_subclass__(cls, **kwargs: Any) -> None:
        for cycle in cls.__dict__.get("CYCLES", ()):
            name = f"action_cycle_{cycle.name}"
            if name not in cls.__dict__:
                setattr(cls, name, lambda self, _c=cycle.name: self.cycle(_c))
        super().__init_subclass__(**kwargs)

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        first = self.SORTS[0] if self.SORTS else None
        self.sort: str | None = first.key if first else None
        self.descending = first.descending if first else False
        self.filters: dict[str, Any] = {c.name: c.values[0] for c in self.CYCLES}
        self.loaded = False
        self.items: Sequence[Any] = ()  # the page on screen: columns() may size to it
        self.error: NodedeskError | None = None
        self.problem = ""  # a refusal about the filter (FILTER_FIELDS), shown in the status line
        self._cols: list[Col] | None = None
        self._debounce: Timer | None = None
        self._select: str | None = None
        # The filter box "/" opened: letters typed before it has the focus still go into it.
        self.typing_into: Input | None = None
        self.exporting = False  # cells() is asked for the CSV: full text, no narrow forms
        self.mark_anchor: tuple[str, int] | None = None  # the last row marked: (key, place in the list)
        self.note = ""  # a line about the last action on the marks, in the status line

    def compose_body(self) -> ComposeResult:
        with Vertical(id=self.BODY_ID, classes="list-body"):
            yield from self.compose_filter()
            yield Static(id="list-status")
            yield Static(id="list-state", classes="-loading")
            yield self.TABLE(
                self.render_rows,
                self.key,
                page_size=self.PAGE_SIZE,
                opens=self.OPENS,
                local=self.LOCAL,
                marking=self.MARKS,
                id=self.TABLE_ID,
            )
            if self.PREVIEW:
                yield Static(id="preview")

    def compose_filter(self) -> ComposeResult:
        """The filter row (hidden until ``/``); by default one text box."""
        if self.FILTER_PLACEHOLDER is not None:
            yield Input(placeholder=self.FILTER_PLACEHOLDER, id="filter")

    def read_filter(self) -> bool:
        """Take the filter row's values into the list's state; True when they changed."""
        value = self.query_one("#filter", Input).value.strip()
        changed, self.text = value != self.text, value
        return changed

    def reset_filter(self) -> None:
        """Empty the filter row and the state it sets (escape)."""
        self.text = ""
        self.query_one("#filter", Input).value = ""

    def filter_ready(self, box: Input) -> bool:
        """Whether what is typed so far is worth asking about (after the pause)."""
        return True

    @property
    def filter_box(self) -> Widget | None:
        found = self.query(self.FILTER_BOX)
        return found.first() if found else None

    def on_mount(self) -> None:
        if self.filter_box is not None:
            self.filter_box.display = False
        self.table.focus()
        self.set_columns()
        self._show_state()
        self.reload()
        if self.REFRESH_SECONDS:
            self.set_interval(self.REFRESH_SECONDS, self.refresh_from_feed)

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.on_return()

    def on_return(self) -> None:
        """Back from a detail or a form: what it changed shows, the view stays put."""
        self.reload(keep_scroll=True)

    def on_resize(self) -> None:
        self.set_columns()

    def time_width(self, *fields: str, compact: bool) -> int:
        """The width of a time column showing ``fields`` of the page on screen whole (a time in
        another year than today's needs its full date and hour; tui/render.py ``when``)."""
        instants = [getattr(item, f) for item in self.items for f in fields]
        return render.when_width(instants, self.session.tz, compact=compact, now=self.session.now())

    def set_columns(self) -> None:
        cols = self.columns()
        if cols != self._cols:
            self._cols = cols
            self.table.set_columns(cols)
            self.table.rerender()

    @property
    def table(self) -> VirtualTable:
        return self.query_one(f"#{self.TABLE_ID}", VirtualTable)

    def render_rows(self, items: Sequence[Any]) -> list[Row]:
        return [Row(self.key(item), list(self.cells(item))) for item in items]

    # ------------------------------------------------------------------ state

    @property
    def current_sort(self) -> Sort | None:
        return next((s for s in self.SORTS if s.key == self.sort), None)

    @property
    def filtered(self) -> bool:
        return self.text_filtered or any(self.filters[c.name] != c.values[0] for c in self.CYCLES)

    @property
    def text_filtered(self) -> bool:
        """Something is typed in the filter row (a screen with more boxes adds them)."""
        return bool(self.text)

    @property
    def page(self) -> Page | None:
        return self.table.page

    def current_item(self) -> Any | None:
        return self.table.current_item() if self.is_mounted else None

    def list_query(self, offset: int) -> ListQuery:
        return ListQuery(
            text=self.text,
            sort=self.sort,
            descending=self.descending,
            filters=tuple({**self.filters, **self.extra_filters()}.items()),
            offset=offset,
            limit=self.table.page_size,
        )

    def extra_filters(self) -> dict[str, Any]:
        """Filters beyond the cycles (the values of a screen's own filter row)."""
        return {}

    def select_key(self, key: str) -> None:
        """Put the cursor on row ``key`` once the next load shows it (a just-saved record)."""
        self._select = key

    # ------------------------------------------------------------------ loading

    def reload(
        self, offset: int | None = None, cursor: CursorHint = "keep", *, keep_scroll: bool = False
    ) -> None:
        """Read the page at ``offset`` (default: the current one) again from the database."""
        generation = self.table.forget()
        query = self.list_query(self.table.page_offset if offset is None else offset)
        self._read(query, cursor, keep_scroll, generation)

    def refresh_from_feed(self) -> None:
        """Someone changed the data: re-read the current page, cursor, selection and scroll kept."""
        if self.is_mounted and self.loaded:
            self.reload(keep_scroll=True)

    def requery(self) -> None:
        """The filter, a cycle or the sort changed: the first page of the new question."""
        self.reload(0, "first")
        self.refresh_bindings()

    def _read(self, query: ListQuery, cursor: CursorHint, keep_scroll: bool, generation: int) -> None:
        if self.LOCAL:  # the rows are in memory already: page them here, no worker
            self.post_message(self.Loaded(query, self.page_in_memory(query), cursor, keep_scroll, generation))
            return
        runtime = self.session.runtime
        self._fetch_page(runtime, query, cursor, keep_scroll, generation)

    @work(thread=True, group="list", exclusive=True, exit_on_error=False)
    def _fetch_page(
        self, runtime: Any, query: ListQuery, cursor: CursorHint, keep_scroll: bool, generation: int
    ) -> None:
        worker = get_current_worker()
        message: Message
        try:
            page = in_unit_of_work(runtime, lambda ctx: self.fetch(ctx, query))
            message = self.Loaded(query, page, cursor, keep_scroll, generation)
        except NodedeskError as exc:
            message = self.LoadFailed(query, exc, generation)
        if not worker.is_cancelled:
            self.post_message(message)

    @work(thread=True, group="prefetch", exclusive=True, exit_on_error=False)
    def _prefetch(self, runtime: Any, queries: list[ListQuery], generation: int) -> None:
        worker = get_current_worker()
        try:
            pages = in_unit_of_work(runtime, lambda ctx: [self.fetch(ctx, q) for q in queries])
        except NodedeskError:
            return  # reading ahead is a courtesy: the page is read again when it is wanted
        if not worker.is_cancelled:
            self.post_message(self.Prefetched(pages, generation))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        table = self.table
        if message.generation != table.cache.generation:
            return  # a newer question was asked meanwhile
        page = message.page
        if not page.items and page.total and page.offset >= page.total:  # the list shrank
            self._read(
                message.query.at(last_offset(page.total, self.table.page_size)),
                "last",
                False,
                message.generation,
            )
            return
        self.loaded, self.error, self.problem = True, None, ""
        self.page_read(page)
        self.items = page.items
        self.set_columns()  # a column sized to what it shows (a time in another year is wider)
        table.show(page, message.cursor, keep_scroll=message.keep_scroll)
        if self._select is not None:
            keys = [self.key(item) for item in page.items]
            if self._select in keys:
                table.move_cursor(row=keys.index(self._select), animate=False)
            self._select = None

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        message.stop()
        self.table.request_failed()
        if message.generation != self.table.cache.generation:
            return
        if message.error.field in self.FILTER_FIELDS:  # a filter naming nothing: say so, list nothing
            self.problem = str(message.error)
            self.table.show(SimplePage([], 0, 0), "first")
            return
        self.error = message.error
        self._show_state()
        self.refused(message.error, f"Could not load {self.NOUN}")

    @on(Prefetched)
    def _prefetched(self, message: Prefetched) -> None:
        message.stop()
        if message.generation == self.table.cache.generation:
            for page in message.pages:
                self.page_read(page)
        self.table.store(message.pages, message.generation)

    @on(VirtualTable.Prefetch)
    def _read_ahead(self, message: VirtualTable.Prefetch) -> None:
        message.stop()
        queries = [self.list_query(offset) for offset in message.offsets]
        self._prefetch(self.session.runtime, queries, message.generation)

    @on(PagedTable.PageRequest)
    def _page_request(self, message: PagedTable.PageRequest) -> None:
        message.stop()
        self._read(self.list_query(message.page_offset), message.cursor, False, self.table.cache.generation)

    @on(VirtualTable.PageShown)
    def _page_shown(self, message: VirtualTable.PageShown) -> None:
        message.stop()
        self.after_show()

    def after_show(self) -> None:
        """Update the status line, the state line and the preview (a page is on screen)."""
        self.show_status()
        self._show_state()
        self._update_preview()
        self.refresh_bindings()

    def show_status(self) -> None:
        """The status line: :meth:`status_parts`, then the marks and the last note about them."""
        parts = self.status_parts()
        marks: list[Part] = []  # after the title and the range: what the user just did comes first
        marked = len(self.table.marks)
        if marked:
            marks += ["  ·  ", (f"{MARK_GLYPH} {marked} marked", "bold")]
        if self.note:
            marks += ["  ·  ", (render.one_line(self.note, max_len=100), "bold")]
        status = Content.assemble(*parts[:2], *marks, *parts[2:])
        if self.problem:
            status = Content.styled(render.one_line(self.problem, max_len=100), "bold $error")
        self.query_one("#list-status", Static).update(status)

    def _show_state(self) -> None:
        line = self.query_one("#list-state", Static)
        if self.error is not None:
            kind, text = "-error", f"Could not load {self.NOUN}: {self.error}  ·  r tries again"
        elif not self.loaded:
            kind, text = "-loading", f"Loading {self.NOUN}…"
        elif not self.table.page_total and not self.PREVIEW:  # (else the preview says it)
            kind, text = "-empty", self.empty_text()
        else:
            kind, text = "", ""
        line.set_classes(kind)
        line.update(Content(text))

    def _update_preview(self) -> None:
        if self.PREVIEW:
            self.query_one("#preview", Static).update(self.preview(self.current_item()))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._update_preview()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, message: DataTable.RowSelected) -> None:
        item = self.current_item()
        if item is not None:
            self.open(item)

    @on(DataTable.HeaderSelected)
    def _header(self, message: DataTable.HeaderSelected) -> None:
        col = next((c for c in self.table.cols if c.key == message.column_key.value), None)
        sort = next((s for s in self.SORTS if col is not None and s.key == col.sort_key), None)
        if sort is None:
            return
        if sort.key == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = sort.key, sort.descending
        self.requery()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self.clears_filter
        if action == "clear_marks":  # escape with no filter to clear
            return self.MARKS and bool(self.table.marks) and not self.clears_filter
        if action in ("toggle_mark", "mark_range"):
            return self.MARKS
        if action in ("cycle_sort", "reverse_sort"):
            return bool(self.SORTS)
        return True

    @property
    def clears_filter(self) -> bool:
        """Whether escape has a filter to clear (or a filter box to close)."""
        box = self.filter_box
        return self.filtered or bool(self.problem) or (box is not None and box.display)

    def action_reload(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        box = self.filter_box
        if box is None:
            return
        box.display = True
        first = box if isinstance(box, Input) else next(iter(box.query(Input)), None)
        if first is not None:
            first.focus()
            self.typing_into = first  # tui/app.py routes a burst of keys here
        self.refresh_bindings()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if event.widget is self.typing_into:  # left the box: keys act on the list again
            self.typing_into = None

    def action_clear_filter(self) -> None:
        changed = self.filtered or bool(self.problem)
        if changed:
            self.drop_marks()
        self.filters = {c.name: c.values[0] for c in self.CYCLES}
        box = self.filter_box
        if box is not None:
            self.reset_filter()
            box.display = False
        self.text = ""
        self.table.focus()
        self.refresh_bindings()
        if changed:
            self.requery()

    def _in_filter(self, widget: Widget) -> bool:
        box = self.filter_box
        return box is not None and (widget is box or box in widget.ancestors)

    @on(Input.Changed)
    def _filter_changed(self, message: Input.Changed) -> None:
        if not self._in_filter(message.input):
            return
        message.stop()
        if self._debounce is not None:
            self._debounce.stop()
        if self.filter_ready(message.input):
            self._debounce = self.set_timer(DEBOUNCE_SECONDS, self.apply_filter)

    @on(Input.Submitted)
    def _filter_submitted(self, message: Input.Submitted) -> None:
        if not self._in_filter(message.input):
            return
        message.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self.apply_filter()
        box = self.filter_box
        if not self.text_filtered and box is not None:
            box.display = False
        self.table.focus()
        self.refresh_bindings()

    def apply_filter(self) -> None:
        """Ask again if the filter row's values changed (or the last ones were refused)."""
        if self.read_filter() or self.problem:
            self.drop_marks()
            self.requery()

    def cycle(self, name: str) -> None:
        cycle = next(c for c in self.CYCLES if c.name == name)
        self.set_filter(name, cycle.after(self.filters[name]))

    def set_filter(self, name: str, value: Any) -> None:
        if value != self.filters[name]:
            self.drop_marks()
        self.filters[name] = value
        self.requery()

    def set_sort(self, key: str, descending: bool | None = None) -> None:
        sort = next(s for s in self.SORTS if s.key == key)
        self.sort = key
        self.descending = sort.descending if descending is None else descending
        self.requery()

    def action_cycle_sort(self) -> None:
        if not self.SORTS:
            return
        keys = [s.key for s in self.SORTS]
        index = keys.index(self.sort) if self.sort in keys else -1
        self.set_sort(keys[(index + 1) % len(keys)])

    def action_reverse_sort(self) -> None:
        if self.SORTS:
            self.descending = not self.descending
            self.requery()

    def on_saved(self, key: str | None) -> Callable[[Any], None]:
        """A form's dismiss callback: reload, the cursor on ``key`` (or the result's key)."""

        def done(result: Any) -> None:
            if result is not None:
                if key is not None:
                    self.select_key(key)
                self.reload()

        return done

    # ------------------------------------------------------------------ marks

    def marked_keys(self) -> list[str]:
        """The marked rows' keys, in the order they were marked."""
        return list(self.table.marks) if self.is_mounted else []

    def drop_marks(self) -> None:
        """Forget every mark (the filter changed, or an action on the marks is done)."""
        if self.table.marks:
            self.table.clear_marks()
        self.mark_anchor = None
        self.note = ""
        self.show_status()
        self.refresh_bindings()

    def action_toggle_mark(self) -> None:
        key = self.table.current_key()
        if key is None:
            return
        marked = key not in self.table.marks
        self.table.set_marks([key], marked)
        place = self.table.position(key)
        self.mark_anchor = (key, place) if marked and place is not None else self.mark_anchor
        self.note = ""
        self.show_status()
        self.refresh_bindings()

    def action_mark_range(self) -> None:
        """Mark every row from the last mark to the cursor (the rows between may be on other
        pages: then they are read, as the list is filtered and sorted now)."""
        key = self.table.current_key()
        if key is None:
            return
        here = self.table.position(key)
        if here is None:
            return
        if self.mark_anchor is None or self.mark_anchor[0] not in self.table.marks:  # no mark yet: this row
            self._mark_range([key], key)
            return
        there = self.table.position(self.mark_anchor[0])
        start = self.mark_anchor[1] if there is None else there
        low, high = min(start, here), max(start, here)
        offset = self.table.page_offset
        if low >= offset and high < offset + len(self.table.rows_data):
            self._mark_range([r.key for r in self.table.rows_data[low - offset : high - offset + 1]], key)
            return
        query = replace(self.list_query(low), limit=high - low + 1)
        if self.LOCAL:
            self._mark_range([self.key(i) for i in self.page_in_memory(query).items], key)
            return
        self._read_range(self.session.runtime, query, self.table.cache.generation)

    def _mark_range(self, keys: list[str], cursor_key: str) -> None:
        self.table.set_marks(keys)
        place = self.table.position(cursor_key)
        if place is not None:
            self.mark_anchor = (cursor_key, place)
        self.note = ""
        self.show_status()
        self.refresh_bindings()

    @work(thread=True, group="mark-range", exclusive=True, exit_on_error=False)
    def _read_range(self, runtime: Any, query: ListQuery, generation: int) -> None:
        worker = get_current_worker()
        message: Message
        try:
            pages = in_unit_of_work(runtime, lambda ctx: self.read_pages(ctx, query, query.limit))
            message = self.RangeRead([self.key(i) for p in pages for i in p.items], generation)
        except NodedeskError as exc:
            message = self.LoadFailed(query, exc, generation)
        if not worker.is_cancelled:
            self.post_message(message)

    def read_pages(self, ctx: ServiceContext, query: ListQuery, count: int | None = None) -> list[Page]:
        """The rows from ``query.offset`` on (``count`` of them, or to the end), in pages of at
        most :data:`READ_LIMIT` rows, in the caller's one unit of work (a worker thread)."""
        pages: list[Page] = []
        offset, wanted = query.offset, count
        while wanted is None or wanted > 0:
            limit = READ_LIMIT if wanted is None else min(wanted, READ_LIMIT)
            page = self.fetch(ctx, replace(query, offset=offset, limit=limit))
            pages.append(page)
            offset += len(page.items)
            wanted = None if wanted is None else wanted - len(page.items)
            if not page.items or offset >= page.total:
                break
        return pages

    @on(RangeRead)
    def _range_read(self, message: RangeRead) -> None:
        message.stop()
        if message.generation != self.table.cache.generation:
            return  # the list changed meanwhile: press V again
        cursor_key = self.table.current_key()
        if cursor_key is not None:
            self._mark_range(message.keys, cursor_key)

    def action_clear_marks(self) -> None:
        self.drop_marks()

    def confirm_on_marks(self, action: BulkAction, ids: list[int]) -> None:
        """One confirmation for ``action`` on the marked rows ``ids`` (tui/kit/bulk.py); after it,
        the rows it left as they were stay marked and the status line says what was done."""
        from .bulk import BulkConfirmScreen, result_line

        def done(result: BulkResult | None) -> None:
            if result is not None:
                changed = {str(i.id) for i in result.items}
                left = [k for k in self.marked_keys() if k not in changed]
                self.marks_done(left, result_line(action, result, len(left)))

        self.app.push_screen(BulkConfirmScreen(action, ids), done)

    def marks_done(self, still_marked: list[str], note: str) -> None:
        """An action on the marks is done: these rows stay marked (those it left as they were),
        the note says what happened; then the list reads what changed."""
        self.table.clear_marks()
        self.table.set_marks(still_marked)
        self.mark_anchor = None
        self.say(note)
        self.notify(note, title="Done", markup=False)
        self.refresh_bindings()
        self.reload(keep_scroll=True)

    def say(self, note: str) -> None:
        """A line about the last action on the marks, kept in the status line until the marks
        or the filter change."""
        self.note = note
        self.show_status()

    # ------------------------------------------------------------------ export

    @property
    def export_name(self) -> str:
        """The CSV's default file name: ``<section>-<site date>.csv``."""
        day = timeutil.to_local(self.session.now(), self.session.tz).format("YYYY-MM-DD")
        return f"{self.EXPORT_NAME or self.SECTION}-{day}.csv"

    def export_query(self) -> ListQuery:
        """The list as it is filtered and sorted now, from its first row."""
        return self.list_query(0)

    def export_rows(self, items: Sequence[Any]) -> list[list[str]]:
        """The CSV rows of ``items`` (UI thread: cells() may read the screen's state)."""
        return self._for_export(lambda: [self.export_cells(item) for item in items])

    def export_header_line(self) -> list[str]:
        return self._for_export(self.export_headers)

    def _for_export(self, make: Callable[[], T]) -> T:
        """``make()`` with ``exporting`` set: columns and cells in full, whatever the width."""
        self.exporting = True
        try:
            return make()
        finally:
            self.exporting = False

    def action_export(self) -> None:
        from .export import ExportListScreen

        self.app.push_screen(ExportListScreen(self))

    def list_commands(self) -> Iterable[SystemCommand]:
        """The kit's commands for the palette (tui/app.py asks every screen that has them)."""
        yield SystemCommand(
            f"Export {self.NOUN} as CSV",
            "The whole list as filtered and sorted now (ctrl+e)",
            self.action_export,
        )
        if self.MARKS and self.table.marks:
            yield SystemCommand(
                "Clear marks", f"Unmark the {len(self.table.marks)} marked row(s)", self.drop_marks
            )


def plain_text(cell: Any) -> str:
    """A table cell as the text it shows (Rich Text, Textual Content or str), on one line."""
    text = cell.plain if isinstance(cell, (Text, Content)) else str(cell)
    return " ".join(text.split())
