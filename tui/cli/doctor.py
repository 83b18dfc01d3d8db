"""``nodedesk doctor``: one line per deployment check (core/services/doctor.py); admins only."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core.runtime import Runtime
from nodedesk.core.services.site import doctor

from . import output
from .common import add_json

if TYPE_CHECKING:
    from . import CliEnv

MARK = {doctor.OK: "OK  ", doctor.PROBLEM: "FIX ", doctor.SKIPPED: "--  "}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the deployment: file modes, service account, sudoers, schema, audit anchor (admin)",
    )
    add_json(p)
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace, env: CliEnv) -> int:
    if env._runtime is None:  # an open database is reported, not refused
        env._runtime = Runtime(env.config, require_private=False)
    runtime = env._runtime
    doctor.require_admin(runtime)
    checks = doctor.run(runtime)
    if args.json:
        output.print_json([c.to_json() for c in checks])
    else:
        for check in checks:
            print(output.one_line(f"{MARK[check.status]}{check.name}: {check.detail}"))
    problems = sum(c.status == doctor.PROBLEM for c in checks)
    if problems:
        output.note(f"nodedesk: error: doctor: {problems} check(s) need fixing (the FIX lines)")
        return 1
    return 0
