"""``nodedesk doctor``'s Slurm lines (core/services/doctor.py): does slurmctld answer, and has
a sync run lately? Skipped on a site that does not use Slurm (no sync has run and
``slurm_conf`` is not set), so a host without Slurm has nothing to fix (help/slurm.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from .. import timeutil
from ..services.site.doctor import OK, PROBLEM, SKIPPED, Check
from . import status
from .client import SlurmClient, SlurmError
from .config import SlurmConfig

if TYPE_CHECKING:
    from ..runtime import Runtime

# A timer runs the sync every few minutes (README); a last sync older than this means it stopped.
STALE = timedelta(hours=1)


def checks(runtime: Runtime) -> list[Check]:
    with runtime.read() as ctx:
        config = SlurmConfig.from_site(ctx.site)
        run = status.last_run(ctx)
        now, tz = ctx.now(), ctx.tz
    if run is None and not config.conf:
        return [
            Check(
                "Slurm",
                SKIPPED,
                "not used here (no sync has run and slurm_conf is not set; see 'nodedesk help slurm')",
            )
        ]
    found: list[Check] = []
    try:
        found.append(Check("Slurm connection", OK, SlurmClient(config).ping()))
    except SlurmError as exc:
        found.append(Check("Slurm connection", PROBLEM, str(exc)))
    if run is None:
        found.append(
            Check("Slurm sync", PROBLEM, "no sync has run; run 'nodedesk slurm sync' from a timer (README)")
        )
    else:
        when = f"{timeutil.format_local(run.at, tz)} by {run.by}: {run.outcome}, {run.problems} problem(s)"
        if now - run.at > STALE:
            found.append(Check("Slurm sync", PROBLEM, f"the last sync was at {when}; is its timer running?"))
        elif run.problems:
            found.append(
                Check("Slurm sync", PROBLEM, f"the last sync, at {when}; see 'nodedesk slurm status'")
            )
        else:
            found.append(Check("Slurm sync", OK, f"last sync {when}"))
    return found
