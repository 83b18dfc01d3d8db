"""The node status sweep (core/services/node_status.py) gives what the definition says: the
state at every boundary by precedence, since when it has not changed, and its next change;
checked against a direct evaluation of the definition on random sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.core.models import Node, NodeType
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes.node_status import (
    FREE,
    LOOKAHEAD,
    LOOKBACK,
    STATES,
    StateAt,
    _Source,
    _statuses,
    _timeline,
    node_statuses,
)
from sqlalchemy import select

from tests.billing.factory import Builder

T0 = datetime(2026, 2, 15, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _state_at(sources: list[_Source], t: datetime) -> StateAt:
    covering = [s for s in sources if s.start <= t and (s.end is None or t < s.end)]
    if not covering:
        return FREE
    return min(covering, key=lambda s: (STATES.index(s.kind), s.start, s.state.subject_id or 0)).state


def _reference(sources: list[_Source], now: datetime) -> tuple[object, ...]:
    current = _state_at(sources, now)
    points = sorted({p for s in sources for p in (s.start, s.end) if p is not None})
    since = None
    for p in reversed([p for p in points if p <= now]):
        if _state_at(sources, p).key != current.key:
            break
        since = p
    for p in points:
        if p > now and _state_at(sources, p).key != current.key:
            return current, since, p, _state_at(sources, p)
    return current, since, None, None


_sources = st.lists(
    st.builds(
        lambda kind, a, n, ident, open_: _Source(
            kind,
            T0 + a * HOUR,
            None if open_ and kind == "outage" else T0 + (a + n) * HOUR,
            StateAt(kind, f"{kind} {ident}", "x", ident, f"P{ident}" if kind == "rented" else None),
        ),
        st.sampled_from(STATES[:-1]),
        st.integers(-20, 20),
        st.integers(1, 12),
        st.integers(1, 4),
        st.booleans(),
    ),
    max_size=10,
)


@given(_sources, st.integers(-20, 25))
def test_sweep_equals_the_definition(sources: list[_Source], at: int) -> None:
    assert _timeline(sources, T0 + at * HOUR) == _reference(sources, T0 + at * HOUR)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["reservation", "window", "outage", "open"]),
            st.integers(0, 2),  # node
            st.integers(-70 * 24, 70 * 24),  # start, hours from now
            st.integers(1, 30 * 24),  # length in hours
        ),
        max_size=12,
    )
)
def test_the_near_pass_changes_nothing(runtime: Runtime, items: list[tuple[str, int, int, int]]) -> None:
    """Whatever is stored: the two passes give exactly what one pass over the whole look gives."""
    with runtime.write(dry_run=True) as ctx:
        b = Builder(ctx.session, ctx.now())
        b.user("alice")
        proj = b.project("P", "alice")
        ns = [b.node(f"p{i}") for i in range(3)]
        now = ctx.now()
        booked: list[tuple[int, datetime, datetime]] = []
        for k, (kind, i, a, n) in enumerate(items):
            s0, e0 = now + a * HOUR, now + (a + n) * HOUR
            if kind == "reservation":
                if any(j == i and s0 < e and s < e0 for j, s, e in booked):
                    continue
                booked.append((i, s0, e0))
                # made at a free placeholder span of its own, then moved where it belongs
                r = b.reservation(ns[i], proj, f"2030-01-{k + 1:02d} 00:00", f"2030-01-{k + 1:02d} 01:00")
                r.start, r.end = s0, e0
            elif kind == "window":
                w = b.window("W", "2026-02-20 00:00", "2026-02-20 01:00", nodes=(ns[i],))
                w.start, w.end = s0, e0
            else:
                o = b.outage("O", "2026-02-15 06:00", "2026-02-15 07:00", nodes=(ns[i],))
                o.start = min(s0, now - HOUR)
                o.end = None if kind == "open" else max(e0, o.start + HOUR)
            ctx.session.flush()
        rows = ctx.session.execute(
            select(Node.id, Node.name, Node.node_type_id, Node.rentable, NodeType.name.label("type_name"))
            .join(NodeType, NodeType.id == Node.node_type_id)
            .order_by(Node.name)
        ).all()
        whole = _statuses(ctx, rows, now - LOOKBACK, now + LOOKAHEAD, narrow=False)
        assert node_statuses(ctx) == [whole[r.id] for r in rows]
