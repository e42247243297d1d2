"""Queries run without a transaction; anything else keeps one."""

from __future__ import annotations

import pytest

from schema.http import _is_query

MIXED = "query Q { viewer { id } } mutation M { createUser(input: {}) { errors { code } } }"


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("{ viewer { id } }", None, True),
        (MIXED, "Q", True),
        (MIXED, "M", False),
        (MIXED, None, False),  # ambiguous: graphql-core reports it, in a transaction
        ("mutation { createUser }", None, False),
        ("{ viewer { id }", None, False),  # does not parse
        ("{ viewer { id } }" + " " * 20_000, None, False),  # too long to parse before auth
    ],
)
def test_only_queries_read_in_autocommit(query: str, name: str | None, expected: bool) -> None:
    assert _is_query(query, name) is expected
