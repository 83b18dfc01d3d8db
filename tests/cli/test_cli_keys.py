"""``nodedesk keys`` and the user's config.toml through the real entry point: the listing of
binding ids, remapped keys in it, and a bad file refused with one line (exit 2) before the app
starts (help/keys.md, "Remapping keys and choosing a theme")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path / "data")
    cli.env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    cli.env.pop("NODEDESK_THEME", None)
    cli.env.pop("TEXTUAL_THEME", None)
    return cli


def write_config(cli: Cli, text: str) -> Path:
    path = Path(cli.env["XDG_CONFIG_HOME"]) / "nodedesk" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def usage_line(cli: Cli, *args: str) -> str:
    result = cli.run(*args)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_keys_lists_every_id_with_its_keys(cli: Cli) -> None:
    rows = {r["id"]: r for r in cli.json("keys")}
    assert rows["windows.new"] == {
        "id": "windows.new", "keys": ["n"], "default": ["n"], "description": "New", "remapped": False
    }  # fmt: skip
    assert rows["app.help"]["keys"] == ["question_mark", "f1"]
    assert "table.next_page" in rows and "section.windows" in rows
    text = cli.ok("keys")
    assert any(line.split()[:3] == ["windows.new", "n", "New"] for line in text.splitlines())


def test_keys_shows_the_remapped_keys(cli: Cli) -> None:
    path = write_config(cli, '[keys]\nwindows.new = "insert"\n"table.next_page" = ["N", "f6"]\n')
    rows = {r["id"]: r for r in cli.json("keys")}
    assert rows["windows.new"]["keys"] == ["insert"] and rows["windows.new"]["remapped"]
    assert rows["windows.new"]["default"] == ["n"]
    assert rows["table.next_page"]["keys"] == ["N", "f6"]
    text = cli.ok("keys")
    assert f"remapped in {path}" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[keys]\nwindows.neww = "x"\n', "[keys] windows.neww: unknown binding id"),
        (
            '[keys]\nwindows.new = "d"\n',
            "windows.new: key d is bound twice on windows (also windows.delete)",
        ),
        ('[keys]\n"table.next_page" = "pagedown"\n', "key pagedown is bound twice on"),  # Textual's own
        ('theme = "no-such-theme"\n', "theme = 'no-such-theme': unknown theme"),
        ("[keys\nwindows.new = 'x'\n", "not valid TOML"),
        ('[keys]\nwindows.new = "ctrl+"\n', "[keys] windows.new = 'ctrl+': not a key"),
        ('colour = "red"\n', "colour: unknown setting"),
    ],
)
def test_a_bad_config_stops_the_app_with_one_line(cli: Cli, text: str, expected: str) -> None:
    path = write_config(cli, text)
    line = usage_line(cli)
    assert line.startswith(f"nodedesk: error: {path}: "), line
    assert expected in line, line


def test_keys_refuses_a_bad_config_too(cli: Cli) -> None:
    write_config(cli, '[keys]\nwindows.neww = "x"\n')
    assert "unknown binding id" in usage_line(cli, "keys")


def test_theme_given_on_the_command_line_is_still_checked_first(cli: Cli) -> None:
    write_config(cli, 'theme = "nord"\n')
    assert "unknown theme 'nope'" in usage_line(cli, "--theme", "nope")
