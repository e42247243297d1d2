from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Self

import strawberry
from graphql import GraphQLError
from sqlalchemy import Row
from strawberry.scalars import JSON

from app.accounts import listing, service
from app.accounts.listing import AccountFilter as AccountFilterArgs
from app.kit.keyset import sorted_page, window
from app.kit.pagination import count
from app.kit.validation import Checks
from app.models import accounts as models
from app.planning import revenue
from schema import permissions
from schema.activities import AccountActivityFields
from schema.cadence import AccountCadenceFields
from schema.context import Context, Info
from schema.enums import AccountSource, BuyingRole, CadenceStatus, Classification, ManagerType
from schema.errors import UserError
from schema.handoff import AccountHandoffFields
from schema.planning import AccountPlanningFields
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    decode_optional,
    list_connection,
    page_args,
    register_node,
    selects,
    to_global_id,
)


@strawberry.type
class Address:
    street: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country_code: str | None


@strawberry.type
class RevenueYear:
    year: int
    revenue: Decimal
    invoices: int = strawberry.field(
        description="Revenue events of the year (invoices, parts purchases, service orders)."
    )


@strawberry.type
class Contact(Node):
    name: str
    title: str | None
    email: str | None
    phone: str | None
    buying_role: BuyingRole | None
    account_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Contact | Row[Any]) -> Self:
        return cls(
            id=to_global_id("Contact", row.id),
            name=row.name,
            title=row.title,
            email=row.email,
            phone=row.phone,
            buying_role=row.buying_role,
            account_pk=row.account_id,
        )

    @strawberry.field
    async def account(self, info: Info) -> Account:
        found = await load_account(info.context, self.account_pk)
        assert found is not None
        return found


@strawberry.type
class Account(
    AccountCadenceFields, AccountActivityFields, AccountHandoffFields, AccountPlanningFields, Node
):
    name: str
    classification: Classification | None
    industry: str | None
    source: AccountSource | None
    external_ref: str | None
    attributes: JSON
    version: int
    phone: str | None
    email: str | None
    website: str | None
    address: Address
    archived_at: datetime | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    pk: strawberry.Private[int]
    parent_pk: strawberry.Private[int | None]
    merged_into_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Account | Row[Any]) -> Self:
        return cls(
            id=to_global_id("Account", row.id),
            pk=row.id,
            parent_pk=row.parent_id,
            name=row.name,
            classification=row.classification,
            industry=row.industry,
            source=row.source,
            external_ref=row.external_ref,
            attributes=JSON(row.attributes),
            version=row.version,
            phone=row.phone,
            email=row.email,
            website=row.website,
            address=Address(
                street=row.street,
                city=row.city,
                region=row.region,
                postal_code=row.postal_code,
                country_code=row.country_code,
            ),
            archived_at=row.archived_at,
            tags=row.tags,
            created_at=row.created_at,
            updated_at=row.updated_at,
            merged_into_pk=row.merged_into_id,
        )

    @strawberry.field(description="The account this one was merged into (it is archived).")
    async def merged_into(self, info: Info) -> Account | None:
        return await load_account(info.context, self.merged_into_pk)

    @strawberry.field(description="Revenue events (voided ones excluded) of the last 12 months.")
    async def revenue_last_12_months(self, info: Info) -> Decimal:
        return await info.context.loader(revenue.last_12_months_by_account).load(self.pk)

    @strawberry.field(description="The last `years` UTC calendar years, newest first.")
    async def revenue_by_year(self, info: Info, years: int = 5) -> list[RevenueYear]:
        if not 1 <= years <= revenue.MAX_YEARS:
            raise GraphQLError(
                f"years must be between 1 and {revenue.MAX_YEARS}.",
                extensions={"code": "INVALID_INPUT", "field": "years"},
            )
        rows = await info.context.loader(revenue.years_by_account).load((self.pk, years))
        return [RevenueYear(year=r.year, revenue=r.revenue, invoices=r.invoices) for r in rows]

    @strawberry.field
    async def parent(self, info: Info) -> Account | None:
        return await load_account(info.context, self.parent_pk)

    @strawberry.field
    async def contacts(self, info: Info) -> list[Contact]:
        rows = await info.context.loader(service.contact_rows_by_account).load(self.pk)
        return [Contact.from_model(row) for row in rows]

    @strawberry.field
    async def branches(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Account]:
        args = page_args(info, first, after)
        page, total = await info.context.loader(service.branch_pages).load((self.pk, args))
        return list_connection(page, Account.from_model, total)


async def load_account(context: Context, pk: int | None) -> Account | None:
    if pk is None:
        return None
    row = await context.loader(service.accounts_by_id).load(pk)
    return None if row is None else Account.from_model(row)


async def load_contact(context: Context, pk: int) -> Contact | None:
    row = await context.loader(service.contacts_by_id).load(pk)
    return None if row is None else Contact.from_model(row)


register_node("Account", "account.read", load_account)
register_node("Contact", "contact.read", load_contact)


