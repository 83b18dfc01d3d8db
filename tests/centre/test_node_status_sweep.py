"""The node status sweep (core/services/node_status.py) gives what the definition says: the
state at every boundary by precedence, since when it has not changed, and its next change;
checked against a direct evaluation of the definition on random sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core.services.node_status import FREE, STATES, StateAt, _Source, _timeline

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
