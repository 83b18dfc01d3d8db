"""Outages: the list, detail and form, and the status workflow actions."""
