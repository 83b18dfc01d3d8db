"""Small defects: settings that broke later commands for good, and decimal inputs that crashed.

- Every site setting has a range checked when it is set (one line naming the setting); a bad
  value already stored (by an older version, or written directly) makes only the commands that
  read it refuse, with one line naming the setting and the command that fixes it.
- Decimal inputs (rates, override hours, split percentages) are finite and fit their column:
  ``1e400`` or ``1E+30`` is one line naming the field, never an internal error (exit 3).
"""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import pytest
from nodedesk.core import site, validate
from nodedesk.core.errors import ValidationError
from nodedesk.core.models import Setting
from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import settings, users

from tests.cli_helpers import Cli
from tests.notices.conftest import seed

# ---------------------------------------------------------------- settings ranges

OUT_OF_RANGE = [
    ("reminder_hours", "99999999999999999999"),
    ("reminder_hours", "721"),
    ("reservation_block_hours", "0"),
    ("reservation_block_hours", "25"),
    ("reservation_max_blocks", "1000000000"),
    ("reservation_max_blocks", "0"),
    ("reservation_lead_days", "100000"),
    ("reservation_horizon_days", "0"),
    ("schedule_horizon_months", "1000"),
    ("lock_timeout_seconds", "0"),
    ("statement_timeout_seconds", "99999999"),
    ("reminder_hours", "1e3"),
    ("reminder_hours", "٣"),  # a non-ASCII digit int() would accept
]


@pytest.mark.parametrize(("key", "value"), OUT_OF_RANGE)
def test_setting_out_of_range_is_refused(key: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        site.validate_setting(key, value)
    assert info.value.field == key
    assert "\n" not in str(info.value)


def test_settings_set_help_lists_the_ranges(tmp_path: Path) -> None:
    out = Cli("sqlite:///" + str(tmp_path / "none.db"), tmp_path).ok("settings", "set", "--help")
    assert "reminder_hours 0-720" in " ".join(out.split())


def test_every_integer_setting_has_a_range() -> None:
    ints = {name for name in site.SETTING_NAMES if isinstance(getattr(site.SiteSettings(), name), int)}
    assert ints == set(site.INT_RANGES)
    for name, (low, high) in site.INT_RANGES.items():
        default = getattr(site.SiteSettings(), name)
        assert low <= default <= high, name
        assert site.validate_setting(name, str(high)) == str(high)
        assert site.validate_setting(name, f" {low} ") == str(low)


def _cli_admin(runtime: Runtime, tmp_path: Path) -> Cli:
    """The CLI on the ``runtime`` site, run by the OS user (made an admin), with the site's
    private dir (its audit key) where the CLI looks for it."""
    with runtime.write() as ctx:
        users.add_user(ctx, getpass.getuser(), "admin")
    home = tmp_path / "home"
    if runtime.config.site_dir.exists():
        shutil.copytree(runtime.config.site_dir, home / "nodedesk", dirs_exist_ok=True)
    return Cli(runtime.config.database_url, home)


def test_cli_refuses_a_huge_reminder_hours_and_notices_keep_working(runtime: Runtime, tmp_path: Path) -> None:
    cli = _cli_admin(runtime, tmp_path)
    line = cli.refused("settings", "set", "reminder_hours", "99999999999999999999")
    assert line.startswith("nodedesk: error: reminder_hours: must be") and "between 0 and 720" in line
    cli.refused("settings", "set", "reservation_block_hours", "0")
    cli.refused("settings", "set", "reservation_max_blocks", "1000000000")
    assert cli.json("settings", "list")["reminder_hours"] == "24"
    assert cli.run("notices", "remind").returncode == 0


def _corrupt(runtime: Runtime, key: str, value: str) -> None:
    """A stored value the checks would refuse (an older version, or a hand edit of the database)."""
    with runtime.database.write() as session:
        row = session.get(Setting, key)
        if row is None:
            session.add(
                Setting(key=key, value=value, modified_at=runtime.clock_for("UTC").now(), modified_by="x")
            )
        else:
            row.value = value


def test_a_bad_stored_setting_is_one_line_naming_the_fix(runtime: Runtime, tmp_path: Path) -> None:
    cli = _cli_admin(runtime, tmp_path)
    _corrupt(runtime, "reminder_hours", "99999999999999999999")
    line = cli.refused("notices", "remind")
    assert "reminder_hours" in line and "nodedesk settings set reminder_hours" in line, line
    # Commands that do not read it keep working, and the setting can be repaired.
    listed = cli.run("settings", "list")
    assert listed.returncode == 0 and "99999999999999999999" in listed.stdout
    assert listed.stderr.startswith("nodedesk: warning: reminder_hours: the stored value"), listed.stderr
    cli.ok("node", "list")
    cli.ok("settings", "set", "reminder_hours", "12")
    assert cli.run("notices", "remind").returncode == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reservation_block_hours", "0"),
        ("reservation_max_blocks", "abc"),
        ("reservation_start_time", "25:99"),
    ],
)
def test_bad_stored_reservation_setting_refuses_reservations_with_one_line(
    runtime: Runtime, key: str, value: str
) -> None:
    seed(runtime)
    _corrupt(runtime, key, value)
    from datetime import date

    from nodedesk.core.services.rentals import reservations

    with pytest.raises(ValidationError) as info, runtime.write() as ctx:
        reservations.record_reservation(
            ctx, reservations.ReservationDraft("n1", "Climate", date(2026, 3, 10), 2), waive_policy=True
        )
    assert info.value.field == key
    assert f"nodedesk settings set {key}" in str(info.value)
    with runtime.read() as ctx:  # listing shows the stored text, so an admin can see what to fix
        assert settings.list_settings(ctx)[key] == value


