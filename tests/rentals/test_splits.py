"""Cost splits: validation, approval workflow, in-force lookup, finalized months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nodedesk.core.errors import LockedError, NotFoundError, PermissionDenied, ValidationError
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.rentals import splits

from tests.helpers import runtime_as
from tests.rentals.projects_helpers import finalize_month, last_entry


def parts(text: str) -> list[tuple[str, str]]:
    return [splits.parse_assignment(a) for a in text.split()] if text else []


# ---------------------------------------------------------------- validation (pure)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("NIH-1=100", {"NIH-1": "100"}),
        ("A=60 B=40", {"A": "60", "B": "40"}),
        ("A=33.33 B=33.33 C=33.34", {"A": "33.33", "B": "33.33", "C": "33.34"}),
        ("A=33.3333 B=33.3333 C=33.3334", {"A": "33.3333", "B": "33.3333", "C": "33.3334"}),
        ("CO.55_x=0.0001 Z=99.9999", {"CO.55_x": "0.0001", "Z": "99.9999"}),
        ("A=50% B=50%", {"A": "50", "B": "50"}),
    ],
)
def test_valid_splits(given: str, expected: dict[str, str]) -> None:
    result = splits.validate_parts(parts(given))
    assert {p.cost_object: p.percent for p in result} == {k: Decimal(v) for k, v in expected.items()}
    assert all(isinstance(p.percent, Decimal) for p in result)


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ("", "needs at least one"),
        ("A=99.99", "sum to exactly 100 \\(they sum to 99.99\\)"),
        ("A=60 B=40.01", "sum to 100.01"),
        ("A=33.33 B=33.33 C=33.33", "sum to 99.99"),
        ("A=50 A=50", "'A' appears more than once"),
        ("A=50 a=50", "'a' appears more than once"),
        ("A=-10 B=110", "more than 0"),
        ("A=0 B=100", "more than 0"),
        ("A=33.33333 B=66.66667", "more than 4 decimal places"),
        ("A=abc", "not a number"),
        ("A=NaN", "not a number"),
        ("UNALLOCATED=100", "reserved"),
        ("bad/code=100", "may only use letters"),
        ("-lead=100", "may only use letters"),
    ],
)
def test_invalid_splits(given: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        splits.validate_parts(parts(given))


def test_floats_are_refused() -> None:
    with pytest.raises(ValidationError, match="never a float"):
        splits.validate_parts([("A", 100.0)])  # type: ignore[list-item]


@pytest.mark.parametrize("text", ["A", "A=", "=5", "A=1=2"])
def test_bad_assignment_syntax(text: str) -> None:
    with pytest.raises(ValidationError, match="CODE=PERCENT"):
        splits.parse_assignment(text)


# ---------------------------------------------------------------- workflow and lookup


def propose(runtime: Runtime, text: str, day: date, *, approve: bool = False, project: str = "Genomics"):  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        return splits.propose_split(ctx, project, parts(text), day, approve=approve)


def in_force(runtime: Runtime, day: date) -> splits.SplitView | None:
    with runtime.read() as ctx:
        return splits.split_in_force(ctx, "Genomics", day)


def test_in_force_at_effective_date_boundaries(centre: Runtime) -> None:
    v1 = propose(centre, "OLD=100", date(2026, 1, 1), approve=True)
    v2 = propose(centre, "A=60 B=40", date(2026, 2, 10), approve=True)
    propose(centre, "P=100", date(2026, 2, 1))  # pending: never in force
    assert in_force(centre, date(2025, 12, 31)) is None
    assert in_force(centre, date(2026, 1, 1)).id == v1.id  # type: ignore[union-attr]
    assert in_force(centre, date(2026, 2, 9)).id == v1.id  # type: ignore[union-attr]
    assert in_force(centre, date(2026, 2, 10)).id == v2.id  # type: ignore[union-attr]
    assert in_force(centre, date(2030, 1, 1)).id == v2.id  # type: ignore[union-attr]
    with centre.read() as ctx:
        assert splits.allocation_on(ctx, "Genomics", date(2025, 12, 31)) == (
            splits.SplitPart("UNALLOCATED", Decimal(100)),
        )
        assert [
            (p.cost_object, p.percent) for p in splits.allocation_on(ctx, "Genomics", date(2026, 2, 10))
        ] == [
            ("A", Decimal(60)),
            ("B", Decimal(40)),
        ]
        timeline = splits.split_timeline(ctx, "Genomics")
    assert [v.id for v in timeline] == [v1.id, v2.id]
    assert splits.pick_in_force(timeline, date(2026, 2, 9)).id == v1.id  # type: ignore[union-attr]
    assert splits.pick_in_force(timeline, date(2025, 1, 1)) is None


def test_rejected_version_is_never_in_force(centre: Runtime) -> None:
    propose(centre, "A=100", date(2026, 1, 1))
    with centre.write() as ctx:
        rejected = splits.reject_split(ctx, "Genomics", "wrong grant number")
    assert rejected.status == "rejected"
    assert rejected.decision_reason == "wrong grant number"
    assert in_force(centre, date(2026, 2, 1)) is None
    entry = last_entry(centre)
    assert (entry["action"], entry["reason"]) == ("split.rejected", "wrong grant number")


def test_same_effective_date_later_approval_wins(centre: Runtime) -> None:
    first = propose(centre, "A=100", date(2026, 3, 1), approve=True)
    second = propose(centre, "A=70 B=30", date(2026, 3, 1), approve=True)
    assert in_force(centre, date(2026, 3, 1)).id == second.id  # type: ignore[union-attr]
    entry = last_entry(centre)
    assert entry["action"] == "split.approved"
    assert entry["after"]["supersedes"] == first.id
    assert entry["before"]["in_force_on_effective_date"]["id"] == first.id
    with centre.read() as ctx:
        history = {v.id: v for v in splits.split_history(ctx, "Genomics")}
        timeline = splits.split_timeline(ctx, "Genomics")
    assert history[first.id].status == "approved"
    assert history[first.id].superseded_by == second.id
    assert history[second.id].superseded_by is None
    assert [v.id for v in timeline] == [second.id]


def test_new_proposal_supersedes_pending(centre: Runtime) -> None:
    p1 = propose(centre, "A=100", date(2026, 3, 1))
    p2 = propose(centre, "B=100", date(2026, 4, 1))
    with centre.read() as ctx:
        history = {v.id: v for v in splits.split_history(ctx, "Genomics")}
        assert splits.pending_split(ctx, "Genomics").id == p2.id  # type: ignore[union-attr]
    assert history[p1.id].status == "rejected"
    assert history[p1.id].decision_reason == f"superseded by version #{p2.id}"
    assert last_entry(centre)["after"]["superseded_pending"] == [p1.id]
    with centre.write() as ctx:
        approved = splits.approve_split(ctx, "Genomics")
    assert approved.id == p2.id
    with pytest.raises(NotFoundError, match="no pending split"), centre.write() as ctx:
        splits.approve_split(ctx, "Genomics")


def test_approve_and_reject_permissions(centre: Runtime) -> None:
    rmgr, bmgr = runtime_as(centre, "rmgr"), runtime_as(centre, "bmgr")
    propose(rmgr, "A=100", date(2026, 3, 1))  # a rental manager may propose...
    with pytest.raises(PermissionDenied, match="may not approve cost splits"), rmgr.write() as ctx:
        splits.approve_split(ctx, "Genomics")
    with pytest.raises(PermissionDenied, match="may not approve cost splits"), rmgr.write() as ctx:
        splits.reject_split(ctx, "Genomics", "no")
    with pytest.raises(PermissionDenied), rmgr.write() as ctx:  # ...but not approve on the way
        splits.propose_split(ctx, "Genomics", parts("B=100"), date(2026, 3, 1), approve=True)
    for login in ("ratemgr", "vic"):
        with pytest.raises(PermissionDenied), runtime_as(centre, login).write() as ctx:
            splits.propose_split(ctx, "Genomics", parts("B=100"), date(2026, 3, 1))
    with pytest.raises(ValidationError, match="reason: is required"), bmgr.write() as ctx:
        splits.reject_split(ctx, "Genomics", "  ")
    with bmgr.write() as ctx:
        v = splits.approve_split(ctx, "Genomics")
    assert (v.status, v.decided_by) == ("approved", "bmgr")
    entry = last_entry(centre)
    assert (entry["action"], entry["actor"]) == ("split.approved", "bmgr")
    assert entry["before"] == {"in_force_on_effective_date": "UNALLOCATED"}
    assert entry["after"]["parts"] == {"A": "100.00"}


def test_proposal_audit_entry(centre: Runtime) -> None:
    v = propose(centre, "A=33.33 B=33.33 C=33.34", date(2026, 3, 1))
    entry = last_entry(centre)
    assert entry["action"] == "split.proposed"
    assert entry["target_id"] == str(v.id)
    assert entry["after"]["parts"] == {"A": "33.33", "B": "33.33", "C": "33.34"}
    assert entry["after"]["effective_date"] == "2026-03-01"
    assert v.to_json("America/New_York")["parts"][2] == {"cost_object": "C", "percent": "33.34"}


# ---------------------------------------------------------------- finalized months


def test_split_inside_finalized_month_is_refused(centre: Runtime) -> None:
    propose(centre, "OLD=100", date(2026, 1, 1), approve=True)
    finalize_month(centre, "2026-01")
    with pytest.raises(LockedError, match="finalized invoice for 2026-01"):
        propose(centre, "A=60 B=40", date(2026, 1, 15))
    with pytest.raises(LockedError, match="2026-01"):  # its last day counts too
        propose(centre, "A=60 B=40", date(2026, 1, 31))
    # the same split as in force there changes nothing: allowed
    propose(centre, "OLD=100", date(2026, 1, 20), approve=True)
    # from the first open day on: allowed
    v = propose(centre, "A=60 B=40", date(2026, 2, 1), approve=True)
    assert in_force(centre, date(2026, 1, 31)).parts == (splits.SplitPart("OLD", Decimal(100)),)  # type: ignore[union-attr]
    assert in_force(centre, date(2026, 2, 1)).id == v.id  # type: ignore[union-attr]


def test_split_dated_before_finalized_month(centre: Runtime) -> None:
    finalize_month(centre, "2026-01")
    with pytest.raises(LockedError, match="2026-01"):  # nothing later: it would reach January
        propose(centre, "DEC=100", date(2025, 12, 1))
    propose(centre, "FEB=100", date(2026, 2, 1), approve=True)
    with pytest.raises(LockedError, match="2026-01"):  # January was UNALLOCATED: it would change
        propose(centre, "JAN=100", date(2026, 1, 1))


def test_earlier_split_overridden_before_finalized_month_is_allowed(centre: Runtime) -> None:
    propose(centre, "JAN=100", date(2026, 1, 1), approve=True)
    finalize_month(centre, "2026-01")
    # December only: the January version still takes over on Jan 1, so January is unchanged.
    v = propose(centre, "DEC=100", date(2025, 12, 1), approve=True)
    assert in_force(centre, date(2025, 12, 31)).id == v.id  # type: ignore[union-attr]


def test_approval_rechecks_finalized_months(centre: Runtime) -> None:
    propose(centre, "A=100", date(2026, 1, 20))
    finalize_month(centre, "2026-01")
    with pytest.raises(LockedError, match="approving split"), centre.write() as ctx:
        splits.approve_split(ctx, "Genomics")
    with centre.write() as ctx:  # it can still be rejected
        assert splits.reject_split(ctx, "Genomics", "January is closed").status == "rejected"
