"""The command modules, in the order ``nodedesk --help`` lists them, and the command words each
registers. Each module has ``register(subparsers)``; its handlers take ``(args, CliEnv)`` and
return the exit code. A run that names a command imports only that command's module (the others
and their services stay unloaded); ``--help`` and unknown words import them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

# command word -> the module (under tui/cli) that registers it; tests/cli checks it against
# what each module's register() adds. The modules' order is the help's.
COMMANDS: dict[str, str] = {
    "init": "setup",
    "db": "setup",
    "user": "people",
    "node-type": "nodes",
    "node": "nodes",
    "window": "windows",
    "schedule": "schedules",
    "project": "projects",
    "member": "projects",
    "split": "splits",
    "sku": "rates",
    "rate": "rates",
    "subscription": "subscriptions",
    "reservation": "reservations",
    "outage": "outages",
    "downtime": "downtime",
    "notices": "notices",
    "calendar": "calendar",
    "dashboard": "dashboard",
    "settings": "settings",
    "invoice": "invoices",
    "override": "invoices",
    "audit": "audit",
    "export": "backup",
    "check-import": "backup",
    "import": "backup",
    "doctor": "doctor",
    "help": "help",
    "keys": "keys",
    "serve": "serve",
    "token": "tokens",
    "slurm": "slurm",
    "migrate": "migrate",
}


def command_modules(words: Sequence[str] | None = None) -> list[ModuleType]:
    """The modules registering ``words`` (all of them when None), in the help's order."""
    names = dict.fromkeys(COMMANDS.values() if words is None else (COMMANDS[w] for w in words))
    return [importlib.import_module(f"{__package__}.{name}") for name in names]
