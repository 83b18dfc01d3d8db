"""The site itself: setup, settings, users and roles, the doctor checks and the demo data."""
