"""Schedules tests reuse the CLI site fixtures."""

from tests.cli.conftest import cli_site, cli_template  # noqa: F401
