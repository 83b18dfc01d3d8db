"""Finalize what you saw: the draft's digest, ``finalize(expected_digest=)``, snapshot integrity
and out-of-range periods (both back ends; the command line through the real entry point).

The story behind it: with a month open in the app, a second admin changes the month; the
finalize dialog must not freeze figures nobody looked at, and an export "as computed now" must
not write figures that are no longer true.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from nodedesk.core.clock import FrozenClock
from nodedesk.core.db.engine import Database
from nodedesk.core.errors import ConflictError, ValidationError
from nodedesk.core.models import ActivityEntry, InvoicePeriod, InvoiceSnapshot, MaintenanceWindow, Reservation
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.invoicing import invoice_export, invoices, overrides
from sqlalchemy import func, select

from tests.billing.factory import Builder, reference_centre
from tests.cli_helpers import Cli
from tests.helpers import DEFAULT_NOW, local, runtime_as

STALE = "the month changed since it was shown: review again"


def build(runtime: Runtime, fn):  # type: ignore[no-untyped-def]
    with runtime.write() as ctx:
        return fn(Builder(ctx.session, ctx.now()))


@pytest.fixture
def centre(runtime: Runtime, clock: FrozenClock) -> dict[int, int]:
    """The reference centre, a billing manager ``bob``, and the clock after February ended."""

    def setup(b: Builder) -> dict[int, int]:
        b.user("bob", ("billing_manager",))
        made = reference_centre(b)
        return {k: v.id for k, v in made["reservations"].items()}  # type: ignore[attr-defined]

    ids = build(runtime, setup)
    clock.set(local("2026-03-03 09:00"))
    return ids


def digest_of(runtime: Runtime, period: str = "2026-02") -> str:
    with runtime.read() as ctx:
        return invoices.compute_invoice(ctx, period).digest


def counts(runtime: Runtime) -> tuple[int, int, int]:
    with runtime.read() as ctx:
        s = ctx.session
        return (
            s.scalar(select(func.count()).select_from(InvoicePeriod)) or 0,
            s.scalar(select(func.count()).select_from(InvoiceSnapshot)) or 0,
            s.scalar(select(func.count()).select_from(ActivityEntry)) or 0,
        )


# ---------------------------------------------------------------- the digest


def test_digest_is_stable_for_the_same_data(runtime: Runtime, centre: dict[int, int], clock) -> None:  # type: ignore[no-untyped-def]
    with runtime.read() as ctx:
        first = invoices.compute_invoice(ctx, "2026-02")
    assert first.status == "draft" and len(first.digest) == 64
    assert first.to_json()["digest"] == first.digest
    clock.set(local("2026-03-09 17:30"))  # time passes; another user reads it
    with runtime_as(runtime, "bob").read() as ctx:
        later = invoices.compute_invoice(ctx, "2026-02")
        one_project = invoices.compute_invoice(ctx, "2026-02", project="Genomics")
    assert later.doc["generated_at"] != first.doc["generated_at"]
    assert later.digest == first.digest
    assert one_project.digest == first.digest  # the digest is always the whole month's


def _cancel_r1(ids: dict[int, int]):  # type: ignore[no-untyped-def]
    def change(b: Builder) -> None:
        b.s.get(Reservation, ids[1]).status = "cancelled"

    return change


def _shorten_firmware(b: Builder) -> None:
    w = b.s.scalar(select(MaintenanceWindow).where(MaintenanceWindow.title == "Firmware"))
    w.end = local("2026-02-15 14:00")


def _new_rate(b: Builder) -> None:
    b.rate("NODE_A100", "9.00", date(2026, 2, 20))


@pytest.mark.parametrize("what", ["reservation", "window", "rate"])
def test_digest_changes_when_the_month_changes(runtime: Runtime, centre: dict[int, int], what: str) -> None:
    before = digest_of(runtime)
    change = {"reservation": _cancel_r1(centre), "window": _shorten_firmware, "rate": _new_rate}[what]
    build(runtime, change)
    assert digest_of(runtime) != before
    assert digest_of(runtime, "2026-01") == digest_of(runtime, "2026-01")


# ---------------------------------------------------------------- finalize with the digest


def test_finalize_with_a_stale_digest_is_refused_and_writes_nothing(
    runtime: Runtime, centre: dict[int, int]
) -> None:
    bob = runtime_as(runtime, "bob")
    with bob.read() as ctx:
        shown = invoices.compute_invoice(ctx, "2026-02")  # the first admin looks at the month
    build(runtime, _cancel_r1(centre))  # a second admin changes it
    before = counts(runtime)
    with bob.write() as ctx, pytest.raises(ConflictError) as err:
        invoices.finalize(ctx, "2026-02", expected_digest=shown.digest)
    assert err.value.message == STALE and err.value.field == "period"
    assert counts(runtime) == before
    with runtime.read() as ctx:
        assert invoices.compute_invoice(ctx, "2026-02").status == "draft"


def test_finalize_with_the_current_digest_stores_exactly_that_hash(
    runtime: Runtime, centre: dict[int, int], clock
) -> None:  # type: ignore[no-untyped-def]
    shown = digest_of(runtime)
    clock.set(local("2026-03-04 11:00"))  # the user took a while to confirm: still the same month
    with runtime_as(runtime, "bob").write() as ctx:
        fin = invoices.finalize(ctx, "2026-02", expected_digest=shown.upper())
    assert fin.sha256 == shown and fin.digest == shown and fin.integrity_ok
    assert fin.doc["finalized"]["by"] == "bob" and fin.doc["generated_at"].startswith("2026-03-04T11:00")
    with runtime.read() as ctx:
        row = ctx.session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == "2026-02"))
        assert row.snapshot_sha256 == shown
        assert hashlib.sha256(row.snapshot_json.encode()).hexdigest() == shown
        shown_again = invoices.compute_invoice(ctx, "2026-02")
        assert invoices.verify(ctx, "2026-02").integrity_ok
    assert shown_again.digest == shown and shown_again.doc["snapshot"]["integrity_ok"] is True
    assert shown_again.to_json()["digest"] == shown


def test_finalize_without_a_digest_still_works(runtime: Runtime, centre: dict[int, int]) -> None:
    expected = digest_of(runtime)
    with runtime.write() as ctx:
        assert invoices.finalize(ctx, "2026-02").sha256 == expected


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "0" * 63, "0" * 65, "0" * 62 + "é1"])
def test_a_malformed_digest_names_the_field(runtime: Runtime, centre: dict[int, int], bad: str) -> None:
    before = counts(runtime)
    with runtime.write() as ctx, pytest.raises(ValidationError) as err:
        invoices.finalize(ctx, "2026-02", expected_digest=bad)
    assert err.value.field == "expected_digest" and "64 hexadecimal" in err.value.message
    assert counts(runtime) == before


def test_export_of_what_was_shown_is_refused_once_the_month_changed(
    runtime: Runtime, centre: dict[int, int], tmp_path: Path
) -> None:
    with runtime.read() as ctx:
        shown = invoices.compute_invoice(ctx, "2026-02")
    with runtime.read() as ctx:
        path = invoice_export.export_checked(ctx, shown, str(tmp_path / "a.csv"), "csv")
    assert path.read_text(encoding="utf-8") == invoice_export.render(shown, "csv")
    build(runtime, _cancel_r1(centre))
    with runtime.read() as ctx, pytest.raises(ConflictError, match=STALE):
        invoice_export.export_checked(ctx, shown, str(tmp_path / "b.csv"), "csv")
    assert not (tmp_path / "b.csv").exists()


# ---------------------------------------------------------------- snapshot integrity


def _tamper(runtime: Runtime, period: str) -> None:
    with runtime.write() as ctx:
        row = ctx.session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == period))
        row.snapshot_json = row.snapshot_json.replace('"64.00"', '"6.40"')


def test_show_flags_a_snapshot_whose_hash_no_longer_matches(runtime: Runtime, centre: dict[int, int]) -> None:
    with runtime.write() as ctx:
        invoices.finalize(ctx, "2026-01")
    with runtime.read() as ctx:
        assert invoices.compute_invoice(ctx, "2026-01").integrity_ok
    _tamper(runtime, "2026-01")
    with runtime.read() as ctx:
        shown = invoices.compute_invoice(ctx, "2026-01")
        months = {m.period: m for m in invoices.list_months(ctx)}
        result = invoices.verify(ctx, "2026-01")
    assert not shown.integrity_ok and shown.doc["snapshot"]["integrity_ok"] is False
    assert not months["2026-01"].integrity_ok and months["2026-02"].integrity_ok
    assert not result.integrity_ok and result.drifted


# ---------------------------------------------------------------- out-of-range periods


@pytest.mark.parametrize("period", ["9999-12", "9999-01", "3000-01", "1969-12"])
def test_out_of_range_periods_name_the_field_and_the_rule(
    runtime: Runtime, centre: dict[int, int], period: str
) -> None:
    calls = [
        lambda ctx: invoices.compute_invoice(ctx, period),
        lambda ctx: invoices.live_invoice(ctx, period),
        lambda ctx: invoices.verify(ctx, period),
        lambda ctx: invoices.finalize(ctx, period),
        lambda ctx: invoices.unfinalize(ctx, period, "why"),
        lambda ctx: overrides.set_override(ctx, period, centre[1], kind="exclude", reason="x"),
        lambda ctx: overrides.list_overrides(ctx, period),
    ]
    for call in calls:
        with runtime.write() as ctx, pytest.raises(ValidationError) as err:
            call(ctx)
        assert err.value.field == "period" and "1970-01 to 2999-12" in err.value.message


# ---------------------------------------------------------------- the command line


@pytest.fixture
def cli(sqlite_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """SQLite only: the services under the commands are tested on both back ends above."""
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    cli = Cli(url, tmp_path)
    cli.ok("init", "--timezone", "America/New_York")
    db = Database.from_url(url)
    with db.write() as session:
        b = Builder(session, FrozenClock(DEFAULT_NOW).now())
        made = reference_centre(b)
        ids = {k: v.id for k, v in made["reservations"].items()}  # type: ignore[attr-defined]
    yield cli.at("2026-03-03T09:00"), ids, db
    db.dispose()


def test_cli_finalize_with_expected_digest(cli) -> None:  # type: ignore[no-untyped-def]
    run, ids, db = cli
    shown = run.json("invoice", "show", "2026-02")
    assert len(shown["digest"]) == 64 and shown["status"] == "draft"
    assert run.json("invoice", "show", "2026-02", "--project", "Genomics")["digest"] == shown["digest"]
    assert f"--expected-digest {shown['digest']}" in run.ok("invoice", "show", "2026-02")

    with db.write() as session:  # a second admin changes the month
        session.get(Reservation, ids[1]).status = "cancelled"
    line = run.refused("invoice", "finalize", "2026-02", "--expected-digest", shown["digest"])
    assert line == f"nodedesk: error: period: {STALE}"
    assert run.json("invoice", "show", "2026-02")["status"] == "draft"

    bad = run.refused("invoice", "finalize", "2026-02", "--expected-digest", "xyz")
    assert bad.startswith("nodedesk: error: expected_digest: ") and "64 hexadecimal" in bad

    fresh = run.json("invoice", "show", "2026-02")["digest"]
    done = run.json("invoice", "finalize", "2026-02", "--expected-digest", fresh)
    assert done["digest"] == fresh and done["snapshot"]["sha256"] == fresh
    assert done["snapshot"]["integrity_ok"] is True


def test_cli_show_flags_an_altered_snapshot(cli) -> None:  # type: ignore[no-untyped-def]
    run, _ids, db = cli
    run.ok("invoice", "finalize", "2026-01")
    assert "ALTERED" not in run.ok("invoice", "show", "2026-01")
    with db.write() as session:
        row = session.scalar(select(InvoicePeriod).where(InvoicePeriod.period == "2026-01"))
        row.snapshot_json = row.snapshot_json.replace('"64.00"', '"6.40"')
    text = run.ok("invoice", "show", "2026-01")
    assert "SNAPSHOT ALTERED" in text.splitlines()[0]
    assert run.json("invoice", "show", "2026-01")["snapshot"]["integrity_ok"] is False
    assert "altered" in run.ok("invoice", "months")
    verify = run.run("invoice", "verify", "2026-01")
    assert verify.returncode == 1 and "does not match its SHA-256" in verify.stdout


def test_cli_out_of_range_periods_are_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    run, ids, _db = cli
    commands = [
        ("invoice", "show", "9999-12"),
        ("invoice", "show", "9999-12", "--csv"),
        ("invoice", "show", "9999-12", "--json"),
        ("invoice", "finalize", "9999-12"),
        ("invoice", "verify", "9999-12"),
        ("invoice", "unfinalize", "9999-12", "--reason", "x"),
        ("override", "set", "9999-12", str(ids[1]), "--exclude", "--reason", "x"),
        ("override", "clear", "9999-12", str(ids[1]), "--reason", "x"),
        ("override", "list", "9999-12"),
    ]
    for args in commands:
        line = run.refused(*args)
        assert line.startswith("nodedesk: error: period: ") and "1970-01 to 2999-12" in line, args


def test_snapshot_text_is_the_digested_document(runtime: Runtime, centre: dict[int, int]) -> None:
    """What is stored is the month's figures only: who finalized it and when sit beside it."""
    with runtime.write() as ctx:
        fin = invoices.finalize(ctx, "2026-02")
    with runtime.read() as ctx:
        text = ctx.session.scalar(
            select(InvoicePeriod.snapshot_json).where(InvoicePeriod.period == "2026-02")
        )
    stored = json.loads(text)
    assert stored["status"] == "finalized" and stored["finalized"] is None and stored["generated_at"] is None
    assert stored["totals"] == fin.totals and stored["projects"] == fin.projects
