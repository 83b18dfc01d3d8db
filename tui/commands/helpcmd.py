"""``nodedesk help [TOPIC]``: print a help topic from help/."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from nodedesk.core import helpdocs

if TYPE_CHECKING:
    from ..cli import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("help", help="show a help topic (list them with no argument)")
    p.add_argument("topic", nargs="?")
    p.set_defaults(handler=cmd_help)


def cmd_help(args: argparse.Namespace, env: CliEnv) -> int:
    if not args.topic:
        print("Help topics (nodedesk help TOPIC):")
        for name in helpdocs.topics():
            print(f"  {name:<14} {helpdocs.summary(name)}")
        return 0
    print(helpdocs.read(args.topic), end="")
    return 0