# ---------------------------------------------------------------- decimals


@pytest.mark.parametrize(
    "raw",
    [
        "1e400",
        "-1e400",
        "1E+30",
        "1e-400",
        "NaN",
        "sNaN",
        "-Infinity",
        "inf",
        "",
        "12..5",
        "9" * 100,
        "1_000",
        "١٢",
    ],
)
def test_shared_decimal_parser_refuses_with_one_line(raw: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate.decimal(raw, "amount", places=6, digits=20, minimum=0)
    assert info.value.field == "amount"
    assert "\n" not in str(info.value)


def test_shared_decimal_parser_accepts_exact_values() -> None:
    from decimal import Decimal

    assert validate.decimal(" 2.125 ", "amount", places=6, digits=20) == Decimal("2.125")
    assert validate.decimal("1E+2", "amount", places=6, digits=20) == Decimal("100")
    assert validate.decimal("99999999999999.999999", "amount", places=6, digits=20) == Decimal(
        "99999999999999.999999"
    )
    with pytest.raises(ValidationError):
        validate.decimal("100000000000000", "amount", places=6, digits=20)  # 15 + 6 digits
    with pytest.raises(ValidationError):
        validate.decimal(1.5, "amount", places=6, digits=20)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["1e400", "1E+30", "1e-400", "NaN", "9" * 70])
def test_rate_set_with_huge_or_odd_amounts_is_one_line(runtime: Runtime, tmp_path: Path, value: str) -> None:
    cli = _cli_admin(runtime, tmp_path)
    line = cli.refused("rate", "set", "MAINT_STANDARD", value, "--from", "2026-03-01")
    assert line.startswith("nodedesk: error: amount:"), line


@pytest.mark.parametrize(
    "args",
    [
        ("--hours", "1e400"),
        ("--hours", "1E+30"),
        ("--hours", "-1e400"),
        ("--hours", "NaN"),
        ("--split", "CL-1=1e400"),
        ("--split", "CL-1=1E+30"),
        ("--split", "CL-1=1e-400"),
    ],
)
def test_override_with_huge_numbers_is_one_line(
    runtime: Runtime, tmp_path: Path, args: tuple[str, str]
) -> None:
    seed(runtime)
    cli = _cli_admin(runtime, tmp_path)
    line = cli.refused("override", "set", "2026-02", "1", "=".join(args), "--reason", "test")
    assert line.startswith("nodedesk: error:"), line
    assert ("hours" if args[0] == "--hours" else "percent") in line, line
