"""The key sealing cursors (app.kit.cursor), the same in every worker and on every host.

ACCOUNTFLOW_CURSOR_KEY when set (a secret of at least 32 characters, stretched to the
key); otherwise the random key migration 0015 stored in the database, which every process
using that database reads at start. Either way nothing per process: a cursor one worker
wrote pages on any other, and after a restart.
"""

from __future__ import annotations

import hashlib
import os

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.kit.cursor import KEY_BYTES
from app.models.keys import ServerKey

CURSOR = "cursor"


def derived(secret: str) -> bytes:
    return hashlib.sha512(b"accountflow cursor key\x00" + secret.encode()).digest()


async def cursor_key(engine: AsyncEngine, configured: str | None) -> bytes:
    """The configured key, else the database's (made now if a database lost it)."""
    if configured is not None:
        return derived(configured)
    stored = select(ServerKey.secret).where(ServerKey.name == CURSOR)
    async with engine.begin() as connection:
        found = await connection.scalar(stored)
        if found is None:
            made = {"name": CURSOR, "secret": os.urandom(KEY_BYTES)}
            await connection.execute(insert(ServerKey).values(made).on_conflict_do_nothing())
            found = await connection.scalar(stored)
    assert found is not None
    return bytes(found)
