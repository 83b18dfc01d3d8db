"""CLI command modules. Each has ``register(subparsers)``; handlers take (args, CliEnv)."""

from . import (
    audit as auditcmd,
)
from . import (
    backup as backupcmd,
)
from . import (
    calendar as calendarcmd,
)
from . import (
    dashboard as dashboardcmd,
)
from . import (
    doctor as doctorcmd,
)
from . import (
    help as helpcmd,
)
from . import (
    invoices as invoicecmd,
)
from . import (
    keys as keyscmd,
)
from . import (
    migrate as migratecmd,
)
from . import (
    nodes as inventory,
)
from . import (
    notices as noticecmd,
)
from . import (
    outages as outagecmd,
)
from . import (
    people,
    setup,
)
from . import (
    projects as projectcmd,
)
from . import (
    rates as ratecmd,
)
from . import (
    reservations as reservationcmd,
)
from . import (
    schedules as schedulecmd,
)
from . import (
    settings as settingscmd,
)
from . import (
    splits as splitcmd,
)
from . import (
    subscriptions as subscriptioncmd,
)
from . import (
    windows as windowcmd,
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
    noticecmd,
    calendarcmd,
    dashboardcmd,
    settingscmd,
    invoicecmd,
    auditcmd,
    backupcmd,
    migratecmd,
    doctorcmd,
    helpcmd,
    keyscmd,
]
