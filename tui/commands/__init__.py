"""CLI command modules. Each has ``register(subparsers)``; handlers take (args, CliEnv)."""

from . import (
    auditcmd,
    backupcmd,
    helpcmd,
    inventory,
    invoicecmd,
    outagecmd,
    people,
    projectcmd,
    ratecmd,
    reservationcmd,
    schedulecmd,
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
    schedulecmd,
    projectcmd,
    splitcmd,
    ratecmd,
    subscriptioncmd,
    reservationcmd,
    outagecmd,
    invoicecmd,
    auditcmd,
    backupcmd,
    helpcmd,
]
