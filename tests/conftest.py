"""One embedded PostgreSQL per test session; each test gets a fresh database from a template."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.__main__ import migrate
from app.handoff import machine
from app.settings import Settings
from app.web.app import create_app
from tests.support import Api

TEMPLATE = "af_template"
_numbers = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    # pytest resets /tmp/pytest-of-<user> to mode 0700 whenever a session starts, which cuts
    # the embedded PostgreSQL (it runs as the `pgserver` user when tests run as root) of a
    # session already running off from its own directory: each session gets its own root.
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix=f"accountflow-tests-{os.getpid()}-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if Path(config.option.basetemp).name.startswith("accountflow-tests-"):
        shutil.rmtree(config.option.basetemp, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("pg")
    server = db.embedded_server(path, cleanup_mode="delete")
    # A throwaway cluster: no waiting for the disk at each commit (what a crash would lose is
    # thrown away anyway). The failover tests build clusters of their own, durable ones.
    for setting in ("fsync", "synchronous_commit", "full_page_writes"):
        server.psql(f"ALTER SYSTEM SET {setting} = off;")
    server.psql("SELECT pg_reload_conf();")
    server.psql(f"CREATE DATABASE {TEMPLATE};")
    migrate(_url(path, TEMPLATE))
    yield path
    server.cleanup()


def _url(pg_dir: Path, name: str) -> str:
    return f"postgresql+asyncpg://postgres:@/{name}?host={pg_dir}"


async def _admin(pg_dir: Path) -> asyncpg.Connection:
    return await asyncpg.connect(host=str(pg_dir), user="postgres", database="postgres")


@pytest.fixture
async def database_url(pg_dir: Path) -> AsyncIterator[str]:
    name = f"af_test_{next(_numbers)}"
    admin = await _admin(pg_dir)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    machine.forget()  # pipeline ids and versions repeat from one test database to the next
    yield _url(pg_dir, name)
    admin = await _admin(pg_dir)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No reminder loop in the in-process apps: a round could add a cadence.overdue event to a
    # test counting events. tests/tasks/test_reminder_servers.py runs it in real servers.
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_REMINDERS": "0"}
    return Settings.from_env(env)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The tests' own engine, for arranging data and checking what was written."""
    engine = db.create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with db.create_sessionmaker(engine)() as session:
        yield session


@pytest.fixture
async def app_engine(
    settings: Settings, database_url: str
) -> AsyncIterator[tuple[object, AsyncEngine]]:
    app = create_app(settings, database_url)
    async with app.router.lifespan_context(app):
        yield app, app.state.accountflow.engine


@pytest.fixture
async def client(app_engine: tuple[object, AsyncEngine]) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = app_engine
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient, session: AsyncSession) -> Api:
    return Api(client, session)
