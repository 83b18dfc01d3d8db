"""Switching from the ColdFront "ORCD Direct Charge" plugin (help/migrate.md).

- ``export``: read an export made by the plugin's ``export_portal_data`` and verify it first;
- ``source``: its records as typed data;
- ``migrator``: ``nodedesk migrate orcd``, the export as a new site, in one transaction;
- ``plugin_model``: what the plugin's invoice API bills for a month, from the export;
- ``invoice``: the plugin's invoice JSON; ``compare``: ``nodedesk migrate orcd-compare``;
- ``report``: what the migration did with every record.
"""
