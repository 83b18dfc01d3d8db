"""Several reservations or windows at once from the command line (``reservation approve 4 5 6``,
``window delete 7 8``): one listing to confirm, then one transaction (core/services/bulk.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from nodedesk.core.context import ServiceContext
from nodedesk.core.errors import ValidationError
from nodedesk.core.services.rentals import bulk

from . import output
from .common import confirm_listing

if TYPE_CHECKING:
    from . import CliEnv

VERBS = {"approve": "approve", "decline": "decline", "cancel": "cancel", "delete": "delete"}


def _run(
    args: argparse.Namespace,
    env: CliEnv,
    noun: str,
    action: str,
    call: Callable[..., bulk.BulkResult],
) -> int:
    if getattr(args, "expected_version", None) is not None:
        raise ValidationError(
            "applies to one id; several are checked against what you confirm", field="expected_version"
        )
    runtime = env.runtime()
    with runtime.write(dry_run=True) as ctx:
        plan = call(ctx, preview=True)
        tz = ctx.tz
    plan.raise_first()
    lines = [output.one_line(i.describe(tz)) for i in plan.items]
    for item in plan.items:
        lines += ["    " + output.one_line(line.describe(tz)) for line in item.impact]
    count = f"{len(plan.items)} {noun}{'s' if len(plan.items) != 1 else ''}"
    if args.dry_run:
        if args.json:
            output.print_json(plan.to_json(tz))
            return 0
        print(f"Dry run, nothing saved: would {VERBS[action]} {count}:")
        for line in lines:
            print("  " + line)
        return 0
    if not confirm_listing(lines, f"{VERBS[action].capitalize()} these {count}?", args.yes):
        raise ValidationError(
            "not confirmed; nothing changed (pass --yes to skip the question)", field="confirm"
        )
    with runtime.write() as ctx:
        done = call(ctx, expected_versions=plan.versions())
    if args.json:
        output.print_json(done.to_json(tz))
        return 0
    print(f"Done, in one transaction: {count}")
    for item in done.items:
        print("  " + output.one_line(item.describe(tz)))
    return 0


def reservations(args: argparse.Namespace, env: CliEnv) -> int:
    def call(ctx: ServiceContext, **kw: object) -> bulk.BulkResult:
        return bulk.reservations(
            ctx, args.decision, args.id, reason=args.reason, correction=getattr(args, "correct", False), **kw
        )  # type: ignore[arg-type]

    return _run(args, env, "reservation", args.decision, call)


def delete_windows(args: argparse.Namespace, env: CliEnv) -> int:
    def call(ctx: ServiceContext, **kw: object) -> bulk.BulkResult:
        return bulk.delete_windows(ctx, args.id, correction=args.correct, reason=args.reason, **kw)  # type: ignore[arg-type]

    return _run(args, env, "window", "delete", call)
