"""The rest of an account's and a contact's life: tags, restore, edit and remove contacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts import tags as account_tags
from app.accounts.service import get_account_for_update
from app.audit import service as audit
from app.errors import InvalidInputError, NotFoundError
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.accounts import Account, BuyingRole, Contact

UNSET: Any = object()


async def _bump(session: AsyncSession, account: Account, changed: str) -> None:
    """A new version of the account, told to webhooks and subscribers as account.updated."""
    account.version += 1
    await session.flush()
    await session.refresh(account, ["updated_at"])
    data = events.account_data(account, changed=[changed])
    await events.emit(session, events.EventType.ACCOUNT_UPDATED, data, account_id=account.id)


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
        await _bump(session, account, "tags")
        await audit.record(
            session,
            actor=actor,
            action="account.tags",
            entity_type="Account",
            entity_id=account.id,
            changes=audit.diff({"tags": before}, {"tags": after}),
        )
    return account


async def restore_account(session: AsyncSession, *, actor: Actor, account_id: int) -> Account:
    account = await get_account_for_update(session, account_id)
    if account.merged_into_id is not None:
        raise InvalidInputError("A merged account cannot be restored.", field="id")
    if account.archived_at is not None:
        before = account.archived_at
        account.archived_at = None
        await _bump(session, account, "archivedAt")
        await audit.record(
            session,
            actor=actor,
            action="account.restore",
            entity_type="Account",
            entity_id=account.id,
            changes=audit.diff({"archivedAt": before}, {"archivedAt": None}),
        )
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


async def update_contact(
    session: AsyncSession, *, actor: Actor, contact_id: int, **fields: Any
) -> Contact:
    """Change the given fields (UNSET ones stay); name cannot be cleared."""
    given = {k: v for k, v in fields.items() if v is not UNSET}
    checks = Checks()
    clean: dict[str, Any] = {}
    for key, value in given.items():
        if key == "name":
            clean[key] = checks.text("name", value, max_length=200, required=True)
        elif key == "title":
            clean[key] = checks.text("title", value, max_length=200)
        elif key == "email":
            clean[key] = checks.email("email", value)
        elif key == "phone":
            clean[key] = checks.text("phone", value, max_length=50)
        elif key == "buying_role":
            clean[key] = None if value is None else BuyingRole(value)
        elif key == "account_id":
            if value is None:
                checks.fail("accountId", "accountId cannot be cleared.")
            clean[key] = value
        else:
            raise InvalidInputError(f"Unknown field {key}.")
    checks.raise_if_any()
    contact = await _contact_for_update(session, contact_id)
    if clean.get("account_id") not in (None, contact.account_id):
        target = await session.get(Account, clean["account_id"])
        if target is None:
            raise NotFoundError("Unknown account.", field="accountId")
    before = {key: getattr(contact, key) for key in clean}
    delta = audit.diff(before, clean)
    if delta:
        for key, value in clean.items():
            setattr(contact, key, value)
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="contact.update",
            entity_type="Contact",
            entity_id=contact.id,
            changes=delta,
        )
    return contact


async def remove_contact(session: AsyncSession, *, actor: Actor, contact_id: int) -> int:
    """Soft delete: activities keep naming the contact; every list leaves it out."""
    contact = await _contact_for_update(session, contact_id)
    removed_at = datetime.now(UTC)
    contact.removed_at = removed_at
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="contact.remove",
        entity_type="Contact",
        entity_id=contact.id,
        changes=audit.diff({"removedAt": None}, {"removedAt": removed_at}),
    )
    return contact.id
