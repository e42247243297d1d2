"""One database with the generated world for this package's tests, and two apps over it.

The apps differ only in `compiled_reads`; both pin the same request instant (`CLOCK`), so
time-dependent fields agree, and neither keeps a cost budget (thousands of requests a
minute from one token are the point here).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from app import db
from app.auth import tokens
from app.handoff import machine
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.settings import Settings
from app.web.app import create_app
from tests.conftest import TEMPLATE
from tests.schema.engine.compiled.pair import TALLIES, Pair
from tests.schema.engine.compiled.world import CLOCK, World, build_world

NAME = "af_compiled"


async def _admin_execute(pg_dir: Path, statement: str) -> None:
    admin = await asyncpg.connect(host=str(pg_dir), user="postgres", database="postgres")
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture(scope="package")
async def world_url(pg_dir: Path) -> AsyncIterator[str]:
    await _admin_execute(pg_dir, f"CREATE DATABASE {NAME} TEMPLATE {TEMPLATE}")
    machine.forget()  # the world's pipeline ids and versions repeat earlier tests' ones
    yield f"postgresql+asyncpg://postgres:@/{NAME}?host={pg_dir}"
    await _admin_execute(pg_dir, f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")


@pytest.fixture(scope="package")
async def world_and_tokens(world_url: str) -> tuple[World, dict[Role, str]]:
    engine = db.create_engine(world_url, pool_size=1)
    try:
        async with db.create_sessionmaker(engine)() as session:
            world = await build_world(session)
            issued = {}
            for role, user_id in world.users.items():
                token, _ = await tokens.issue_token(session, actor=SYSTEM, user_id=user_id)
                issued[role] = token
            await session.commit()
    finally:
        await engine.dispose()
    return world, issued


@pytest.fixture(scope="package")
def compiled_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = Settings.from_env({"ACCOUNTFLOW_DATA_DIR": str(tmp_path_factory.mktemp("compiled"))})
    limits = dataclasses.replace(base.limits, cost_per_minute=0)
    return dataclasses.replace(base, limits=limits, compiled_reads=True)


async def _client(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture(scope="package")
async def pair(
    compiled_settings: Settings,
    world_url: str,
    world_and_tokens: tuple[World, dict[Role, str]],
) -> AsyncIterator[Pair]:
    world, issued = world_and_tokens
    compiled = create_app(compiled_settings, world_url, clock=lambda: CLOCK)
    plain_settings = dataclasses.replace(compiled_settings, compiled_reads=False)
    graphql = create_app(plain_settings, world_url, clock=lambda: CLOCK)
    async with (
        compiled.router.lifespan_context(compiled),
        graphql.router.lifespan_context(graphql),
        await _client(compiled) as compiled_client,
        await _client(graphql) as graphql_client,
    ):
        found = Pair(compiled_client, graphql_client, issued, world)
        await found.collect_cursors()
        yield found


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, tally in TALLIES.items():
        if tally.compared:
            terminalreporter.write_line(f"compiled reads, {name}: {tally.summary()}")
