"""The soak's mix (bench/faults/soak.py): who runs what on its 32 connections."""

from __future__ import annotations

import asyncio
from collections import Counter

from bench.faults.soak import Roles, plan_soak, search_variables

Ran = list[tuple[str, tuple[object, ...]]]


def _plan(connections: int) -> Ran:
    ran: Ran = []

    async def role(name: str, *args: object) -> None:
        ran.append((name, args))

    roles = Roles(
        reader=lambda token: role("read", token),
        searcher=lambda number, token: role("search", number, token),
        mover=lambda ids, token: role("move", ids, token),
        ingester=lambda number: role("ingest", number),
        managers=[f"manager-{i}" for i in range(connections)],
    )
    workers = plan_soak(connections, list(range(640)), roles)

    async def run() -> None:
        await asyncio.gather(*workers)

    asyncio.run(run())
    return ran


def test_32_connections_read_search_move_and_ingest() -> None:
    plan = _plan(32)
    assert Counter(name for name, _ in plan) == {"read": 12, "search": 4, "move": 8, "ingest": 8}


def test_each_querying_connection_is_its_own_manager() -> None:
    # The per-user cost budget (5M a minute) refused one manager's 24 connections with 429.
    tokens = [args[-1] for name, args in _plan(32) if name != "ingest"]
    assert len(tokens) == 24 == len(set(tokens))


def test_searches_vary_their_terms_and_orders() -> None:
    seen = [search_variables(number, n) for number in range(4) for n in range(300)]
    terms = {v["filter"]["search"] for v in seen}
    orders = {str(v.get("orderBy")) for v in seen}
    assert len(terms) > 400  # of 1,200 searches
    assert len(orders) == 9  # relevance, and four fields each way
    assert all(v["first"] == 20 for v in seen)