@strawberry.input
class AccountFilter:
    search: str | None = None
    classification: list[Classification] | None = None
    industry: str | None = None
    country_code: str | None = None
    parent_id: strawberry.ID | None = None
    include_archived: bool | None = None

    source: list[AccountSource] | None = None
    tags: list[str] | None = strawberry.field(
        default=None, description="Accounts with all of them."
    )
    external_ref: str | None = None
    assigned_user_id: strawberry.ID | None = None
    manager_type: ManagerType | None = None
    cadence_status: list[CadenceStatus] | None = None
    stage: str | None = strawberry.field(default=None, description="Stage in `pipeline`.")
    pipeline: str | None = "default"
    created_after: datetime | None = None
    updated_after: datetime | None = None

    def to_args(self) -> AccountFilterArgs:
        checks = Checks()
        checks.no_nul("filter.search", self.search)
        checks.no_nul("filter.industry", self.industry)
        checks.no_nul("filter.externalRef", self.external_ref)
        checks.no_nul("filter.stage", self.stage, self.pipeline)
        checks.no_nul("filter.tags", *(self.tags or ()))
        checks.raise_if_any()
        return AccountFilterArgs(
            search=self.search,
            classification=self.classification,
            industry=self.industry,
            country_code=self.country_code,
            parent_id=decode_optional(self.parent_id, "Account", field="filter.parentId"),
            include_archived=bool(self.include_archived),
            source=self.source,
            tags=self.tags,
            external_ref=self.external_ref,
            assigned_user_id=decode_optional(
                self.assigned_user_id, "User", field="filter.assignedUserId"
            ),
            manager_type=self.manager_type,
            cadence_status=self.cadence_status,
            stage=self.stage,
            pipeline=self.pipeline or "default",
            created_after=self.created_after,
            updated_after=self.updated_after,
        )


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class AccountOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    NEXT_CONTACT_DUE = "NEXT_CONTACT_DUE"
    REVENUE_LAST_12_MONTHS = "REVENUE_LAST_12_MONTHS"


@strawberry.input(description="Without an order: by name, or by relevance when searching.")
class AccountOrder:
    field: AccountOrderField
    direction: SortDirection = SortDirection.ASC

    def to_args(self) -> tuple[listing.OrderField, bool]:
        return listing.OrderField(self.field.value), self.direction is SortDirection.DESC


@strawberry.input
class AddressInput:
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


@strawberry.input
class CreateAccountInput:
    name: str
    classification: Classification | None = None
    industry: str | None = None
    source: AccountSource | None = None
    address: AddressInput | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    external_ref: str | None = None
    attributes: JSON | None = None
    parent_id: strawberry.ID | None = None


@strawberry.input
class UpdateAccountInput:
    id: strawberry.ID
    expected_version: int | None = None
    name: str | None = strawberry.UNSET
    classification: Classification | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    source: AccountSource | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    external_ref: str | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET


ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country_code")
PLAIN_FIELDS = (
    "name",
    "classification",
    "industry",
    "source",
    "phone",
    "email",
    "website",
    "external_ref",
    "attributes",
)


def account_fields(input: CreateAccountInput | UpdateAccountInput) -> dict[str, Any]:
    """The input's given fields as service keywords (UNSET ones are left out)."""
    fields: dict[str, Any] = {}
    for name in PLAIN_FIELDS:
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            fields[name] = value
    if input.address is not strawberry.UNSET:
        address = input.address
        for name in ADDRESS_FIELDS:
            fields[name] = None if address is None else getattr(address, name)
    if input.parent_id is not strawberry.UNSET:
        fields["parent_id"] = decode_optional(input.parent_id, "Account", field="parentId")
    return fields


@strawberry.input
class ArchiveAccountInput:
    id: strawberry.ID


@strawberry.input
class AddContactInput:
    account_id: strawberry.ID
    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    buying_role: BuyingRole | None = None


@strawberry.type
class AccountPayload:
    account: Account | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ContactPayload:
    contact: Contact | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("account.read")
    async def accounts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: AccountFilter | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: AccountOrder | None = None,
    ) -> Connection[Account]:
        limits = info.context.settings.limits
        pages = window(
            first,
            after,
            last,
            before,
            default=limits.default_page_size,
            maximum=limits.max_page_size,
        )
        args = filter.to_args() if filter else AccountFilterArgs()
        field, descending = order_by.to_args() if order_by else (None, False)
        order = listing.account_order(field, descending, search=args.search)
        now = info.context.now
        query = listing.accounts_query(args, now=now, columns=service.ACCOUNT_COLUMNS)
        with_total = selects(info, "totalCount")
        async with info.context.db() as session:
            page = await sorted_page(
                session,
                query,
                order=order,
                window=pages,
                with_total=with_total,
                total_over_rows=listing.search_query(args.search) is not None,
            )

        async def total() -> int:
            if page.total is not None:
                return page.total
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, Account.from_model, total)


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("account.create")
    async def create_account(self, info: Info, input: CreateAccountInput) -> AccountPayload:
        row = await service.create_account(
            info.context.session, actor=info.context.actor, **account_fields(input)
        )
        return AccountPayload(account=Account.from_model(row))

    @strawberry.mutation
    @permissions.mutation("account.update")
    async def update_account(self, info: Info, input: UpdateAccountInput) -> AccountPayload:
        account_id = decode_id(input.id, "Account")
        row = await service.update_account(
            info.context.session,
            actor=info.context.actor,
            account_id=account_id,
            expected_version=input.expected_version,
            **account_fields(input),
        )
        return AccountPayload(account=Account.from_model(row))

    @strawberry.mutation
    @permissions.mutation("account.archive")
    async def archive_account(self, info: Info, input: ArchiveAccountInput) -> AccountPayload:
        account_id = decode_id(input.id, "Account")
        row = await service.archive_account(
            info.context.session, actor=info.context.actor, account_id=account_id
        )
        return AccountPayload(account=Account.from_model(row))

    @strawberry.mutation
    @permissions.mutation("contact.add")
    async def add_contact(self, info: Info, input: AddContactInput) -> ContactPayload:
        account_id = decode_id(input.account_id, "Account", field="accountId")
        row = await service.add_contact(
            info.context.session,
            actor=info.context.actor,
            account_id=account_id,
            name=input.name,
            title=input.title,
            email=input.email,
            phone=input.phone,
            buying_role=input.buying_role,
        )
        return ContactPayload(contact=Contact.from_model(row))
