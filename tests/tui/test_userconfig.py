"""Reading config.toml (tui/userconfig.py): pure parsing, the checks against the app's binding
ids, where the file is, and the theme order (help/keys.md, "Remapping keys and choosing a theme")."""

from __future__ import annotations

from pathlib import Path

import pytest
from nodedesk.tui import appearance, userconfig
from nodedesk.tui.kit import bindings
from nodedesk.tui.userconfig import ConfigError, UserConfig, check_keys, parse


def test_theme_and_keys_in_either_spelling() -> None:
    config = parse(
        'theme = "ansi-dark"\n'
        "[keys]\n"
        'windows.new = "insert"\n'
        '"table.next_page" = ["N", "f6"]\n'
        'app.help = "?"\n',
        "c.toml",
    )
    assert config.theme == "ansi-dark"
    assert config.keys == {"windows.new": "insert", "table.next_page": "N,f6", "app.help": "question_mark"}


def test_an_empty_file_is_no_settings() -> None:
    assert parse("", "c.toml") == UserConfig(Path("c.toml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("theme = ", r"^c\.toml: not valid TOML: "),
        ('theme = "pink"', r"^c\.toml: theme = 'pink': unknown theme; choose one of textual-dark, "),
        ("theme = 3", r"^c\.toml: theme = 3: unknown theme"),
        ('colours = "x"', r"^c\.toml: colours: unknown setting"),
        ('keys = "n"', r"^c\.toml: keys: must be a \[keys\] table"),
        ("[keys]\nwindows.new = 3", r"^c\.toml: \[keys\] windows\.new: must be a key or a list of keys"),
        ("[keys]\nwindows.new = []", r"^c\.toml: \[keys\] windows\.new: must be a key or a list"),
        ('[keys]\nwindows.new = "ctrl+"', r"^c\.toml: \[keys\] windows\.new = 'ctrl\+': not a key"),
        ('[keys]\nwindows.new = "enterr"', r"^c\.toml: \[keys\] windows\.new = 'enterr': not a key"),
        ('[keys]\nwindows.new = "a,b"', r"not a key"),
        ('[keys]\nwindows.new = ["x", "x"]', r"^c\.toml: \[keys\] windows\.new: 'x' is listed twice"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_entry_and_rule(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse(text, "c.toml")
    assert "\n" not in str(info.value)


KNOWN = ["n", "N", "?", "/", "ctrl+n", "ctrl+shift+up", "f5", "escape", "pagedown", "question_mark",
         "left_square_bracket", "slash", "space", "shift+tab"]  # fmt: skip


@pytest.mark.parametrize("key", KNOWN)
def test_keys_textual_knows(key: str) -> None:
    assert userconfig.valid_key(key)


def test_single_characters_take_textuals_long_names() -> None:
    from textual.keys import _character_to_key

    for code in range(33, 127):
        assert userconfig._key_name(chr(code)) == _character_to_key(chr(code))


def test_ids_and_clashes_are_checked_against_the_app() -> None:
    known = bindings.catalogue()
    check_keys(parse('[keys]\nwindows.new = "insert"', "c.toml"), known, bindings.clashes)
    with pytest.raises(
        ConfigError, match=r"^c\.toml: \[keys\] windows\.neww: unknown binding id; `nodedesk keys`"
    ):
        check_keys(parse('[keys]\nwindows.neww = "x"', "c.toml"), known, bindings.clashes)
    with pytest.raises(
        ConfigError, match=r"^c\.toml: \[keys\] windows\.new: key d is bound twice on windows"
    ):
        check_keys(parse('[keys]\nwindows.new = "d"', "c.toml"), known, bindings.clashes)
    # two remapped ids swapping keys is fine; two remapped ids on one key is not
    check_keys(parse('[keys]\nwindows.new = "d"\nwindows.delete = "n"', "c.toml"), known, bindings.clashes)
    with pytest.raises(ConfigError, match=r"key x is bound twice on windows"):
        check_keys(
            parse('[keys]\nwindows.new = "x"\nwindows.delete = "x"', "c.toml"), known, bindings.clashes
        )


def test_the_file_is_in_the_accounts_config_folder(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert userconfig.config_path(environ) == tmp_path / "nodedesk" / "config.toml"
    assert userconfig.load(environ) == UserConfig()  # no file: no settings
    (tmp_path / "nodedesk").mkdir()
    (tmp_path / "nodedesk" / "config.toml").write_text('theme = "nord"\n[keys]\nwindows.new = "insert"\n')
    config = userconfig.load(environ)
    assert (config.theme, config.keys) == ("nord", {"windows.new": "insert"})
    (tmp_path / "nodedesk" / "config.toml").write_bytes(b"theme = \xff")
    with pytest.raises(ConfigError, match=r"config\.toml: cannot be read \(UnicodeDecodeError\)$"):
        userconfig.load(environ)


def test_the_config_theme_comes_after_the_command_line_and_the_environment() -> None:
    pick = appearance.pick_theme
    assert pick(None, {}, "nord") == "nord"
    assert pick(None, {"TEXTUAL_COLOR_SYSTEM": "standard"}, "nord") == "nord"  # an explicit choice
    assert pick(None, {"NODEDESK_THEME": "dracula"}, "nord") == "dracula"
    assert pick(None, {"TEXTUAL_THEME": "monokai"}, "nord") == "monokai"
    assert pick("gruvbox", {"NODEDESK_THEME": "dracula"}, "nord") == "gruvbox"
    assert pick(None, {}, None) == appearance.DEFAULT_THEME


def test_the_example_in_the_help_is_a_good_file() -> None:
    text = (Path(__file__).parents[2] / "help" / "keys.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse(example, "config.toml")
    check_keys(config, bindings.catalogue(), bindings.clashes)
    assert config.theme == "ansi-dark" and config.keys["table.next_page"] == "N,ctrl+n"
