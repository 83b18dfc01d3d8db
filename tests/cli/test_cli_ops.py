"""Operator-facing output: a database password never reaches the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cli_helpers import Cli


@pytest.mark.postgres
def test_db_status_hides_the_password(pg_worker_url: str, tmp_path: Path) -> None:
    url = make_url(pg_worker_url).set(password="hunter2").render_as_string(hide_password=False)
    out = Cli(url, tmp_path).ok("db", "status")
    assert "hunter2" not in out
    assert "***@" in out and "up to date" in out
