"""This process's gauges (its request pool, its subscriptions, its process figures),
sampled every few seconds so /metrics on any worker shows every worker's (app.metrics)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from app import metrics
from app.web import database
from app.web.state import State

SAMPLE_SECONDS = 5.0


def sample(state: State) -> None:
    metrics.POOL_IN_USE.set(database.in_use(state.engine))
    metrics.POOL_WAITING.set(database.waiting(state.engine))
    metrics.SUBSCRIPTIONS.set(state.hub.subscriptions)
    metrics.sample_process()


async def _sample_forever(state: State) -> None:
    while True:
        sample(state)
        await asyncio.sleep(SAMPLE_SECONDS)


@contextlib.asynccontextmanager
async def sampling(state: State) -> AsyncIterator[None]:
    task = asyncio.create_task(_sample_forever(state), name="accountflow-gauges")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        metrics.process_ended()
