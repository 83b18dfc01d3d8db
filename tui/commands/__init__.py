"""CLI command modules. Each has ``register(subparsers)``; handlers take (args, CliEnv)."""

from . import (
    auditcmd,
    helpcmd,
    inventory,
    invoicecmd,
    people,
    projectcmd,
    ratecmd,
    setup,
    splitcmd,
    subscriptioncmd,
    windowcmd,
)

COMMAND_MODULES = [
    setup,
    people,
    inventory,
    windowcmd,
    projectcmd,
    splitcmd,
    ratecmd,
    subscriptioncmd,
    invoicecmd,
    auditcmd,
    helpcmd,
]
