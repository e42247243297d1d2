"""The delivery worker: claims due deliveries, posts them signed, records every attempt.

A claim is a lease (`claimed_until`): a worker killed mid-delivery loses nothing, another
one retakes the delivery when the lease ends (at least once; `webhook-id` lets receivers
drop repeats). Only the earliest pending delivery of an object (per webhook) is due, so
an object's events arrive in order, even after a receiver was down for hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import DateTime, Integer, Interval, Text

from app.db import session_scope
from app.kit.sql import sql_file
from app.webhooks import egress, signing
from app.webhooks.client import Client

log = logging.getLogger(__name__)

# Delay after each failed attempt (the Standard Webhooks / Svix schedule): 8 attempts over
# about 27 hours, each delay with +-20% jitter so that retries of one outage spread out.
SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2
DISABLE_AFTER = timedelta(days=1)
PER_HOST = 8
# What is read of a receiver's answer (and dropped): its status is all a delivery needs.
MAX_RESPONSE_BYTES = 64 * 1024
LEASE_MARGIN_SECONDS = 5.0
# Events (and their deliveries) are kept this long, unless a delivery is still pending:
# the feed (app/feed.py) promises them (ACCOUNTFLOW_EVENT_RETENTION_DAYS).
RETENTION = timedelta(days=30)
PRUNE_EVERY_SECONDS = 600.0

_CLAIM = sql_file(
    __package__,
    "claim_deliveries.sql",
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("limit", type_=Integer),
    bindparam("lease", type_=Interval),
)

# One statement per batch: the attempts, the deliveries' new state, and the webhooks'
# failing_since (cleared by a success; a webhook failing for a day is switched off).
_RECORD = sql_file(
    __package__,
    "record_attempts.sql",
    bindparam("rows", type_=Text),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("disable_after", type_=Interval),
)


_PRUNE = sql_file(
    __package__, "prune_events.sql", bindparam("before", type_=DateTime(timezone=True))
)


async def prune(session: AsyncSession, *, now: datetime, retention: timedelta = RETENTION) -> int:
    """Delete up to 5,000 events older than `retention` that wait for no delivery."""
    result = await session.execute(_PRUNE, {"before": now - retention})
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    webhook_id: int
    event_id: int
    attempts: int
    url: str
    secret: str
    type: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    webhook_id: int
    ok: bool
    final: bool
    code: int | None
    latency_ms: float
    error: str | None
    attempts: int


def message_id(event_id: int) -> str:
    return f"evt_{event_id}"


def body(claimed: Claimed) -> bytes:
    return orjson.dumps(
        {"type": claimed.type, "timestamp": claimed.created_at.isoformat(), "data": claimed.data}
    )


def next_attempt(attempts_made: int, now: datetime, rng: random.Random) -> datetime | None:
    """When to try again after `attempts_made` failed attempts; None when none is left."""
    if attempts_made >= ATTEMPTS:
        return None
    delay = SCHEDULE[attempts_made - 1].total_seconds()
    return now + timedelta(seconds=delay * rng.uniform(1 - JITTER, 1 + JITTER))


def utc_now() -> datetime:
    return datetime.now(UTC)


class Deliverer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: Client,
        *,
        deadline_seconds: float = 10.0,
        batch: int = 100,
        lease: timedelta | None = None,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.client = client
        self.deadline = deadline_seconds
        self.batch = batch
        self.lease = lease or batch_lease(deadline_seconds, batch)
        self.clock = clock
        self.rng = rng or random.Random()

    async def run_once(self) -> int:
        """Claim a batch of due deliveries, post them at once, record the outcomes."""
        params = {"now": self.clock(), "limit": self.batch, "lease": self.lease}
        async with session_scope(self.sessionmaker) as session:
            claimed = [Claimed(*row) for row in await session.execute(_CLAIM, params)]
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._post(c) for c in claimed))
        now = self.clock()
        rows = orjson.dumps([_with_next(o, now, self.rng) for o in outcomes]).decode()
        async with session_scope(self.sessionmaker) as session:
            params = {"rows": rows, "now": now, "disable_after": DISABLE_AFTER}
            await session.execute(_RECORD, params)
        return len(claimed)

    async def _post(self, claimed: Claimed) -> Outcome:
        async with self.client.slot(claimed.url):
            return await self._post_now(claimed)

    async def _post_now(self, claimed: Claimed) -> Outcome:
        started = time.perf_counter()
        code: int | None = None
        try:
            code = await self._exchange(claimed)
            error = None if 200 <= code < 300 else f"HTTP {code}"
        except TimeoutError:
            error = f"TimeoutError: no answer within {self.deadline:g} s"
        except (OSError, egress.EgressError) as failure:
            error = f"{type(failure).__name__}: {failure}"[:500]
        latency = (time.perf_counter() - started) * 1000
        attempts = claimed.attempts + 1
        return Outcome(
            id=claimed.id,
            webhook_id=claimed.webhook_id,
            ok=error is None,
            final=error is not None and attempts >= ATTEMPTS,
            code=code,
            latency_ms=round(latency, 3),
            error=error,
            attempts=attempts,
        )

    async def _exchange(self, claimed: Claimed) -> int:
        """The receiver's status. One deadline covers the whole attempt (a per-read timeout
        would let a receiver trickling a byte a second hold it for ever); the answer's body
        is read only to keep the connection, up to MAX_RESPONSE_BYTES, and dropped."""
        payload = body(claimed)
        msg_id = message_id(claimed.event_id)
        headers = signing.headers(claimed.secret, msg_id, int(time.time()), payload)
        deadline = asyncio.get_running_loop().time() + self.deadline
        return await self.client.post(claimed.url, headers, payload, deadline)


def batch_lease(deadline_seconds: float, batch: int) -> timedelta:
    """How long a claim lasts: the batch's slowest host posts ceil(batch / PER_HOST) times
    in a row, each within the deadline, and the outcomes are recorded after the last."""
    rounds = math.ceil(batch / PER_HOST)
    return timedelta(seconds=deadline_seconds * rounds + LEASE_MARGIN_SECONDS)


def _with_next(outcome: Outcome, now: datetime, rng: random.Random) -> dict[str, Any]:
    row = {
        "id": outcome.id,
        "webhook_id": outcome.webhook_id,
        "ok": outcome.ok,
        "final": outcome.final,
        "code": outcome.code,
        "latency_ms": outcome.latency_ms,
        "error": outcome.error,
        "next_at": None,
    }
    if not outcome.ok:
        found = next_attempt(outcome.attempts, now, rng)
        row["next_at"] = None if found is None else found.isoformat()
    return row


def http_client(
    timeout_seconds: float, *, allow_private: bool = False, verify: ssl.SSLContext | None = None
) -> Client:
    """Connects only to the addresses it checked (app.webhooks.egress); redirects are not
    followed (a 3xx is a failed attempt); no proxies; no exchange lasts `timeout_seconds`."""
    return Client(
        allow_private=allow_private,
        per_host=PER_HOST,
        max_body=MAX_RESPONSE_BYTES,
        timeout_seconds=timeout_seconds,
        verify=verify,
    )


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    stop: asyncio.Event,
    allow_private: bool,
    timeout_seconds: float,
    lanes: int = 4,
    idle_seconds: float = 1.0,
    retention: timedelta = RETENTION,
) -> None:
    """Deliver until `stop` is set: `lanes` loops, so one slow receiver stalls one batch."""
    async with http_client(timeout_seconds, allow_private=allow_private) as client:
        deliverer = Deliverer(sessionmaker, client, deadline_seconds=timeout_seconds)

        async def pruner() -> None:
            while not stop.is_set():
                try:
                    async with session_scope(sessionmaker) as session:
                        await prune(session, now=utc_now(), retention=retention)
                except Exception:
                    log.exception("pruning the outbox failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), PRUNE_EVERY_SECONDS)

        async def lane() -> None:
            while not stop.is_set():
                try:
                    busy = await deliverer.run_once()
                except Exception:
                    log.exception("webhook delivery batch failed")
                    busy = 0
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), idle_seconds)

        await asyncio.gather(pruner(), *(lane() for _ in range(lanes)))
