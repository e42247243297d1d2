"""Committed changes to this process's subscribers, read from the outbox by polling.

Writers do not NOTIFY: PostgreSQL serialises the commits of transactions that NOTIFY (a
cluster-wide lock held through the commit's WAL flush), which cost 32 concurrent writers
a share of their commits per second (bench/README.md, "NOTIFY at scale"). Instead one
dedicated asyncpg connection per process polls the outbox every POLL_SECONDS while the
process has subscribers, and hands each new row to the subscribers that want its type.
Every process hears every commit, whichever process made it.

Sequence ids (and feed positions) commit out of order, so a poll remembers two places in
(feed_position, id) order: `seen`, the last row handed out, and `final`, below which every
row is committed or never will be (positions up to the oldest running transaction id, as
app.feed explains). New rows past `seen` go out at once; a row that commits behind `seen`
(its transaction started earlier) is found between `final` and the horizon once it is
committed, and goes out then. Nothing is missed, nothing is sent twice.

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

log = logging.getLogger(__name__)

POLL_SECONDS = 0.025
BATCH = 1000
_LAST = 2**63 - 1

_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
_NEW = f"""
    SELECT id, type, account_id, data::text, feed_position, {_HORIZON} FROM outbox
    WHERE (feed_position, id) > ($1, $2) AND type = ANY($3::varchar[])
    ORDER BY feed_position, id LIMIT {BATCH}
"""
_LATE = f"""
    SELECT o.id, o.type, o.account_id, o.data::text, o.feed_position, h.horizon
    FROM (SELECT {_HORIZON} AS horizon) h LEFT JOIN LATERAL (
        SELECT id, type, account_id, data, feed_position FROM outbox
        WHERE (feed_position, id) > ($1, $2) AND (feed_position, id) <= ($3, $4)
          AND feed_position <= h.horizon AND type = ANY($5::varchar[])
        ORDER BY feed_position, id LIMIT {BATCH}) o ON true
"""

Place = tuple[int, int]  # (feed_position, id)


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


@dataclass(slots=True)
class Cursor:
    """Where the polls stand: rows up to `final` are done; those handed out past it, `sent`."""

    final: Place
    seen: Place
    sent: dict[int, Place] = field(default_factory=dict)

    def settle(self, final: Place) -> None:
        self.final = final
        self.sent = {i: place for i, place in self.sent.items() if place > final}


class Hub:
    def __init__(self, dsn: str, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        self._subscribers: set[Subscriber] = set()
        self._held: Counter[int] = Counter()
        self._start_lock = asyncio.Lock()
        self._reading = asyncio.Lock()  # one statement at a time on the connection
        self._connection: Any = None
        self._cursor: Cursor | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriptions(self) -> int:
        """Subscriptions open in this process (a /metrics gauge)."""
        return len(self._subscribers)

    async def start(self) -> None:
        """Start polling (once; later calls return at once)."""
        async with self._start_lock:
            if self._task is not None and not self._task.done():
                return
            self._connection = await asyncpg.connect(self.dsn)
            self._task = asyncio.create_task(self._polls(), name="accountflow-fanout")

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
        async with self._reading:  # it hears every commit after this
            if self._cursor is None:
                self._cursor = await self._now()
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

    async def _now(self) -> Cursor:
        """A cursor at the present: what committed before it is not heard."""
        horizon = int(await self._connection.fetchval(f"SELECT {_HORIZON}"))
        return Cursor(final=(horizon, _LAST), seen=(horizon, _LAST))

    async def _polls(self) -> None:
        while True:
            busy = False
            try:
                async with self._reading:
                    busy = await self._poll()
            except (OSError, asyncpg.PostgresError):
                log.exception("fan-out: reading the outbox failed; reconnecting")
                async with self._reading:
                    await self._reconnect()
            if not busy:
                await asyncio.sleep(self.poll_seconds)

    async def _poll(self) -> bool:
        """Hand out what committed since the last poll; True when a batch was full."""
        types = sorted(set().union(*(s.types for s in self._subscribers)))
        cursor = self._cursor
        if not types or cursor is None:
            self._cursor = None  # no subscriber: nothing to read until the next one
            return False
        new = await self._connection.fetch(_NEW, *cursor.seen, types)
        self._hand_out(cursor, new)
        if new:
            cursor.seen = (new[-1][4], new[-1][0])
        if cursor.final < cursor.seen:
            await self._late(cursor, types)
        return len(new) == BATCH

    async def _late(self, cursor: Cursor, types: list[str]) -> None:
        """Rows that committed behind `seen`, now that no running transaction precedes them."""
        rows = await self._connection.fetch(_LATE, *cursor.final, *cursor.seen, types)
        found = [row for row in rows if row[0] is not None]
        self._hand_out(cursor, found)
        if len(found) == BATCH:
            cursor.settle((found[-1][4], found[-1][0]))
        else:
            cursor.settle(min(cursor.seen, (int(rows[0][5]), _LAST)))

    def _hand_out(self, cursor: Cursor, rows: list[Any]) -> None:
        for row in rows:
            if row[0] in cursor.sent:
                continue
            cursor.sent[row[0]] = (row[4], row[0])
            self._deliver(Change(row[0], row[1], row[2], orjson.loads(row[3])))

    async def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            await self._connection.close()
        while True:
            try:
                self._connection = await asyncpg.connect(self.dsn)
                return
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(1)
