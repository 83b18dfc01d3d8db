"""The importer's fast activity-log hash agrees with ``audit.entry_hash`` (else imports are slow)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from nodedesk.core import audit
from nodedesk.core.backup.importer import _quick_entry_hash

text = st.text(max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=10**9),
    micros=st.integers(min_value=0, max_value=10**15),
    actor=text,
    action=text,
    label=text,
    before=st.one_of(st.just("null"), st.dictionaries(text, text).map(audit.canonical_json)),
    reason=text,
    frozen=st.booleans(),
)
def test_quick_hash_matches_audit(
    seq: int, micros: int, actor: str, action: str, label: str, before: str, reason: str, frozen: bool
) -> None:
    values = {
        "occurred_at": datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros),
        "actor": actor,
        "real_user": actor + "x",
        "action": action,
        "target_type": "window",
        "target_id": str(seq),
        "target_label": label,
        "before_json": before,
        "after_json": '{"a":"ü\\n"}',
        "reason": reason,
        "clock_frozen": frozen,
        "prev_hash": "0" * 64,
    }
    assert _quick_entry_hash(seq, values) == audit.entry_hash(SimpleNamespace(seq=seq, **values))  # type: ignore[arg-type]
