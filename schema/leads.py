"""Leads: capture, qualification, conversion and the lead source report."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

import strawberry
from sqlalchemy import Row
from strawberry.scalars import JSON

from app.activities import service as activities
from app.leads import conversion, reports, service
from app.models.leads import Lead as LeadModel
from app.models.leads import LeadStatus
from schema import permissions, visibility
from schema.accounts import Account, Address, AddressInput, Contact, load_account
from schema.activities import Activity
from schema.context import Context, Info
from schema.enums import AccountSource
from schema.errors import UserError
from schema.lists import LeadOrder, ordered_connection
from schema.relay import (
    Connection,
    Node,
    decode_id,
    decode_optional,
    list_connection,
    page_args,
    register_node,
    to_global_id,
)
from schema.users import User, load_user

strawberry.enum(LeadStatus)

ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country_code")


@strawberry.type
class Lead(Node):
    company: str
    contact_name: str | None
    email: str | None
    phone: str | None
    industry: str | None
    address: Address
    source: AccountSource | None
    status: LeadStatus
    status_reason: str | None
    external_ref: str | None
    attributes: JSON
    version: int
    created_at: datetime
    converted_at: datetime | None
    pk: strawberry.Private[int]
    owner_pk: strawberry.Private[int | None]
    account_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: LeadModel | Row[Any]) -> Self:
        return cls(
            id=to_global_id("Lead", row.id),
            pk=row.id,
            company=row.company,
            contact_name=row.contact_name,
            email=row.email,
            phone=row.phone,
            industry=row.industry,
            address=Address(**{name: getattr(row, name) for name in ADDRESS_FIELDS}),
            source=row.source,
            status=row.status,
            status_reason=row.status_reason,
            external_ref=row.external_ref,
            attributes=JSON(row.attributes),
            version=row.version,
            created_at=row.created_at,
            converted_at=row.converted_at,
            owner_pk=row.owner_id,
            account_pk=row.account_id,
        )

    @strawberry.field
    async def owner(self, info: Info) -> User | None:
        if self.owner_pk is None:
            return None  # unowned: nothing to hide, whoever created it
        permissions.require(info.context, "Lead.owner")
        return await load_user(info.context, self.owner_pk)

    @strawberry.field
    async def account(self, info: Info) -> Account | None:
        return await load_account(info.context, self.account_pk)

    @strawberry.field(
        description="Its calls, e-mails and meetings, newest first; kept after conversion."
    )
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Activity]:
        permissions.require(info.context, "Lead.activities")
        args = page_args(info, first, after)
        loader = info.context.loader(activities.lead_activity_pages)
        page, total = await loader.load((self.pk, args))
        return list_connection(page, Activity.from_model, total)


async def load_lead(context: Context, pk: int) -> Lead | None:
    row = await context.loader(service.leads_by_id).load(pk)
    return None if row is None else Lead.from_model(row)


register_node("Lead", "lead.read", load_lead)


@strawberry.input
class CreateLeadInput:
    company: str
    contact_name: str | None = None
    email: str | None = None
    phone: str | None = None
    industry: str | None = None
    address: AddressInput | None = None
    source: AccountSource | None = None
    external_ref: str | None = None
    attributes: JSON | None = None
    owner_id: strawberry.ID | None = None


@strawberry.input
class UpdateLeadInput:
    id: strawberry.ID
    expected_version: int | None = None
    company: str | None = strawberry.UNSET
    contact_name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET


PLAIN_FIELDS = ("company", "contact_name", "email", "phone", "industry")


def lead_fields(input: CreateLeadInput | UpdateLeadInput) -> dict[str, Any]:
    """The input's given fields as service keywords (UNSET ones are left out)."""
    fields: dict[str, Any] = {}
    names: tuple[str, ...] = PLAIN_FIELDS
    if isinstance(input, CreateLeadInput):
        names = (*PLAIN_FIELDS, "source", "external_ref", "attributes")
    for name in names:
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            fields[name] = value
    if input.address is not strawberry.UNSET:
        for name in ADDRESS_FIELDS:
            fields[name] = None if input.address is None else getattr(input.address, name)
    if input.owner_id is not strawberry.UNSET:
        fields["owner_id"] = decode_optional(input.owner_id, "User", field="ownerId")
    return fields


