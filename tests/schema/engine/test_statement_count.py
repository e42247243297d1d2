"""Listing accounts costs a fixed number of SQL statements, whatever the page size.

These count the DataLoader path (strawberry's), so the compiled read path is off here;
tests/schema/engine/test_compiled.py counts the compiled one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import tokens
from app.models.accounts import BuyingRole
from app.models.auth import Role
from app.settings import Settings
from tests.accounts.factories import create_account, create_contact
from tests.support import Api

LIST = """
query List($first: Int) {
  accounts(first: $first) {
    totalCount
    pageInfo { hasNextPage }
    edges {
      node {
        id
        name
        parent { id name }
        contacts { id name buyingRole }
        branches(first: 10) { totalCount edges { node { id name } } }
        assignments { id }
        pipelineEntry { stage }
      }
    }
  }
}
"""

# The token, the page with its totalCount, then one per list level: parents, contacts,
# branches, assignments, pipeline entries.
STATEMENTS = 7


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return replace(Settings.from_env({"ACCOUNTFLOW_DATA_DIR": str(tmp_path)}), compiled_reads=False)


async def arrange(api: Api) -> None:
    """60 accounts by name: every even one a head with a contact, every odd one its branch."""
    for n in range(0, 60, 2):
        head = await create_account(api.session, name=f"Account {n:02}")
        await create_contact(api.session, head, name=f"Contact {n:02}", role=BuyingRole.COACH)
        await create_account(api.session, name=f"Account {n + 1:02}", parent_id=head.id)


async def test_statements_do_not_grow_with_the_page(
    api: Api, app_engine: tuple[object, AsyncEngine]
) -> None:
    _, engine = app_engine
    admin = await api.caller(Role.ADMIN)
    await arrange(api)
    # A token's first use stamps its lastUsedAt (then at most once a minute): not counted here.
    await api.data("{ viewer { id } }", caller=admin)
    counts = {}
    for first in (5, 50):
        tokens.principal_cache.clear()  # the token is read, not taken from the cache
        with counting(engine) as statements:
            data = await api.data(LIST, {"first": first}, caller=admin)
        counts[first] = len(statements)
        edges = data["accounts"]["edges"]
        assert len(edges) == first
        assert data["accounts"]["totalCount"] == 60
    assert counts == {5: STATEMENTS, 50: STATEMENTS}
    head, branch = edges[0]["node"], edges[1]["node"]
    assert head["name"] == "Account 00"
    assert head["parent"] is None
    assert head["contacts"] == [
        {"id": head["contacts"][0]["id"], "name": "Contact 00", "buyingRole": "COACH"}
    ]
    assert head["branches"]["totalCount"] == 1
    assert head["branches"]["edges"] == [{"node": {"id": branch["id"], "name": "Account 01"}}]
    assert branch["parent"] == {"id": head["id"], "name": "Account 00"}
    assert branch["contacts"] == []
    assert branch["branches"] == {"totalCount": 0, "edges": []}
    assert edges[49]["node"]["parent"]["name"] == "Account 48"


async def test_total_of_an_empty_page_past_the_end(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    await arrange(api)
    query = "query($after: String) { accounts(first: 100, after: $after) { totalCount "
    query += "pageInfo { endCursor } edges { cursor } } }"
    full = (await api.data(query, caller=admin))["accounts"]
    after = full["pageInfo"]["endCursor"]
    empty = (await api.data(query, {"after": after}, caller=admin))["accounts"]
    assert (full["totalCount"], len(full["edges"])) == (60, 60)
    assert empty == {"totalCount": 60, "pageInfo": {"endCursor": None}, "edges": []}
