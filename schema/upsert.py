"""upsertAccounts: create or update up to a batch of accounts keyed by their externalRef."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.accounts import upsert
from app.errors import AppError
from schema import permissions
from schema.accounts import ADDRESS_FIELDS, PLAIN_FIELDS, Account, AddressInput
from schema.activities import RejectedItem, rejected_item
from schema.context import Context, Info
from schema.engine.inputs import build_input_with, camel, input_fields
from schema.enums import AccountSource, Classification
from schema.errors import UserError


@strawberry.input
class UpsertAccountItem:
    external_ref: str
    name: str
    classification: Classification | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    source: AccountSource | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET
    parent_external_ref: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET


@strawberry.input
class UpsertAccountsInput:
    accounts: list[UpsertAccountItem]


_ITEM_FIELDS = input_fields(UpsertAccountItem)


def _build_batch(cls: type, value: Mapping[str, Any]) -> Any:
    """graphql-core has coerced every value: build the items directly (strawberry's generic
    conversion costs more than the upsert itself for a batch of 1,000). The address stays the
    mapping graphql-core made; `_to_item` reads it."""
    return cls(
        accounts=[
            UpsertAccountItem(**{p: item[g] for p, g in _ITEM_FIELDS if g in item})
            for item in value["accounts"]
        ]
    )


build_input_with(UpsertAccountsInput, _build_batch)


def _to_item(context: Context, item: UpsertAccountItem) -> upsert.UpsertItem | AppError:
    refused = permissions.item_error(context, "upsertAccounts", item)
    if refused is not None:
        return refused
    fields: dict[str, Any] = {}
    for name in PLAIN_FIELDS:
        value = getattr(item, name, strawberry.UNSET)
        if value is not strawberry.UNSET:
            fields[name] = value
    address: Any = item.address
    if address is not strawberry.UNSET:
        for name in ADDRESS_FIELDS:
            fields[name] = None if address is None else _address_value(address, name)
    tags = item.tags
    return upsert.UpsertItem(
        external_ref=item.external_ref,
        fields=fields,
        parent_external_ref=upsert.UNSET
        if item.parent_external_ref is strawberry.UNSET
        else item.parent_external_ref,
        tags=None if tags is strawberry.UNSET else (tags or []),
    )


def _address_value(address: Any, name: str) -> Any:
    if isinstance(address, Mapping):
        return address.get(camel(name))
    return getattr(address, name)


@strawberry.type
class UpsertAccountsPayload:
    created_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0
    accounts: list[Account] = strawberry.field(default_factory=list)
    rejected: list[RejectedItem] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Whole-call failures (nothing was written)."
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create or update accounts by externalRef; only the fields sent change."
    )
    @permissions.mutation("account.upsert")
    async def upsert_accounts(
        self, info: Info, input: UpsertAccountsInput
    ) -> UpsertAccountsPayload:
        result = await upsert.upsert_accounts(
            info.context.session,
            actor=info.context.actor,
            items=[_to_item(info.context, i) for i in input.accounts],
            max_batch=info.context.settings.limits.max_batch,
        )
        return UpsertAccountsPayload(
            created_count=result.created_count,
            updated_count=result.updated_count,
            unchanged_count=result.unchanged_count,
            accounts=[Account.from_model(r) for r in result.accounts],
            rejected=[rejected_item(i, errors) for i, errors in result.rejected],
        )