@strawberry.input
class SetLeadStatusInput:
    id: strawberry.ID
    status: LeadStatus
    reason: str | None = None


@strawberry.input
class ConvertLeadInput:
    lead_id: strawberry.ID
    existing_account_id: strawberry.ID | None = None
    enter_pipeline: str | None = "default"
    apply_assignment_rules: bool | None = True


@strawberry.input
class LeadFilter:
    status: list[LeadStatus] | None = None
    source: list[AccountSource] | None = None
    owner_id: strawberry.ID | None = None
    search: str | None = None

    def to_args(self) -> service.LeadFilter:
        return service.LeadFilter(
            status=self.status,
            source=self.source,
            owner_id=decode_optional(self.owner_id, "User", field="filter.ownerId"),
            search=self.search,
        )


@strawberry.type
class LeadPayload:
    lead: Lead | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateLeadPayload:
    lead: Lead | None = None
    possible_duplicates: list[Account] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConvertLeadPayload:
    lead: Lead | None = None
    account: Account | None = None
    contact: Contact | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LeadSourceRow:
    source: AccountSource | None
    leads: int
    converted: int
    conversion_rate: float | None
    median_days_to_convert: float | None
    revenue_last_12_months: Decimal


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("lead.read")
    async def leads(
        self,
        info: Info,
        filter: LeadFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: LeadOrder | None = None,
    ) -> Connection[Lead]:
        query = service.leads_query(filter.to_args() if filter else service.LeadFilter())
        return await ordered_connection(
            info,
            await visibility.scoped_leads(info.context, query),
            orders=service.LEAD_ORDERS,
            order_by=order_by,
            pages=(first, after, last, before),
            convert=Lead.from_model,
            whole_row=True,
        )

    @strawberry.field
    @permissions.query("report.read")
    async def lead_source_report(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
    ) -> list[LeadSourceRow]:
        async with info.context.db() as session:
            rows = await reports.lead_source_report(session, from_=from_, to=to)
        return [
            LeadSourceRow(
                source=r.source,
                leads=r.leads,
                converted=r.converted,
                conversion_rate=r.conversion_rate,
                median_days_to_convert=r.median_days_to_convert,
                revenue_last_12_months=r.revenue_last_12_months,
            )
            for r in rows
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("lead.create")
    async def create_lead(self, info: Info, input: CreateLeadInput) -> CreateLeadPayload:
        session = info.context.session
        row = await service.create_lead(session, actor=info.context.actor, **lead_fields(input))
        duplicates = await service.possible_duplicates(session, row)
        return CreateLeadPayload(
            lead=Lead.from_model(row),
            possible_duplicates=[Account.from_model(a) for a in duplicates],
        )

    @strawberry.mutation
    @permissions.mutation("lead.update")
    async def update_lead(self, info: Info, input: UpdateLeadInput) -> LeadPayload:
        row = await service.update_lead(
            info.context.session,
            actor=info.context.actor,
            lead_id=decode_id(input.id, "Lead"),
            expected_version=input.expected_version,
            **lead_fields(input),
        )
        return LeadPayload(lead=Lead.from_model(row))

    @strawberry.mutation
    @permissions.mutation("lead.update")
    async def set_lead_status(self, info: Info, input: SetLeadStatusInput) -> LeadPayload:
        row = await service.set_lead_status(
            info.context.session,
            actor=info.context.actor,
            lead_id=decode_id(input.id, "Lead"),
            status=input.status,
            reason=input.reason,
        )
        return LeadPayload(lead=Lead.from_model(row))

    @strawberry.mutation
    @permissions.mutation("lead.convert")
    async def convert_lead(self, info: Info, input: ConvertLeadInput) -> ConvertLeadPayload:
        existing = decode_optional(input.existing_account_id, "Account", field="existingAccountId")
        done = await conversion.convert_lead(
            info.context.session,
            actor=info.context.actor,
            lead_id=decode_id(input.lead_id, "Lead", field="leadId"),
            existing_account_id=existing,
            enter_pipeline=input.enter_pipeline,
            apply_rules=input.apply_assignment_rules is not False,
        )
        return ConvertLeadPayload(
            lead=Lead.from_model(done.lead),
            account=Account.from_model(done.account),
            contact=None if done.contact is None else Contact.from_model(done.contact),
        )
