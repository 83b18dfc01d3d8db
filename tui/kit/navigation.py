"""Opening another feature's screen by its route name.

Features never import each other (the import contracts in pyproject.toml check it): a screen
that leads elsewhere asks this module, which imports the target feature only when the route is
first taken. That keeps each feature's imports to the kit, its own modules and core, and keeps
starting the app cheap (only the first screen's feature is loaded).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import Screen

from .base import NodedeskScreen

FEATURES = "nodedesk.tui.features"

# route -> (module under tui/features, the screen class or a factory returning a screen)
ROUTES: dict[str, tuple[str, str]] = {
    # the sections' first screens (tui/sections.py)
    "dashboard.list": ("dashboard.dashboard", "DashboardScreen"),
    "windows.list": ("windows.windows", "WindowsScreen"),
    "outages.list": ("outages.outages", "OutagesScreen"),
    "reservations.list": ("reservations.reservations", "ReservationsScreen"),
    "calendar.list": ("calendar.calendar", "CalendarScreen"),
    "invoices.list": ("invoices.invoices", "InvoicesScreen"),
    "activity.list": ("activity.activity", "ActivityScreen"),
    "projects.list": ("projects.projects", "ProjectsScreen"),
    "rates.list": ("rates.rates", "RatesScreen"),
    "schedules.list": ("schedules.schedules", "SchedulesScreen"),
    "availability.list": ("availability.availability", "AvailabilityScreen"),
    "downtime.list": ("downtime.downtime", "DowntimeScreen"),
    "nodes.list": ("nodes.nodes", "NodesScreen"),
    # screens one feature opens from another
    "window.detail": ("windows.window_detail", "WindowDetailScreen"),
    "window.form": ("windows.window_form", "WindowFormScreen"),
    "outage.detail": ("outages.outage_detail", "OutageDetailScreen"),
    "reservation.detail": ("reservations.reservation_detail", "ReservationDetailScreen"),
    "reservation.form": ("reservations.reservation_form", "ReservationFormScreen"),
    "invoice.month": ("invoices.invoice_month", "month_screen"),
    "project.detail": ("projects.project_detail", "ProjectDetailScreen"),
    "project.split_decision": ("projects.split_decision", "SplitDecisionScreen"),
    "notices": ("notices.notices", "NoticesScreen"),
    "backup.menu": ("backup.backup", "BackupMenu"),
    "node.detail": ("nodes.node_detail", "NodeDetailScreen"),
    "outage.form": ("outages.outage_form", "OutageFormScreen"),
    "window.emergency": ("windows.emergency_form", "EmergencyFormScreen"),
}


def screen(route: str, *args: Any, section: str | None = None, **kwargs: Any) -> Screen[Any]:
    """Build the screen of ``route``; ``section`` keeps the top bar on the section it came from."""
    module, name = ROUTES[route]
    factory = getattr(importlib.import_module(f"{FEATURES}.{module}"), name)
    built: Screen[Any] = factory(*args, **kwargs)
    if section is not None:
        if not isinstance(built, NodedeskScreen):
            raise TypeError(f"{route} is not a section screen: it has no top bar to keep on {section}")
        built.SECTION = section
    return built


def factory(route: str) -> Callable[[], Screen[Any]]:
    """A no-argument factory for ``route`` (a section's mode in the app)."""
    return lambda: screen(route)


def go(
    app: App[Any],
    route: str,
    *args: Any,
    section: str | None = None,
    then: Callable[[Any], None] | None = None,
    **kwargs: Any,
) -> None:
    """Push the screen of ``route``; ``then`` receives what it dismisses with."""
    app.push_screen(screen(route, *args, section=section, **kwargs), then)
