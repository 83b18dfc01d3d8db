"""Maintenance windows: the list, detail, form, delete dialog and the actions on a window."""
