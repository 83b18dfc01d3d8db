"""Planned and unplanned downtime: maintenance windows, recurring schedules, outages, their
impact on renters, and the notices sent about them."""
