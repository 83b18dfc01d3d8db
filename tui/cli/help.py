"""``nodedesk help [TOPIC]``: print a help topic from help/.

On a terminal the Markdown is formatted (headings, tables, code) for the terminal's width;
piped or redirected, the topic's Markdown text is printed as it is, ready for grep or a pager.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nodedesk.core import helpdocs

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("help", help="show a help topic (list them with no argument)")
    p.add_argument("topic", nargs="?")
    p.set_defaults(handler=cmd_help)


def cmd_help(args: argparse.Namespace, env: CliEnv) -> int:
    if not args.topic:
        print("Help topics (nodedesk help TOPIC):")
        names = helpdocs.topics()
        width = max((len(n) for n in names), default=0)
        for name in names:
            print(f"  {name:<{width}}  {helpdocs.summary(name)}")
        return 0
    text = helpdocs.read(args.topic)
    if not sys.stdout.isatty():
        print(text, end="")
        return 0
    from rich.console import Console  # (only a terminal needs the renderer)
    from rich.markdown import Markdown

    Console(highlight=False).print(Markdown(text, hyperlinks=False))
    return 0
