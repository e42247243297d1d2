"""Where reports run: a streaming replica while it is up and close behind, else the primary.

The replica's health is asked at most once per `check_every` seconds and kept: a report
request costs no extra round trip. A replica that cannot be reached, is not replaying
(`pg_stat_wal_receiver` not streaming) or replays more than `max_lag` seconds behind is
passed over, and every choice is counted in /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import metrics
from app.kit.sql import sql_file

log = logging.getLogger(__name__)

# The lag is 0 while everything received is replayed: an idle primary sends nothing, so the
# time since the last replayed transaction alone would call a healthy replica late.
HEALTH = sql_file(__package__, "replica_health.sql")


@dataclass(frozen=True, slots=True)
class Health:
    usable: bool
    reason: str  # replica, down, not_streaming, lagging
    lag_seconds: float | None = None


class ReportDatabase:
    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        max_lag: float,
        check_every: float = 1.0,
        timeout: float = 2.0,
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.max_lag = max_lag
        self.check_every = check_every
        self.timeout = timeout
        self._health: Health | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def choose(self) -> async_sessionmaker[AsyncSession] | None:
        """The replica's sessionmaker while it is healthy; None sends the report to the primary."""
        health = await self.health()
        target = "replica" if health.usable else "primary"
        metrics.REPORT_DATABASE.labels(target, health.reason).inc()
        return self.sessionmaker if health.usable else None

    async def health(self) -> Health:
        if time.monotonic() - self._checked_at < self.check_every and self._health is not None:
            return self._health
        async with self._lock:
            if time.monotonic() - self._checked_at >= self.check_every or self._health is None:
                self._health = await self._check()
                self._checked_at = time.monotonic()
                metrics.REPLICA_USABLE.set(1 if self._health.usable else 0)
                if self._health.lag_seconds is not None:
                    metrics.REPLICA_LAG.set(self._health.lag_seconds)
            return self._health

    async def _check(self) -> Health:
        try:
            async with asyncio.timeout(self.timeout), self.engine.connect() as connection:
                row = (await connection.execute(HEALTH)).one()
        except Exception as error:  # unreachable, refused, timed out: all mean "not now"
            log.warning("report replica unavailable: %r", error)
            return Health(False, "down")
        if not row.standby or not row.streaming:
            return Health(False, "not_streaming", row.lag)
        if row.lag > self.max_lag:
            return Health(False, "lagging", row.lag)
        return Health(True, "replica", row.lag)
