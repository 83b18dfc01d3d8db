"""Helpers shared by CLI command modules."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from nodedesk.core import timeutil
from nodedesk.core.safetext import one_line


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


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


def day_or_time(text: str, tz: str, field: str, *, end_of_day: bool) -> datetime:
    """A site day (``YYYY-MM-DD``) or a site time; a bare day given as an end (``--to``)
    includes that whole day."""
    raw = text.strip()
    if end_of_day and len(raw) == 10:
        return timeutil.start_of_day(timeutil.parse_date(raw, field) + timedelta(days=1), tz)
    return timeutil.parse_instant(raw, tz, field=field)
