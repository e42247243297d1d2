"""Committed changes to this process's subscribers, through PostgreSQL LISTEN/NOTIFY.

One dedicated asyncpg connection per process LISTENs on the outbox channel (the ids are
NOTIFYed by the outbox trigger and sent at commit), reads the new outbox rows and hands
each to the subscribers that want its type. Every process hears every commit, whichever
process made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url

from app.events import CHANNEL

log = logging.getLogger(__name__)

_FETCH = """
    SELECT id, type, account_id, data::text FROM outbox
    WHERE id = ANY($1::bigint[]) AND type = ANY($2::varchar[]) ORDER BY id
"""


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    type: str
    account_id: int | None
    data: dict[str, Any]


@dataclass(eq=False, slots=True)
class Subscriber:
    types: frozenset[str]
    queue: asyncio.Queue[Change] = field(default_factory=asyncio.Queue)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


class Hub:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._subscribers: set[Subscriber] = set()
        self._pending: list[int] = []
        self._wake = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._connection: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriptions(self) -> int:
        """Subscriptions open in this process (a /metrics gauge)."""
        return len(self._subscribers)

    async def start(self) -> None:
        """Listen (once; later calls return at once)."""
        async with self._start_lock:
            if self._task is not None and not self._task.done():
                return
            self._connection = await asyncpg.connect(self.dsn)
            await self._connection.add_listener(CHANNEL, self._notified)
            self._task = asyncio.create_task(self._pump(), name="accountflow-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @contextlib.asynccontextmanager
    async def subscribe(self, types: frozenset[str]) -> AsyncIterator[Subscriber]:
        await self.start()
        subscriber = Subscriber(types)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        if self._subscribers:
            self._pending.extend(int(i) for i in payload.split(","))
            self._wake.set()

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            ids, self._pending = self._pending, []
            types = set().union(*(s.types for s in self._subscribers))
            if not ids or not types:
                continue
            try:
                rows = await self._connection.fetch(_FETCH, ids, list(types))
            except (OSError, asyncpg.PostgresError):
                log.exception("fan-out: reading the outbox failed; reconnecting")
                await self._reconnect()
                continue
            for row in rows:
                change = Change(row[0], row[1], row[2], orjson.loads(row[3]))
                for subscriber in list(self._subscribers):
                    if change.type in subscriber.types:
                        subscriber.queue.put_nowait(change)

    async def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self._connection.close()
        while True:
            try:
                self._connection = await asyncpg.connect(self.dsn)
                await self._connection.add_listener(CHANNEL, self._notified)
                return
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(1)
