"""Rebuilding the stored contacts of assignments after a contact-rule change, in batches.

A rule change only marks the rule `rebuild_pending` (in the mutation's transaction); this
job then recomputes the assignments of that manager type a few thousand at a time, each
batch its own short transaction, so ingest never waits long for their row locks (one
transaction over 100,000 assignments held them for 12.5 s). Ingest applies the new rule
from the change's commit on, and a batch merges whatever ingest stored before it.

One runner at a time across processes (a session-level advisory lock on a connection of
its own, in autocommit so it never sits idle in a transaction). A crash leaves the rule
pending, and the next run starts over: recomputing an assignment twice is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.activities import cadence
from app.activities.rules import rule_event
from app.db import session_scope
from app.kit import changes
from app.kit.actor import SYSTEM
from app.models.activities import ContactRule
from app.models.assignments import Assignment, ManagerType

log = logging.getLogger(__name__)

RUNNER_LOCK = 0x61636374_72756C65  # "acctrule"


@dataclass(slots=True)
class Rebuilt:
    assignments: int = 0
    batches: int = 0
    longest_batch_s: float = 0.0  # the longest any assignment stayed locked


async def rebuild_pending(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], *, batch_size: int
) -> Rebuilt:
    """Rebuild every pending rule's assignments (nothing when another runner is at it)."""
    async with engine.connect() as lock:
        lock = await lock.execution_options(isolation_level="AUTOCOMMIT")
        if not await lock.scalar(select(func.pg_try_advisory_lock(RUNNER_LOCK))):
            return Rebuilt()
        try:
            return await _rebuild_all(sessionmaker, batch_size)
        finally:
            await lock.scalar(select(func.pg_advisory_unlock(RUNNER_LOCK)))


async def _rebuild_all(sessionmaker: async_sessionmaker[AsyncSession], batch_size: int) -> Rebuilt:
    async with sessionmaker() as session:
        query = select(ContactRule.manager_type, ContactRule.updated_at)
        pending = (await session.execute(query.where(ContactRule.rebuild_pending))).all()
    done = Rebuilt()
    for manager_type, seen in pending:
        before = done.assignments
        await _rebuild(sessionmaker, manager_type, batch_size, done)
        await _done(sessionmaker, manager_type, seen, done.assignments - before)
    return done


async def _rebuild(
    sessionmaker: async_sessionmaker[AsyncSession],
    manager_type: ManagerType,
    batch_size: int,
    done: Rebuilt,
) -> None:
    after = 0
    while True:
        started = time.perf_counter()
        async with session_scope(sessionmaker) as session:
            ids = list(
                await session.scalars(
                    select(Assignment.id)
                    .where(Assignment.manager_type == manager_type, Assignment.id > after)
                    .order_by(Assignment.id)
                    .limit(batch_size)
                )
            )
            await cadence.recompute_assignments(session, ids)
        if not ids:
            return
        after = ids[-1]
        done.assignments += len(ids)
        done.batches += 1
        done.longest_batch_s = max(done.longest_batch_s, time.perf_counter() - started)


async def _done(
    sessionmaker: async_sessionmaker[AsyncSession],
    manager_type: ManagerType,
    seen: datetime,
    count: int = 0,
) -> None:
    """Clear the flag unless the rule changed again meanwhile (then it runs once more).

    The rebuild's audit row and contact_rule.rebuilt event are written here, in the last
    transaction of the rule's rebuild: the batches before it commit on their own (see above).
    """
    async with session_scope(sessionmaker) as session:
        cleared = await session.scalar(
            update(ContactRule)
            .where(ContactRule.manager_type == manager_type, ContactRule.updated_at == seen)
            .values(rebuild_pending=False)
            .returning(ContactRule)
        )
        if cleared is not None:
            counts = {"managerType": manager_type.value, "assignments": count}
            audit = changes.Audit("contact_rule.rebuild", "ContactRule", None, counts)
            event = rule_event(cleared, assignments=count)
            await changes.record(session, actor=SYSTEM, audit=audit, events=event)


async def run_forever(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    batch_size: int,
    interval: float,
) -> None:
    """The server's background loop: look for pending rules every `interval` seconds."""
    while True:
        try:
            done = await rebuild_pending(engine, sessionmaker, batch_size=batch_size)
            if done.assignments:
                log.info(
                    "contact rules: %d assignments rebuilt in %d batches (longest %.3f s)",
                    done.assignments,
                    done.batches,
                    done.longest_batch_s,
                )
        except Exception:
            log.exception("contact rule rebuild failed; retrying")
        await asyncio.sleep(interval)
