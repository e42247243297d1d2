"""Records of accounts and contacts: the root contacts list, tags, restore, edit and remove."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import Select, select

from app.accounts import lifecycle, merge, read, service
from app.accounts.search import search_query
from app.models.accounts import Contact as ContactRow
from schema import permissions, visibility
from schema.accounts import Account, AccountPayload, Contact, ContactPayload
from schema.context import Info
from schema.enums import BuyingRole
from schema.errors import UserError
from schema.lists import ContactOrder, ordered_connection
from schema.relay import Connection, decode_id, decode_optional, to_global_id


@strawberry.input
class ContactFilter:
    search: str | None = strawberry.field(default=None, description="Words of name or email.")
    account_id: strawberry.ID | None = None
    buying_role: list[BuyingRole] | None = None

    def to_query(self) -> Select[tuple[object, ...]]:
        query = contacts_query()
        account_id = decode_optional(self.account_id, "Account", field="filter.accountId")
        if account_id is not None:
            query = query.where(ContactRow.account_id == account_id)
        if self.buying_role:
            query = query.where(ContactRow.buying_role.in_(self.buying_role))
        searched = search_query(self.search)
        if searched is not None:
            query = query.where(ContactRow.search_vector.op("@@")(searched))
        return query


def contacts_query() -> Select[tuple[object, ...]]:
    return select(*service.CONTACT_COLUMNS).where(ContactRow.removed_at.is_(None))


@strawberry.input
class RestoreAccountInput:
    id: strawberry.ID


@strawberry.input
class SetAccountTagsInput:
    account_id: strawberry.ID
    add: list[str] | None = None
    remove: list[str] | None = None


@strawberry.input
class UpdateContactInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    buying_role: BuyingRole | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class RemoveContactInput:
    id: strawberry.ID


@strawberry.type
class RemovePayload:
    removed_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class MergeAccountsInput:
    survivor_id: strawberry.ID
    duplicate_id: strawberry.ID
    expected_version: int | None = strawberry.field(
        default=None, description="The survivor's version."
    )


@strawberry.type
class MergeCounts:
    contacts: int
    activities: int
    assignments: int
    plans: int
    branches: int


@strawberry.type
class MergeAccountsPayload:
    account: Account | None = None
    moved_counts: MergeCounts | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="Contacts (removed ones left out), by name.")
    @permissions.query("contact.read")
    async def contacts(
        self,
        info: Info,
        filter: ContactFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: ContactOrder | None = None,
    ) -> Connection[Contact]:
        query = filter.to_query() if filter else contacts_query()
        return await ordered_connection(
            info,
            await visibility.scoped(info.context, query, ContactRow.account_id),
            orders=read.CONTACT_ORDERS,
            order_by=order_by,
            pages=(first, after, last, before),
            convert=Contact.from_model,
            whole_row=True,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("account.archive")
    async def restore_account(self, info: Info, input: RestoreAccountInput) -> AccountPayload:
        account_id = decode_id(input.id, "Account")
        row = await lifecycle.restore_account(
            info.context.session, actor=info.context.actor, account_id=account_id
        )
        return AccountPayload(account=Account.from_model(row))

    @strawberry.mutation(
        description="Move everything of the duplicate to the survivor; archive the duplicate."
    )
    @permissions.mutation("account.merge")
    async def merge_accounts(self, info: Info, input: MergeAccountsInput) -> MergeAccountsPayload:
        row, counts = await merge.merge_accounts(
            info.context.session,
            actor=info.context.actor,
            survivor_id=decode_id(input.survivor_id, "Account", field="survivorId"),
            duplicate_id=decode_id(input.duplicate_id, "Account", field="duplicateId"),
            expected_version=input.expected_version,
        )
        return MergeAccountsPayload(
            account=Account.from_model(row),
            moved_counts=MergeCounts(
                contacts=counts.contacts,
                activities=counts.activities,
                assignments=counts.assignments,
                plans=counts.plans,
                branches=counts.branches,
            ),
        )

    @strawberry.mutation(description="Tags are trimmed, lower-cased and distinct; at most 50.")
    @permissions.mutation("account.update")
    async def set_account_tags(self, info: Info, input: SetAccountTagsInput) -> AccountPayload:
        account_id = decode_id(input.account_id, "Account", field="accountId")
        row = await lifecycle.set_account_tags(
            info.context.session,
            actor=info.context.actor,
            account_id=account_id,
            add=input.add or [],
            remove=input.remove or [],
        )
        return AccountPayload(account=Account.from_model(row))

    @strawberry.mutation
    @permissions.mutation("contact.update")
    async def update_contact(self, info: Info, input: UpdateContactInput) -> ContactPayload:
        contact_id = decode_id(input.id, "Contact")
        session = info.context.session
        await lifecycle.contact_account_id(session, contact_id)  # NOT_FOUND before any change
        fields: dict[str, Any] = {
            "name": input.name,
            "title": input.title,
            "email": input.email,
            "phone": input.phone,
            "buying_role": input.buying_role,
        }
        if input.account_id is not strawberry.UNSET:
            fields["account_id"] = decode_optional(input.account_id, "Account", field="accountId")
        row = await lifecycle.update_contact(
            session,
            actor=info.context.actor,
            contact_id=contact_id,
            **{k: lifecycle.UNSET if v is strawberry.UNSET else v for k, v in fields.items()},
        )
        return ContactPayload(contact=Contact.from_model(row))

    @strawberry.mutation(description="A soft delete: the contact stays in the history.")
    @permissions.mutation("contact.remove")
    async def remove_contact(self, info: Info, input: RemoveContactInput) -> RemovePayload:
        contact_id = decode_id(input.id, "Contact")
        session = info.context.session
        await lifecycle.contact_account_id(session, contact_id)  # NOT_FOUND before any change
        removed = await lifecycle.remove_contact(
            session, actor=info.context.actor, contact_id=contact_id
        )
        return RemovePayload(removed_id=to_global_id("Contact", removed))
