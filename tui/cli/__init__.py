"""The ``nodedesk`` command line: a thin front end over the core services.

Exit codes: 0 success, 1 refused or invalid action (one line on stderr naming the field and the
rule; nothing written), 2 usage error. ``nodedesk`` with no command starts the full-screen app.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from nodedesk.core.config import Config
from nodedesk.core.errors import NodedeskError
from nodedesk.core.runtime import Runtime
from nodedesk.core.safetext import one_line
from sqlalchemy.exc import OperationalError, ProgrammingError

from nodedesk import __version__

from .. import appearance
from ..kit.errors import as_refusal

Handler = Callable[[argparse.Namespace, "CliEnv"], int]


@dataclass
class CliEnv:
    """What a command handler needs: configuration and a lazily built runtime."""

    config: Config
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self, *, check_schema: bool = True) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime(self.config)
        if check_schema:
            self._runtime.check_schema()
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


# An error is one readable line even when it quotes a 100 kB argument.
ERROR_MAX = 400
INT_MAX = 2**31 - 1


class UsageError(Exception):
    """Bad command-line usage detected after parsing (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {one_line(message, max_len=ERROR_MAX)}\n")
        raise SystemExit(2)


def _may_name_a_command(argv: Sequence[str]) -> bool:
    """Whether parsing ``argv`` needs the command modules: a word that is not an option (a command,
    or an option's value) or a help request. Starting the app (``nodedesk``, ``nodedesk --readonly``)
    does not, and then skips importing every command module and its services."""
    return any(not arg.startswith("-") or arg in ("-h", "--help") for arg in argv)


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nodedesk",
        description="Run rented compute nodes: maintenance "
        "windows, outages, reservations and downtime-aware invoices.",
    )
    parser.add_argument("--version", action="version", version=f"nodedesk {__version__}")
    parser.add_argument(
        "--readonly", action="store_true", help="start the app with every write action disabled"
    )
    parser.add_argument("--no-mouse", action="store_true", help="start the app without mouse support")
    parser.add_argument(
        "--theme",
        metavar="NAME",
        help="the app's colour theme: ansi-dark/ansi-light use the terminal's 16 colours, "
        "textual-light is light (default textual-dark; see 'nodedesk help troubleshooting')",
    )
    parser.add_argument(
        "--animations", action="store_true", help="turn the app's animations on (off by default, for SSH)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if commands:
        from .commands import COMMAND_MODULES

        for module in COMMAND_MODULES:
            module.register(sub)
    return parser


def _unusable_argument(argv: Sequence[str]) -> str | None:
    """Arguments no command can store: a NUL, or bytes that were not UTF-8 (Python hands those
    over as lone surrogates, which no database or terminal accepts)."""
    for position, arg in enumerate(argv, 1):
        if "\x00" in arg:
            return f"argument {position} contains a NUL character"
        if arg.startswith("-") and arg.endswith("=--"):  # argparse would silently drop the value
            return f"argument {position} ({one_line(arg, max_len=40)}): '--' cannot be an option's value"
        if any("\ud800" <= ch <= "\udfff" for ch in arg):
            return (
                f"argument {position} ({one_line(arg, max_len=40)}) is not valid UTF-8; "
                "check the terminal's locale (LANG, LC_ALL)"
            )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(commands=_may_name_a_command(sys.argv[1:] if argv is None else argv))
    argv = list(sys.argv[1:] if argv is None else argv)
    problem = _unusable_argument(argv)
    if problem:
        parser.error(problem)
    args = parser.parse_args(argv)
    for name, value in vars(args).items():
        # Ids, versions and counts are 32-bit integers in the database (PostgreSQL INTEGER).
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT_MAX:
            parser.error(f"argument {name.rstrip('_').replace('_', '-')}: {value} is too large")
    env = CliEnv(Config.from_env())
    try:
        handler: Handler | None = getattr(args, "handler", None)
        if handler is None:
            from ..app import run_app
            from ..userconfig import ConfigError, load

            try:
                user = load(os.environ)  # ~/.config/nodedesk/config.toml: theme, [keys]
                theme = appearance.pick_theme(args.theme, os.environ, user.theme)
            except (appearance.ThemeError, ConfigError) as exc:
                raise UsageError(str(exc)) from None
            return run_app(
                env.runtime(),
                readonly=args.readonly,
                mouse=not args.no_mouse,
                theme=theme,
                animations=args.animations,
                keymap=user.keys,
            )
        return handler(args, env)
    except NodedeskError as exc:
        sys.stderr.write(f"nodedesk: error: {one_line(str(exc), max_len=ERROR_MAX)}\n")
        return 1
    except UsageError as exc:
        sys.stderr.write(f"nodedesk: error: {one_line(str(exc), max_len=ERROR_MAX)}\n")
        return 2
    except (OperationalError, ProgrammingError) as exc:
        # the busy line (another admin's save) or "database: <first line>", as in the app
        sys.stderr.write(f"nodedesk: error: {as_refusal(exc)}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("nodedesk: interrupted; nothing was saved\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not a user mistake: say so, briefly
        if os.environ.get("NODEDESK_DEBUG"):
            raise
        line = as_refusal(exc, max_len=ERROR_MAX)  # "internal error: <type>: <text>"
        sys.stderr.write(f"nodedesk: {line} (set NODEDESK_DEBUG=1 for details)\n")
        return 3
    finally:
        env.close()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
