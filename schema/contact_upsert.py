"""upsertContacts: create or update up to a batch of contacts keyed by their externalRef."""

from __future__ import annotations

from typing import Any

import strawberry

from app.accounts import contacts_upsert as upsert
from app.errors import AppError
from schema import permissions
from schema.accounts import Contact
from schema.activities import RejectedItem, rejected_item
from schema.context import Info
from schema.enums import BuyingRole
from schema.errors import UserError
from schema.relay import decode_optional

_FIELDS = ("name", "title", "email", "phone", "buying_role")


@strawberry.input(
    description="A contact by (account, externalRef): the account by id or by externalRef. "
    "Only the fields sent change; a new contact needs a name."
)
class UpsertContactInput:
    external_ref: str
    account_id: strawberry.ID | None = None
    account_external_ref: str | None = None
    name: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    buying_role: BuyingRole | None = strawberry.UNSET


@strawberry.input
class UpsertContactsInput:
    contacts: list[UpsertContactInput]


@strawberry.type
class UpsertContactsPayload:
    created_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0
    contacts: list[Contact] = strawberry.field(default_factory=list)
    rejected: list[RejectedItem] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Whole-call failures (nothing was written)."
    )


def _to_item(item: UpsertContactInput) -> upsert.ContactItem | AppError:
    try:
        account_id = decode_optional(item.account_id, "Account", field="accountId")
    except AppError as error:
        return error
    fields: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(item, name)
        if value is not strawberry.UNSET:
            fields[name] = value
    return upsert.ContactItem(
        external_ref=item.external_ref,
        fields=fields,
        account_id=account_id,
        account_external_ref=item.account_external_ref,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create or update contacts by (account, externalRef); bad items are "
        "rejected by their index, the others stored."
    )
    @permissions.mutation("contact.upsert")
    async def upsert_contacts(
        self, info: Info, input: UpsertContactsInput
    ) -> UpsertContactsPayload:
        result = await upsert.upsert_contacts(
            info.context.session,
            actor=info.context.actor,
            items=[_to_item(item) for item in input.contacts],
            max_batch=info.context.settings.limits.max_batch,
        )
        return UpsertContactsPayload(
            created_count=result.created_count,
            updated_count=result.updated_count,
            unchanged_count=result.unchanged_count,
            contacts=[Contact.from_model(row) for row in result.contacts],
            rejected=[rejected_item(i, errors) for i, errors in result.rejected],
        )
