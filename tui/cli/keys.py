"""``nodedesk keys [--json]``: every key binding id, its keys after the user's remapping, and what
it does, so a ``[keys]`` entry in config.toml can name the id (help/keys.md, "Remapping keys
and choosing a theme")."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import CliEnv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="list the key binding ids and their keys (for remapping in config.toml)")
    p.add_argument("--json", action="store_true", help="one JSON list of {id, keys, default, description}")
    p.set_defaults(handler=cmd_keys)


def cmd_keys(args: argparse.Namespace, env: CliEnv) -> int:
    from ..kit import bindings
    from ..userconfig import ConfigError, load
    from . import UsageError

    try:
        user = load(os.environ)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    entries = list(bindings.catalogue().values())
    if args.json:
        rows = [
            {
                "id": entry.id,
                "keys": list(entry.remapped(user.keys)),
                "default": list(entry.keys),
                "description": entry.description,
                "remapped": entry.id in user.keys,
            }
            for entry in entries
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(entry.id) for entry in entries) + 2
    keys = [",".join(e.remapped(user.keys)) + (" *" if e.id in user.keys else "") for e in entries]
    kwidth = max(len(k) for k in keys) + 2
    for entry, key in zip(entries, keys, strict=True):
        print(f"{entry.id:<{width}}{key:<{kwidth}}{entry.description}".rstrip())
    if user.keys:
        print(f"\n* remapped in {user.path}")
    return 0
