"""The rest of an account's and a contact's life: tags, restore, edit and remove contacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts import tags as account_tags
from app.accounts.service import contact_event, get_account_for_update
from app.errors import InvalidInputError, NotFoundError
from app.events import Event, EventType
from app.kit import changes, versioned
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.accounts import Account, BuyingRole, Contact

UNSET = versioned.UNSET


async def _bump(
    session: AsyncSession, actor: Actor, account: Account, action: str, delta: dict[str, Any]
) -> None:
    """A new version of the account, told to webhooks and subscribers as account.updated."""
    account.version += 1
    await session.flush()
    await session.refresh(account, ["updated_at"])
    data = events.account_data(account, changed=sorted(delta))
    await changes.record(
        session,
        actor=actor,
        audit=Audit(action, "Account", account.id, delta),
        events=Event(EventType.ACCOUNT_UPDATED, data, account_id=account.id),
    )


async def set_account_tags(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Account:
    checks = Checks()
    added = account_tags.normalise(checks, "add", add)
    removed = set(account_tags.normalise(checks, "remove", remove))
    checks.raise_if_any()
    try:
        account = await get_account_for_update(session, account_id)
    except NotFoundError:
        raise NotFoundError("Unknown account.", field="accountId") from None
    before = list(account.tags)
    after = [t for t in before if t not in removed]
    after += [t for t in added if t not in after and t not in removed]
    account_tags.check_count(checks, "add", after)
    checks.raise_if_any()
    if after != before:
        account.tags = after
        delta = changes.diff({"tags": before}, {"tags": after})
        await _bump(session, actor, account, "account.tags", delta)
    return account


async def restore_account(session: AsyncSession, *, actor: Actor, account_id: int) -> Account:
    account = await get_account_for_update(session, account_id)
    if account.merged_into_id is not None:
        raise InvalidInputError("A merged account cannot be restored.", field="id")
    if account.archived_at is not None:
        before = account.archived_at
        account.archived_at = None
        delta = changes.diff({"archivedAt": before}, {"archivedAt": None})
        await _bump(session, actor, account, "account.restore", delta)
    return account


async def _contact_for_update(session: AsyncSession, contact_id: int) -> Contact:
    query = select(Contact).where(Contact.id == contact_id).with_for_update()
    found = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if found is None or found.removed_at is not None:
        raise NotFoundError("Unknown contact.", field="id")
    return found


async def contact_account_id(session: AsyncSession, contact_id: int) -> int:
    """The account of a live contact (for the REP scope check before a change)."""
    found = await session.scalar(
        select(Contact.account_id).where(Contact.id == contact_id, Contact.removed_at.is_(None))
    )
    if found is None:
        raise NotFoundError("Unknown contact.", field="id")
    return found


def clean_contact(given: dict[str, Any]) -> dict[str, Any]:
    checks = Checks()
    clean: dict[str, Any] = {}
    for key, value in given.items():
        if key == "name":
            clean[key] = checks.text("name", value, max_length=200, required=True)
        elif key in ("title", "phone"):
            clean[key] = checks.text(key, value, max_length=200 if key == "title" else 50)
        elif key == "email":
            clean[key] = checks.email("email", value)
        elif key == "buying_role":
            clean[key] = None if value is None else BuyingRole(value)
        else:  # account_id
            if value is None:
                checks.fail("accountId", "accountId cannot be cleared.")
            clean[key] = value
    checks.raise_if_any()
    return clean


async def _check_contact(
    session: AsyncSession, actor: Actor, contact: Contact, clean: dict[str, Any]
) -> None:
    moved_to = clean.get("account_id")
    if moved_to not in (None, contact.account_id) and await session.get(Account, moved_to) is None:
        raise NotFoundError("Unknown account.", field="accountId")


def _contact_updated(contact: Contact, delta: dict[str, Any]) -> Event:
    return contact_event(EventType.CONTACT_UPDATED, contact, changed=sorted(delta))


CONTACT_UPDATE: versioned.Recipe[Contact] = versioned.Recipe(
    noun="contact",
    entity_type="Contact",
    action="contact.update",
    fields=("name", "title", "email", "phone", "buying_role", "account_id"),
    clean=clean_contact,
    lock=_contact_for_update,
    announce=_contact_updated,
    check=_check_contact,
    versioned=False,  # contacts carry no version: last write wins
)


async def update_contact(
    session: AsyncSession, *, actor: Actor, contact_id: int, **fields: Any
) -> Contact:
    """Change the given fields (UNSET ones stay); name cannot be cleared."""
    return await versioned.update(
        session, CONTACT_UPDATE, actor=actor, row_id=contact_id, fields=fields
    )


async def remove_contact(session: AsyncSession, *, actor: Actor, contact_id: int) -> int:
    """Soft delete: activities keep naming the contact; every list leaves it out. Its
    externalRef is freed (an upsert of that key makes a new contact); the event names it."""
    contact = await _contact_for_update(session, contact_id)
    removed_at, ref = datetime.now(UTC), contact.external_ref
    contact.removed_at = removed_at
    contact.external_ref = None
    await session.flush()
    delta = changes.diff(
        {"removedAt": None, "externalRef": ref}, {"removedAt": removed_at, "externalRef": None}
    )
    removed = contact_event(
        EventType.CONTACT_REMOVED, contact, removedAt=events.iso(removed_at), externalRef=ref
    )
    await changes.record(
        session,
        actor=actor,
        audit=Audit("contact.remove", "Contact", contact.id, delta),
        events=removed,
    )
    return contact.id
