"""The user's own settings: ``~/.config/nodedesk/config.toml`` (help/keys.md, "Remapping keys
and choosing a theme").

    theme = "ansi-dark"

    [keys]
    windows.new = "insert"            # a binding id (``nodedesk keys`` lists them) = a key
    "table.next_page" = ["n", "pagedown"]

The folder is the account's own (``XDG_CONFIG_HOME`` when set), found from the password
database as for the database-URL file (nodedesk.core.deploy). A missing file is no settings.
A bad file is one line naming the file, the entry and the rule; the app does not start.

``parse`` is pure (the file's text in, settings out) and needs no Textual; the binding ids and
clashes are checked against the app's bindings by ``check_keys`` (tui/kit/bindings.py).
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nodedesk.core.deploy import config_dir

from .appearance import THEMES

FILE_NAME = "config.toml"
SETTINGS = ("theme", "keys")
MODIFIERS = frozenset({"ctrl", "alt", "shift", "meta", "super", "hyper"})
# Named keys Textual knows besides single characters and Unicode character names.
NAMED_KEYS = frozenset(
    {
        "enter", "escape", "tab", "space", "backspace", "delete", "insert", "home", "end",
        "pageup", "pagedown", "up", "down", "left", "right", "return",
        *(f"f{n}" for n in range(1, 25)),
    }
)  # fmt: skip
# Textual's short names for some characters (textual.keys.KEY_NAME_REPLACEMENTS).
CHARACTER_NAMES = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


class ConfigError(ValueError):
    """A bad settings file: one line naming the file, the entry and the rule (exit 2)."""


@dataclass(frozen=True)
class UserConfig:
    path: Path | None = None
    theme: str | None = None
    # binding id → Textual key names, comma-separated (as ``App.set_keymap`` takes them)
    keys: dict[str, str] = field(default_factory=dict)


def config_path(environ: Mapping[str, str]) -> Path:
    return config_dir(dict(environ)) / FILE_NAME


def _key_name(key: str) -> str:
    """One key in Textual's long form (``?`` → ``question_mark``)."""
    if len(key) != 1 or key.isalnum():
        return key
    name = unicodedata.name(key, key).lower().replace("-", "_").replace(" ", "_")
    return CHARACTER_NAMES.get(name, name)


def valid_key(key: str) -> bool:
    """``n``, ``N``, ``?``, ``ctrl+n``, ``f5``, ``question_mark``, ``shift+tab``..."""
    if not key or key != key.strip() or "," in key:
        return False
    if len(key) == 1:
        return key.isprintable() and key != " "
    *mods, last = key.split("+")
    if any(m not in MODIFIERS for m in mods) or not last:
        return False
    if len(last) == 1:
        return last.isprintable() and last != " "
    if last in NAMED_KEYS or last in {_key_name(chr(c)) for c in range(33, 127)}:
        return True
    try:
        unicodedata.lookup(last.replace("_", " "))
    except KeyError:
        return False
    return True


def _flatten(table: Mapping[str, object], prefix: str = "") -> Iterable[tuple[str, object]]:
    """``windows.new = "n"`` reads as a table in TOML; either spelling names the id."""
    for name, value in table.items():
        ident = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _flatten(value, ident + ".")
        else:
            yield ident, value


def parse(text: str, path: Path | str = FILE_NAME) -> UserConfig:
    """The settings in a file's text (its syntax, its settings' types, theme names, key names)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for name in data:
        if name not in SETTINGS:
            raise ConfigError(f"{path}: {name}: unknown setting; the file holds theme and a [keys] table")
    theme = data.get("theme")
    if theme is not None and (not isinstance(theme, str) or theme.strip() not in THEMES):
        raise ConfigError(f"{path}: theme = {theme!r}: unknown theme; choose one of {', '.join(THEMES)}")
    raw_keys = data.get("keys", {})
    if not isinstance(raw_keys, dict):
        raise ConfigError(f"{path}: keys: must be a [keys] table of binding id = key")
    keys: dict[str, str] = {}
    for ident, value in _flatten(raw_keys):
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ConfigError(
                f'{path}: [keys] {ident}: must be a key or a list of keys, such as "n" or ["n", "insert"]'
            )
        names: list[str] = []
        for key in values:
            if not valid_key(key):
                raise ConfigError(
                    f"{path}: [keys] {ident} = {key!r}: not a key; write one key such as n, N, ?, "
                    "ctrl+n, f5, escape, pagedown"
                )
            name = _key_name(key)
            if name in names:
                raise ConfigError(f"{path}: [keys] {ident}: {key!r} is listed twice")
            names.append(name)
        keys[ident] = ",".join(names)
    return UserConfig(Path(path), theme.strip() if theme else None, keys)


Clash = tuple[str, str, str, str]  # (where, key, id, other id)


def check_keys(
    config: UserConfig,
    known: Iterable[str],
    clashes: Callable[[Mapping[str, str]], list[Clash]],
) -> None:
    """Every remapped id exists, and no key ends up bound twice on one screen or widget."""
    known_ids = set(known)
    for ident in config.keys:
        if ident not in known_ids:
            raise ConfigError(
                f"{config.path}: [keys] {ident}: unknown binding id; `nodedesk keys` lists them"
            )
    for where, key, ident, other in clashes(config.keys):
        raise ConfigError(
            f"{config.path}: [keys] {ident}: key {key} is bound twice on {where} (also {other}); "
            "give one of them another key"
        )


def load(environ: Mapping[str, str], *, check: bool = True) -> UserConfig:
    """The user's settings (none when there is no file), checked against the app's bindings."""
    path = config_path(environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserConfig()
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({type(exc).__name__})") from None
    config = parse(text, path)
    if check and config.keys:
        from .kit import bindings  # (imports every screen: only when keys are remapped)

        check_keys(config, bindings.catalogue(), bindings.clashes)
    return config
