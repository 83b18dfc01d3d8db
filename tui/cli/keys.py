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
    rows = [
        {
            "id": entry.id,
            "keys": list(entry.remapped(user.keys)),
            "default": list(entry.keys),
            "description": entry.description,
            "remapped": entry.id in user.keys,
        }
        for entry in bindings.catalogue().values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["id"]) for r in rows) + 2  # type: ignore[arg-type]
    keys = [",".join(r["keys"]) + (" *" if r["remapped"] else "") for r in rows]  # type: ignore[arg-type]
    kwidth = max(len(k) for k in keys) + 2
    for row, key in zip(rows, keys, strict=True):
        print(f"{row['id']:<{width}}{key:<{kwidth}}{row['description']}".rstrip())
    if user.keys:
        print(f"\n* remapped in {user.path}")
    return 0
