"""Maintenance windows and outages in one list (help/downtime.md).

Each row says its kind, title, the nodes it takes down, start, end (or, for an open outage, its
ETR and its effective end: core/downtime.py), status, and the renters it affects: the projects
with a pending or approved reservation on those nodes overlapping it. Rows are ordered by
start (then kind, then id), filtered and paged in SQL (one UNION of both tables), by offset
(read from the nearer end, as core/services/paging.py) or by key (``after``: the last row seen).

Phases, one word for both kinds: ``upcoming`` (a window not started; outages never are),
``now`` (a window in progress, an open outage), ``past`` (a completed window, a resolved outage).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal_column, or_, select, union_all
from sqlalchemy.orm import selectinload

from ... import timeutil, validate
from ...context import ServiceContext
from ...downtime import outage_effective_end
from ...errors import NotFoundError, ValidationError
from ...models import (
    MaintenanceWindow,
    Node,
    Outage,
    outage_nodes,
    window_scope_node_types,
    window_scope_nodes,
)
from .. import paging
from ..views.calendar import KIND_GLYPH
from ..views.dashboard import DashWindow
from . import windows
from .impact import reservation_rows

KINDS = ("window", "outage")
PHASES = ("upcoming", "now", "past")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class DowntimeKey:
    """Where a row sits in the order: (start, kind, id)."""

    start: datetime
    kind: str
    id: int

    def token(self) -> str:
        return f"{self.start.isoformat()}|{self.kind}|{self.id}"

    @classmethod
    def parse(cls, text: str) -> DowntimeKey:
        """A key from :meth:`token`; anything else is a one-line error naming ``after``."""
        try:
            start_text, kind, ident = (text or "").split("|")
            start = timeutil.ensure_aware(datetime.fromisoformat(start_text), "after")
            key = cls(start, validate.choice(kind, "after", KINDS), int(ident))
        except (ValueError, ValidationError) as exc:
            raise ValidationError(
                "must be a key printed by an earlier page (START|KIND|ID)", field="after"
            ) from exc
        return key


@dataclass(frozen=True)
class DowntimeRow:
    kind: str  # window | outage
    id: int
    title: str
    all_nodes: bool
    nodes: tuple[str, ...]  # the nodes it takes down (empty for an all-nodes window)
    node_count: int
    scope_label: str  # "all nodes (20)", "A100 (8 nodes)", "node2431, node2432"
    start: datetime
    end: datetime | None  # None: an open outage
    etr: datetime | None  # an outage's estimated time to repair
    until: datetime  # the end, or an open outage's effective end
    status: str  # a window's upcoming | in_progress | completed; an outage's status
    phase: str  # upcoming | now | past
    credit: bool  # windows always; outages when credited
    renters: tuple[str, ...]  # projects with a pending or approved reservation it overlaps
    reservations: int  # how many such reservations
    version: int
    emergency: bool = False  # a window declared at once for a failure (help/windows.md)

    @property
    def key(self) -> DowntimeKey:
        return DowntimeKey(self.start, self.kind, self.id)

    @property
    def glyph(self) -> str:
        return KIND_GLYPH[self.kind]

    def end_text(self, tz: str) -> str:
        if self.end is not None:
            return timeutil.format_short(self.end, tz)
        if self.etr is not None:
            return f"ETR {timeutil.format_short(self.etr, tz)}" + (
                " (overdue)" if self.until != self.etr else ""
            )
        return "open"

    def renters_text(self, limit: int = 2) -> str:
        if not self.renters:
            return "-"
        shown = ", ".join(self.renters[:limit])
        return shown + (f" +{len(self.renters) - limit}" if len(self.renters) > limit else "")

    def to_json(self, tz: str) -> dict[str, object]:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "all_nodes": self.all_nodes,
            "nodes": list(self.nodes),
            "node_count": self.node_count,
            "scope": self.scope_label,
            "start": timeutil.iso_local(self.start, tz),
            "end": timeutil.iso_local(self.end, tz) if self.end else None,
            "etr": timeutil.iso_local(self.etr, tz) if self.etr else None,
            "until": timeutil.iso_local(self.until, tz),
            "status": self.status,
            "phase": self.phase,
            "credit": self.credit,
            "renters": list(self.renters),
            "reservations": self.reservations,
            "version": self.version,
            "emergency": self.emergency,
            "key": self.key.token(),
        }


@dataclass(frozen=True)
class DowntimeQuery:
    kind: str | None = None
    phase: str | None = None
    text: str = ""  # in the title or description
    node: str | None = None  # only what takes this node down
    start_from: datetime | None = None  # overlapping [start_from, end_before)
    end_before: datetime | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 50
    after: DowntimeKey | None = None  # keyset: the rows after this one in the order


@dataclass(frozen=True)
class DowntimePage:
    items: list[DowntimeRow]
    total: int  # rows matching the filters (``after`` aside)
    offset: int
    limit: int
    more: bool = False  # rows follow this page

    @property
    def next_key(self) -> DowntimeKey | None:
        """The key to ask for the next page with, or None after the last row."""
        return self.items[-1].key if self.more and self.items else None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _selects(ctx: ServiceContext, q: DowntimeQuery) -> list[Select[Any]]:
    W, Out = MaintenanceWindow, Outage
    now = ctx.now()
    w_conds: list[ColumnElement[bool]] = []
    o_conds: list[ColumnElement[bool]] = []
    if q.phase == "upcoming":
        w_conds.append(W.start > now)
        o_conds.append(false())
    elif q.phase == "now":
        w_conds.append(and_(W.start <= now, W.end > now))
        o_conds.append(Out.status != "resolved")
    elif q.phase == "past":
        w_conds.append(W.end <= now)
        o_conds.append(Out.status == "resolved")
    if q.start_from is not None:
        w_conds.append(W.end > q.start_from)
        o_conds.append(or_(Out.end.is_(None), Out.end > q.start_from))
    if q.end_before is not None:
        w_conds.append(W.start < q.end_before)
        o_conds.append(Out.start < q.end_before)
    needle = q.text.strip()
    if needle:
        pattern = _like(needle)
        w_conds.append(or_(W.title.ilike(pattern, escape="\\"), W.description.ilike(pattern, escape="\\")))
        o_conds.append(
            or_(Out.title.ilike(pattern, escape="\\"), Out.description.ilike(pattern, escape="\\"))
        )
    if q.node:
        node = ctx.session.execute(
            select(Node.id, Node.node_type_id).where(Node.name == q.node.strip())
        ).first()
        if node is None:
            raise NotFoundError(f"no node named {q.node!r}", field="node")
        w_conds.append(
            or_(
                W.all_nodes.is_(True),
                W.id.in_(
                    select(window_scope_nodes.c.window_id).where(window_scope_nodes.c.node_id == node.id)
                ),
                W.id.in_(
                    select(window_scope_node_types.c.window_id).where(
                        window_scope_node_types.c.node_type_id == node.node_type_id
                    )
                ),
            )
        )
        o_conds.append(Out.id.in_(select(outage_nodes.c.outage_id).where(outage_nodes.c.node_id == node.id)))
    parts: list[Select[Any]] = []
    if q.kind in (None, "window"):
        parts.append(
            select(literal_column("'window'").label("kind"), W.id.label("id"), W.start.label("start")).where(
                *w_conds
            )
        )
    if q.kind in (None, "outage"):
        parts.append(
            select(
                literal_column("'outage'").label("kind"), Out.id.label("id"), Out.start.label("start")
            ).where(*o_conds)
        )
    return parts


def _after(u: Any, key: DowntimeKey, descending: bool) -> ColumnElement[bool]:
    if descending:
        return or_(
            u.c.start < key.start,
            and_(
                u.c.start == key.start, or_(u.c.kind < key.kind, and_(u.c.kind == key.kind, u.c.id < key.id))
            ),
        )
    return or_(
        u.c.start > key.start,
        and_(u.c.start == key.start, or_(u.c.kind > key.kind, and_(u.c.kind == key.kind, u.c.id > key.id))),
    )


def list_downtime(ctx: ServiceContext, query: DowntimeQuery = DowntimeQuery()) -> DowntimePage:
    """One page of windows and outages together (module docstring), filtered and ordered in SQL."""
    ctx.require("read")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise ValidationError(f"must be between 1 and {MAX_LIMIT}", field="limit")
    if query.kind is not None:
        validate.choice(query.kind, "kind", KINDS)
    if query.phase is not None:
        validate.choice(query.phase, "phase", PHASES)
    parts = _selects(ctx, query)
    u = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    where = [_after(u, query.after, query.descending)] if query.after is not None else []
    total = ctx.session.scalar(select(func.count()).select_from(u)) or 0

    def ordered(reverse: bool) -> Select[Any]:
        desc = query.descending != reverse
        cols = (u.c.start, u.c.kind, u.c.id)
        return select(u.c.kind, u.c.id).where(*where).order_by(*(c.desc() if desc else c.asc() for c in cols))

    if query.after is not None:
        keys = list(ctx.session.execute(ordered(False).limit(query.limit + 1)).all())
        more = len(keys) > query.limit
        keys = keys[: query.limit]
    else:
        keys = paging.page(ctx.session, ordered, total, query.offset, query.limit, rows=True)
        more = max(query.offset, 0) + len(keys) < total
    return DowntimePage(rows(ctx, [(k.kind, k.id) for k in keys]), total, query.offset, query.limit, more)


def get_downtime(ctx: ServiceContext, kind: str, ident: int) -> DowntimeRow:
    """One row (a window or an outage) as the list shows it."""
    ctx.require("read")
    validate.choice(kind, "kind", KINDS)
    found = rows(ctx, [(kind, ident)])
    if not found:
        noun = "maintenance window" if kind == "window" else "outage"
        raise NotFoundError(f"no {noun} #{ident}", field="id")
    return found[0]


def rows(ctx: ServiceContext, keys: list[tuple[str, int]]) -> list[DowntimeRow]:
    """Rows for (kind, id) pairs, in that order (missing ones left out); a fixed number of
    queries: the windows, the outages, the inventory, the reservations they overlap."""
    if not keys:
        return []
    session, now = ctx.session, ctx.now()
    hours = ctx.site.outage_default_hours
    w_ids = [i for k, i in keys if k == "window"]
    o_ids = [i for k, i in keys if k == "outage"]
    wins = (
        {
            w.id: w
            for w in session.scalars(
                select(MaintenanceWindow)
                .where(MaintenanceWindow.id.in_(w_ids))
                .options(selectinload(MaintenanceWindow.nodes), selectinload(MaintenanceWindow.node_types))
            )
        }
        if w_ids
        else {}
    )
    outs = (
        {
            o.id: o
            for o in session.scalars(
                select(Outage).where(Outage.id.in_(o_ids)).options(selectinload(Outage.nodes))
            )
        }
        if o_ids
        else {}
    )
    inventory = session.execute(select(Node.id, Node.name, Node.node_type_id).order_by(Node.name)).all()
    everyone = [n.id for n in inventory]
    name_of = {n.id: n.name for n in inventory}

    # (kind, id) -> (node ids, scope label, start, until)
    spans: dict[tuple[str, int], tuple[list[int], str, datetime, datetime]] = {}
    for wid, w in wins.items():
        view = windows.view(w, now)
        type_ids = {t.id for t in w.node_types}
        named = {n.id for n in w.nodes}
        ids = (
            everyone
            if w.all_nodes
            else [n.id for n in inventory if n.id in named or n.node_type_id in type_ids]
        )
        label = DashWindow(view, tuple(name_of[i] for i in ids)).nodes_label()  # as the dashboard says it
        spans[("window", wid)] = (ids, label, w.start, w.end)
    for oid, o in outs.items():
        ids = [n.id for n in o.nodes]
        until = outage_effective_end(o.start, o.end, o.etr, now, hours)
        spans[("outage", oid)] = (ids, ", ".join(sorted(n.name for n in o.nodes)), o.start, until)

    renters = _renters(ctx, spans, all(len(v[0]) < len(everyone) for v in spans.values()))
    out = []
    for kind, ident in keys:
        if (kind, ident) not in spans:
            continue
        ids, label, _start, until = spans[(kind, ident)]
        projects, count = renters.get((kind, ident), ((), 0))
        if kind == "window":
            w = wins[ident]
            status = windows.status_at(w.start, w.end, now)
            phase = {"upcoming": "upcoming", "in_progress": "now", "completed": "past"}[status]
            out.append(
                DowntimeRow(
                    "window",
                    w.id,
                    w.title,
                    w.all_nodes,
                    () if w.all_nodes else tuple(name_of[i] for i in ids),
                    len(ids),
                    label,
                    w.start,
                    w.end,
                    None,
                    w.end,
                    status,
                    phase,
                    True,
                    projects,
                    count,
                    w.version,
                    emergency=w.emergency,
                )
            )
        else:
            o = outs[ident]
            phase = "past" if o.status == "resolved" else "now"
            out.append(
                DowntimeRow(
                    "outage",
                    o.id,
                    o.title,
                    False,
                    tuple(sorted(name_of[i] for i in ids)),
                    len(ids),
                    label,
                    o.start,
                    o.end,
                    o.etr,
                    until,
                    o.status,
                    phase,
                    o.credit,
                    projects,
                    count,
                    o.version,
                )
            )
    return out


def _renters(
    ctx: ServiceContext,
    spans: dict[tuple[str, int], tuple[list[int], str, datetime, datetime]],
    by_node: bool,
) -> dict[tuple[str, int], tuple[tuple[str, ...], int]]:
    """Per row: the projects (by title) with a pending or approved reservation on its nodes
    overlapping it, and how many such reservations. One query for the page."""
    if not spans:
        return {}
    lo = min(v[2] for v in spans.values())
    hi = max(v[3] for v in spans.values())
    nodes = sorted({i for v in spans.values() for i in v[0]}) if by_node else None
    by_node_rows: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for r in reservation_rows(ctx.session, lo, hi, nodes):
        by_node_rows[r.node_id].append((r.start, r.end, r.project))
    out = {}
    for key, (ids, _label_text, start, until) in spans.items():
        hits = [t for i in ids for (s, e, t) in by_node_rows.get(i, ()) if s < until and e > start]
        out[key] = (tuple(sorted(set(hits), key=str.lower)), len(hits))
    return out


def page_all(ctx: ServiceContext, query: DowntimeQuery, size: int = 500) -> list[DowntimeRow]:
    """Every row the query matches (after ``query.after`` when given), read page by page by key
    (for exports and the CLI)."""
    found: list[DowntimeRow] = []
    q = replace(query, limit=size, offset=0)
    while True:
        page = list_downtime(ctx, q)
        found.extend(page.items)
        if page.next_key is None:
            return found
        q = replace(q, after=page.next_key)
