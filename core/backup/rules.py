"""The console's field rules, applied to every imported record (see help/backup.md).

An import must not store what the console would refuse: each rule below *is* the validator the
services call (core/validate.py or the owning service's named validator), never a copy. The
codecs (codec.py) already check types, column lengths and control characters; these rules add
what only the services know: shapes (e-mail, names), enumerations, decimal ranges and the limits
of free text. Unbounded text columns with no rule of their own follow ``validate.text`` (the
services' default for free text), except the machine-written documents listed in
:data:`DOCUMENTS`.

A rule gets the decoded value (never None: nullability is the codec's job) and raises
:class:`~nodedesk.core.errors.ValidationError`; the importer names the kind, record and field.
Every rule looks at the length first or is linear in it, so a huge value is refused quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Text

from .. import validate
from ..models import (
    INVOICE_STATUSES,
    NODE_CATEGORIES,
    NOTICE_STATUSES,
    OUTAGE_STATUSES,
    OVERRIDE_KINDS,
    PROJECT_ROLES,
    PROJECT_STATUSES,
    RESERVATION_STATUSES,
    SCHEDULE_EXCEPTION_KINDS,
    SKU_KINDS,
    SPLIT_STATUSES,
    SYSTEM_ROLES,
)
from .registry import KindSpec

Rule = Callable[[Any], object]


def _choice(field: str, allowed: tuple[str, ...]) -> Rule:
    return lambda v: validate.choice(v, field, allowed)


def _text(field: str) -> Rule:
    return lambda v: validate.text(v, field)


def _field_rules() -> dict[str, dict[str, Rule]]:
    from ..services.invoicing import rates
    from ..services.nodes import inventory
    from ..services.rentals import projects, reservations
    from ..services.site import users

    return {
        "users": {
            "username": lambda v: validate.name(v, "username"),
            "full_name": users.validate_full_name,
            "email": users.validate_email,
        },
        "node_types": {
            "name": lambda v: validate.name(v, "name"),
            "category": _choice("category", NODE_CATEGORIES),
            "description": inventory.validate_description,
        },
        "nodes": {
            "name": lambda v: validate.name(v, "name"),
            "description": inventory.validate_description,
        },
        "maintenance_schedules": {"title": validate.title, "description": _text("description")},
        "schedule_exceptions": {"kind": _choice("kind", SCHEDULE_EXCEPTION_KINDS)},
        "maintenance_windows": {"title": validate.title, "description": _text("description")},
        "projects": {
            "title": validate.title,
            "description": projects.validate_description,
            "status": _choice("status", PROJECT_STATUSES),
        },
        "cost_split_versions": {"status": _choice("status", SPLIT_STATUSES)},
        "skus": {
            "kind": _choice("kind", SKU_KINDS),
            "description": rates.validate_description,
        },
        "rates": {"amount": rates.parse_amount, "notes": rates.validate_notes},
        "reservations": {
            "status": _choice("status", RESERVATION_STATUSES),
            "notes": reservations.validate_notes,
        },
        "outages": {
            "title": validate.title,
            "description": _text("description"),
            "status": _choice("status", OUTAGE_STATUSES),
        },
        "invoice_periods": {"status": _choice("status", INVOICE_STATUSES)},
        "billing_overrides": {"kind": _choice("kind", OVERRIDE_KINDS), "reason": validate.reason},
        "notices": {"status": _choice("status", NOTICE_STATUSES), "email": users.validate_email},
    }


def _split_parts(items: list[dict[str, Any]]) -> object:
    from ..services.rentals.splits import validate_parts

    return validate_parts((i.get("cost_object"), i.get("percent")) for i in items) if items else None


# Embedded lists: kind -> child field -> rule over the decoded items (a list of dicts).
_CHILD_RULES: dict[str, dict[str, Rule]] = {
    "users": {"roles": lambda items: [validate.choice(i.get("role"), "role", SYSTEM_ROLES) for i in items]},
    "projects": {
        "members": lambda items: [validate.choice(i.get("role"), "role", PROJECT_ROLES) for i in items]
    },
    "cost_split_versions": {"parts": _split_parts},
}

# Unbounded text written by the program itself, not typed by a person: no free-text limit.
DOCUMENTS = frozenset(
    {
        ("invoice_periods", "snapshot_json"),
        ("invoice_periods", "drift_note"),
        ("invoice_snapshots", "snapshot_json"),
        ("billing_overrides", "split_json"),
        ("notices", "body"),
        ("notices", "ics"),
        ("notices", "last_error"),
        ("settings", "value"),
    }
)


def rules_for(spec: KindSpec) -> tuple[dict[str, Rule], dict[str, Rule]]:
    """(field rules, embedded-list rules) for a kind; the activity log has none (its hash chain
    proves every entry is the one that was written)."""
    if spec.append_only:
        return {}, {}
    fields = dict(_field_rules().get(spec.name, {}))
    for f in spec.fields:
        if (
            f.name not in fields
            and f.ref is None
            and isinstance(f.column.type, Text)
            and (spec.name, f.name) not in DOCUMENTS
        ):
            fields[f.name] = _text(f.name)
    return fields, dict(_CHILD_RULES.get(spec.name, {}))
