"""Generated operations for each role: no 5xx, no INTERNAL, no write from a failed mutation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.auth import Role
from tests.support import Api
from tests.web.fuzz import fuzzer, generate
from tests.web.fuzz.seed import seed

OPERATIONS_PER_ROLE = 250


@pytest.mark.parametrize("role", list(Role))
async def test_generated_operations(
    role: Role, api: Api, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    callers = await seed(api)
    pool = generate.IdPool()
    await pool.refresh(engine)
    queries = generate.generate(pool, count=OPERATIONS_PER_ROLE, seed_value=list(Role).index(role))

    tally = await fuzzer.Runner(client, engine).run(role.value, callers[role].token, queries)

    assert tally.operations == OPERATIONS_PER_ROLE
    assert tally.mutations > OPERATIONS_PER_ROLE // 4
    assert not tally.findings, "\n\n".join(f.describe() for f in tally.distinct())
