"""Helpers shared by CLI command modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence

from nodedesk.core.safetext import one_line
from nodedesk.core.services import list_export
from nodedesk.core.timeutil import day_or_time as day_or_time  # the rule lives in core

from . import output


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_list_formats(parser: argparse.ArgumentParser) -> None:
    """``--json`` or ``--csv`` (formula-guarded, core/services/list_export.py) for a listing."""
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON instead of a table")
    fmt.add_argument("--csv", action="store_true", help="print CSV (formula-guarded) instead of a table")


def print_list(
    args: argparse.Namespace,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    docs: Callable[[], Iterable[object]],
) -> None:
    """A listing as chosen by :func:`add_list_formats`: JSON (``docs()``), CSV or a table."""
    if args.json:
        output.print_json(list(docs()))
    elif args.csv:  # the table's "-" for nothing is an empty cell
        list_export.write_rows(sys.stdout, columns, ([("" if c == "-" else c) for c in row] for row in rows))
    else:
        output.table(columns, rows)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def confirm_listing(lines: list[str], question: str, assume_yes: bool) -> bool:
    """Show what is about to happen and ask (on the terminal only: without one, only
    ``--yes`` confirms, and nothing is printed)."""
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        return False
    for line in lines:
        sys.stderr.write(one_line(line) + "\n")
    return confirm(question, assume_yes=False)


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask on the terminal; without a terminal, only ``--yes`` confirms."""
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        return False
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


