"""Accounts by the other system's key: a merged duplicate's externalRef names its survivor."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


async def account_ids_by_ref(session: AsyncSession, refs: Iterable[str]) -> dict[str, int]:
    """Account ids by externalRef, following merges to the account that was not merged."""
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    resolve = func.accounts_by_external_ref(bindparam(None, wanted, type_=ARRAY(String)))
    found = resolve.table_valued("external_ref", "account_id")
    rows = await session.execute(select(found.c.external_ref, found.c.account_id))
    return {ref: int(account_id) for ref, account_id in rows}


async def account_id_by_ref(session: AsyncSession, ref: str) -> int | None:
    """The account one externalRef names, None when no account has it."""
    return (await account_ids_by_ref(session, [ref])).get(ref)
