"""The activity log's fast document encoding agrees with the generic canonical JSON.

``audit.entry_hash``/``entry_mac`` encode an entry's fields directly (verifying or importing
100,000 entries is dominated by that encoding); this checks they hash exactly the canonical
document that help/audit.md describes, for any text, number and boolean values.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from nodedesk.core import audit

text = st.text(max_size=40)


def _values(
    seq: int, micros: int, actor: str, action: str, label: str, before: str, reason: str, frozen: bool
):  # type: ignore[no-untyped-def]
    return {
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


def _doc(seq: int, v: dict) -> dict:  # type: ignore[type-arg]
    return {
        "seq": seq,
        "occurred_at": v["occurred_at"],
        "actor": v["actor"],
        "real_user": v["real_user"],
        "action": v["action"],
        "target_type": v["target_type"],
        "target_id": v["target_id"],
        "target_label": v["target_label"],
        "before": v["before_json"],
        "after": v["after_json"],
        "reason": v["reason"],
        "clock_frozen": v["clock_frozen"],
        "prev_hash": v["prev_hash"],
    }


COMMON = {
    "seq": st.integers(min_value=1, max_value=10**9),
    "micros": st.integers(min_value=0, max_value=10**15),
    "actor": text,
    "action": text,
    "label": text,
    "before": st.one_of(st.just("null"), st.dictionaries(text, text).map(audit.canonical_json)),
    "reason": text,
    "frozen": st.booleans(),
}


@settings(max_examples=200, deadline=None)
@given(**COMMON)
def test_legacy_hash_is_sha256_of_the_canonical_document(
    seq: int, micros: int, actor: str, action: str, label: str, before: str, reason: str, frozen: bool
) -> None:
    v = _values(seq, micros, actor, action, label, before, reason, frozen)
    expected = hashlib.sha256(audit.canonical_json(_doc(seq, v)).encode("utf-8")).hexdigest()
    assert audit.entry_hash(SimpleNamespace(seq=seq, **v)) == expected


@settings(max_examples=200, deadline=None)
@given(**COMMON, uuid=text, recorded=st.one_of(st.none(), st.integers(min_value=0, max_value=10**15)))
def test_keyed_hash_is_hmac_of_the_canonical_document(
    seq: int,
    micros: int,
    actor: str,
    action: str,
    label: str,
    before: str,
    reason: str,
    frozen: bool,
    uuid: str,
    recorded: int | None,
) -> None:
    v = _values(seq, micros, actor, action, label, before, reason, frozen)
    at = None if recorded is None else datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=recorded)
    v |= {"recorded_at": at, "target_uuid": uuid, "hash_scheme": audit.KEYED_SCHEME}
    doc = _doc(seq, v) | {"recorded_at": at, "target_uuid": uuid, "hash_scheme": audit.KEYED_SCHEME}
    key = b"k" * 32
    expected = hmac.new(key, audit.canonical_json(doc).encode("utf-8"), hashlib.sha256).hexdigest()
    assert audit.entry_mac(key, SimpleNamespace(seq=seq, **v)) == expected
