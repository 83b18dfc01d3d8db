"""Site settings stored in the database (timezone, currency, reservation policy)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, time

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


_INT_FIELDS = {f.name for f in fields(SiteSettings) if f.type in ("int", int)}


def validate_setting(key: str, value: str) -> str:
    """Check one setting value; return its canonical text."""
    names = {f.name for f in fields(SiteSettings)}
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
    if key in _INT_FIELDS:
        try:
            number = int(value)
        except ValueError as exc:
            raise ValidationError("must be a whole number", field=key) from exc
        if number < 0:
            raise ValidationError("must not be negative", field=key)
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
    values: dict[str, object] = {}
    for f in fields(SiteSettings):
        if f.name in rows:
            values[f.name] = int(rows[f.name]) if f.name in _INT_FIELDS else rows[f.name]
    return SiteSettings(**values)  # type: ignore[arg-type]


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
