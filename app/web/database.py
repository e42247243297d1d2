"""The server's engines: pre-pinged, counting their waiters, telling the edge when
PostgreSQL is away.

A pooled connection that sat idle for a second or more is pinged before it is handed out
(SQLAlchemy's pessimistic disconnect handling, for idle connections only), so the first
request after PostgreSQL comes back gets a fresh connection instead of a dead one. A busy
server's connections are never idle that long, and skip the ping's three round trips
(`pool_pre_ping` on every checkout: 0.33 ms -> 0.55 ms a checkout here); one that dies
while busy fails one request, and SQLAlchemy then replaces every connection of the pool.
Two hooks note on the request in flight (app.observe) that the database could not be
reached: a failed connect, and a statement that lost its connection. The edge
(app.web.observe) then answers 503.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry

from app import db, observe
from app.settings import Pooler, Settings

# SQLAlchemy quiets its pools' INFO lines under "sqlalchemy"; this one logs under its module.
logging.getLogger(f"{__name__}.CountedPool").setLevel(logging.WARNING)


class CountedPool(AsyncAdaptedQueuePool):
    """Counts the checkouts waiting for a connection (a /metrics gauge): all of them are
    inside `_do_get` only while they wait, for the queue or a new connection."""

    waiting = 0

    def _do_get(self) -> ConnectionPoolEntry:
        self.waiting += 1
        try:
            return super()._do_get()
        finally:
            self.waiting -= 1


def waiting(engine: AsyncEngine) -> int:
    pool = engine.pool
    return pool.waiting if isinstance(pool, CountedPool) else 0


def in_use(engine: AsyncEngine) -> int:
    pool = engine.pool
    return pool.checkedout() if isinstance(pool, CountedPool) else 0


IDLE_PING_SECONDS = 1.0
_CHECKED_IN = "accountflow_checked_in"


def create_engine(
    url: str, settings: Settings, *, replica: bool = False, pooler: Pooler | None, **pool: Any
) -> AsyncEngine:
    """A replica's failures are not PostgreSQL away: reports fall back to the primary."""
    timeouts = settings.timeouts
    engine = db.create_engine(url, timeouts=timeouts, pooler=pooler, poolclass=CountedPool, **pool)
    if not replica:
        event.listen(engine.sync_engine, "do_connect", _connect)
        event.listen(engine.sync_engine, "handle_error", _failed)
    event.listen(engine.sync_engine, "checkin", _checked_in)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
    since = record.info.get(_CHECKED_IN)  # none: opened just now
    if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        # The pool drops this connection and checks out another (a new one if need be).
        raise exc.DisconnectionError(f"an idle connection is gone: {error}") from error


def _connect(dialect: Dialect, record: Any, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception:
        observe.note_database_down()
        raise


def _failed(context: ExceptionContext) -> None:
    # A pre-ping that finds a dead connection is followed by a reconnect: judged there.
    if context.is_disconnect and not context.is_pre_ping:
        observe.note_database_down()
