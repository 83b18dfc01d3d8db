"""Read-only views across areas: the dashboard, the calendar and its feed, and the activity log."""
