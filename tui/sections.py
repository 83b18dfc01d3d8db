"""The app's sections (Textual modes), in the order of their number keys.

A later feature makes its section live by giving it a ``screen`` factory; until then the
section shows an honest placeholder saying what it will bring and what to use meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.screen import Screen

SHORT_TITLES = {"Reservations": "Resv", "Calendar": "Cal", "Projects": "Proj"}


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    key: str
    help_topic: str
    screen: Callable[[], Screen] | None = None
    coming: str = ""  # what the section will show, for the placeholder
    meanwhile: str = ""  # what works today instead
    short: str = ""  # tab label on narrow terminals (default: the title, or a known abbreviation)

    @property
    def short_title(self) -> str:
        return self.short or SHORT_TITLES.get(self.title, self.title)

    @property
    def live(self) -> bool:
        return self.screen is not None


def _dashboard() -> Screen:
    from .features.dashboard.dashboard import DashboardScreen

    return DashboardScreen()


def _windows() -> Screen:
    from .features.windows.windows import WindowsScreen

    return WindowsScreen()


def _outages() -> Screen:
    from .features.outages.outages import OutagesScreen

    return OutagesScreen()


def _reservations() -> Screen:
    from .features.reservations.reservations import ReservationsScreen

    return ReservationsScreen()


def _calendar() -> Screen:
    from .features.calendar.calendar import CalendarScreen

    return CalendarScreen()


def _invoices() -> Screen:
    from .features.invoices.invoices import InvoicesScreen

    return InvoicesScreen()


def _activity() -> Screen:
    from .features.activity.activity import ActivityScreen

    return ActivityScreen()


def _projects() -> Screen:
    from .features.projects.projects import ProjectsScreen

    return ProjectsScreen()


def _rates() -> Screen:
    from .features.rates.rates import RatesScreen

    return RatesScreen()


def _schedules() -> Screen:
    from .features.schedules.schedules import SchedulesScreen

    return SchedulesScreen()


SECTIONS: list[Section] = [
    Section("dashboard", "Dashboard", "0", "dashboard", _dashboard, short="Dash"),
    Section("windows", "Windows", "1", "windows", _windows),
    Section("outages", "Outages", "2", "outages", _outages),
    Section("reservations", "Reservations", "3", "reservations", _reservations),
    Section("calendar", "Calendar", "4", "calendar", _calendar),
    Section("invoices", "Invoices", "5", "invoices", _invoices),
    Section("activity", "Activity", "6", "activity", _activity),
    Section("projects", "Projects", "7", "projects", _projects),
    Section("rates", "Rates", "8", "rates", _rates),
    Section("schedules", "Schedules", "9", "schedules", _schedules, short="Sched"),
]


def section(section_id: str) -> Section:
    for s in SECTIONS:
        if s.id == section_id:
            return s
    raise KeyError(section_id)
