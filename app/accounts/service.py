from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts import read, statements
from app.db import rows_by_id
from app.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NotFoundError,
)
from app.events import Event, EventType
from app.handoff import service as handoff
from app.kit import changes, versioned
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.pagination import Page, PageArgs, partitioned_pages
from app.kit.validation import Checks
from app.models.accounts import Account, BuyingRole, Contact
from app.teams.visibility import Seen, seen_clause
from app.territories import roundrobin as territories

UNSET = versioned.UNSET


@dataclass(frozen=True, slots=True)
class AddressFields:
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


# What createAccount and updateAccount may set: the read model's written columns, and the parent.
WRITTEN = {column.key: column for column in read.COLUMNS if column.write is not None}
ACCOUNT_FIELDS = (*WRITTEN, "parent_id")


def _clean_account_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Validate the given account fields (absent ones are not touched) and normalise them."""
    checks = Checks()
    clean: dict[str, Any] = {}
    for key, value in values.items():
        column = WRITTEN.get(key)
        clean[key] = (
            value
            if column is None or column.write is None
            else column.write(checks, column.name, value)
        )
    checks.raise_if_any()
    return clean


clean_account_fields = _clean_account_fields


@functools.cache  # called per field of every imported row
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def _check_external_ref(
    session: AsyncSession, external_ref: str | None, *, exclude_id: int | None = None
) -> None:
    if external_ref is None:
        return
    query = select(Account.id).where(Account.external_ref == external_ref)
    if exclude_id is not None:
        query = query.where(Account.id != exclude_id)
    if await session.scalar(query) is not None:
        raise AlreadyExistsError("Another account has this externalRef.", field="externalRef")


# Every parent change of an existing account takes this transaction-level lock before its
# cycle check, so two changes (A under B, B under A) cannot both pass it: the second one
# checks after the first has committed. It is taken before the account's row lock: the
# UPDATE's foreign-key check on the new parent waits for that parent's row lock, which a
# waiting second change would otherwise hold (a deadlock). Hierarchy changes are rare.
HIERARCHY_LOCK = 0x61636374_70617265  # "acctpare"


async def _check_parent(
    session: AsyncSession, parent_id: int | None, *, child_id: int | None
) -> None:
    if parent_id is None:
        return
    if await session.get(Account, parent_id) is None:
        raise NotFoundError("Unknown parent account.", field="parentId")
    if child_id is None:
        return
    ancestors = (
        select(Account.id, Account.parent_id)
        .where(Account.id == parent_id)
        .cte("ancestors", recursive=True)
    )
    ancestors = ancestors.union(
        select(Account.id, Account.parent_id).join(ancestors, Account.id == ancestors.c.parent_id)
    )
    if await session.scalar(select(literal(1)).where(ancestors.c.id == child_id).limit(1)):
        raise InvalidInputError("An account cannot be its own ancestor.", field="parentId")


async def create_account(session: AsyncSession, *, actor: Actor, **fields: Any) -> Account:
    clean = _clean_account_fields(fields)
    await _check_external_ref(session, clean.get("external_ref"))
    await _check_parent(session, clean.get("parent_id"), child_id=None)
    account = Account(**clean, created_by_id=actor.user_id)
    session.add(account)
    await session.flush()
    await handoff.enter_default_pipeline(session, actor=actor, account_id=account.id)
    await territories.apply_rules(session, actor=actor, account_ids=[account.id])
    await changes.record(
        session,
        actor=actor,
        audit=Audit("account.create", "Account", account.id, changes.created(clean)),
        events=Event(EventType.ACCOUNT_CREATED, events.account_data(account), account.id),
    )
    return account


async def _insert_many(session: AsyncSession, values: list[dict[str, Any]]) -> list[Any]:
    """The new accounts' rows as events.account_data reads them, in the order given."""
    returned = (Account.id, Account.name, Account.external_ref, Account.classification)
    statement = insert(Account).returning(*returned, Account.version, sort_by_parameter_order=True)
    return list((await session.execute(statement, values)).all())


async def create_accounts(
    session: AsyncSession, *, actor: Actor, fields: Sequence[dict[str, Any]]
) -> list[int]:
    """createAccount for many new accounts at once (imports): the same checks, records and
    pipeline entry, a few statements for the lot. Only accounts with neither externalRef nor
    parent: those take create_account's checks one at a time."""
    clean = [_clean_account_fields(f) for f in fields]
    if any(c.get("external_ref") is not None or c.get("parent_id") is not None for c in clean):
        raise ValueError("create_accounts takes accounts without externalRef or parent")
    rows = await _insert_many(session, [c | {"created_by_id": actor.user_id} for c in clean])
    ids = [row.id for row in rows]
    owner_id = actor.default_owner_id
    entering = {"ids": ids, "actor_id": actor.user_id, "owner_id": owner_id}
    await session.execute(statements.ENTER, entering)
    await territories.apply_rules(session, actor=actor, account_ids=ids)
    await changes.record(
        session,
        actor=actor,
        audit=[
            Audit("account.create", "Account", r.id, changes.created(c))
            for r, c in zip(rows, clean, strict=True)
        ],
        events=[Event(EventType.ACCOUNT_CREATED, events.account_data(r), r.id) for r in rows],
    )
    return ids


async def get_account_for_update(session: AsyncSession, account_id: int) -> Account:
    query = select(Account).where(Account.id == account_id).with_for_update()
    account = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if account is None:
        raise NotFoundError("Unknown account.", field="id")
    return account


