"""CLI command modules. Each has ``register(subparsers)``; handlers take (args, CliEnv)."""

from . import auditcmd, helpcmd, inventory, people, setup, windowcmd

COMMAND_MODULES = [setup, people, inventory, windowcmd, auditcmd, helpcmd]
