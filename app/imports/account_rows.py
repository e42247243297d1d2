"""Accounts keyed by id (an export read back) or by nothing (always new), a row at a time
through the services of createAccount, updateAccount and setAccountTags: the same checks
(classification, externalRef, a known parent and no cycle), audit rows and events.

Rows keyed by externalRef go through upsertAccounts' batch instead (app.imports.accounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import lifecycle
from app.accounts import service as accounts
from app.audit import service as audit
from app.errors import AppError, NotFoundError
from app.imports.base import BatchResult, Item, row_errors
from app.imports.csvfile import RowError
from app.imports.rows import CREATED, UNCHANGED, UPDATED, tally
from app.kit.actor import Actor
from app.models.accounts import Account

# The services' error fields that a CSV column holds under another name.
RENAMES = {"parentId": "parentExternalRef", "accountId": "id", "add": "tags", "remove": "tags"}
KEEP: Any = object()  # the file has no parent column: the parent stays


@dataclass(slots=True)
class AccountRow:
    id: int | None
    fields: dict[str, Any]  # cleaned, only the file's columns; parent_id when it names one
    parent_ref: str | None


async def write_rows(
    session: AsyncSession,
    actor: Actor,
    items: Sequence[Item],
    columns: Sequence[str],
    result: BatchResult,
) -> None:
    """Parents first: a row whose parent is named by a later row of the batch waits for it;
    rows left waiting only on each other name each other as parents (a cycle)."""
    pending = list(items)
    unwritten = {i.data.fields.get("external_ref") for i in pending} - {None}
    while pending:
        waiting: list[Item] = []
        for item in pending:
            try:
                parent = await _parent(session, item.data)
            except NotFoundError as error:
                if item.data.parent_ref in unwritten:
                    waiting.append(item)
                    continue
                result.errors.extend(row_errors(item.row, error, columns, RENAMES))
            else:
                await _write_one(session, actor, item, parent, columns, result)
            unwritten.discard(item.data.fields.get("external_ref"))
        if len(waiting) == len(pending):
            result.errors.extend(
                RowError(i.row, "parentExternalRef", "INVALID_INPUT", "The parents form a cycle.")
                for i in waiting
            )
            return
        pending = waiting


async def _write_one(
    session: AsyncSession,
    actor: Actor,
    item: Item,
    parent: Any,
    columns: Sequence[str],
    result: BatchResult,
) -> None:
    try:
        async with session.begin_nested():
            if item.data.id is None:
                outcome = await _create(session, actor, item.data, parent)
            else:
                outcome = await _update(session, actor, item.data, parent)
    except AppError as error:
        result.errors.extend(row_errors(item.row, error, columns, RENAMES))
        return
    tally(result, outcome)


async def _parent(session: AsyncSession, data: AccountRow) -> Any:
    """The parent's id by its externalRef, None to clear it, KEEP when the file has none."""
    if "parent_id" not in data.fields:
        return KEEP
    ref = data.parent_ref
    if ref is None:
        return None
    found = await session.scalar(select(Account.id).where(Account.external_ref == ref))
    if found is None:
        raise NotFoundError(f"No account has externalRef {ref!r}.", field="parentExternalRef")
    return found


def _plain_fields(data: AccountRow, parent: Any) -> dict[str, Any]:
    fields = {k: v for k, v in data.fields.items() if k not in ("parent_id", "tags")}
    if parent is not KEEP:
        fields["parent_id"] = parent
    return fields


async def _create(session: AsyncSession, actor: Actor, data: AccountRow, parent: Any) -> str:
    account = await accounts.create_account(session, actor=actor, **_plain_fields(data, parent))
    if data.fields.get("tags"):
        await lifecycle.set_account_tags(
            session, actor=actor, account_id=account.id, add=data.fields["tags"]
        )
    return CREATED


async def _update(session: AsyncSession, actor: Actor, data: AccountRow, parent: Any) -> str:
    query = select(Account).where(Account.id == data.id)
    account = (await session.scalars(query.execution_options(populate_existing=True))).first()
    if account is None:
        raise NotFoundError("Unknown account.", field="id")
    fields = _plain_fields(data, parent)
    changed = audit.diff({k: getattr(account, k) for k in fields}, fields)
    tags: list[str] = data.fields.get("tags", account.tags)
    retag = set(tags) != set(account.tags)
    if not changed and not retag:
        return UNCHANGED
    if changed:
        await accounts.update_account(session, actor=actor, account_id=account.id, **fields)
    if retag:  # as setAccountTags: what the file lacks is removed, what it adds is added
        await lifecycle.set_account_tags(
            session,
            actor=actor,
            account_id=account.id,
            add=tags,
            remove=[t for t in account.tags if t not in tags],
        )
    return UPDATED
