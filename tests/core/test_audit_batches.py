"""The activity log under savepoints and batches: a released SAVEPOINT commits nothing, so the
anchor beside the key moves only when the transaction does; entries appended as a batch chain
and verify like single ones. Both back ends."""

from __future__ import annotations

from nodedesk.core import audit
from nodedesk.core.models import ActivityEntry
from nodedesk.core.runtime import Runtime
from sqlalchemy import func, select


def _head(rt: Runtime) -> tuple[int, str]:
    with rt.read() as ctx:
        row = ctx.session.execute(
            select(ActivityEntry.seq, ActivityEntry.hash).order_by(ActivityEntry.seq.desc()).limit(1)
        ).one()
    return row[0], row[1]


def test_a_released_savepoint_does_not_move_the_anchor(runtime: Runtime) -> None:
    before = runtime.seal.read_anchor()
    with runtime.write() as ctx:
        with ctx.session.begin_nested():
            ctx.record("test.inside", "site", "", "inside a savepoint")
        assert runtime.seal.read_anchor() == before  # released, not committed
        refused = ctx.session.begin_nested()
        ctx.record("test.refused", "site", "", "rolled back")
        refused.rollback()  # this savepoint only
        ctx.record("test.after", "site", "", "after the savepoints")
    anchor = runtime.seal.read_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == _head(runtime)
    with runtime.read() as ctx:
        actions = list(ctx.session.scalars(select(ActivityEntry.action).order_by(ActivityEntry.seq)))
        assert audit.verify(ctx.session).ok
    assert actions[-2:] == ["test.inside", "test.after"]


def test_a_batch_chains_like_single_entries(runtime: Runtime) -> None:
    with runtime.write() as ctx:
        first = ctx.session.scalar(select(func.max(ActivityEntry.seq)))
        items = [ctx.pending("test.batch", "site", "", f"entry {i}", after={"i": i}) for i in range(50)]
        entries = ctx.append(items)
    assert [e.seq for e in entries] == list(range(first + 1, first + 51))
    with runtime.read() as ctx:
        assert audit.verify(ctx.session).ok
    anchor = runtime.seal.read_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == _head(runtime) == (
        entries[-1].seq,
        entries[-1].hash,
    )
