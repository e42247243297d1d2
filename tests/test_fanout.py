"""The hub hears every commit, once, without writers NOTIFYing (app.fanout polls)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.events import CHANNEL
from app.fanout import Change, Hub, asyncpg_dsn

TYPES = frozenset({"account.updated"})
_INSERT = """
    INSERT INTO outbox (type, object_key, data)
    VALUES ('account.updated', 'Account:' || $1::int, jsonb_build_object('n', $1::int))
    RETURNING id
"""


@pytest.fixture
def dsn(database_url: str) -> str:
    return asyncpg_dsn(database_url)


@pytest.fixture
async def hub(dsn: str) -> AsyncIterator[Hub]:
    found = Hub(dsn, poll_seconds=0.01)
    yield found
    await found.stop()


async def _heard(queue: asyncio.Queue[Change], count: int, seconds: float = 5) -> list[Change]:
    async with asyncio.timeout(seconds):
        return [await queue.get() for _ in range(count)]


async def test_a_commit_notifies_no_one(dsn: str) -> None:
    listener, writer = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    heard: list[str] = []
    try:
        await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
        await writer.fetchval(_INSERT, 1)
        await listener.execute("SELECT 1")  # a round trip: a notification would be in by now
        await asyncio.sleep(0.2)
    finally:
        await listener.close()
        await writer.close()
    assert heard == []


async def test_a_commit_behind_a_later_one_is_heard_once(dsn: str, hub: Hub) -> None:
    early, late = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        async with hub.subscribe(TYPES, queue_size=100) as subscriber:
            slow = early.transaction()
            await slow.start()
            first = await early.fetchval(_INSERT, 1)  # the lower id, committed last
            second = await late.fetchval(_INSERT, 2)
            (heard,) = await _heard(subscriber.queue, 1)
            assert heard.id == second
            await slow.commit()
            (heard,) = await _heard(subscriber.queue, 1)
            assert heard.id == first
            third = await late.fetchval(_INSERT, 3)
            (heard,) = await _heard(subscriber.queue, 1)
            assert heard.id == third
            await asyncio.sleep(0.1)
            assert subscriber.queue.empty()
    finally:
        await early.close()
        await late.close()


async def test_many_writers_are_heard_each_once_and_a_rollback_never(dsn: str, hub: Hub) -> None:
    writers = [await asyncpg.connect(dsn) for _ in range(8)]

    async def write(connection: asyncpg.Connection, n: int) -> int | None:
        async with connection.transaction():
            found = await connection.fetchval(_INSERT, n)
            await asyncio.sleep(0.001 * (n % 5))
        return int(found)

    async def roll_back(connection: asyncpg.Connection) -> None:
        transaction = connection.transaction()
        await transaction.start()
        await connection.fetchval(_INSERT, -1)
        await transaction.rollback()

    try:
        async with hub.subscribe(TYPES, queue_size=1000) as subscriber:
            ids: list[int | None] = []
            for round_ in range(25):
                await roll_back(writers[round_ % 8])
                ids += await asyncio.gather(
                    *(write(c, round_ * 8 + n) for n, c in enumerate(writers))
                )
            heard = await _heard(subscriber.queue, len(ids))
            await asyncio.sleep(0.1)
            assert subscriber.queue.empty()
    finally:
        for connection in writers:
            await connection.close()
    assert sorted(c.id for c in heard) == sorted(i for i in ids if i is not None)
    assert all(c.data["n"] >= 0 for c in heard)
