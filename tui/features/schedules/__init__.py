"""Recurring maintenance schedules: the list, detail and form."""
