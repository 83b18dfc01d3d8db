"""Site settings stored in the database (timezone, currency, reservation policy, waits).

Every value is checked when it is set (:func:`validate_setting`; whole numbers have a range,
:data:`INT_RANGES`). A stored value that fails the same check (written by an older version, or
edited in the database by hand) does not stop nodedesk: :func:`load` keeps it aside, and only
reading *that* setting raises a one-line error naming it and the command that repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, time
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotInitializedError, ValidationError
from .models import Setting
from .timeutil import check_timezone


@dataclass(frozen=True)
class SiteSettings:
    """Values every business rule reads. Stored as text rows in ``settings``."""

    site_timezone: str = "UTC"
    currency: str = "USD"
    reservation_start_time: str = "16:00"
    reservation_block_hours: int = 12
    reservation_max_blocks: int = 14
    reservation_end_cap_time: str = "09:00"
    reservation_lead_days: int = 7
    reservation_horizon_days: int = 105
    reminder_hours: int = 24
    notice_roles: str = "owner,technical_admin"  # project roles that receive notices
    schedule_horizon_months: int = 3  # how far ahead recurring schedules materialise windows
    # How long an open outage without a (future) ETR is expected to last from now, for previews,
    # conflicts and reservations at risk (core/downtime.py outage_effective_end).
    outage_default_hours: int = 24
    # How long a write waits for another admin's save before giving up (SQLite busy wait,
    # PostgreSQL lock_timeout), and the longest any one PostgreSQL statement may run.
    # Applied to each new database connection (core/db/engine.py).
    lock_timeout_seconds: int = 10
    statement_timeout_seconds: int = 120
    # Where Slurm is and how names map (core/slurm/config.py, help/slurm.md).
    slurm_scontrol: str = "scontrol"
    slurm_sinfo: str = "sinfo"
    slurm_conf: str = ""
    slurm_timeout_seconds: int = 20
    slurm_reservation_user: str = "root"
    slurm_node_map: str = ""

    # Stored values that failed their check: setting name -> the one-line message reading it
    # gives. Set by :func:`load`; not a setting itself.
    _invalid: ClassVar[dict[str, str]] = {}
    _raw: ClassVar[dict[str, str]] = {}  # their stored text

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_"):
            invalid = object.__getattribute__(self, "_invalid")
            if name in invalid:
                raise ValidationError(invalid[name], field=name)
        return object.__getattribute__(self, name)

    def problems(self) -> dict[str, str]:
        """Settings whose stored value is invalid: name -> the one line reading it gives."""
        return dict(object.__getattribute__(self, "_invalid"))

    def stored_text(self, name: str) -> str:
        """The setting as text, even when its stored value is invalid (for listing it)."""
        invalid = object.__getattribute__(self, "_invalid")
        if name in invalid:
            return object.__getattribute__(self, "_raw")[name]
        return str(getattr(self, name))

    @property
    def tz(self) -> str:
        return self.site_timezone

    @property
    def notice_role_list(self) -> tuple[str, ...]:
        return tuple(r for r in self.notice_roles.split(",") if r)

    @property
    def start_time(self) -> time:
        return time.fromisoformat(self.reservation_start_time)

    @property
    def end_cap_time(self) -> time:
        return time.fromisoformat(self.reservation_end_cap_time)


SETTING_NAMES = tuple(f.name for f in fields(SiteSettings))
_INT_FIELDS = {f.name for f in fields(SiteSettings) if f.type in ("int", int)}

# Inclusive ranges of the whole-number settings. Wide enough for any real site, narrow enough
# that every rule reading them stays within dates and timers Python and the databases can hold.
INT_RANGES: dict[str, tuple[int, int]] = {
    "reservation_block_hours": (1, 24),
    "reservation_max_blocks": (1, 62),
    "reservation_lead_days": (0, 365),
    "reservation_horizon_days": (1, 730),
    "reminder_hours": (0, 720),  # 0: no reminders
    "schedule_horizon_months": (0, 24),  # the schedules' own limit (core/services/downtime/schedules.py)
    "outage_default_hours": (1, 720),
    "lock_timeout_seconds": (1, 600),
    "statement_timeout_seconds": (10, 3600),
    "slurm_timeout_seconds": (1, 300),
}


def validate_setting(key: str, value: str) -> str:
    """Check one setting value; return its canonical text."""
    names = set(SETTING_NAMES)
    value = value if isinstance(value, str) else str(value)
    if key not in names:
        raise ValidationError(f"unknown setting (known: {', '.join(sorted(names))})", field=key)
    if key == "site_timezone":
        return check_timezone(value, field=key)
    if key == "currency":
        code = value.strip().upper()
        if not (len(code) == 3 and code.isalpha() and code.isascii()):
            raise ValidationError("must be a 3-letter ISO 4217 code such as USD", field=key)
        return code
    if key == "notice_roles":
        from .models import PROJECT_ROLES

        roles = [r.strip() for r in value.split(",") if r.strip()]
        unknown = [r for r in roles if r not in PROJECT_ROLES]
        if not roles or unknown:
            raise ValidationError(
                f"must be a comma-separated list of project roles ({', '.join(PROJECT_ROLES)})", field=key
            )
        return ",".join(dict.fromkeys(roles))
    if key.startswith("slurm_") and key not in _INT_FIELDS:
        from .slurm.config import check_setting

        return check_setting(key, value)
    if key in _INT_FIELDS:
        low, high = INT_RANGES[key]
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
            raise ValidationError(f"must be a whole number between {low} and {high}", field=key)
        number = int(text)
        if not low <= number <= high:
            raise ValidationError(f"must be between {low} and {high} (got {number})", field=key)
        return str(number)
    if key.endswith("_time"):
        try:
            parsed = time.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError("must be a time of day HH:MM", field=key) from exc
        return parsed.strftime("%H:%M")
    return value


def load(session: Session) -> SiteSettings:
    rows = {s.key: s.value for s in session.scalars(select(Setting))}
    if "site_timezone" not in rows:
        raise NotInitializedError("nodedesk is not initialized here; run 'nodedesk init' first")
    values: dict[str, Any] = {}  # field name -> its value: an int for _INT_FIELDS, else text
    invalid: dict[str, str] = {}
    for name in SETTING_NAMES:
        if name not in rows:
            continue
        try:
            canonical = validate_setting(name, rows[name])
        except ValidationError as exc:
            invalid[name] = (
                f"the stored value {rows[name][:40]!r} is invalid ({exc.message}); "
                f"fix it with 'nodedesk settings set {name} VALUE'"
            )
            continue
        values[name] = int(canonical) if name in _INT_FIELDS else canonical
    settings = SiteSettings(**values)
    if invalid:
        object.__setattr__(settings, "_invalid", invalid)
        object.__setattr__(settings, "_raw", {name: rows[name] for name in invalid})
    return settings


def store(session: Session, key: str, value: str, *, by: str, at: datetime) -> tuple[str | None, str]:
    """Write one setting; returns (old, new) text values."""
    canonical = validate_setting(key, value)
    row = session.get(Setting, key)
    old = row.value if row else None
    if row is None:
        session.add(Setting(key=key, value=canonical, modified_at=at, modified_by=by))
    else:
        row.value = canonical
        row.modified_at = at
        row.modified_by = by
    session.flush()
    return old, canonical
