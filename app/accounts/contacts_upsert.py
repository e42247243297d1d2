"""upsertContacts: integrations keep their contacts in sync by their own key.

A contact's key is (account, externalRef): the account named by id or by its externalRef
(a merged duplicate's ref names its survivor, app/kit/refs.py). Per batch:
1. items that carry a name are inserted, ON CONFLICT DO NOTHING on the key, in key order
   (concurrent calls sharing keys wait for each other instead of deadlocking);
2. every contact of the batch is locked in key order;
3. the fields each item sent are written where they differ; the rest stay.
A retried call finds its contacts and reports them as updated or unchanged. Each bad item
is rejected by its index; the others are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.lifecycle import clean_contact
from app.accounts.service import contact_event
from app.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.refs import account_ids_by_ref
from app.kit.validation import Checks
from app.models.accounts import Account, Contact

FIELDS = ("name", "title", "email", "phone", "buying_role")
Key = tuple[int, str]


@dataclass(frozen=True, slots=True)
class ContactItem:
    external_ref: str
    # Contact fields as service keywords; only those sent.
    fields: dict[str, Any]
    account_id: int | None = None
    account_external_ref: str | None = None


@dataclass(slots=True)
class ContactUpsertResult:
    created_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0
    contacts: list[Contact] = field(default_factory=list)
    rejected: list[tuple[int, list[AppError]]] = field(default_factory=list)


@dataclass(slots=True)
class _Clean:
    index: int
    ref: str
    fields: dict[str, Any]
    account_id: int | None
    account_ref: str | None


@dataclass(slots=True)
class _Written:
    audits: list[Audit] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def _clean(index: int, item: ContactItem) -> _Clean | list[AppError]:
    checks = Checks()
    ref = checks.text("externalRef", item.external_ref, max_length=100, required=True)
    account_ref = checks.text(
        "accountExternalRef", item.account_external_ref, max_length=100, required=False
    )
    if (item.account_id is None) == (account_ref is None):
        checks.fail("accountId", "Give accountId or accountExternalRef (one of them).")
    fields: dict[str, Any] = {}
    try:
        fields = clean_contact({k: v for k, v in item.fields.items() if k in FIELDS})
    except AppError as error:
        checks.errors.extend(error)
    if checks.errors or ref is None:
        return checks.errors
    return _Clean(index, ref, fields, item.account_id, account_ref)


async def _accounts(session: AsyncSession, items: list[_Clean]) -> dict[int, AppError]:
    """Give each item its account id; the errors of those whose account is unknown."""
    by_ref = await account_ids_by_ref(session, [i.account_ref for i in items if i.account_ref])
    ids = {i.account_id for i in items if i.account_id is not None}
    query = select(Account.id, Account.merged_into_id).where(Account.id.in_(ids))
    merged = {row.id: row.merged_into_id for row in await session.execute(query)}
    errors: dict[int, AppError] = {}
    for item in items:
        if item.account_ref is not None:
            item.account_id = by_ref.get(item.account_ref)
            if item.account_id is None:
                errors[item.index] = NotFoundError(
                    "No account has this externalRef.", field="accountExternalRef"
                )
        elif item.account_id not in merged:
            errors[item.index] = NotFoundError("Unknown account.", field="accountId")
        elif merged[item.account_id] is not None:
            errors[item.index] = InvalidInputError(
                "This account was merged into another: name that one.", field="accountId"
            )
    return errors


def _key(item: _Clean) -> Key:
    assert item.account_id is not None
    return (item.account_id, item.ref)


async def upsert_contacts(
    session: AsyncSession,
    *,
    actor: Actor,
    items: Sequence[ContactItem | AppError],
    max_batch: int,
) -> ContactUpsertResult:
    """Create or update contacts by (account, externalRef); bad items rejected by index."""
    if not 1 <= len(items) <= max_batch:
        raise InvalidInputError(f"Send between 1 and {max_batch} contacts.", field="contacts")
    result = ContactUpsertResult()
    cleaned = [i if isinstance(i, AppError) else _clean(n, i) for n, i in enumerate(items)]
    valid = [c for c in cleaned if isinstance(c, _Clean)]
    unknown = await _accounts(session, valid)
    keyed: dict[Key, _Clean] = {}
    for index, clean in enumerate(cleaned):
        if isinstance(clean, _Clean) and index in unknown:
            clean = [unknown[index]]
        elif isinstance(clean, _Clean) and _key(clean) in keyed:
            clean = [InvalidInputError(_REPEATED, field="externalRef")]
        if isinstance(clean, _Clean):
            keyed[_key(clean)] = clean
        else:
            result.rejected.append((index, list(clean)))
    if keyed:
        await _store(session, actor, list(keyed.values()), result)
    result.rejected.sort(key=lambda r: r[0])
    return result


_REPEATED = "externalRef names the same contact as an earlier item."


async def _store(
    session: AsyncSession, actor: Actor, items: list[_Clean], result: ContactUpsertResult
) -> None:
    created = await _insert(session, [i for i in items if "name" in i.fields])
    keys = sorted(_key(i) for i in items)
    query = (
        select(Contact)
        .where(tuple_(Contact.account_id, Contact.external_ref).in_(keys))
        .order_by(Contact.account_id, Contact.external_ref)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    rows = {(c.account_id, c.external_ref): c for c in await session.scalars(query)}
    written = _Written()
    for item in items:
        contact = rows.get(_key(item))
        if contact is None:
            result.rejected.append((item.index, [_missing(item)]))
        elif contact.id in created:
            result.created_count += 1
            result.contacts.append(contact)
            _created(written, contact)
        else:
            result.contacts.append(contact)
            changed = _update(written, contact, item.fields)
            result.updated_count += changed
            result.unchanged_count += not changed
    await session.flush()
    await changes.record(session, actor=actor, audit=written.audits, events=written.events)


def _missing(item: _Clean) -> AppError:
    if "name" in item.fields:  # inserted by another call, then removed before the lock
        return ConflictError("The contact was removed meanwhile: send it again.", field="index")
    return InvalidInputError("A new contact needs a name.", field="name")


async def _insert(session: AsyncSession, items: list[_Clean]) -> set[int]:
    if not items:
        return set()
    rows = [
        {
            "account_id": item.account_id,
            "external_ref": item.ref,
            **{name: item.fields.get(name) for name in FIELDS},
        }
        for item in sorted(items, key=_key)
    ]
    statement = insert(Contact).on_conflict_do_nothing(
        index_elements=[Contact.account_id, Contact.external_ref]
    )
    inserted = await session.execute(statement.returning(Contact.id), rows)
    return set(inserted.scalars())


def _created(written: _Written, contact: Contact) -> None:
    values = {name: getattr(contact, name) for name in FIELDS}
    values |= {"accountId": contact.account_id, "externalRef": contact.external_ref}
    audit = Audit("contact.create", "Contact", contact.id, changes.created(values))
    written.audits.append(audit)
    written.events.append(contact_event(EventType.CONTACT_CREATED, contact))


def _update(written: _Written, contact: Contact, fields: dict[str, Any]) -> bool:
    delta = changes.diff({name: getattr(contact, name) for name in fields}, fields)
    if not delta:
        return False
    for name in delta:
        setattr(contact, name, fields[name])
    written.audits.append(Audit("contact.update", "Contact", contact.id, delta))
    event = contact_event(EventType.CONTACT_UPDATED, contact, changed=sorted(delta))
    written.events.append(event)
    return True
