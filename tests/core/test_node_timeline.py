"""One node's timeline (core/services/node_timeline.py) on both back ends: the segments tile
the range exactly and neighbours differ, and at now each node's segment agrees with the node
status service (which owns the precedence: outage > maintenance > rented > free; a pending
reservation only shows in a timeline, where the status says free)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nodedesk.core.errors import NotFoundError, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.nodes import node_status, node_timeline
from nodedesk.core.services.site.demo import load_demo

from tests.helpers import DEFAULT_NOW, local


@pytest.fixture
def demo(runtime: Runtime) -> Runtime:
    with runtime.write() as ctx:
        load_demo(ctx)
    return runtime


def test_segments_of_a_node_in_maintenance(demo: Runtime) -> None:
    with demo.read() as ctx:
        t = node_timeline.node_timeline(ctx, "node2501", local("2026-02-15 00:00"), local("2026-02-16 00:00"))
    states = [(s.piece.kind, s.start, s.end) for s in t.segments]
    assert ("maintenance", local("2026-02-15 08:00"), local("2026-02-15 14:00")) in states
    assert t.segments[0].start == local("2026-02-15 00:00") and t.segments[-1].end == local(
        "2026-02-16 00:00"
    )


def test_defaults_and_refusals(demo: Runtime) -> None:
    with demo.read() as ctx:
        t = node_timeline.node_timeline(ctx, "node2431")
        assert (t.start, t.end) == (local("2026-02-15 00:00"), local("2026-03-17 00:00"))  # across DST
        with pytest.raises(NotFoundError):
            node_timeline.node_timeline(ctx, "nope")
        with pytest.raises(ValidationError, match="after from"):
            node_timeline.node_timeline(ctx, "node2431", local("2026-02-15 00:00"), local("2026-02-14 00:00"))
        with pytest.raises(ValidationError, match="at most 400 days"):
            node_timeline.node_timeline(ctx, "node2431", local("2026-01-01 00:00"), local("2027-06-01 00:00"))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tiling_and_agreement_with_the_state_now(demo: Runtime) -> None:
    with demo.read() as ctx:
        now_state = {s.node: s.state for s in node_status.node_statuses(ctx)}
        names = sorted(now_state)

    @settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None, database=None)
    @given(
        name=st.sampled_from(names),
        start_h=st.integers(-24 * 90, 24 * 60),
        length_h=st.integers(1, 24 * 120),
    )
    def prop(name: str, start_h: int, length_h: int) -> None:
        start = DEFAULT_NOW + timedelta(hours=start_h)
        end = start + timedelta(hours=length_h)
        with demo.read() as ctx:
            segments = node_timeline.node_timeline(ctx, name, start, end).segments
        assert segments[0].start == start and segments[-1].end == end
        for a, b in pairwise(segments):
            assert b.start < b.end
            assert a.end == b.start and a.start < a.end
            assert (a.piece.kind, a.piece.subject_id) != (b.piece.kind, b.piece.subject_id)
        assert {s.piece.kind for s in segments} <= set(node_timeline.STATES)
        covering = [s for s in segments if s.start <= DEFAULT_NOW < s.end]
        if covering:
            state = covering[0].piece.kind
            assert state == now_state[name] or (state == "pending" and now_state[name] == "free")

    prop()
