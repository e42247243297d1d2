from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.settings import Settings
from app.webhooks.client import Client
from app.webhooks.worker import Deliverer, http_client
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Webhooks to 127.0.0.1 (the test receiver) are allowed here."""
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1"}
    return Settings.from_env(env)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().start()
    yield found
    found.stop()


class Clock:
    """The deliverer's time: the real one, moved forward by the test."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    @property
    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @now.setter
    def now(self, value: datetime) -> None:
        self.offset = value - datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client_out() -> AsyncIterator[Client]:
    async with http_client(timeout_seconds=1.0, allow_private=True) as client:
        yield client


@pytest.fixture
def deliverer(engine: AsyncEngine, client_out: Client, clock: Clock) -> Deliverer:
    return Deliverer(
        db.create_sessionmaker(engine),
        client_out,
        clock=clock,
        rng=Random(7),
    )
