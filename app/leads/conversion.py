"""A qualified lead becomes an account (or a contact on one), all in the caller's transaction.

A new account stays with the lead's owner: they own its pipeline entries and hold its SALES
assignment, unless a territory rule gave that to someone already (the rules are the
company's routing; the owner takes what they leave). Without an owner (an integration's
lead) the converting user owns the entry, as createAccount does. The lead's activities move
to the account (app.leads.activities.move_to_account).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts import service as accounts
from app.assignments import service as assignments
from app.errors import AppError, InvalidTransitionError
from app.events import Event
from app.handoff import service as handoff
from app.handoff.errors import AlreadyInPipelineError
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.leads.activities import move_to_account
from app.leads.service import get_lead_for_update
from app.models.accounts import Account, AccountSource, Contact
from app.models.assignments import Assignment, ManagerType
from app.models.auth import Role, User
from app.models.handoff import PipelineEntry
from app.models.leads import Lead, LeadStatus
from app.territories import roundrobin


class AlreadyConvertedError(AppError):
    code = "ALREADY_CONVERTED"


# Lead fields that become account fields; on an existing account only empty ones are filled.
ACCOUNT_FIELDS = ("industry", "street", "city", "region", "postal_code", "country_code", "phone")


@dataclass(frozen=True, slots=True)
class Conversion:
    lead: Lead
    account: Account
    contact: Contact | None


async def convert_lead(
    session: AsyncSession,
    *,
    actor: Actor,
    lead_id: int,
    existing_account_id: int | None = None,
    enter_pipeline: str | None = None,
    apply_rules: bool = True,
) -> Conversion:
    lead = await get_lead_for_update(session, lead_id, field="leadId")
    if lead.status is LeadStatus.CONVERTED:
        raise AlreadyConvertedError("The lead is already converted.", field="leadId")
    if lead.status is not LeadStatus.QUALIFIED:
        raise InvalidTransitionError(
            f"Only a QUALIFIED lead converts; this one is {lead.status.value}.", field="leadId"
        )
    owner_id: int | None = None
    if existing_account_id is None:
        account = await _new_account(session, actor, lead)
        owner_id = await _keep_owner(session, actor, lead, account)
    else:
        account = await _fill_account(session, actor, lead, existing_account_id)
    if enter_pipeline:
        await _enter(session, actor, account.id, enter_pipeline, lead.owner_id)
    contact = await _contact(session, actor, lead, account.id)
    if apply_rules:
        await roundrobin.apply_rules(session, actor=actor, account_ids=[account.id])
    moved = await move_to_account(session, lead_id=lead.id, account_id=account.id)
    lead.status = LeadStatus.CONVERTED
    lead.converted_at = func.now()
    lead.account_id = account.id
    lead.contact_id = contact.id if contact else None
    lead.version += 1
    lead.updated_at = func.now()
    await session.flush()
    await session.refresh(lead, ["converted_at", "updated_at"])
    converted = {
        "status": LeadStatus.CONVERTED,
        "accountId": account.id,
        "contactId": lead.contact_id,
        "ownerId": owner_id,
        "movedActivities": moved,
    }
    data = {
        "id": events.global_id("Lead", lead.id),
        "accountId": events.global_id("Account", account.id),
        "contactId": events.global_id("Contact", lead.contact_id),
        "ownerId": events.global_id("User", owner_id),
        "movedActivities": moved,
    }
    kind, key = events.EventType.LEAD_CONVERTED, f"Lead:{lead.id}"
    await changes.record(
        session,
        actor=actor,
        audit=Audit("lead.convert", "Lead", lead.id, changes.created(converted)),
        events=Event(kind, data, account_id=account.id, object_key=key),
    )
    return Conversion(lead=lead, account=account, contact=contact)


async def _new_account(session: AsyncSession, actor: Actor, lead: Lead) -> Account:
    fields = {key: getattr(lead, key) for key in ACCOUNT_FIELDS}
    return await accounts.create_account(
        session,
        actor=actor,
        name=lead.company,
        source=lead.source or AccountSource.LEAD,
        **fields,
    )


async def _keep_owner(
    session: AsyncSession, actor: Actor, lead: Lead, account: Account
) -> int | None:
    """The lead's owner takes the new account (see the module's docstring); their id, or None
    when the lead has no owner who may hold accounts (today's behaviour then)."""
    owner = None if lead.owner_id is None else await session.get(User, lead.owner_id)
    if owner is None or not owner.is_active or owner.role is Role.INTEGRATION:
        return None
    await session.execute(
        update(PipelineEntry)
        .where(PipelineEntry.account_id == account.id)
        .values(owner_id=owner.id)
    )
    held = select(Assignment.id).where(
        Assignment.account_id == account.id, Assignment.manager_type == ManagerType.SALES
    )
    if await session.scalar(held) is None:
        defaults = await roundrobin.frequency_defaults(session)
        await assignments.assign_account(
            session,
            actor=actor,
            account_id=account.id,
            user_id=owner.id,
            manager_type=ManagerType.SALES,
            contact_frequency_days=roundrobin.frequency_days(
                defaults, ManagerType.SALES, account.classification
            ),
        )
    return owner.id


async def _fill_account(
    session: AsyncSession, actor: Actor, lead: Lead, account_id: int
) -> Account:
    account = await accounts.get_account_for_update(session, account_id)
    empty = {
        key: getattr(lead, key)
        for key in (*ACCOUNT_FIELDS, "source")
        if getattr(account, key) in (None, "") and getattr(lead, key) is not None
    }
    try:
        return await accounts.update_account(session, actor=actor, account_id=account_id, **empty)
    except AppError as error:
        error.field = "existingAccountId" if error.field == "id" else error.field
        raise


async def _enter(
    session: AsyncSession, actor: Actor, account_id: int, pipeline: str, owner_id: int | None
) -> None:
    try:
        await handoff.enter_pipeline(
            session, actor=actor, account_id=account_id, pipeline_key=pipeline, owner_id=owner_id
        )
    except AlreadyInPipelineError:
        pass  # a new account is already in the default pipeline; an existing one may be too
    except AppError as error:
        error.field = "enterPipeline"
        raise


async def _contact(
    session: AsyncSession, actor: Actor, lead: Lead, account_id: int
) -> Contact | None:
    name = lead.contact_name or lead.email
    if name is None:
        return None
    return await accounts.add_contact(
        session,
        actor=actor,
        account_id=account_id,
        name=name,
        email=lead.email,
        phone=lead.phone,
    )
