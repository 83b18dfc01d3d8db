"""The app's sections (Textual modes), in the order of their keys (the digits, then N).

Each section names the route of its first screen (tui/kit/navigation.py); the route imports its
feature only when the section is first opened, so starting the app loads the dashboard alone.
This module is plain data: the top bar, the app and the palette read it.
"""

from __future__ import annotations

from dataclasses import dataclass

SHORT_TITLES = {"Reservations": "Resv", "Calendar": "Cal", "Projects": "Proj"}


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    key: str
    help_topic: str
    route: str  # of its first screen (tui/kit/navigation.py)
    short: str = ""  # tab label on narrow terminals (default: the title, or a known abbreviation)

    @property
    def short_title(self) -> str:
        return self.short or SHORT_TITLES.get(self.title, self.title)


SECTIONS: list[Section] = [
    Section("dashboard", "Dashboard", "0", "dashboard", "dashboard.list", short="Dash"),
    Section("windows", "Windows", "1", "windows", "windows.list"),
    Section("outages", "Outages", "2", "outages", "outages.list"),
    Section("reservations", "Reservations", "3", "reservations", "reservations.list"),
    Section("calendar", "Calendar", "4", "calendar", "calendar.list"),
    Section("invoices", "Invoices", "5", "invoices", "invoices.list"),
    Section("activity", "Activity", "6", "activity", "activity.list"),
    Section("projects", "Projects", "7", "projects", "projects.list"),
    Section("rates", "Rates", "8", "rates", "rates.list"),
    Section("schedules", "Schedules", "9", "schedules", "schedules.list", short="Sched"),
    Section("nodes", "Nodes", "N", "nodes", "nodes.list"),
    Section("availability", "Availability", "A", "availability", "availability.list", short="Avail"),
    Section("downtime", "Downtime", "D", "downtime", "downtime.list", short="Down"),
]


def section(section_id: str) -> Section:
    for s in SECTIONS:
        if s.id == section_id:
            return s
    raise KeyError(section_id)
