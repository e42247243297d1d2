"""The server behind PgBouncer in transaction mode (Debian's pgbouncer, a real process):
timeouts set per transaction, no statement cache, LISTEN and session locks direct."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.models.auth import Role
from app.settings import DbTimeouts, Pooler
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.imports.blocking import count, job_state, numbered_accounts
from tests.ops.pgbouncer import admin, pgbouncer
from tests.ops.servers import server, start_import, wait_until
from tests.schema.engine.subscriptions.client import WsClient
from tests.support import Api

pytestmark = pytest.mark.pgbouncer

POOLED = {"ACCOUNTFLOW_DB_TIMEOUTS_PER": "transaction", "ACCOUNTFLOW_DB_STATEMENT_CACHE": "0"}


@pytest.fixture(scope="module")
def bouncer(pg_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with pgbouncer(pg_dir, tmp_path_factory.mktemp("pgbouncer")) as port:
        yield port


def _name(database_url: str) -> str:
    return database_url.split("@/", 1)[1].split("?", 1)[0]


def _through(database_url: str, port: int) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{_name(database_url)}"


def _transactions(port: int, database: str) -> int:
    """Transactions PgBouncer has passed on to this database so far."""
    stats = admin(port, "SHOW STATS") or ""
    rows = [line.split("|") for line in stats.splitlines()]
    return sum(int(row[1]) for row in rows if row[0] == database)


async def test_the_server_serves_behind_pgbouncer_in_transaction_mode(
    bouncer: int, database_url: str, engine: AsyncEngine, session: AsyncSession, tmp_path: Path
) -> None:
    env = POOLED | {"DATABASE_DIRECT_URL": database_url, "ACCOUNTFLOW_IMPORT_POLL_SECONDS": "1"}
    account = await create_account(session, "Heard")
    with server(_through(database_url, bouncer), tmp_path, **env) as running:
        async with httpx.AsyncClient(base_url=running.base, timeout=60) as client:
            api = Api(client, session)
            manager = await api.caller(Role.MANAGER)
            ws_url = running.base.replace("http://", "ws://") + "/graphql"
            async with WsClient(ws_url, manager) as ws:
                await ws.acked()
                await ws.subscribe("a1", "ActivityLogged", {"accountId": None})
                await asyncio.sleep(0.5)  # the process LISTENs (on its direct connection)
                # More requests at once than PgBouncer has server connections for them.
                created = await asyncio.gather(
                    *(
                        api.op("CreateAccount", {"input": {"name": f"Pooled {i}"}}, caller=manager)
                        for i in range(40)
                    )
                )
                assert [r["createAccount"]["errors"] for r in created] == [[]] * 40
                when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
                item = {"kind": "VISIT", "occurredAt": when}
                item["accountId"] = to_global_id("Account", account.id)
                await api.op("LogActivity", {"input": item}, caller=manager)
                heard = await ws.next_data("a1")
            assert heard["activityLogged"]["account"]["id"] == item["accountId"]
            await start_import(client, manager, numbered_accounts(1_500), mode="SKIP_INVALID")
            await wait_until(lambda: _succeeded(engine), 90)
    assert await count(engine, "SELECT count(*) FROM accounts") == 1 + 40 + 1_500
    assert _transactions(bouncer, _name(database_url)) > 40


async def _succeeded(engine: AsyncEngine) -> bool:
    return await job_state(engine) == ("SUCCEEDED", 1_500)


async def test_each_transaction_through_pgbouncer_carries_the_timeouts(
    bouncer: int, database_url: str
) -> None:
    timeouts = DbTimeouts(statement_ms=300, lock_ms=200)
    pooler = Pooler(timeouts_per="transaction", statement_cache=False)
    url = _through(database_url, bouncer)
    engine = db.create_engine(url, timeouts=timeouts, pooler=pooler, pool_size=8)
    try:
        async with engine.connect() as connection:
            shown = await connection.execute(text("SHOW statement_timeout"))
            assert shown.scalar_one() == "300ms"
        with pytest.raises(DBAPIError, match="statement timeout"):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT pg_sleep(2)"))
        # Many connections at once over three server connections: no statement collides.
        sums = await asyncio.gather(*(_sum(engine, n) for n in range(30)))
        assert sums == [n * (n + 1) // 2 for n in range(30)]
    finally:
        await engine.dispose()


async def _sum(engine: AsyncEngine, n: int) -> int:
    async with engine.connect() as connection:
        query = text("SELECT sum(i)::int FROM generate_series(0, :n) i")
        return int((await connection.execute(query, {"n": n})).scalar_one())
