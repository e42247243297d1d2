"""The Account and Contact types, and loading them by id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from graphql import GraphQLError
from sqlalchemy import Row
from strawberry.scalars import JSON

from app.accounts import read, service
from app.models import accounts as models
from app.planning import revenue
from schema import visibility
from schema.activities import AccountActivityFields
from schema.cadence import AccountCadenceFields
from schema.context import Context, Info
from schema.enums import AccountSource, BuyingRole, Classification
from schema.errors import UserError
from schema.handoff import AccountHandoffFields
from schema.planning import AccountPlanningFields
from schema.relay import (
    Connection,
    Node,
    at_most,
    list_connection,
    page_args,
    register_node,
    to_global_id,
)

if TYPE_CHECKING:
    from schema.territories import AssignmentRule


def _values(
    row: Any, within: str | None = None, columns: tuple[read.Column, ...] = read.COLUMNS
) -> dict[str, Any]:
    """The read model's columns shown on the type (or on its object `within`), by name."""
    names = [c.attribute.key for c in columns if c.within == within]
    return {name: getattr(row, name) for name in names}


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
    external_ref: str | None = strawberry.field(
        description="The other system's key (upsertContacts), unique per account."
    )
    created_at: datetime
    account_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Contact | Row[Any]) -> Self:
        return cls(
            id=to_global_id("Contact", row.id),
            account_pk=row.account_id,
            **_values(row, columns=read.CONTACT_COLUMNS),
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
    employee_count: int | None
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
            merged_into_pk=row.merged_into_id,
            address=Address(**_values(row, "address")),
            **_values(row),
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

    @strawberry.field(description="The territory (assignment rule) that first assigned it.")
    async def territory(
        self, info: Info
    ) -> Annotated[AssignmentRule, strawberry.lazy("schema.territories")] | None:
        from schema.territories import load_rule

        row = await info.context.loader(service.accounts_by_id).load(self.pk)
        if row is None or row.territory_id is None:
            return None
        return await load_rule(info.context, row.territory_id)

    @strawberry.field(
        description="The first contacts by id, at most ACCOUNTFLOW_MAX_LIST_ITEMS (100);"
        " `contacts(filter: {accountId})` pages through all of them."
    )
    async def contacts(self, info: Info) -> list[Contact]:
        rows = await info.context.loader(service.contact_rows_by_account).load(self.pk)
        return [Contact.from_model(row) for row in at_most(info, rows)]

    @strawberry.field
    async def branches(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Account]:
        args = page_args(info, first, after)
        seen = await visibility.seen(info.context)
        if seen is None:
            page, total = await info.context.loader(service.branch_pages).load((self.pk, args))
        else:
            key = (self.pk, args, seen)
            page, total = await info.context.loader(service.seen_branch_pages).load(key)
        return list_connection(page, Account.from_model, total)


async def load_account(context: Context, pk: int | None) -> Account | None:
    if pk is None:
        return None
    if not await visibility.shows_account(context, pk):
        return None
    row = await context.loader(service.accounts_by_id).load(pk)
    return None if row is None else Account.from_model(row)


async def load_contact(context: Context, pk: int) -> Contact | None:
    row = await context.loader(service.contacts_by_id).load(pk)
    if row is None or not await visibility.shows_account(context, row.account_id):
        return None
    return Contact.from_model(row)


register_node("Account", "account.read", load_account)
register_node("Contact", "contact.read", load_contact)


@strawberry.type
class AccountPayload:
    account: Account | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ContactPayload:
    contact: Contact | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
