"""What a task hangs off: an account, a contact (which implies its account) or a lead, each
checked against what the caller may read, and its owner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.kit.actor import Actor
from app.models.accounts import Account, Contact
from app.models.auth import Role, User
from app.models.leads import Lead
from app.teams.visibility import account_filter

# Creating a task for someone else: managers, and integrations (a calendar, a phone system).
ASSIGN_ANY = "task.assign_any"


@dataclass(frozen=True, slots=True)
class Targets:
    account_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None


async def owner_for(session: AsyncSession, actor: Actor, owner_id: int | None) -> int:
    """The task's owner: the caller by default; another active person only with ASSIGN_ANY."""
    if owner_id is None:
        owner_id = actor.default_owner_id
        if owner_id is None:
            raise InvalidInputError("Name the task's owner (ownerId).", field="ownerId")
    if owner_id != actor.user_id and not actor.may(ASSIGN_ANY):
        raise ForbiddenError("You may only create tasks for yourself.", field="ownerId")
    user = await session.get(User, owner_id)
    if user is None or not user.is_active or user.role is Role.INTEGRATION:
        raise NotFoundError("Unknown or inactive user.", field="ownerId")
    return owner_id


async def resolve(session: AsyncSession, actor: Actor, given: Targets) -> Targets:
    """The targets, with a contact's account filled in; NOT_FOUND for what the caller may not
    read, as for what does not exist."""
    account_id = given.account_id
    if given.contact_id is not None:
        found = await session.scalar(
            select(Contact.account_id).where(
                Contact.id == given.contact_id, Contact.removed_at.is_(None)
            )
        )
        if found is None:
            raise NotFoundError("Unknown contact.", field="contactId")
        await _check_account(session, actor, found, "contactId")
        if account_id is not None and account_id != found:
            raise InvalidInputError("The contact belongs to another account.", field="contactId")
        account_id = found
    elif account_id is not None:
        await _check_account(session, actor, account_id, "accountId")
    if given.lead_id is not None and await session.get(Lead, given.lead_id) is None:
        raise NotFoundError("Unknown lead.", field="leadId")
    return Targets(account_id, given.contact_id, given.lead_id)


async def _check_account(session: AsyncSession, actor: Actor, account_id: int, field: str) -> None:
    query = select(Account.id).where(Account.id == account_id, Account.archived_at.is_(None))
    clause = await account_filter(session, actor)
    if clause is not None:
        query = query.where(clause)
    if await session.scalar(query) is None:
        raise NotFoundError("Unknown account.", field=field)
