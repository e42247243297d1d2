from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.db import rows_by_id
from app.errors import (
    AlreadyExistsError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from app.events import Event, EventType
from app.kit import changes, versioned
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.pagination import ListOrders, Order
from app.kit.validation import Checks
from app.leads.free_mail import FREE_MAIL_DOMAINS
from app.models.accounts import Account, AccountSource
from app.models.auth import Role, User
from app.models.leads import Lead, LeadStatus

UNSET = versioned.UNSET
MAX_DUPLICATES = 20

LEAD_FIELDS = (
    "company",
    "contact_name",
    "email",
    "phone",
    "industry",
    "street",
    "city",
    "region",
    "postal_code",
    "country_code",
    "source",
    "external_ref",
    "attributes",
    "owner_id",
)
_LIMITS = {
    "contact_name": 200,
    "phone": 50,
    "industry": 100,
    "street": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "external_ref": 100,
}
_FIELD_NAMES = {
    "country_code": "address.countryCode",
    "street": "address.street",
    "city": "address.city",
    "region": "address.region",
    "postal_code": "address.postalCode",
}

# The moves setLeadStatus allows; CONVERTED is reached only through convertLead.
ALLOWED_STATUS_TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    LeadStatus.NEW: frozenset({LeadStatus.WORKING}),
    LeadStatus.WORKING: frozenset({LeadStatus.QUALIFIED, LeadStatus.UNQUALIFIED}),
    LeadStatus.UNQUALIFIED: frozenset({LeadStatus.WORKING}),
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def field_name(key: str) -> str:
    return _FIELD_NAMES.get(key) or camel(key)


def clean_lead_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Validate the given lead fields (absent ones are not touched) and normalise them."""
    checks = Checks()
    clean: dict[str, Any] = {}
    for key, value in values.items():
        field = field_name(key)
        if key == "company":
            clean[key] = checks.text(field, value, max_length=200, required=True)
        elif key == "email":
            clean[key] = checks.email(field, value)
        elif key == "country_code":
            clean[key] = checks.country(field, value)
        elif key == "attributes":
            clean[key] = checks.json_object(field, value) or {}
        elif key in _LIMITS:
            clean[key] = checks.text(field, value, max_length=_LIMITS[key])
        else:
            clean[key] = value
    checks.raise_if_any()
    return clean


async def _check_owner(session: AsyncSession, actor: Actor, owner_id: int | None) -> None:
    """A lead's owner is an active user who may own it. A caller who may not read people
    (an integration) hears the same of every other user id as of an unknown one."""
    if owner_id is None:
        return
    user = await session.get(User, owner_id)
    if user is not None and user.is_active and user.role is not Role.INTEGRATION:
        return
    if user is None or not user.is_active or not actor.may("user.read"):
        raise NotFoundError("Unknown or inactive user.", field="ownerId")
    raise InvalidInputError("An integration cannot own a lead.", field="ownerId")


async def _check_external_ref(
    session: AsyncSession, external_ref: str | None, *, exclude_id: int | None = None
) -> None:
    if external_ref is None:
        return
    query = select(Lead.id).where(Lead.external_ref == external_ref)
    if exclude_id is not None:
        query = query.where(Lead.id != exclude_id)
    if await session.scalar(query) is not None:
        raise AlreadyExistsError("Another lead has this externalRef.", field="externalRef")


async def create_lead(session: AsyncSession, *, actor: Actor, **fields: Any) -> Lead:
    clean = clean_lead_fields(fields)
    await _check_owner(session, actor, clean.get("owner_id"))
    await _check_external_ref(session, clean.get("external_ref"))
    if clean.get("owner_id") is None:
        clean["owner_id"] = actor.default_owner_id
    lead = Lead(**clean, created_by_id=actor.user_id)
    session.add(lead)
    await session.flush()
    await session.refresh(lead, ["created_at", "updated_at", "status", "version"])
    data = {
        "id": events.global_id("Lead", lead.id),
        "company": lead.company,
        "email": lead.email,
        "source": lead.source,
        "status": lead.status,
        "externalRef": lead.external_ref,
        "ownerId": events.global_id("User", lead.owner_id),
    }
    await changes.record(
        session,
        actor=actor,
        audit=Audit("lead.create", "Lead", lead.id, changes.created(clean)),
        events=Event(EventType.LEAD_CREATED, data, object_key=f"Lead:{lead.id}"),
    )
    return lead


async def possible_duplicates(session: AsyncSession, lead: Lead) -> list[Account]:
    """Accounts sharing the lead's e-mail domain (as e-mail or website) or company name key."""
    key = func.leads_company_key(lead.company)
    conditions = [func.leads_company_key(Account.name) == key]
    domain = (lead.email or "").rpartition("@")[2].lower()
    if domain and domain not in FREE_MAIL_DOMAINS:
        conditions.append(func.leads_email_domain(Account.email) == domain)
        conditions.append(func.leads_web_host(Account.website) == domain)
    query = (
        select(Account)
        .where(or_(*conditions), Account.archived_at.is_(None))
        .order_by(Account.id)
        .limit(MAX_DUPLICATES)
    )
    return list(await session.scalars(query))


async def get_lead_for_update(session: AsyncSession, lead_id: int, *, field: str = "id") -> Lead:
    query = select(Lead).where(Lead.id == lead_id).with_for_update()
    lead = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if lead is None:
        raise NotFoundError("Unknown lead.", field=field)
    return lead


def lead_event(kind: EventType, lead: Lead, **extra: Any) -> Event:
    data = {
        "id": events.global_id("Lead", lead.id),
        "company": lead.company,
        "status": lead.status.value,
        "ownerId": events.global_id("User", lead.owner_id),
        "version": lead.version,
        **extra,
    }
    return Event(kind, data, account_id=lead.account_id, object_key=f"Lead:{lead.id}")


async def _check_update(
    session: AsyncSession, actor: Actor, lead: Lead, clean: dict[str, Any]
) -> None:
    if lead.status is LeadStatus.CONVERTED:
        raise InvalidTransitionError("A converted lead cannot change.", field="id")
    if "owner_id" in clean:
        await _check_owner(session, actor, clean["owner_id"])
    if "external_ref" in clean:
        await _check_external_ref(session, clean["external_ref"], exclude_id=lead.id)


def _updated(lead: Lead, delta: dict[str, Any]) -> Event:
    return lead_event(EventType.LEAD_UPDATED, lead, changed=sorted(delta))


LEAD_UPDATE: versioned.Recipe[Lead] = versioned.Recipe(
    noun="lead",
    entity_type="Lead",
    action="lead.update",
    fields=LEAD_FIELDS,
    clean=clean_lead_fields,
    lock=get_lead_for_update,
    announce=_updated,
    check=_check_update,
)


async def update_lead(
    session: AsyncSession,
    *,
    actor: Actor,
    lead_id: int,
    expected_version: int | None = None,
    **fields: Any,
) -> Lead:
    return await versioned.update(
        session,
        LEAD_UPDATE,
        actor=actor,
        row_id=lead_id,
        expected_version=expected_version,
        fields=fields,
    )


async def set_lead_status(
    session: AsyncSession,
    *,
    actor: Actor,
    lead_id: int,
    status: LeadStatus,
    reason: str | None = None,
) -> Lead:
    checks = Checks()
    reason = checks.text("reason", reason, max_length=2000)
    if status is LeadStatus.UNQUALIFIED and reason is None:
        checks.fail("reason", "A lead is unqualified with a reason.")
    checks.raise_if_any()
    lead = await get_lead_for_update(session, lead_id)
    if status not in ALLOWED_STATUS_TRANSITIONS.get(lead.status, frozenset()):
        raise InvalidTransitionError(
            f"A lead cannot go from {lead.status.value} to {status.value}.", field="status"
        )
    before = lead.status
    delta = changes.diff(
        {"status": lead.status, "statusReason": lead.status_reason},
        {"status": status, "statusReason": reason},
    )
    lead.status = status
    lead.status_reason = reason
    lead.version += 1
    lead.updated_at = func.now()
    await session.flush()
    await session.refresh(lead, ["updated_at"])
    event = lead_event(EventType.LEAD_STATUS_CHANGED, lead, fromStatus=before.value, reason=reason)
    await changes.record(
        session, actor=actor, audit=Audit("lead.status", "Lead", lead.id, delta), events=event
    )
    return lead


@dataclass(frozen=True, slots=True)
class LeadFilter:
    status: Sequence[LeadStatus] | None = None
    source: Sequence[AccountSource] | None = None
    owner_id: int | None = None
    search: str | None = None


LEAD_ORDER = (Lead.id,)
# The root leads list's orders (its `orderBy`); without one, oldest first by id.
LEAD_ORDERS = ListOrders(
    {"CREATED_AT": (Lead.created_at,), "COMPANY": (Lead.company,), "STATUS": (Lead.status,)},
    tiebreak=Lead.id,
    default=Order.of(LEAD_ORDER),
)


def leads_query(filter: LeadFilter) -> Select[Any]:
    """The leads a filter selects; a search holding NUL (PostgreSQL refuses it) is
    INVALID_INPUT before any statement runs."""
    checks = Checks()
    checks.no_nul("filter.search", filter.search)
    checks.raise_if_any()
    query = select(*Lead.__table__.columns)
    if filter.status:
        query = query.where(Lead.status.in_(filter.status))
    if filter.source:
        query = query.where(Lead.source.in_(filter.source))
    if filter.owner_id is not None:
        query = query.where(Lead.owner_id == filter.owner_id)
    if filter.search:
        escaped = filter.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                Lead.company.ilike(pattern),
                Lead.contact_name.ilike(pattern),
                Lead.email.ilike(pattern),
            )
        )
    return query


leads_by_id = rows_by_id(Lead)
