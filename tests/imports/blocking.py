"""A CSV import that stops at a chosen row until the test lets it go on.

The test holds an uncommitted account with the row's externalRef: the import's insert of
that row waits on the unique index (the servers run with lock_timeout off) while every
batch before it is done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.accounts import service
from app.kit.actor import SYSTEM

BLOCK = "BLOCK"


def numbered_accounts(rows: int, *, blocked_at: int | None = None, name: str = "Acct") -> bytes:
    """`rows` new accounts without a key, but the one at `blocked_at` (1-based) has BLOCK."""
    lines = ["externalRef;name"]
    lines += [f"{BLOCK if i == blocked_at else ''};{name} {i}" for i in range(1, rows + 1)]
    return ("\n".join(lines) + "\n").encode()


@asynccontextmanager
async def holding_block(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """The uncommitted account; roll the session back to let the import go on."""
    async with db.create_sessionmaker(engine)() as session:
        await service.create_account(session, actor=SYSTEM, name="Blocker", external_ref=BLOCK)
        yield session
        await session.rollback()


async def job_state(engine: AsyncEngine) -> tuple[str, int] | None:
    """(status, processed rows) of the one import job, None before there is one."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(text("SELECT status, processed_rows FROM import_jobs"))
        ).one_or_none()
    return None if row is None else (row[0], row[1])


async def count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())
