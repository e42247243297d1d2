"""The server's background upkeep of the report summaries (migration 0012).

Every round: move the revenue window's anchor up to the window's start (see
app/planning/window.py) and fold the per-backend shards of past days' stage summaries into
one row per key (app/handoff/summaries.py). Reports are exact without either; both only
keep them cheap. Each server process runs it; both steps are safe to run concurrently.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.handoff.summaries import fold_shards
from app.planning import window

log = logging.getLogger(__name__)


async def run_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await window.advance(sessionmaker)
    await fold_shards(sessionmaker)


async def run_forever(sessionmaker: async_sessionmaker[AsyncSession], *, interval: float) -> None:
    while True:
        try:
            await run_once(sessionmaker)
        except Exception:
            log.exception("report summary upkeep failed; retrying")
        await asyncio.sleep(interval)
