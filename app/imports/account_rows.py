"""Accounts keyed by id (an export read back) or by nothing (always new), a row at a time
through the services of createAccount, updateAccount and setAccountTags: the same checks
(classification, externalRef, a known parent and no cycle), audit rows and events.

Rows keyed by externalRef go through upsertAccounts' batch instead (app.imports.accounts).
The accounts a batch names by id are read in one statement, so a row that changes nothing
(most of an export read back) costs no statement of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import lifecycle
from app.accounts import service as accounts
from app.errors import AppError, NotFoundError
from app.imports.base import BatchResult, Item, row_errors
from app.imports.csvfile import RowError
from app.imports.rows import CREATED, UNCHANGED, UPDATED, tally
from app.kit import changes
from app.kit.actor import Actor
from app.kit.refs import account_id_by_ref
from app.models.accounts import Account

# The services' error fields that a CSV column holds under another name.
RENAMES = {"parentId": "parentExternalRef", "accountId": "id", "add": "tags", "remove": "tags"}
KEEP: Any = object()  # the file has no parent column: the parent stays


@dataclass(slots=True)
class AccountRow:
    id: int | None
    fields: dict[str, Any]  # cleaned, only the file's columns; parent_id when it names one
    parent_ref: str | None


@dataclass(slots=True)
class _Change:
    fields: dict[str, Any]  # for updateAccount; empty when nothing but tags changes
    tags: list[str] | None  # the tags the account ends with; None when they stay


@dataclass(slots=True)
class _Batch:
    session: AsyncSession
    actor: Actor
    columns: Sequence[str]
    result: BatchResult
    known: dict[int, Account] = field(default_factory=dict)

    def reject(self, row: int, error: AppError) -> None:
        self.result.errors.extend(row_errors(row, error, self.columns, RENAMES))


async def write_rows(
    session: AsyncSession,
    actor: Actor,
    items: Sequence[Item],
    columns: Sequence[str],
    result: BatchResult,
) -> None:
    """Parents first: a row whose parent is named by a later row of the batch waits for it;
    rows left waiting only on each other name each other as parents (a cycle)."""
    batch = _Batch(session, actor, columns, result, await _known(session, items))
    pending = await _create_new(batch, items)
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
                batch.reject(item.row, error)
            else:
                await _write_one(batch, item, parent)
            unwritten.discard(item.data.fields.get("external_ref"))
        if len(waiting) == len(pending):
            result.errors.extend(
                RowError(i.row, "parentExternalRef", "INVALID_INPUT", "The parents form a cycle.")
                for i in waiting
            )
            return
        pending = waiting


def _is_new(data: AccountRow) -> bool:
    """A new account with no key, no parent and no tags: nothing to look up one by one."""
    fields = data.fields
    return (
        data.id is None
        and fields.get("external_ref") is None
        and data.parent_ref is None
        and not fields.get("tags")
    )


async def _create_new(batch: _Batch, items: Sequence[Item]) -> list[Item]:
    """Creates the batch's new accounts together (createAccount's service for many); returns
    the rows left for one by one, all of them when a new row is refused (each gets its error)."""
    new = [item for item in items if _is_new(item.data)]
    if not new:
        return list(items)
    try:
        async with batch.session.begin_nested():
            values = [_plain_fields(item.data, None) for item in new]
            await accounts.create_accounts(batch.session, actor=batch.actor, fields=values)
    except AppError:
        return list(items)
    for _ in new:
        tally(batch.result, CREATED)
    return [item for item in items if not _is_new(item.data)]


async def _known(session: AsyncSession, items: Sequence[Item]) -> dict[int, Account]:
    ids = [i.data.id for i in items if i.data.id is not None]
    if not ids:
        return {}
    query = select(Account).where(Account.id.in_(ids))
    found = await session.scalars(query.execution_options(populate_existing=True))
    return {a.id: a for a in found}


async def _parent(session: AsyncSession, data: AccountRow) -> Any:
    """The parent's id by its externalRef, None to clear it, KEEP when the file has none."""
    if "parent_id" not in data.fields:
        return KEEP
    ref = data.parent_ref
    if ref is None:
        return None
    found = await account_id_by_ref(session, ref)
    if found is None:
        raise NotFoundError(f"No account has externalRef {ref!r}.", field="parentExternalRef")
    return found


async def _write_one(batch: _Batch, item: Item, parent: Any) -> None:
    data: AccountRow = item.data
    account = None if data.id is None else batch.known.get(data.id)
    if data.id is not None and account is None:
        batch.reject(item.row, NotFoundError("Unknown account.", field="id"))
        return
    change = None if account is None else _change(account, data, parent)
    if change is not None and not change.fields and change.tags is None:
        tally(batch.result, UNCHANGED)
        return
    try:
        async with batch.session.begin_nested():
            if account is None:
                await _create(batch.session, batch.actor, data, parent)
            else:
                assert change is not None
                await _update(batch.session, batch.actor, account, change)
    except AppError as error:
        batch.reject(item.row, error)
        return
    tally(batch.result, CREATED if account is None else UPDATED)


def _plain_fields(data: AccountRow, parent: Any) -> dict[str, Any]:
    fields = {k: v for k, v in data.fields.items() if k not in ("parent_id", "tags")}
    if parent is not KEEP:
        fields["parent_id"] = parent
    return fields


def _change(account: Account, data: AccountRow, parent: Any) -> _Change:
    fields = _plain_fields(data, parent)
    changed = changes.diff({k: getattr(account, k) for k in fields}, fields)
    tags: list[str] = data.fields.get("tags", account.tags)
    return _Change(fields if changed else {}, tags if set(tags) != set(account.tags) else None)


async def _create(session: AsyncSession, actor: Actor, data: AccountRow, parent: Any) -> None:
    account = await accounts.create_account(session, actor=actor, **_plain_fields(data, parent))
    if data.fields.get("tags"):
        await lifecycle.set_account_tags(
            session, actor=actor, account_id=account.id, add=data.fields["tags"]
        )


async def _update(session: AsyncSession, actor: Actor, account: Account, change: _Change) -> None:
    if change.fields:
        await accounts.update_account(session, actor=actor, account_id=account.id, **change.fields)
    if change.tags is not None:  # as setAccountTags: what the file lacks goes, the rest is added
        await lifecycle.set_account_tags(
            session,
            actor=actor,
            account_id=account.id,
            add=change.tags,
            remove=[t for t in account.tags if t not in change.tags],
        )