async def _prepare_update(session: AsyncSession, actor: Actor, clean: dict[str, Any]) -> None:
    if clean.get("parent_id") is not None:
        await session.execute(select(func.pg_advisory_xact_lock(HIERARCHY_LOCK)))


async def _check_update(
    session: AsyncSession, actor: Actor, account: Account, clean: dict[str, Any]
) -> None:
    if "external_ref" in clean:
        await _check_external_ref(session, clean["external_ref"], exclude_id=account.id)
    if clean.get("parent_id") is not None:
        await _check_parent(session, clean["parent_id"], child_id=account.id)


def _updated(account: Account, delta: dict[str, Any]) -> Event:
    data = events.account_data(account, changed=sorted(delta))
    return Event(EventType.ACCOUNT_UPDATED, data, account_id=account.id)


ACCOUNT_UPDATE: versioned.Recipe[Account] = versioned.Recipe(
    noun="account",
    entity_type="Account",
    action="account.update",
    fields=ACCOUNT_FIELDS,
    clean=_clean_account_fields,
    lock=get_account_for_update,
    announce=_updated,
    prepare=_prepare_update,
    check=_check_update,
)


async def update_account(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    expected_version: int | None = None,
    **fields: Any,
) -> Account:
    return await versioned.update(
        session,
        ACCOUNT_UPDATE,
        actor=actor,
        row_id=account_id,
        expected_version=expected_version,
        fields=fields,
    )


async def archive_account(session: AsyncSession, *, actor: Actor, account_id: int) -> Account:
    account = await get_account_for_update(session, account_id)
    if account.archived_at is None:
        account.archived_at = func.now()
        account.version += 1
        await session.flush()
        await session.refresh(account, ["archived_at"])
        delta = changes.diff({"archivedAt": None}, {"archivedAt": account.archived_at})
        data = events.account_data(account, archivedAt=events.iso(account.archived_at))
        await changes.record(
            session,
            actor=actor,
            audit=Audit("account.archive", "Account", account.id, delta),
            events=Event(EventType.ACCOUNT_ARCHIVED, data, account.id),
        )
    return account


async def add_contact(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    name: str,
    title: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    buying_role: BuyingRole | None = None,
) -> Contact:
    checks = Checks()
    values = {
        "name": checks.text("name", name, max_length=200, required=True),
        "title": checks.text("title", title, max_length=200),
        "email": checks.email("email", email),
        "phone": checks.text("phone", phone, max_length=50),
        "buying_role": buying_role,
    }
    checks.raise_if_any()
    if await session.get(Account, account_id) is None:
        raise NotFoundError("Unknown account.", field="accountId")
    contact = Contact(account_id=account_id, **values)
    session.add(contact)
    await session.flush()
    await changes.record(
        session,
        actor=actor,
        audit=Audit(
            "contact.create",
            "Contact",
            contact.id,
            changes.created({"accountId": account_id, **values}),
        ),
        events=contact_event(EventType.CONTACT_CREATED, contact),
    )
    return contact


def contact_event(kind: EventType, contact: Contact, **extra: Any) -> Event:
    data = {
        "id": events.global_id("Contact", contact.id),
        "accountId": events.global_id("Account", contact.account_id),
        "name": contact.name,
        "title": contact.title,
        "email": contact.email,
        "phone": contact.phone,
        "buyingRole": None if contact.buying_role is None else contact.buying_role.value,
        "externalRef": contact.external_ref,
        **extra,
    }
    return Event(kind, data, account_id=contact.account_id, object_key=f"Contact:{contact.id}")


# Every column but the search vector (only the database reads it).
ACCOUNT_COLUMNS = tuple(c for c in Account.__table__.columns if c.name != "search_vector")
CONTACT_COLUMNS = tuple(c for c in Contact.__table__.columns if c.name != "search_vector")


accounts_by_id = rows_by_id(Account)


async def contacts_by_account(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[list[Contact]]:
    query = (
        select(Contact)
        .where(Contact.account_id.in_(account_ids), Contact.removed_at.is_(None))
        .order_by(Contact.id)
    )
    grouped: dict[int, list[Contact]] = {i: [] for i in account_ids}
    for contact in await session.scalars(query):
        grouped[contact.account_id].append(contact)
    return [grouped[i] for i in account_ids]


async def contact_rows_by_account(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[list[Row[Any]]]:
    """`contacts_by_account` as plain rows (same attributes), for read-only lists."""
    query = (
        select(*CONTACT_COLUMNS)
        .where(Contact.account_id.in_(account_ids), Contact.removed_at.is_(None))
        .order_by(Contact.id)
    )
    grouped: dict[int, list[Row[Any]]] = {i: [] for i in account_ids}
    for row in await (await session.connection()).execute(query):
        grouped[row.account_id].append(row)
    return [grouped[i] for i in account_ids]


contacts_by_id = rows_by_id(Contact)


async def branch_pages(
    session: AsyncSession, keys: Sequence[tuple[int, PageArgs]], *where: ColumnElement[bool]
) -> list[tuple[Page[Account], int]]:
    return await partitioned_pages(
        session,
        Account,
        partition="parent_id",
        order=("name", "id"),
        keys=keys,
        where=[Account.archived_at.is_(None), *where],
    )


async def seen_branch_pages(
    session: AsyncSession, keys: Sequence[tuple[int, PageArgs, Seen]]
) -> list[tuple[Page[Account], int]]:
    """branch_pages of a REP under TEAM or OWN record visibility: the branches they read."""
    shown = seen_clause(Account.id, keys[0][2])
    return await branch_pages(session, [(pk, args) for pk, args, _ in keys], shown)
