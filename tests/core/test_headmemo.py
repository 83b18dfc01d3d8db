"""HeadMemo (core/headmemo.py): a kept value is given back only under the head it was computed
at and before the instant it said it stops holding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nodedesk.core.changes import ChangeHead
from nodedesk.core.headmemo import HeadMemo, earliest

T0 = datetime(2026, 2, 15, 15, 0, tzinfo=UTC)
H1, H2 = ChangeHead(1, "a"), ChangeHead(2, "b")


def test_kept_under_its_head_until_its_instant() -> None:
    memo, calls = HeadMemo(), []

    def compute(value: int, until: datetime | None) -> tuple[int, datetime | None]:
        calls.append(value)
        return value, until

    until = T0 + timedelta(minutes=5)
    assert memo.fetch(H1, "k", T0, lambda: compute(1, until)) == 1
    assert memo.fetch(H1, "k", until - timedelta(microseconds=1), lambda: compute(2, until)) == 1
    assert memo.fetch(H1, "k", until, lambda: compute(3, None)) == 3  # its instant came
    assert memo.fetch(H1, "k", T0 + timedelta(days=900), lambda: compute(4, None)) == 3  # None: no end
    assert memo.fetch(H2, "k", T0, lambda: compute(5, None)) == 5  # the head moved
    assert memo.fetch(H2, "other", T0, lambda: compute(6, None)) == 6  # keys apart
    assert calls == [1, 3, 5, 6] and (memo.hits, memo.misses) == (2, 4)


def test_a_failed_computation_keeps_nothing() -> None:
    memo = HeadMemo()

    def fail() -> tuple[int, datetime | None]:
        raise ValueError("refused")

    with pytest.raises(ValueError):
        memo.fetch(H1, "k", T0, fail)
    assert memo.fetch(H1, "k", T0, lambda: (7, None)) == 7


@given(st.lists(st.integers(min_value=0, max_value=40), max_size=200))
def test_bounded_and_never_wrong(keys: list[int]) -> None:
    """Whatever the order of lookups, a value is its key's and at most ``size`` are held."""
    memo = HeadMemo(size=8)
    for k in keys:
        assert memo.fetch(H1, k, T0, lambda k=k: (k * 10, None)) == k * 10
        assert len(memo._items) <= 8


def test_earliest() -> None:
    assert earliest() is None and earliest(None, None) is None
    assert earliest(None, T0 + timedelta(hours=1), T0) == T0
