"""Creating, updating and archiving accounts, and adding contacts."""

from __future__ import annotations

import strawberry

from app.accounts import service
from schema import permissions
from schema.accounts.inputs import (
    AddContactInput,
    ArchiveAccountInput,
    CreateAccountInput,
    UpdateAccountInput,
    account_fields,
)
from schema.accounts.types import Account, AccountPayload, Contact, ContactPayload
from schema.context import Info
from schema.relay import decode_id


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
