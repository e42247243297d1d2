"""Committed changes to this process's subscribers, through PostgreSQL LISTEN/NOTIFY.

One dedicated asyncpg connection per process LISTENs on the outbox channel (the ids are
NOTIFYed by the outbox trigger and sent at commit), reads the new outbox rows and hands
each to the subscribers that want its type. Every process hears every commit, whichever
process made it.

Both ends are bounded: a subscription holds at most `queue_size` events waiting to be sent
(a subscriber that falls further behind is dropped and told through `on_overflow`, never
buffered forever), and `hold` counts the live subscriptions of each owner (a user) so the
WebSocket edge can refuse one too many.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
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


def _ignore() -> None:
    return None


@dataclass(eq=False, slots=True)
class Subscriber:
    types: frozenset[str]
    queue: asyncio.Queue[Change] = field(default_factory=asyncio.Queue)
    on_overflow: Callable[[], None] = _ignore


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The URL for asyncpg itself. SQLAlchemy's multi-host form (host=h1:p1&host=h2:p2)
    becomes asyncpg's (host=h1:p1,h2:p2): given the first, asyncpg keeps the last host only."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    hosts = url.query.get("host")
    if isinstance(hosts, tuple):
        url = url.update_query_dict({"host": ",".join(hosts)})
    return url.render_as_string(False)


class Hub:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._subscribers: set[Subscriber] = set()
        self._held: Counter[int] = Counter()
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
            self._connection = await self._listen()
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
    async def subscribe(
        self,
        types: frozenset[str],
        *,
        queue_size: int,
        on_overflow: Callable[[], None] = _ignore,
    ) -> AsyncIterator[Subscriber]:
        """Hear the changes of these types; more than `queue_size` unread drops the subscriber."""
        await self.start()
        subscriber = Subscriber(types, asyncio.Queue(queue_size), on_overflow)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    def hold(self, owner: int, most: int) -> bool:
        """Count one more subscription of `owner`, unless it holds `most` already."""
        if self._held[owner] >= most:
            return False
        self._held[owner] += 1
        return True

    def release(self, owner: int) -> None:
        self._held[owner] -= 1
        if self._held[owner] <= 0:
            del self._held[owner]

    def _deliver(self, change: Change) -> None:
        for subscriber in list(self._subscribers):
            if change.type not in subscriber.types:
                continue
            try:
                subscriber.queue.put_nowait(change)
            except asyncio.QueueFull:
                self._subscribers.discard(subscriber)  # it hears nothing more
                subscriber.on_overflow()

    async def _listen(self) -> Any:
        """A new listening connection; none is left open when this is cancelled (a subscriber
        that went away while the hub started)."""
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.add_listener(CHANNEL, self._notified)
        except BaseException:
            connection.terminate()
            raise
        return connection

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
                self._deliver(Change(row[0], row[1], row[2], orjson.loads(row[3])))

    async def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self._connection.close()
        while True:
            try:
                self._connection = await self._listen()
                return
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(1)
