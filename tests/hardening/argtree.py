"""The CLI's argparse tree, enumerated (so new commands are fuzzed without editing a list)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class Arg:
    dest: str
    flags: tuple[str, ...]  # empty for a positional
    takes_value: bool
    many: bool  # nargs '+' / '*' or an append action
    choices: tuple[str, ...] | None
    required: bool


@dataclass(frozen=True)
class Leaf:
    path: tuple[str, ...]
    args: tuple[Arg, ...]

    @property
    def positionals(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if not a.flags)

    @property
    def options(self) -> tuple[Arg, ...]:
        return tuple(a for a in self.args if a.flags)

    @property
    def name(self) -> str:
        return " ".join(self.path)


def _arg(action: argparse.Action) -> Arg:
    nargs = action.nargs
    takes_value = nargs != 0
    many = nargs in ("+", "*") or isinstance(action, argparse._AppendAction)
    choices = tuple(str(c) for c in action.choices) if action.choices else None
    flags = tuple(action.option_strings)
    return Arg(
        action.dest, flags, takes_value, many, choices, bool(action.required or (not flags and nargs != "?"))
    )


def leaves(parser: argparse.ArgumentParser | None = None) -> list[Leaf]:
    """Every runnable command (``window add``, ``export``, ...) with its arguments."""
    if parser is None:
        from nodedesk.tui.cli import build_parser

        parser = build_parser()
    found: list[Leaf] = []

    def walk(p: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            args = tuple(
                _arg(a)
                for a in p._actions
                if not isinstance(a, argparse._HelpAction | argparse._VersionAction)
            )
            found.append(Leaf(path, args))
            return
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*path, name))

    walk(parser, ())
    return found
