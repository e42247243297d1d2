"""upsertAccounts: integrations keep their accounts in sync by their own key (externalRef).

Set-based, five statements per batch whatever its size:
0. the refs of merged duplicates are read as their survivors' (a duplicate keeps its ref,
   and an integration sending it means the account it was merged into);
1. new keys are inserted (ON CONFLICT DO NOTHING on the unique external_ref, in key order,
   so concurrent calls sharing keys wait for each other instead of deadlocking) and enter
   the default pipeline, in one statement;
2. every row of the batch is locked in key order;
3. one UPDATE writes only the fields each item sent, and only where a value differs
   (parents, by external ref, are resolved here, once every key of the batch exists);
4. the rows are read back for the payload.
A retried call, or a concurrent one with the same keys, finds the rows and reports them as
updated or unchanged: it never creates twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from sqlalchemy import Row, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from app import events
from app.accounts import statements
from app.accounts import tags as account_tags
from app.accounts.service import ACCOUNT_COLUMNS, HIERARCHY_LOCK, clean_account_fields
from app.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.sql import sql_file
from app.kit.validation import Checks
from app.models.accounts import Account
from app.territories import roundrobin as territories

_LOCK = (
    select(Account.merged_into_id)
    .where(Account.external_ref == any_(bindparam("refs", type_=ARRAY(String))))
    .order_by(Account.external_ref)
    .with_for_update()
)

# The accounts the batch names and all their ancestors: enough to refuse cycles.
_ANCESTRY = sql_file(__package__, "upsert_ancestry.sql", bindparam("refs", type_=ARRAY(String)))

UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class UpsertItem:
    external_ref: str
    # Account fields as service keywords (address split into its columns); only those sent.
    fields: dict[str, Any]
    parent_external_ref: str | None = UNSET
    tags: Sequence[str] | None = None


@dataclass(slots=True)
class UpsertResult:
    created_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0
    accounts: list[Row[Any]] = field(default_factory=list)
    rejected: list[tuple[int, list[AppError]]] = field(default_factory=list)


@dataclass(slots=True)
class _Clean:
    index: int
    ref: str
    values: dict[str, Any]
    parent_ref: str | None
    sends_parent: bool


def _clean(index: int, item: UpsertItem, actor: Actor) -> _Clean | list[AppError]:
    checks = Checks()
    ref = checks.text("externalRef", item.external_ref, max_length=100, required=True)
    values: dict[str, Any] = {}
    try:
        values = clean_account_fields(item.fields)
    except AppError as error:
        checks.errors.extend(error)
    if item.tags is not None:
        values["tags"] = account_tags.normalise(checks, "tags", item.tags)
        account_tags.check_count(checks, "tags", values["tags"])
    sends_parent = item.parent_external_ref is not UNSET
    parent_ref = item.parent_external_ref if sends_parent else None
    if parent_ref is not None:
        parent_ref = parent_ref.strip()
        if parent_ref == ref:
            checks.fail("parentExternalRef", "An account cannot be its own parent.")
    if checks.errors or ref is None:
        return checks.errors
    return _Clean(index, ref, values, parent_ref, sends_parent)


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _row(item: _Clean) -> dict[str, Any]:
    sent = [*item.values, *(["parent_id"] if item.sends_parent else [])]
    row = {c: _plain(item.values.get(c)) for c in statements.FIELDS}
    return row | {"ext": item.ref, "parent_ref": item.parent_ref, "sent": sent}


class _Graph:
    """Parents after the batch: batch items by their refs, other accounts by their ids."""

    def __init__(self, items: dict[str, _Clean], rows: Sequence[Row[Any]]) -> None:
        self.items = items
        self.by_ref = {r.external_ref: r for r in rows if r.external_ref is not None}
        self.by_id = {r.id: r for r in rows}

    def parent(self, node: str | int) -> str | int | None:
        if isinstance(node, str) and node in self.items:
            item = self.items[node]
            if item.sends_parent:
                return item.parent_ref
            existing = self.by_ref.get(node)
            return None if existing is None else self._node(existing.parent_id)
        row = self.by_ref.get(node) if isinstance(node, str) else self.by_id.get(node)
        return None if row is None else self._node(row.parent_id)

    def _node(self, account_id: int | None) -> str | int | None:
        if account_id is None:
            return None
        row = self.by_id.get(account_id)
        ref = None if row is None else row.external_ref
        return ref if ref is not None and ref in self.items else account_id

    def known(self, ref: str) -> bool:
        return ref in self.items or ref in self.by_ref

    def cycles(self, ref: str) -> bool:
        seen: set[str | int] = {ref}
        node = self.parent(ref)
        while node is not None:
            if node in seen:
                return node == ref
            seen.add(node)
            node = self.parent(node)
        return False


async def _check_parents(
    session: AsyncSession, items: dict[str, _Clean], result: UpsertResult
) -> None:
    """Reject items whose parent is unknown or would close a cycle (and what hangs on them)."""
    refs = list(items) + [i.parent_ref for i in items.values() if i.parent_ref is not None]
    if any(i.parent_ref is not None for i in items.values()):
        # As updateAccount: parent changes are serialised before any row lock (cycle checks).
        await session.execute(select(func.pg_advisory_xact_lock(HIERARCHY_LOCK)))
    rows = list((await session.execute(_ANCESTRY, {"refs": refs})).all())
    changed = True
    while changed:
        changed = False
        graph = _Graph(items, rows)
        for ref, item in list(items.items()):
            error: AppError | None = None
            if item.parent_ref is not None and not graph.known(item.parent_ref):
                error = NotFoundError("No account has this externalRef.", field="parentExternalRef")
            elif item.parent_ref is not None and graph.cycles(ref):
                error = InvalidInputError(
                    "An account cannot be its own ancestor.", field="parentExternalRef"
                )
            if error is not None:
                result.rejected.append((item.index, [error]))
                del items[ref]
                changed = True


_REPEATED = "externalRef names the same account as an earlier item."
_MERGED_WITHOUT_REF = "This account was merged into one that has no externalRef."


async def _merged_refs(session: AsyncSession, items: list[_Clean]) -> dict[str, str | None]:
    """The survivor's ref for each ref (of an item or its parent) of a merged duplicate."""
    refs = {i.ref for i in items} | {i.parent_ref for i in items if i.parent_ref is not None}
    if not refs:
        return {}
    resolve = func.accounts_by_external_ref(bindparam(None, sorted(refs), type_=ARRAY(String)))
    named = resolve.table_valued("external_ref", "account_id")
    survivor = Account.external_ref
    query = select(named.c.external_ref, survivor).join(Account, Account.id == named.c.account_id)
    query = query.where(survivor.is_distinct_from(named.c.external_ref))
    return {ref: now for ref, now in await session.execute(query)}


