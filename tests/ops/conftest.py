"""Tests that need more than the venv (Debian's pgbouncer) or a real cluster for minutes run
only when asked for by name: `pytest -m pgbouncer tests/ops`, `pytest -m failover tests/ops`
(README, "Operate"). Any other run, `make test` included, leaves them out."""

from __future__ import annotations

import pytest

OPT_IN = frozenset({"pgbouncer", "failover"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    asked = str(config.getoption("markexpr") or "")
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        marks = {mark.name for mark in item.iter_markers()} & OPT_IN
        (drop if marks and not any(name in asked for name in marks) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
