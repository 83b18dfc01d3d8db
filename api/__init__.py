"""nodedesk's HTTP API (``nodedesk serve``, help/api.md): a thin front end over ``core``.

Installed as ``nodedesk.api``. Every request acts as its API token's user through the same
units of work, services, permission checks and audit as the console; this package only turns
HTTP into service calls and service answers (or refusals) into JSON.
"""
