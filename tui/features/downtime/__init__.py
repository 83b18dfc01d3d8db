"""Downtime: maintenance windows and outages in one list; each row opens its own detail."""
