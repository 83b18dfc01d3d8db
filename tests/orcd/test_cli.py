"""``nodedesk migrate orcd`` and ``nodedesk migrate orcd-compare`` through the real entry point,
as an admin follows help/migrate.md: dry run, migrate, run again, compare, verify."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli.conftest import SiteCli, cli_site, cli_template  # noqa: F401
from tests.conftest import PG_URL, pg_schema_url
from tests.orcd.conftest import REFERENCE_EXPORT, invoice_file

NOW = "2027-03-10 10:00"


def _new_site(tmp_path: Path) -> tuple[SiteCli, Path]:
    folder = tmp_path / "new"
    return SiteCli(f"sqlite:///{folder / 'nodedesk.db'}", tmp_path / "home", now=NOW), folder


def test_the_path_of_help_migrate(tmp_path: Path) -> None:
    site, folder = _new_site(tmp_path)
    export = str(REFERENCE_EXPORT)

    dry = site.ok("migrate", "orcd", export, "--dry-run")
    assert dry.startswith("Dry run of the migration of ORCD Rental Portal export of 2026-12-07")
    assert "reservations                  2     2" in dry
    assert "Dry run: everything was checked and written, then rolled back; nothing was kept." in dry
    assert not folder.exists()  # a dry run leaves no database behind
    report = site.json("migrate", "orcd", export, "--dry-run")
    assert report["outcome"] == "migrated" and report["dry_run"] is True
    assert report["totals"] == {"read": 500, "created": 286, "merged": 199, "present": 0, "skipped": 15}
    assert not folder.exists()

    real = site.ok("migrate", "orcd", export)
    assert "Committed in one transaction" in real and "(orcd.migrated)" in real
    assert "audit chain OK" in site.ok("audit", "verify")
    again = site.ok("migrate", "orcd", export)
    assert again.startswith("Already migrated:") and "Nothing was added" in again
    assert site.json("migrate", "orcd", export)["totals"]["created"] == 0

    december = site.json("invoice", "show", "2026-12")
    assert december["totals"]["amount"] == "248.00"

    compared = site.ok("migrate", "orcd-compare", "2026-12", str(invoice_file("2026-12")))
    assert "Lines that differ: 11 of 12 (the others agree)" in compared
    assert "- maintenance not deducted [+3.00 h, +24.00]" in compared
    total = "Total: the plugin 34.00 h, 272.10 USD; nodedesk 31.00 h, 248.00 USD; difference +24.10 USD"
    assert total in compared
    doc = site.json("migrate", "orcd-compare", "2026-12", str(invoice_file("2026-12")))
    assert set(doc["causes"]) == {"maintenance_not_deducted", "placeholder_rate", "fee_priced_on_first"}
    assert doc["causes"]["maintenance_not_deducted"] == {
        "label": "maintenance not deducted",
        "lines": "1",
        "hours": "3.00",
        "amount": "24.00",
    }
    january = site.json("migrate", "orcd-compare", "2027-01", str(invoice_file("2027-01")))
    assert january["causes"] == {} and january["totals"]["amount_difference"] == "0.00"


def test_refusals_are_one_line(tmp_path: Path, cli_site: SiteCli) -> None:  # noqa: F811
    site, folder = _new_site(tmp_path)
    damaged = tmp_path / "damaged"
    shutil.copytree(REFERENCE_EXPORT, damaged)
    for path in damaged.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    windows = damaged / "orcd_plugin" / "maintenance_windows.json"
    windows.write_text(windows.read_text().replace("Monthly", "Weekly", 1))
    assert "do not match the checksum" in site.refused("migrate", "orcd", str(damaged))
    assert not folder.exists()
    assert "is not a directory" in site.refused("migrate", "orcd", str(tmp_path / "nowhere"))

    line = cli_site.refused("migrate", "orcd", str(REFERENCE_EXPORT))
    assert "already holds a nodedesk site" in line
    assert "is for 2026-12, not 2026-11" in cli_site.refused(
        "migrate", "orcd-compare", "2026-11", str(invoice_file("2026-12"))
    )
    missing = str(tmp_path / "x.json")
    assert "does not exist" in cli_site.refused("migrate", "orcd-compare", "2026-11", missing)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"metadata": {"year": 2026, "month": 11}, "projects": [{"project_title": 3}]}))
    assert "invoice: .projects[0].project_title must be text" in cli_site.refused(
        "migrate", "orcd-compare", "2026-11", str(bad)
    )
    usage = cli_site.run("migrate", "orcd")
    assert usage.returncode == 2


def test_the_help_topic(tmp_path: Path) -> None:
    site, _folder = _new_site(tmp_path)
    text_ = site.ok("help", "migrate").lower()
    for step in ("dry run", "orcd-compare", "placeholder rate", "maintenance not deducted"):
        assert step in text_


@pytest.fixture
def pg_blank_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SiteCli]:
    request.getfixturevalue("pg_worker_url")  # skips locally without PostgreSQL, fails in CI
    schema = f"nd_orcd_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield SiteCli(pg_schema_url(schema), tmp_path, now=NOW)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_from_a_blank_schema(pg_blank_site: SiteCli) -> None:
    export = str(REFERENCE_EXPORT)
    assert pg_blank_site.json("migrate", "orcd", export, "--dry-run")["totals"]["created"] == 286
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
    assert pg_blank_site.sql(tables)[0][0] == 0
    assert "Committed in one transaction" in pg_blank_site.ok("migrate", "orcd", export)
    assert "Already migrated" in pg_blank_site.ok("migrate", "orcd", export)
    assert pg_blank_site.json("invoice", "show", "2026-12")["totals"]["amount"] == "248.00"
