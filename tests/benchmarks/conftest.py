"""Benchmarks run only when asked for: ``pytest -m benchmark -s tests/benchmarks``.

They print figures rather than assert timings, and take a while, so the default suite (which
also collects this directory) skips them unless the ``benchmark`` marker was selected.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "benchmark" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="benchmark: run with -m benchmark -s tests/benchmarks")
    for item in items:
        if item.get_closest_marker("benchmark"):
            item.add_marker(skip)