def _redirected(item: _Clean, merged: dict[str, str | None]) -> _Clean | list[AppError]:
    """An item naming a merged duplicate, as itself or as its parent, means the survivor."""
    ref = merged.get(item.ref, item.ref)
    parent_ref = item.parent_ref and merged.get(item.parent_ref, item.parent_ref)
    errors: list[AppError] = []
    if ref is None:
        errors.append(InvalidInputError(_MERGED_WITHOUT_REF, field="externalRef"))
    if parent_ref is None and item.parent_ref is not None:
        errors.append(InvalidInputError(_MERGED_WITHOUT_REF, field="parentExternalRef"))
    if errors or ref is None:
        return errors
    return replace(item, ref=ref, parent_ref=parent_ref)


async def upsert_accounts(
    session: AsyncSession,
    *,
    actor: Actor,
    items: Sequence[UpsertItem | AppError],
    max_batch: int,
) -> UpsertResult:
    """Create or update accounts by externalRef; each bad item is rejected by its index."""
    if not 1 <= len(items) <= max_batch:
        raise InvalidInputError(f"Send between 1 and {max_batch} accounts.", field="accounts")
    result = UpsertResult()
    valid: dict[str, _Clean] = {}
    cleaned = [
        item if isinstance(item, AppError) else _clean(index, item, actor)
        for index, item in enumerate(items)
    ]
    merged = await _merged_refs(session, [c for c in cleaned if isinstance(c, _Clean)])
    for index, clean in enumerate(cleaned):
        if isinstance(clean, _Clean):
            clean = _redirected(clean, merged)
        if isinstance(clean, _Clean) and clean.ref in valid:
            clean = [InvalidInputError(_REPEATED, field="externalRef")]
        if isinstance(clean, _Clean):
            valid[clean.ref] = clean
        else:
            result.rejected.append((index, list(clean)))
    await _check_parents(session, valid, result)
    result.rejected.sort(key=lambda r: r[0])
    if valid:
        await _store(session, actor, list(valid.values()), result)
    return result


async def _store(
    session: AsyncSession, actor: Actor, items: list[_Clean], result: UpsertResult
) -> None:
    payload = orjson.dumps([_row(i) for i in items]).decode()
    owner_id = actor.default_owner_id
    created = list(
        await session.scalars(
            statements.INSERT, {"rows": payload, "actor_id": actor.user_id, "owner_id": owner_id}
        )
    )
    refs = sorted(i.ref for i in items)
    locked = await session.scalars(_LOCK, {"refs": refs})
    if any(merged_into is not None for merged_into in locked):
        # The refs were looked up before a concurrent merge committed: nothing is written.
        raise ConflictError("An account of this batch was merged meanwhile.", field="accounts")
    updated = list(await session.scalars(statements.UPDATE, {"rows": payload, "created": created}))
    created_set = set(created)
    result.created_count = len(created)
    result.updated_count = sum(1 for i in updated if i not in created_set)
    result.unchanged_count = len(items) - result.created_count - result.updated_count
    changed = sorted(created_set | set(updated))
    # Territory rules assign what the accounts lack (leads issue: rules on upsertAccounts).
    await territories.apply_rules(session, actor=actor, account_ids=changed)
    refs_param = bindparam(None, refs, type_=ARRAY(String))
    query = select(*ACCOUNT_COLUMNS).where(Account.external_ref == any_(refs_param))
    rows = {r.external_ref: r for r in await session.execute(query)}
    result.accounts = [rows[i.ref] for i in items]
    await _record(session, actor, [rows[i.ref] for i in items], created_set, set(changed))


async def _record(
    session: AsyncSession, actor: Actor, rows: list[Row[Any]], created: set[int], changed: set[int]
) -> None:
    """Per changed account, its audit row and account.created or account.updated."""
    audits = [
        Audit("account.upsert", "Account", i, {"result": "created" if i in created else "updated"})
        for i in sorted(changed)
    ]
    kinds = {True: EventType.ACCOUNT_CREATED, False: EventType.ACCOUNT_UPDATED}
    announced = [
        Event(kinds[is_new], events.account_data(row), account_id=row.id)
        for is_new in (True, False)
        for row in rows
        if row.id in changed and (row.id in created) is is_new
    ]
    await changes.record(session, actor=actor, audit=audits, events=announced)
