"""Backup: export and import of a whole site."""
