"""The long stress run only when asked for: ``pytest -m stress -s tests/stress``.

The default suite collects this directory too but runs only the short smoke test.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "stress" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="stress: run with -m stress -s tests/stress")
    for item in items:
        if item.get_closest_marker("stress"):
            item.add_marker(skip)
